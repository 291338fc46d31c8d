package localstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/authzed/spicedb/pkg/caveats"
	caveattypes "github.com/authzed/spicedb/pkg/caveats/types"
	"github.com/authzed/spicedb/pkg/datalayer"
	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	ns "github.com/authzed/spicedb/pkg/namespace"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/tuple"
)

const watchAll = datastore.WatchRelationships | datastore.WatchSchema | datastore.WatchCheckpoints

// describeChange renders a Watch change canonically: relationship updates in
// stream order (with caveat, expiration and integrity), definitions and deleted
// names sorted, metadata as sorted JSON.
func describeChange(t testing.TB, c datastore.RevisionChanges) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "rev=%s checkpoint=%v", c.Revision, c.IsCheckpoint)
	for _, u := range c.RelationshipChanges {
		fmt.Fprintf(&b, "\n  op%d %s", u.Operation, tuple.MustString(u.Relationship))
		if ig := u.Relationship.OptionalIntegrity; ig != nil {
			fmt.Fprintf(&b, " integrity=%s/%s/%s", ig.KeyId, hex.EncodeToString(ig.Hash), ig.HashedAt.AsTime().Format(time.RFC3339Nano))
		}
	}
	var defs []string
	for _, d := range c.ChangedDefinitions {
		defs = append(defs, fmt.Sprintf("%T %s", d, d))
	}
	slices.Sort(defs)
	for _, d := range defs {
		fmt.Fprintf(&b, "\n  def %s", d)
	}
	dn, dc := slices.Sorted(slices.Values(c.DeletedNamespaces)), slices.Sorted(slices.Values(c.DeletedCaveats))
	if len(dn)+len(dc) > 0 {
		fmt.Fprintf(&b, "\n  deleted namespaces=%v caveats=%v", dn, dc)
	}
	for _, md := range c.Metadatas {
		j, err := json.Marshal(md.AsMap())
		require.NoError(t, err)
		fmt.Fprintf(&b, "\n  metadata %s", j)
	}
	return b.String()
}

// collectWatch watches after rev and returns the changes up to and including the
// checkpoint for until.
func collectWatch(t testing.TB, ds datastore.Datastore, after, until datastore.Revision, content datastore.WatchContent) []datastore.RevisionChanges {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	updates, errs := ds.Watch(ctx, after, datastore.WatchOptions{Content: content | datastore.WatchCheckpoints, WatchBufferLength: 1024})
	var out []datastore.RevisionChanges
	for {
		select {
		case c, ok := <-updates:
			if !ok {
				t.Fatalf("watch closed early: %v", <-errs)
			}
			out = append(out, c)
			if c.IsCheckpoint && !c.Revision.LessThan(until) {
				return out
			}
		case <-ctx.Done():
			t.Fatalf("timed out watching for %s; got %d changes", until, len(out))
		}
	}
}

func describeAll(t testing.TB, changes []datastore.RevisionChanges) []string {
	out := make([]string, 0, len(changes))
	for _, c := range changes {
		out = append(out, describeChange(t, c))
	}
	return out
}

func metadata(t testing.TB, m map[string]any) *structpb.Struct {
	s, err := structpb.NewStruct(m)
	require.NoError(t, err)
	return s
}

// storedChangelogRevisions lists the revisions of the changelog entries in storage.
func storedChangelogRevisions(t testing.TB, ds *Datastore) []int64 {
	t.Helper()
	iter, err := ds.store.NewIter(&pebble.IterOptions{LowerBound: changelogKeyFloor, UpperBound: []byte{kindChangelog + 1}})
	require.NoError(t, err)
	defer iter.Close()
	var revs []int64
	for valid := iter.First(); valid; valid = iter.Next() {
		rev, err := changelogKeyRevision(iter.Key())
		require.NoError(t, err)
		revs = append(revs, rev)
	}
	require.NoError(t, iter.Error())
	return revs
}

// TestWatchHistorySurvivesReopen writes transactions with metadata (relationship
// creates, touches, deletes with caveats, expirations and integrity; schema changes;
// a bulk load), closes, reopens, and checks that Watch from before the first
// revision and from the first revision replays exactly what it did before the
// restart, with the same metadata and in order, then continues live.
func TestWatchHistorySurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := Options{RevisionQuantization: -1, GCInterval: -1}
	ds := openTest(t, dir, opts)

	env := caveats.NewEnvironmentWithDefaultTypeSet()
	require.NoError(t, env.AddVariable("ip", caveattypes.Default.IPAddressType))
	compiled, err := caveats.CompileCaveatWithName(env, "ip.in_cidr('10.0.0.0/8')", "internal_ip")
	require.NoError(t, err)
	caveatDef, err := ns.CompiledCaveatDefinition(env, "internal_ip", compiled)
	require.NoError(t, err)

	var revs []datastore.Revision
	tx := func(md map[string]any, f datastore.TxUserFunc) {
		t.Helper()
		var o []options.RWTOptionsOption
		if md != nil {
			o = append(o, options.WithMetadata(metadata(t, md)))
		}
		rev, err := ds.ReadWriteTx(ctx, f, o...)
		require.NoError(t, err)
		revs = append(revs, rev)
	}
	write := func(md map[string]any, updates ...tuple.RelationshipUpdate) {
		t.Helper()
		tx(md, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
			return rwt.WriteRelationships(ctx, updates)
		})
	}

	tx(map[string]any{"actor": "admin", "step": 1.0}, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
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
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	withIntegrity := tuple.MustParse("document:i#viewer@user:ivy")
	withIntegrity.OptionalIntegrity = &core.RelationshipIntegrity{KeyId: "k1", Hash: []byte{1, 2, 3}, HashedAt: timestamppb.New(time.Unix(1700000000, 123456789))}
	write(map[string]any{"actor": "alice", "reason": "grant", "nested": map[string]any{"ticket": "T-1", "n": 3.5}},
		tuple.Create(tuple.MustParse("document:a#viewer@user:alice")),
		tuple.Create(tuple.MustParse("document:a#viewer@user:bob")),
		tuple.Create(tuple.MustParse(`document:b#viewer@user:carol[internal_ip:{"ip":"10.1.2.3"}]`)),
		tuple.Create(tuple.MustParse("document:c#viewer@user:dave[expiration:"+future+"]")),
		tuple.Create(withIntegrity),
	)
	write(map[string]any{"actor": "bob"},
		tuple.Delete(tuple.MustParse("document:a#viewer@user:bob")),
		tuple.Touch(tuple.MustParse(`document:b#viewer@user:carol[internal_ip:{"ip":"10.9.9.9"}]`)),
		tuple.Delete(tuple.MustParse(`document:b#viewer@user:carol[internal_ip:{"ip":"10.9.9.9"}]`)),
		tuple.Touch(tuple.MustParse(`document:b#viewer@user:carol[internal_ip:{"ip":"10.7.7.7"}]`)),
	)
	write(nil, tuple.Touch(tuple.MustParse("document:d#viewer@user:erin")))
	tx(map[string]any{"actor": "admin", "step": 2.0}, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		return rwt.LegacyDeleteNamespaces(ctx, []string{"gone"}, datastore.DeleteNamespacesOnly)
	})
	tx(map[string]any{"actor": "importer"}, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		_, err := rwt.BulkLoad(ctx, &sliceSource{rels: genRels(0, 50, 10, 100)})
		return err
	})
	write(map[string]any{"actor": "carol"}, tuple.Delete(tuple.MustParse("document:d#viewer@user:erin")))
	last := revs[len(revs)-1]

	zero := revision(0)
	beforeFromZero := describeAll(t, collectWatch(t, ds, zero, last, watchAll))
	beforeFromFirst := describeAll(t, collectWatch(t, ds, revs[0], last, watchAll))
	relsOnly := describeAll(t, collectWatch(t, ds, zero, last, datastore.WatchRelationships))
	require.NoError(t, ds.Close())

	start := time.Now()
	reopened := openTest(t, dir, opts)
	defer reopened.Close()
	t.Logf("reopen took %s, stored changelog entries: %d", since(start), len(storedChangelogRevisions(t, reopened)))

	afterFromZero := describeAll(t, collectWatch(t, reopened, zero, last, watchAll))
	require.Equal(t, beforeFromZero, afterFromZero, "Watch from revision 0 replays the same stream after reopen")
	require.Equal(t, beforeFromFirst, describeAll(t, collectWatch(t, reopened, revs[0], last, watchAll)))
	require.Equal(t, relsOnly, describeAll(t, collectWatch(t, reopened, zero, last, datastore.WatchRelationships)))

	// Every transaction is there, in order, with its metadata.
	var checkpoints []string
	var metas []string
	for _, c := range collectWatch(t, reopened, zero, last, watchAll) {
		if c.IsCheckpoint {
			checkpoints = append(checkpoints, c.Revision.String())
		}
		for _, md := range c.Metadatas {
			j, _ := json.Marshal(md.AsMap())
			metas = append(metas, c.Revision.String()+" "+string(j))
		}
	}
	var want []string
	for _, r := range revs {
		want = append(want, r.String())
	}
	require.Equal(t, want, checkpoints)
	require.Contains(t, metas, revs[1].String()+` {"actor":"alice","nested":{"n":3.5,"ticket":"T-1"},"reason":"grant"}`)
	require.Contains(t, metas, revs[5].String()+` {"actor":"importer"}`)
	t.Logf("replayed %d transactions, %d stream items; e.g. %q", len(revs), len(afterFromZero), afterFromZero[2])

	// The schema at pre-restart revisions is rebuilt (SpiceDB's Watch reads it at
	// the start revision); relationships there are not.
	_, _, err = reopened.SnapshotReader(revs[3]).LegacyReadNamespaceByName(ctx, "gone")
	require.NoError(t, err, "namespace gone existed at %v", revs[3])
	_, _, err = reopened.SnapshotReader(revs[4]).LegacyReadNamespaceByName(ctx, "gone")
	require.ErrorAs(t, err, &datastore.NamespaceNotFoundError{})
	cv, cvRev, err := reopened.SnapshotReader(revs[2]).LegacyReadCaveatByName(ctx, "internal_ip")
	require.NoError(t, err)
	require.Equal(t, "internal_ip", cv.Name)
	require.True(t, cvRev.Equal(revs[0]))
	_, err = reopened.SnapshotReader(revs[2]).QueryRelationships(ctx, datastore.RelationshipsFilter{OptionalResourceType: "document"})
	require.Error(t, err)

	// Live changes follow the replayed history on the same stream.
	ctxW, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	updates, errs := reopened.Watch(ctxW, revs[0], datastore.WatchOptions{Content: datastore.WatchRelationships | datastore.WatchCheckpoints, WatchBufferLength: 1024})
	var got []datastore.RevisionChanges
	for len(got) < len(relsOnly)-1 { // relsOnly starts with the checkpoint of revs[0]
		select {
		case c := <-updates:
			got = append(got, c)
		case err := <-errs:
			t.Fatal(err)
		case <-ctxW.Done():
			t.Fatal("timed out")
		}
	}
	live, err := reopened.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		return rwt.WriteRelationships(ctx, []tuple.RelationshipUpdate{tuple.Touch(tuple.MustParse("document:live#viewer@user:zed"))})
	}, options.WithMetadata(metadata(t, map[string]any{"actor": "live"})))
	require.NoError(t, err)
	select {
	case c := <-updates:
		require.True(t, c.Revision.Equal(live))
		require.Equal(t, "document:live#viewer@user:zed", tuple.MustString(c.RelationshipChanges[0].Relationship))
		require.Equal(t, "live", c.Metadatas[0].AsMap()["actor"])
	case err := <-errs:
		t.Fatal(err)
	case <-ctxW.Done():
		t.Fatal("timed out waiting for the live change")
	}
	require.Equal(t, relsOnly[1:], describeAll(t, got))
}

// TestWatchThroughDataLayerAfterReopen follows SpiceDB's Watch service: it opens a
// reader at the start revision and reads the schema there (to validate relationship
// filters, or to load the stored schema) before calling Watch. After a restart this
// works for pre-restart revisions inside the window when the schema has not changed
// since; relationship reads at such revisions stay RevisionStale.
func TestWatchThroughDataLayerAfterReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := Options{RevisionQuantization: -1, GCInterval: -1}
	ds := openTest(t, dir, opts)

	schemaRev, err := ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		user, document := ns.Namespace("user"), ns.Namespace("document", ns.MustRelation("viewer", nil))
		if err := rwt.LegacyWriteNamespaces(ctx, user, document); err != nil {
			return err
		}
		return rwt.WriteStoredSchema(ctx, &core.StoredSchema{Version: 1, VersionOneof: &core.StoredSchema_V1{
			V1: &core.StoredSchema_V1StoredSchema{
				SchemaText:           "definition user {}\ndefinition document { relation viewer: user }",
				SchemaHash:           "hash-1",
				NamespaceDefinitions: map[string]*core.NamespaceDefinition{"user": user, "document": document},
			},
		}})
	})
	require.NoError(t, err)
	first := writeRels(t, ds, tuple.UpdateOperationCreate, "document:a#viewer@user:alice")
	second := writeRels(t, ds, tuple.UpdateOperationCreate, "document:b#viewer@user:bob")
	require.NoError(t, ds.Close())

	ds = openTest(t, dir, opts)

	for _, mode := range []datalayer.SchemaMode{datalayer.SchemaModeReadLegacyWriteLegacy, datalayer.SchemaModeReadNewWriteBoth} {
		dl := datalayer.NewDataLayer(ds, datalayer.WithSchemaMode(mode))
		for _, start := range []datastore.Revision{schemaRev, first} {
			sr, err := dl.SnapshotReader(start, datalayer.NoSchemaHashForWatch).ReadSchema(ctx)
			require.NoError(t, err, "mode %v start %v", mode, start)
			def, found, err := sr.LookupTypeDefByName(ctx, "document")
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, "document", def.Definition.Name)

			changes := collectWatch(t, ds, start, second, datastore.WatchRelationships)
			require.NotEmpty(t, changes)
			require.Equal(t, "document:b#viewer@user:bob", tuple.MustString(changes[len(changes)-2].RelationshipChanges[0].Relationship))
		}
	}

	// Relationship reads at a pre-restart revision stay stale; CheckRevision (used
	// by SpiceDB before data reads) rejects it.
	_, err = ds.SnapshotReader(first).QueryRelationships(ctx, datastore.RelationshipsFilter{OptionalResourceType: "document"})
	var invalid datastore.InvalidRevisionError
	require.True(t, errors.As(err, &invalid), "got %v", err)
	require.Equal(t, datastore.RevisionStale, invalid.Reason())
	_, err = ds.SnapshotReader(first).LookupCounters(ctx)
	require.Error(t, err)
	require.Error(t, ds.CheckRevision(ctx, first))

	// A later schema change: after the next restart the schema at earlier revisions
	// is rebuilt from the changelog's schema pre-images.
	folderRev, err := ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		if err := rwt.LegacyWriteNamespaces(ctx, ns.Namespace("folder"), ns.Namespace("document", ns.MustRelation("viewer", nil), ns.MustRelation("editor", nil))); err != nil {
			return err
		}
		return rwt.LegacyDeleteNamespaces(ctx, []string{"user"}, datastore.DeleteNamespacesOnly)
	})
	require.NoError(t, err)
	require.NoError(t, ds.Close())
	ds = openTest(t, dir, opts)
	r := ds.SnapshotReader(first)
	doc, docRev, err := r.LegacyReadNamespaceByName(ctx, "document")
	require.NoError(t, err)
	require.Len(t, doc.Relation, 1, "document as it was at %v", first)
	require.True(t, docRev.Equal(schemaRev), "last written at %v, want %v", docRev, schemaRev)
	_, _, err = r.LegacyReadNamespaceByName(ctx, "user")
	require.NoError(t, err, "user existed at %v", first)
	_, _, err = r.LegacyReadNamespaceByName(ctx, "folder")
	require.ErrorAs(t, err, &datastore.NamespaceNotFoundError{})
	stored, err := r.ReadStoredSchema(ctx)
	require.NoError(t, err)
	require.Equal(t, "hash-1", stored.Get().GetV1().SchemaHash)

	// Before the first schema write there was no schema (the directory is new, so
	// its whole history is in the changelog).
	nss, err := ds.SnapshotReader(schemaRev.(revision) - 1).LegacyListAllNamespaces(ctx)
	require.NoError(t, err)
	require.Empty(t, nss)
	_, err = ds.SnapshotReader(schemaRev.(revision) - 1).ReadStoredSchema(ctx)
	require.ErrorIs(t, err, datastore.ErrSchemaNotFound)

	// At the restored head, the new schema.
	doc, _, err = ds.SnapshotReader(folderRev).LegacyReadNamespaceByName(ctx, "document")
	require.NoError(t, err)
	require.Len(t, doc.Relation, 2)
	_, _, err = ds.SnapshotReader(folderRev).LegacyReadNamespaceByName(ctx, "user")
	require.ErrorAs(t, err, &datastore.NamespaceNotFoundError{})

	// Watch itself still replays from there.
	changes := collectWatch(t, ds, first, second, datastore.WatchRelationships)
	require.Equal(t, "document:b#viewer@user:bob", tuple.MustString(changes[0].RelationshipChanges[0].Relationship))
	require.NoError(t, ds.Close())
}

// TestGCDeletesStoredChangelog: collection removes changelog entries older than the
// window from storage as well as memory, and Open drops (and deletes) entries that
// fell out of the window while the store was closed.
func TestGCDeletesStoredChangelog(t *testing.T) {
	const window = 400 * time.Millisecond
	dir := t.TempDir()
	opts := Options{GCWindow: window, RevisionQuantization: -1, GCInterval: -1}
	ds := openTest(t, dir, opts)

	for i := range 100 {
		writeRels(t, ds, tuple.UpdateOperationTouch, fmt.Sprintf("document:d%d#viewer@user:u%d", i%10, i))
	}
	require.Len(t, storedChangelogRevisions(t, ds), 100)

	time.Sleep(window + 50*time.Millisecond)
	recent := writeRels(t, ds, tuple.UpdateOperationTouch, "document:recent#viewer@user:z")
	stats, err := ds.CollectGarbage(context.Background())
	require.NoError(t, err)
	require.Equal(t, 100, stats.ChangelogEntriesDeleted)
	stored := storedChangelogRevisions(t, ds)
	require.Equal(t, []int64{int64(recent.(revision))}, stored, "only the entry inside the window is left on disk")

	// Nothing older than the window comes back after reopen.
	require.NoError(t, ds.Close())
	ds = openTest(t, dir, opts)
	changes := collectWatch(t, ds, revision(0), recent, datastore.WatchRelationships)
	require.Len(t, changes, 2) // the recent change and its checkpoint
	require.True(t, changes[0].Revision.Equal(recent))

	// Entries that age out while the store is closed are dropped at Open.
	writeRels(t, ds, tuple.UpdateOperationTouch, "document:later#viewer@user:z")
	require.Len(t, storedChangelogRevisions(t, ds), 2)
	require.NoError(t, ds.Close())
	time.Sleep(window + 50*time.Millisecond)
	ds = openTest(t, dir, opts)
	defer ds.Close()
	require.Empty(t, storedChangelogRevisions(t, ds))
	require.Len(t, allRels(t, ds, head(t, ds)), 102)
}

// TestOpenDirectoryWithoutStoredChangelog: a directory written before the changelog
// was stored has no history on disk; the changelog is complete only from its head on,
// and the schema before that head is not claimed.
func TestOpenDirectoryWithoutStoredChangelog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := Options{RevisionQuantization: -1, GCInterval: -1}
	ds := openTest(t, dir, opts)
	_, err := ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		return rwt.LegacyWriteNamespaces(ctx, ns.Namespace("user"), ns.Namespace("document", ns.MustRelation("viewer", nil)))
	})
	require.NoError(t, err)
	early := writeRels(t, ds, tuple.UpdateOperationCreate, "document:a#viewer@user:alice")
	oldHead := writeRels(t, ds, tuple.UpdateOperationCreate, "document:b#viewer@user:bob")
	require.NoError(t, ds.Close())

	// Make it look like the older format: no changelog keys, no changelog start.
	store, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{zap.NewNop()}})
	require.NoError(t, err)
	require.NoError(t, store.DeleteRange(changelogKeyFloor, []byte{kindChangelog + 1}, pebble.Sync))
	require.NoError(t, store.Delete(metaChangelogFromKey, pebble.Sync))
	require.NoError(t, store.Close())

	ds = openTest(t, dir, opts)
	_, _, err = ds.SnapshotReader(early).LegacyReadNamespaceByName(ctx, "document")
	var invalid datastore.InvalidRevisionError
	require.True(t, errors.As(err, &invalid), "schema before the stored changelog starts is not claimed: %v", err)
	require.Equal(t, datastore.RevisionStale, invalid.Reason())
	later := writeRels(t, ds, tuple.UpdateOperationCreate, "document:c#viewer@user:carol")
	require.NoError(t, ds.Close())

	ds = openTest(t, dir, opts)
	defer ds.Close()
	_, _, err = ds.SnapshotReader(oldHead).LegacyReadNamespaceByName(ctx, "document")
	require.NoError(t, err, "schema from the changelog start on is known")
	_, _, err = ds.SnapshotReader(early).LegacyReadNamespaceByName(ctx, "document")
	require.True(t, errors.As(err, &invalid), "got %v", err)
	changes := collectWatch(t, ds, revision(0), later, datastore.WatchRelationships)
	require.Len(t, changes, 2, "only the change written after the upgrade is replayed")
	require.Equal(t, "document:c#viewer@user:carol", tuple.MustString(changes[0].RelationshipChanges[0].Relationship))
}
