package engine

import (
	"context"
	"fmt"
	"strings"

	datastorecfg "github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/cmd/datastore/dsconfig"
	"github.com/authzed/spicedb/pkg/datastore"

	"github.com/accessgraph/accessgraph/pkg/localstore"
)

// LocalEngine names the embedded, durable datastore of pkg/localstore: one directory on this
// machine, selected with a file: URI.
const LocalEngine = "local"

// LocalURI returns the datastore URI that selects the local datastore in dir.
func LocalURI(dir string) string { return "file:" + dir }

// localDir reads the directory of a file: URI: file:DIR, file://DIR or file:///ABS/DIR.
func localDir(uri string) (string, error) {
	dir := strings.TrimPrefix(uri, "file:")
	if strings.HasPrefix(dir, "//") {
		dir = dir[2:]
	}
	if dir == "" {
		return "", fmt.Errorf("datastore %q names no directory: use file:DIR, for example file:.data/accessgraph", uri)
	}
	return dir, nil
}

// openDatastore opens the datastore an engine name and driver URI select (see DatastoreEngine).
func openDatastore(ctx context.Context, engineName, driverURI string, cfg EmbeddedConfig) (datastore.Datastore, error) {
	if engineName == LocalEngine {
		ds, err := localstore.Open(ctx, driverURI, localstore.Options{RevisionQuantization: cfg.RevisionQuantization, GCWindow: cfg.GCWindow, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("%w: opening the local datastore in %s: %w", ErrDatastoreUnavailable, driverURI, err)
		}
		return ds, nil
	}
	dsOpts := []datastorecfg.ConfigOption{
		datastorecfg.WithEngine(engineName),
		datastorecfg.WithURI(driverURI),
		datastorecfg.WithEnableDatastoreMetrics(false),
		dsconfig.WithMaxRevisionStalenessPercent(float64(revisionStalenessPercent) / 100),
	}
	if cfg.RevisionQuantization > 0 {
		dsOpts = append(dsOpts, datastorecfg.WithRevisionQuantization(cfg.RevisionQuantization))
	}
	if cfg.GCWindow > 0 {
		dsOpts = append(dsOpts, datastorecfg.WithGCWindow(cfg.GCWindow))
	}
	ds, err := datastorecfg.NewDatastore(ctx, dsOpts...)
	if err != nil {
		return nil, fmt.Errorf("%w: opening %s: %s", ErrDatastoreUnavailable, engineName, redactErr(err, cfg.DatastoreURI))
	}
	return ds, nil
}
