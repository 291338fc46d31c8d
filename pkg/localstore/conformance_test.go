package localstore

import (
	"testing"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
	dstest "github.com/authzed/spicedb/pkg/datastore/test"
)

type conformanceTester struct{}

// New opens a fresh directory per call, as the suite expects a new datastore each time.
func (conformanceTester) New(tb testing.TB, revisionQuantization, gcInterval, gcWindow time.Duration, watchBufferLength uint16) (datastore.Datastore, error) {
	if revisionQuantization == 0 {
		revisionQuantization = -1 // the suite's zero means "no quantization"
	}
	ds, err := Open(tb.Context(), tb.TempDir(), Options{
		GCWindow:             gcWindow,
		RevisionQuantization: revisionQuantization,
		WatchBufferLength:    watchBufferLength,
		GCInterval:           gcInterval,
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
	// would deadlock by design.
	tester := dstest.NewTesterFactory(errSerialization).NewTester(conformanceTester{})
	dstest.AllWithExceptions(t, tester, dstest.WithCategories(dstest.ConcurrentWriteCategory))
}
