package localstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/authzed/spicedb/pkg/datastore"
	ns "github.com/authzed/spicedb/pkg/namespace"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
)

// TestSnapshotReadersShareOneDecodedDefinitionPerVersion: over generated versions of a
// schema, every snapshot reader at a revision gets that revision's definitions, decoded
// once and shared; a write transaction gets a copy of its own, and changing that copy
// changes nothing any reader gets.
func TestSnapshotReadersShareOneDecodedDefinitionPerVersion(t *testing.T) {
	ctx := context.Background()
	ds := openTest(t, t.TempDir(), Options{GCInterval: -1})
	defer ds.Close()
	rng := rand.New(rand.NewPCG(3, 5))

	type version struct {
		rev  datastore.Revision
		defs map[string]*core.NamespaceDefinition
	}
	var versions []version
	current := map[string]*core.NamespaceDefinition{}
	for v := range 20 {
		// Each version rewrites one or two definitions with new relations.
		var written []*core.NamespaceDefinition
		for _, name := range []string{"user", "document", "folder"}[:1+rng.IntN(3)] {
			if rng.IntN(2) == 0 && len(written) > 0 {
				continue
			}
			var rels []*core.Relation
			for r := range 1 + rng.IntN(3) {
				rels = append(rels, ns.MustRelation(fmt.Sprintf("r%d_%d", v, r), nil))
			}
			written = append(written, ns.Namespace(name, rels...))
		}
		rev, err := ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
			return rwt.LegacyWriteNamespaces(ctx, written...)
		})
		require.NoError(t, err)
		next := map[string]*core.NamespaceDefinition{}
		for name, def := range current {
			next[name] = def
		}
		for _, def := range written {
			next[def.Name] = def.CloneVT()
		}
		current = next
		versions = append(versions, version{rev, next})
	}

	for i, v := range versions {
		a, b := ds.SnapshotReader(v.rev), ds.SnapshotReader(v.rev)
		for name, want := range v.defs {
			gotA, _, err := a.LegacyReadNamespaceByName(ctx, name)
			require.NoError(t, err)
			gotB, _, err := b.LegacyReadNamespaceByName(ctx, name)
			require.NoError(t, err)
			require.True(t, proto.Equal(want, gotA), "version %d, %s: %v, want %v", i, name, gotA, want)
			require.Same(t, gotA, gotB, "version %d, %s: two readers decoded the same stored definition twice", i, name)
			listed, err := a.LegacyLookupNamespacesWithNames(ctx, []string{name})
			require.NoError(t, err)
			require.Len(t, listed, 1)
			require.Same(t, gotA, listed[0].Definition, "version %d, %s: a lookup by name decoded it again", i, name)
		}
	}

	// A write transaction's copy is its own.
	last := versions[len(versions)-1]
	shared, _, err := ds.SnapshotReader(last.rev).LegacyReadNamespaceByName(ctx, "user")
	require.NoError(t, err)
	_, err = ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		own, _, err := rwt.LegacyReadNamespaceByName(ctx, "user")
		require.NoError(t, err)
		require.NotSame(t, shared, own)
		own.Relation = append(own.Relation, ns.MustRelation("changed_in_a_transaction", nil))
		return nil
	})
	require.NoError(t, err)
	after, _, err := ds.SnapshotReader(last.rev).LegacyReadNamespaceByName(ctx, "user")
	require.NoError(t, err)
	require.True(t, proto.Equal(last.defs["user"], after), "a change to a transaction's copy reached a reader: %v", after)
}
