package localstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"
)

// scriptedSource hands out relationships the way SpiceDB's import adapter does: one
// reused value overwritten by every call. At pauseAt it ends the call's stream (nil)
// once, as the adapter does to have its caller load a definition, and at failAt or
// panicAt it fails. A slow source yields now and then, so the inserts catch up with
// it. It counts the calls begun or ended while no BulkLoad was running.
type scriptedSource struct {
	rels             []tuple.Relationship
	i                int
	pauseAt          int
	failAt, panicAt  int
	slow             bool
	current          tuple.Relationship
	loading          atomic.Bool
	calls, strayCall atomic.Int64
}

var errScriptedRead = errors.New("scripted read failure")

func (s *scriptedSource) Next(_ context.Context) (*tuple.Relationship, error) {
	s.calls.Add(1)
	if !s.loading.Load() {
		s.strayCall.Add(1)
	}
	if s.slow && s.i%64 == 0 {
		time.Sleep(20 * time.Microsecond)
	}
	defer func() {
		if !s.loading.Load() {
			s.strayCall.Add(1)
		}
	}()
	switch {
	case s.i == s.pauseAt:
		s.pauseAt = -1
		return nil, nil
	case s.i == s.failAt:
		return nil, errScriptedRead
	case s.i == s.panicAt:
		panic("scripted panic")
	case s.i >= len(s.rels):
		return nil, nil
	}
	s.current = s.rels[s.i]
	s.i++
	return &s.current, nil
}

// TestBulkLoadFailsInTheSourcesOrder: a bulk load reads its source ahead of its inserts,
// in another goroutine, yet ends exactly as a load one relationship at a time would.
// Over generated loads it checks that the first failure in the source's order wins (a
// relationship already stored or loaded twice, a read error, a panic in the source),
// that a load split by the source's pauses writes everything, that no value the source
// reuses is stored twice, that the source is never called once BulkLoad has returned,
// and that after a failure it reads at most a bounded stretch ahead.
func TestBulkLoadFailsInTheSourcesOrder(t *testing.T) {
	ds := openTest(t, t.TempDir(), Options{GCInterval: -1, RevisionQuantization: -1})
	base := genRels(0, 500, 3, 40)
	bulkLoad(t, ds, base)
	stored := map[string]bool{}
	for _, r := range base {
		stored[tuple.MustString(r)] = true
	}

	rng := rand.New(rand.NewPCG(3, 17))
	next := 1000
	maxAhead := bulkLoadChunk*(bulkLoadChunksAhead+2) + 1
	for i := range 80 {
		n := rng.IntN(20 * bulkLoadChunk)
		if i%10 == 0 {
			n = []int{0, 1, bulkLoadChunk - 1, bulkLoadChunk, bulkLoadChunk + 1, 4096, 4097, 3 * bulkLoadChunk}[i/10]
		}
		rels := genRels(next, n, 3, 40)
		next += n + 1
		src := &scriptedSource{rels: rels, pauseAt: -1, failAt: -1, panicAt: -1, slow: rng.IntN(2) == 0}
		at := func() int { return rng.IntN(n + 1) }
		switch rng.IntN(6) {
		case 0: // a relationship already stored
			if n > 0 {
				rels[at()%n] = base[rng.IntN(len(base))]
			}
		case 1: // a relationship loaded twice
			if n > 1 {
				j := 1 + rng.IntN(n-1)
				rels[j] = rels[rng.IntN(j)]
			}
		case 2:
			src.failAt = at()
		case 3:
			src.panicAt = at()
		case 4:
			src.pauseAt = at()
		}
		if rng.IntN(3) == 0 && src.failAt < 0 {
			src.failAt = at() // a second failure: whichever comes first in order wins
		}
		wantErr, wantAt := expectedBulkLoad(src, stored)
		name := fmt.Sprintf("%d/n=%d/pause=%d/fail=%d/panic=%d/slow=%v/want=%s@%d", i, n, src.pauseAt, src.failAt, src.panicAt, src.slow, wantErr, wantAt)

		before, rev := allRels(t, ds, head(t, ds)), head(t, ds)
		_, err := ds.ReadWriteTx(context.Background(), func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
			for {
				src.loading.Store(true)
				loaded, err := rwt.BulkLoad(ctx, src)
				src.loading.Store(false)
				if err != nil {
					return err
				}
				if src.i >= len(src.rels) && src.pauseAt < 0 {
					return nil
				}
				require.LessOrEqual(t, int(loaded), n, name)
			}
		})
		time.Sleep(time.Millisecond) // a reader left running would call again by now
		require.Zero(t, src.strayCall.Load(), "%s: source called after BulkLoad returned", name)
		switch wantErr {
		case "":
			require.NoError(t, err, name)
			require.Len(t, allRels(t, ds, head(t, ds)), len(before)+n, name)
			for _, r := range rels {
				stored[tuple.MustString(r)] = true
			}
			continue
		case "exists":
			require.ErrorAs(t, err, new(datastore.CreateRelationshipExistsError), name)
		case "read":
			require.ErrorIs(t, err, errScriptedRead, name)
		case "panic":
			require.Error(t, err, name)
			require.True(t, strings.Contains(err.Error(), "bulk load source failed"), "%s: %v", name, err)
		}
		require.LessOrEqual(t, int(src.calls.Load()), wantAt+maxAhead+2, "%s: read on after the failure", name)
		require.Equal(t, rev, head(t, ds), name)
		require.Equal(t, before, allRels(t, ds, head(t, ds)), name)
	}
}

// expectedBulkLoad walks the source in order as a load one at a time would and names
// the first failure ("" for none) and its position.
func expectedBulkLoad(src *scriptedSource, stored map[string]bool) (string, int) {
	seen := map[string]bool{}
	for i := 0; ; i++ {
		switch {
		case i == src.failAt:
			return "read", i
		case i == src.panicAt:
			return "panic", i
		case i >= len(src.rels):
			return "", i
		}
		key := tuple.MustString(src.rels[i])
		if stored[key] || seen[key] {
			return "exists", i
		}
		seen[key] = true
	}
}
