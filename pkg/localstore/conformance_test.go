package localstore

import (
	"testing"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
	dstest "github.com/authzed/spicedb/pkg/datastore/test"
)

type conformanceTester struct{}

// New opens a fresh directory per call, as the suite expects a new datastore each time.
func (conformanceTester) New(tb testing.TB, params dstest.RevisionParameters, watchBufferLength uint16) (datastore.Datastore, error) {
	quantization := params.Quantization
	if quantization == 0 {
		quantization = -1 // the suite's zero means "no quantization"
	}
	ds, err := Open(tb.Context(), tb.TempDir(), Options{
		GCWindow:             time.Duration(params.GCRetentionWindow),
		RevisionQuantization: quantization,
		WatchBufferLength:    watchBufferLength,
		GCInterval:           time.Duration(params.GCRunInterval),
	})
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() { _ = ds.Close() })
	return ds, nil
}

func TestConformance(t *testing.T) {
	// ConcurrentWrite opens two write transactions at once and waits for both to be
	// open; localstore serialises writers (as SpiceDB's memdb does), so those tests
	// would deadlock by design. Three tests skip themselves: TestMigration (a directory has
	// no SQL migrations), TestReadyStateWhenPaused (it pauses a database server) and
	// TestCursoredDeleteUnsupported (this store supports cursored deletes).
	tester := dstest.NewTesterFactory(errSerialization).NewTester(conformanceTester{})
	dstest.AllWithExceptions(t, tester, dstest.WithCategories(dstest.ConcurrentWriteCategory))
}
