package localstore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	"github.com/authzed/spicedb/pkg/tuple"
)

const (
	crashDirEnv = "LOCALSTORE_CRASH_CHILD_DIR"
	relsPerTx   = 5
)

func crashTxRels(i int) []string {
	rels := make([]string, 0, relsPerTx)
	for j := range relsPerTx {
		rels = append(rels, fmt.Sprintf("document:tx%d_%d#viewer@user:writer%d", i, j, i))
	}
	return rels
}

// TestCrashChild is the child process of TestKillNine: it writes transactions of
// relsPerTx relationships forever and prints "ack N" after each acknowledged commit.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestKillNine")
	}
	ds, err := Open(context.Background(), dir, Options{GCInterval: -1})
	if err != nil {
		fmt.Println("open error:", err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		updates := make([]tuple.RelationshipUpdate, 0, relsPerTx)
		for _, r := range crashTxRels(i) {
			updates = append(updates, tuple.Touch(tuple.MustParse(r)))
		}
		md, err := structpb.NewStruct(map[string]any{"tx": float64(i)})
		if err != nil {
			fmt.Println("metadata error:", err)
			os.Exit(2)
		}
		rev, err := ds.ReadWriteTx(context.Background(), func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
			return rwt.WriteRelationships(ctx, updates)
		}, options.WithMetadata(md))
		if err != nil {
			fmt.Println("write error:", err)
			os.Exit(2)
		}
		fmt.Printf("ack %d %s\n", i, rev)
	}
}

// TestKillNine kills a writer with SIGKILL mid-stream and checks that every
// acknowledged transaction survives, no transaction is partially applied, and every
// durable transaction's Watch changelog entry (with its metadata) survives too.
func TestKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	lastAck := -1
	var lastRev datastore.Revision = datastore.NoRevision
	ackRevs := map[int]datastore.Revision{}
	killed := false
	deadline := time.Now().Add(20 * time.Second)
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		line := scanner.Text()
		if ack, ok := strings.CutPrefix(line, "ack "); ok {
			n, revStr, _ := strings.Cut(ack, " ")
			v, err := strconv.Atoi(n)
			require.NoError(t, err)
			require.Equal(t, lastAck+1, v)
			lastAck = v
			lastRev, err = ParseRevisionString(revStr)
			require.NoError(t, err)
			ackRevs[v] = lastRev
		} else if strings.Contains(line, "error") {
			t.Fatalf("child failed: %s", line)
		}
		if lastAck == 0 && !killed {
			// While the child holds the directory, another process cannot open it.
			_, err := Open(context.Background(), dir, Options{GCInterval: -1})
			require.Error(t, err)
			require.Contains(t, err.Error(), dir)
			t.Logf("open while the child holds the directory: %v", err)
		}
		// Kill mid-stream once enough writes are acknowledged; keep reading what the
		// child printed before it died (those writes were acknowledged too).
		if !killed && (lastAck >= 2000 || time.Now().After(deadline)) {
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			killed = true
		}
	}
	_ = cmd.Wait()
	require.True(t, killed, "child exited before it was killed")
	require.GreaterOrEqual(t, lastAck, 0, "no acknowledged writes")

	start := time.Now()
	ds := openTest(t, dir, Options{GCInterval: -1})
	defer ds.Close()
	reopen := since(start)

	present := map[int]int{}
	for _, rel := range allRels(t, ds, head(t, ds)) {
		var i, j int
		_, err := fmt.Sscanf(rel, "document:tx%d_%d#", &i, &j)
		require.NoError(t, err, rel)
		present[i]++
	}
	lost := 0
	for i := 0; i <= lastAck; i++ {
		if present[i] != relsPerTx {
			lost++
		}
	}
	for i, n := range present {
		require.Equal(t, relsPerTx, n, "transaction %d is partially applied", i)
		require.LessOrEqual(t, i, lastAck+1, "transaction %d was never started before the kill", i)
	}
	t.Logf("acknowledged transactions: %d (%d relationships), lost: %d, durable but unacknowledged: %d, reopen: %s",
		lastAck+1, (lastAck+1)*relsPerTx, lost, len(present)-(lastAck+1), reopen)
	require.Zero(t, lost)

	// Every acknowledged transaction's Watch changelog entry survived, at its
	// revision, with its metadata and its relationships, and so did the entry of any
	// transaction that is durable though unacknowledged.
	changes := collectWatch(t, ds, revision(0), head(t, ds), datastore.WatchRelationships)
	byTx := map[int]datastore.RevisionChanges{}
	for _, c := range changes {
		if c.IsCheckpoint {
			continue
		}
		require.Len(t, c.Metadatas, 1)
		i := int(c.Metadatas[0].AsMap()["tx"].(float64))
		_, dup := byTx[i]
		require.False(t, dup, "transaction %d reported twice", i)
		byTx[i] = c
		require.Len(t, c.RelationshipChanges, relsPerTx)
		for j, u := range c.RelationshipChanges {
			require.Equal(t, crashTxRels(i)[j], tuple.MustString(u.Relationship))
		}
	}
	for i := 0; i <= lastAck; i++ {
		c, ok := byTx[i]
		require.True(t, ok, "changelog entry of acknowledged transaction %d is missing", i)
		require.True(t, c.Revision.Equal(ackRevs[i]), "transaction %d at %v, acknowledged at %v", i, c.Revision, ackRevs[i])
	}
	require.Len(t, byTx, len(present), "a changelog entry exists exactly for each durable transaction")
	t.Logf("changelog entries replayed by Watch after the crash: %d", len(byTx))

	// Revisions stay monotonic across the crash.
	require.False(t, head(t, ds).LessThan(lastRev), "head %v is before the last acknowledged revision %v", head(t, ds), lastRev)
	next := writeRels(t, ds, tuple.UpdateOperationTouch, "document:after#viewer@user:restart")
	require.True(t, next.GreaterThan(lastRev))
}
