package control_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"

	"github.com/accessgraph/accessgraph/pkg/control"
	"github.com/accessgraph/accessgraph/pkg/localstore"
)

func openStore(t *testing.T, dir string) *localstore.Datastore {
	t.Helper()
	ds, err := localstore.Open(context.Background(), dir, localstore.Options{GCInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ds.Close() })
	return ds
}

const relsPerTx = 4

func txRels(w, i int) []tuple.RelationshipUpdate {
	out := make([]tuple.RelationshipUpdate, 0, relsPerTx)
	for j := range relsPerTx {
		out = append(out, tuple.Create(tuple.MustParse(fmt.Sprintf("document:w%d_t%d_r%d#viewer@user:w%d", w, i, j, w))))
	}
	return out
}

// TestBackupThroughTheSocketWhileWriting serves a store on its control socket, backs it up
// through the socket while 4 writers commit, and restores the backup: every transaction
// acknowledged before the backup began is in it, none is half in it.
func TestBackupThroughTheSocketWhileWriting(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	data := filepath.Join(base, "data")
	ds := openStore(t, data)
	srv, err := control.Listen(data, ds, control.Config{AccessGraphVersion: "v1.2.3", SpiceDBVersion: "v1.57.1"})
	require.NoError(t, err)
	defer srv.Close()

	st, err := os.Lstat(control.SocketPath(data))
	require.NoError(t, err)
	require.Equal(t, os.ModeSocket, st.Mode().Type())
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the socket is owner-only")
	entries, err := os.ReadDir(data)
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasPrefix(e.Name(), ".c"), "the private directory %s was left behind", e.Name())
	}

	const writers = 4
	var (
		mu    sync.Mutex
		acked = map[[2]int]bool{}
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, err := ds.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
					return rwt.WriteRelationships(ctx, txRels(w, i))
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked[[2]int{w, i}] = true
				mu.Unlock()
			}
		}()
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 40 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	before := make(map[[2]int]bool, len(acked))
	for k := range acked {
		before[k] = true
	}
	mu.Unlock()

	backupDir := filepath.Join(base, "backup")
	var stages []string
	m, err := control.Backup(ctx, data, backupDir, func(p localstore.Progress) {
		if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
			stages = append(stages, p.Stage)
		}
	})
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	require.Equal(t, []string{"checkpoint", "copy", "verify"}, stages, "progress is reported through the socket")
	require.Equal(t, "v1.2.3", m.AccessGraphVersion)
	require.Equal(t, "v1.57.1", m.SpiceDBVersion)

	verified, err := localstore.VerifyBackup(ctx, backupDir, localstore.VerifyOptions{})
	require.NoError(t, err)
	require.Equal(t, m.ContentSHA256, verified.ContentSHA256)

	dest := filepath.Join(base, "restored")
	_, err = localstore.Restore(ctx, backupDir, dest, localstore.VerifyOptions{})
	require.NoError(t, err)
	rs := openStore(t, dest)
	h, err := rs.HeadRevision(ctx)
	require.NoError(t, err)
	it, err := rs.SnapshotReader(h.Revision).QueryRelationships(ctx, datastore.RelationshipsFilter{OptionalResourceType: "document"})
	require.NoError(t, err)
	present := map[[2]int]int{}
	for rel, err := range it {
		require.NoError(t, err)
		var w, i, j int
		_, err := fmt.Sscanf(rel.Resource.ObjectID, "w%d_t%d_r%d", &w, &i, &j)
		require.NoError(t, err)
		present[[2]int{w, i}]++
	}
	for k, n := range present {
		require.Equal(t, relsPerTx, n, "transaction %v is half present", k)
		require.True(t, acked[k], "transaction %v was never acknowledged", k)
	}
	for k := range before {
		require.Equal(t, relsPerTx, present[k], "transaction %v, acknowledged before the backup began, is missing", k)
	}
	require.EqualValues(t, len(present)*relsPerTx, m.Counts.Relationships)
	t.Logf("acknowledged before the backup: %d transactions; in it: %d; acknowledged in all: %d", len(before), len(present), len(acked))

	// Close removes the socket.
	require.NoError(t, srv.Close())
	_, err = os.Lstat(control.SocketPath(data))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = control.Backup(ctx, data, filepath.Join(base, "after-close"), nil)
	require.ErrorIs(t, err, control.ErrNoServer)
}

func TestBackupRequestsThatFail(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	data := filepath.Join(base, "data")
	ds := openStore(t, data)
	srv, err := control.Listen(data, ds, control.Config{})
	require.NoError(t, err)
	defer srv.Close()

	full := filepath.Join(base, "full")
	require.NoError(t, os.MkdirAll(full, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(full, "x"), []byte("x"), 0o600))
	_, err = control.Backup(ctx, data, full, nil)
	var re *control.RemoteError
	require.ErrorAs(t, err, &re)
	require.ErrorIs(t, err, localstore.ErrNotEmpty)
	require.Contains(t, err.Error(), full+": destination is not empty (it holds x)")

	// A relative or missing path, or a body that is not the request, is refused as is.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", control.SocketPath(data))
	}}}
	for body, want := range map[string]string{
		`{"dest": "relative/dir"}`: `{"error":"the backup directory \"relative/dir\" must be an absolute path"}`,
		`{}`:                       `{"error":"the backup directory \"\" must be an absolute path"}`,
		`{"dest": 1}`:              `{"error":"reading the request: json: cannot unmarshal number into Go struct field request.dest of type string"}`,
		`{"to": "/x"}`:             `{"error":"reading the request: json: unknown field \"to\""}`,
	} {
		resp, err := hc.Post("http://control/v1/backup", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		raw := make([]byte, 4096)
		n, _ := resp.Body.Read(raw)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
		require.Equal(t, want+"\n", string(raw[:n]), body)
	}

	// The store closed under the server: the backup fails and says so.
	require.NoError(t, ds.Close())
	dest := filepath.Join(base, "closed")
	_, err = control.Backup(ctx, data, dest, nil)
	require.ErrorIs(t, err, localstore.ErrClosed)
	_, err = os.Stat(dest)
	require.ErrorIs(t, err, os.ErrNotExist, "a failed backup leaves nothing")
}

func TestSocketFiles(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()

	// No socket, or one left by a server that died: no server.
	data := filepath.Join(base, "data")
	require.NoError(t, os.MkdirAll(data, 0o700))
	_, err := control.Backup(ctx, data, filepath.Join(base, "b1"), nil)
	require.ErrorIs(t, err, control.ErrNoServer)
	ln, err := net.Listen("unix", control.SocketPath(data))
	require.NoError(t, err)
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	require.NoError(t, ln.Close())
	_, err = control.Backup(ctx, data, filepath.Join(base, "b2"), nil)
	require.ErrorIs(t, err, control.ErrNoServer)

	// A new server replaces the stale socket.
	ds := openStore(t, data)
	srv, err := control.Listen(data, ds, control.Config{})
	require.NoError(t, err)
	_, err = control.Backup(ctx, data, filepath.Join(base, "b3"), nil)
	require.NoError(t, err)
	require.NoError(t, srv.Close())

	// Something else at the socket's path is left alone.
	require.NoError(t, os.WriteFile(control.SocketPath(data), []byte("mine"), 0o600))
	_, err = control.Listen(data, ds, control.Config{})
	require.EqualError(t, err, "creating the control socket: "+control.SocketPath(data)+" exists and is not a socket: remove it")
	raw, err := os.ReadFile(control.SocketPath(data))
	require.NoError(t, err)
	require.Equal(t, "mine", string(raw))

	// A path too long for a Unix socket is refused with the fix.
	long := filepath.Join(base, strings.Repeat("d", 100))
	require.NoError(t, os.MkdirAll(long, 0o700))
	_, err = control.Listen(long, ds, control.Config{})
	require.ErrorContains(t, err, "bytes a Unix socket allows: use a shorter data directory path")
	entries, err := os.ReadDir(long)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// TestCloseAbandonsABackupInProgress closes the server while a backup waits in the
// store: the client is told, and Close returns.
func TestCloseAbandonsABackupInProgress(t *testing.T) {
	base := t.TempDir()
	data := filepath.Join(base, "data")
	require.NoError(t, os.MkdirAll(data, 0o700))
	started := make(chan struct{})
	srv, err := control.Listen(data, blockingStore{started}, control.Config{})
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() {
		_, err := control.Backup(context.Background(), data, filepath.Join(base, "b"), nil)
		errc <- err
	}()
	<-started
	require.NoError(t, srv.Close())
	err = <-errc
	require.Error(t, err)
	require.ErrorIs(t, err, localstore.ErrClosed)
	require.EqualError(t, err, "the server is stopping: the backup was abandoned and left nothing; run it again (the server need not be running)")
}

// blockingStore's backup waits until its request is cancelled.
type blockingStore struct{ started chan struct{} }

func (s blockingStore) Backup(ctx context.Context, _ string, _ localstore.BackupOptions) (localstore.Manifest, error) {
	close(s.started)
	<-ctx.Done()
	return localstore.Manifest{}, fmt.Errorf("backing up: %w", ctx.Err())
}
