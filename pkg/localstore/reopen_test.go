package localstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/caveats"
	caveattypes "github.com/authzed/spicedb/pkg/caveats/types"
	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	ns "github.com/authzed/spicedb/pkg/namespace"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/tuple"
)

func TestReopenPreservesState(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ds := openTest(t, dir, Options{RevisionQuantization: -1})

	env := caveats.NewEnvironmentWithDefaultTypeSet()
	require.NoError(t, env.AddVariable("ip", caveattypes.Default.IPAddressType))
	compiled, err := caveats.CompileCaveatWithName(env, "ip.in_cidr('10.0.0.0/8')", "internal_ip")
	require.NoError(t, err)
	caveatDef, err := ns.CompiledCaveatDefinition(env, "internal_ip", compiled)
	require.NoError(t, err)

	_, err = ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		if err := rwt.LegacyWriteNamespaces(ctx,
			ns.Namespace("user"),
			ns.Namespace("document", ns.MustRelation("viewer", nil)),
			ns.Namespace("gone")); err != nil {
			return err
		}
		if err := rwt.LegacyWriteCaveats(ctx, []*core.CaveatDefinition{caveatDef}); err != nil {
			return err
		}
		return rwt.WriteStoredSchema(ctx, &core.StoredSchema{Version: 1, VersionOneof: &core.StoredSchema_V1{
			V1: &core.StoredSchema_V1StoredSchema{SchemaText: "definition user {}", SchemaHash: "hash-1"},
		}})
	})
	require.NoError(t, err)
	_, err = ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		return rwt.LegacyDeleteNamespaces(ctx, []string{"gone"}, datastore.DeleteNamespacesOnly)
	})
	require.NoError(t, err)

	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	writeRels(t, ds, tuple.UpdateOperationCreate,
		"document:a#viewer@user:alice",
		"document:a#viewer@user:bob",
		"document:b#viewer@user:carol[internal_ip:{\"ip\":\"10.1.2.3\"}]",
		"document:c#viewer@user:dave[expiration:"+future+"]",
		"document:d#viewer@user:erin",
	)
	writeRels(t, ds, tuple.UpdateOperationDelete, "document:a#viewer@user:bob")
	// Touch changes the caveat context of an existing relationship.
	writeRels(t, ds, tuple.UpdateOperationTouch, "document:b#viewer@user:carol[internal_ip:{\"ip\":\"10.9.9.9\"}]")
	// A relationship that expires in the past is invisible before and after reopen.
	writeRels(t, ds, tuple.UpdateOperationTouch, "document:e#viewer@user:frank[expiration:2020-01-01T00:00:00Z]")

	_, err = ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		if err := rwt.RegisterCounter(ctx, "docs", &core.RelationshipFilter{ResourceType: "document"}); err != nil {
			return err
		}
		return rwt.StoreCounterValue(ctx, "docs", 4, head(t, ds))
	})
	require.NoError(t, err)

	before := head(t, ds)
	snapshot := captureState(t, ds, before)
	require.Len(t, snapshot.rels, 4)
	require.NoError(t, ds.Close())

	start := time.Now()
	reopened := openTest(t, dir, Options{RevisionQuantization: -1})
	defer reopened.Close()
	t.Logf("reopen took %s", since(start))

	after := head(t, reopened)
	require.True(t, after.Equal(before), "head revision survives reopen: %v vs %v", after, before)
	require.Equal(t, snapshot, captureState(t, reopened, after))

	// The expired relationship is still stored (GC has not run) but not visible.
	withExpired := allRels(t, reopened, after, options.WithSkipExpiration(true))
	require.Len(t, withExpired, 5)

	next := writeRels(t, reopened, tuple.UpdateOperationTouch, "document:z#viewer@user:zed")
	require.True(t, next.GreaterThan(before), "revisions stay monotonic across reopen")

	uid1, _ := ds.UniqueID(ctx)
	uid2, _ := reopened.UniqueID(ctx)
	require.Equal(t, uid1, uid2)
}

type capturedState struct {
	rels       []string
	namespaces map[string]string
	caveats    map[string]string
	counters   map[string]string
	schema     string
	schemaHash string
}

func captureState(t *testing.T, ds datastore.Datastore, rev datastore.Revision) capturedState {
	t.Helper()
	ctx := context.Background()
	r := ds.SnapshotReader(rev)
	st := capturedState{
		rels:       allRels(t, ds, rev),
		namespaces: map[string]string{},
		caveats:    map[string]string{},
		counters:   map[string]string{},
	}
	nss, err := r.LegacyListAllNamespaces(ctx)
	require.NoError(t, err)
	for _, n := range nss {
		st.namespaces[n.Definition.Name] = n.Definition.String() + "@" + n.LastWrittenRevision.String()
	}
	cvs, err := r.LegacyListAllCaveats(ctx)
	require.NoError(t, err)
	for _, c := range cvs {
		st.caveats[c.Definition.Name] = c.Definition.String() + "@" + c.LastWrittenRevision.String()
	}
	counters, err := r.LookupCounters(ctx)
	require.NoError(t, err)
	for _, c := range counters {
		st.counters[c.Name] = c.Filter.String() + "=" + string(rune('0'+c.Count)) + "@" + c.ComputedAtRevision.String()
	}
	stored, err := r.ReadStoredSchema(ctx)
	require.NoError(t, err)
	st.schema = stored.Get().String()
	h, err := ds.HeadRevision(ctx)
	require.NoError(t, err)
	st.schemaHash = h.SchemaHash
	return st
}

func TestOpenLockedDirectoryFails(t *testing.T) {
	dir := t.TempDir()
	ds := openTest(t, dir, Options{})
	defer ds.Close()

	_, err := Open(context.Background(), dir, Options{})
	require.Error(t, err)
	require.Contains(t, err.Error(), dir)
	t.Logf("second open: %v", err)
}
