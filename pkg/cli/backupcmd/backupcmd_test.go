package backupcmd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"

	"github.com/accessgraph/accessgraph/pkg/cli/backupcmd"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/cli/profile"
	"github.com/accessgraph/accessgraph/pkg/control"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/localstore"
)

var (
	revisionRE = regexp.MustCompile(`\b1\d{18}\b`)
	timeRE     = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	shaRE      = regexp.MustCompile(`\b[0-9a-f]{64}\b`)
	sizeRE     = regexp.MustCompile(`\d+(\.\d)? (B|KiB|MiB)\b`)
	waitedRE   = regexp.MustCompile(`waited [0-9.]+m?s\b`)
)

// normalize replaces what differs between runs: revisions and times (from the clock),
// checksums (they cover the datastore id and revisions), sizes (the storage engine's
// file layout) and durations.
func normalize(s string) string {
	s = revisionRE.ReplaceAllString(s, "REV")
	s = timeRE.ReplaceAllString(s, "TIME")
	s = shaRE.ReplaceAllString(s, "SHA")
	s = waitedRE.ReplaceAllString(s, "waited DURATION")
	return sizeRE.ReplaceAllString(s, "SIZE")
}

// newStore writes n relationships into a new local datastore in dir and closes it.
func newStore(t *testing.T, dir string, n int) {
	t.Helper()
	ds, err := localstore.Open(context.Background(), dir, localstore.Options{GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	for i := range n {
		_, err := ds.ReadWriteTx(context.Background(), func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
			return rwt.WriteRelationships(ctx, []tuple.RelationshipUpdate{tuple.Create(tuple.MustParse(fmt.Sprintf("document:d%d#viewer@user:u%d", i, i)))})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func expect(t *testing.T, r clitest.Result, code int, stdout, stderr string) {
	t.Helper()
	if r.Code != code || normalize(r.Stdout) != stdout || normalize(r.Stderr) != stderr {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s", r.Code, code, normalize(r.Stdout), stdout, normalize(r.Stderr), stderr)
	}
}

func TestBackupAndRestoreOfAStoppedServer(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	data := filepath.Join(base, "data")
	newStore(t, data, 3)
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_DATA_DIR"] = data
	backup := filepath.Join(base, "backup")

	r := env.Run("backup", "--to", backup)
	expect(t, r, 0, `backup	`+backup+`
data dir	`+data+`
through	directory
revision	REV
revision time	TIME
created	TIME
relationships	3
namespaces	0
caveats	0
changelog entries	3
files	8 (SIZE)
content sha256	SHA
accessgraph	test
spicedb	v1.57.1
`, `backing up `+data+` into `+backup+`
  checkpoint taken (writes waited DURATION)
  copied: SIZE
  read back: 9 keys
backup complete, read from the directory (no server was using it): revision REV, 3 relationships
`)

	restored := filepath.Join(base, "restored")
	r = env.Run("restore", "--from", backup, "--data-dir", restored)
	expect(t, r, 0, `backup	`+backup+`
data dir	`+restored+`
revision	REV
revision time	TIME
created	TIME
relationships	3
namespaces	0
caveats	0
changelog entries	3
files	8 (SIZE)
content sha256	SHA
accessgraph	test
spicedb	v1.57.1
`, `restoring `+backup+` into `+restored+`
  files checked: SIZE
  copied: SIZE
  read back: 9 keys
restore complete: start the server on `+restored+`
`)

	// The JSON summary is the manifest, as stored.
	r = env.Run("restore", "--from", backup, "--verify-only", "-o", "json")
	expect(t, r, 0, normalize(r.Stdout), "verifying "+backup+"\n  files checked: SIZE\n  read back: 9 keys\nbackup verified: revision REV, 3 relationships\n")
	var got backupcmd.Summary
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatal(err)
	}
	want, err := localstore.VerifyBackup(context.Background(), backup, localstore.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Backup != backup || got.DataDir != "" || got.Through != "" || got.Manifest.ContentSHA256 != want.ContentSHA256 || got.Manifest.Revision != want.Revision || len(got.Manifest.Files) != len(want.Files) {
		t.Errorf("JSON summary %+v, want the manifest %+v", got, want)
	}
}

func TestBackupAndRestoreErrors(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	data := filepath.Join(base, "data")
	newStore(t, data, 2)
	env := clitest.Offline(t)
	backup := filepath.Join(base, "backup")
	if r := env.Run("backup", "--data-dir", data, "--to", backup); r.Code != 0 {
		t.Fatalf("backup: %s", r.Stderr)
	}
	empty := filepath.Join(base, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	noMarker := filepath.Join(base, "nomarker")
	if err := os.Mkdir(noMarker, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(noMarker, "000005.sst"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(base, "damaged")
	if err := os.CopyFS(damaged, os.DirFS(backup)); err != nil {
		t.Fatal(err)
	}
	m, err := localstore.VerifyBackup(context.Background(), backup, localstore.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sst := ""
	for _, f := range m.Files {
		if strings.HasSuffix(f.Name, ".sst") {
			sst = filepath.Join(damaged, "store", f.Name)
		}
	}
	raw, err := os.ReadFile(sst)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	if err := os.WriteFile(sst, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"backup without --to", []string{"backup", "--data-dir", data}, cmdutil.ExitUsage,
			"error: required flag(s) \"to\" not set\nRun 'accessctl backup --help' for usage.\n"},
		{"backup into a non-empty directory", []string{"backup", "--data-dir", data, "--to", backup}, cmdutil.ExitUsage,
			"error: " + backup + ": destination is not empty (it holds backup.json and 1 more); back up into a new or empty directory\nRun 'accessctl backup --help' for usage.\n"},
		{"backup of a directory that does not exist", []string{"backup", "--data-dir", filepath.Join(base, "nope"), "--to", filepath.Join(base, "b2")}, cmdutil.ExitUsage,
			"error: no data directory " + filepath.Join(base, "nope") + ": nothing to back up; pass --data-dir (or set ACCESSCTL_DATA_DIR)\nRun 'accessctl backup --help' for usage.\n"},
		{"backup of an empty directory", []string{"backup", "--data-dir", empty, "--to", filepath.Join(base, "b2")}, cmdutil.ExitUsage,
			"error: " + empty + " is empty: nothing to back up; pass the --data-dir the server uses\nRun 'accessctl backup --help' for usage.\n"},
		{"backup of a directory without its manifest marker", []string{"backup", "--data-dir", noMarker, "--to", filepath.Join(base, "b2")}, cmdutil.ExitError,
			"error: " + noMarker + " is not a complete local datastore (it has no marker.manifest file): not backing it up; see \"Recovering a damaged local data directory\" in docs/deploy.md\n"},
		{"restore without --from", []string{"restore", "--data-dir", empty}, cmdutil.ExitUsage,
			"error: required flag(s) \"from\" not set\nRun 'accessctl restore --help' for usage.\n"},
		{"restore from a directory that does not exist", []string{"restore", "--from", filepath.Join(base, "nope"), "--data-dir", empty}, cmdutil.ExitUsage,
			"error: no backup directory " + filepath.Join(base, "nope") + ": pass --from the directory accessctl backup wrote\nRun 'accessctl restore --help' for usage.\n"},
		{"restore into a non-empty directory", []string{"restore", "--from", backup, "--data-dir", noMarker}, cmdutil.ExitUsage,
			"restoring " + backup + " into " + noMarker + "\nerror: localstore: restoring " + backup + " into " + noMarker + ": " + noMarker + ": destination is not empty (it holds 000005.sst); restore into a new or empty directory; a restore never overwrites data (move the existing directory aside first)\nRun 'accessctl restore --help' for usage.\n"},
		{"restore of a damaged backup", []string{"restore", "--from", damaged, "--data-dir", filepath.Join(base, "r2")}, cmdutil.ExitError,
			"restoring " + damaged + " into " + filepath.Join(base, "r2") + "\n  files checked: SIZE\nerror: localstore: restoring " + damaged + " into " + filepath.Join(base, "r2") + ": " + sst + ": SHA-256 is SHA but the manifest says SHA: the file is damaged\nnothing was restored; use another backup\n"},
		{"restore of something that is not a backup", []string{"restore", "--from", empty, "--verify-only"}, cmdutil.ExitError,
			"verifying " + empty + "\nerror: localstore: verifying backup " + empty + ": " + filepath.Join(empty, "backup.json") + ": missing: " + empty + " is not a finished backup (a backup writes its manifest last)\nnothing was restored; use another backup\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := listing(t, base)
			r := env.Run(tc.args...)
			expect(t, r, tc.code, "", tc.stderr)
			if after := listing(t, base); after != before {
				t.Errorf("the command changed the directories:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// listing names every file under dir with its size.
func listing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %s\n", path, info.Size(), info.Mode())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestBackupOfARunningServer runs `accessctl serve` on a local data directory, writes
// through its API from 4 writers (each write: one transaction of 4 relationships), and
// runs `accessctl backup` meanwhile: it goes through the server's owner-only control
// socket, and the restored backup holds every write acknowledged before it began, and
// no write in part.
func TestBackupOfARunningServer(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	data := filepath.Join(base, "data")
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_CONFIG_DIR"] = filepath.Join(base, "config")
	env.Env["ACCESSCTL_DATA_DIR"] = data

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan clitest.Result, 1)
	go func() { done <- env.RunWith(clitest.Options{Ctx: ctx}, "serve", "--addr", "127.0.0.1:0") }()
	p := waitProfile(t, filepath.Join(base, "config", profile.FileName), done)

	st, err := os.Lstat(control.SocketPath(data))
	if err != nil {
		t.Fatalf("no control socket: %v", err)
	}
	if st.Mode().Type() != os.ModeSocket || st.Mode().Perm() != 0o600 {
		t.Fatalf("control socket mode %v, want a socket with 0600", st.Mode())
	}

	e, err := engine.Dial(ctx, engine.RemoteConfig{Endpoint: p.Endpoint, PresharedKey: p.Token, Insecure: true, SkipSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const writers, perTx = 4, 4
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
				req := &v1.WriteRelationshipsRequest{}
				for j := range perTx {
					rel := tuple.MustParseV1Rel(fmt.Sprintf("partner:w%d_t%d#member@user:u%d", w, i, j))
					req.Updates = append(req.Updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_CREATE, Relationship: rel})
				}
				if _, err := e.WriteRelationships(ctx, req); err != nil {
					t.Errorf("write %d/%d: %v", w, i, err)
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
		if n >= 20 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	before := make(map[[2]int]bool, len(acked))
	for k := range acked {
		before[k] = true
	}
	mu.Unlock()

	backup := filepath.Join(base, "backup")
	r := env.Run("backup", "--to", backup)
	close(stop)
	wg.Wait()
	if r.Code != 0 || !strings.Contains(r.Stdout, "through\tserver\n") || !strings.Contains(r.Stderr, "backup complete, taken by the running server") {
		t.Fatalf("backup of the running server: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}

	cancel()
	if res := <-done; res.Code != 0 {
		t.Fatalf("serve: exit %d: %s", res.Code, res.Stderr)
	}
	if _, err := os.Lstat(control.SocketPath(data)); !os.IsNotExist(err) {
		t.Errorf("the control socket is still there after serve stopped (%v)", err)
	}

	restored := filepath.Join(base, "restored")
	if r := env.Run("restore", "--from", backup, "--data-dir", restored); r.Code != 0 {
		t.Fatalf("restore: %s", r.Stderr)
	}
	ds, err := localstore.Open(context.Background(), restored, localstore.Options{GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	h, err := ds.HeadRevision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	it, err := ds.SnapshotReader(h.Revision).QueryRelationships(context.Background(), datastore.RelationshipsFilter{OptionalResourceType: "partner"})
	if err != nil {
		t.Fatal(err)
	}
	present := map[[2]int]int{}
	for rel, err := range it {
		if err != nil {
			t.Fatal(err)
		}
		var w, i int
		if _, err := fmt.Sscanf(rel.Resource.ObjectID, "w%d_t%d", &w, &i); err != nil {
			t.Fatal(err)
		}
		present[[2]int{w, i}]++
	}
	for k, n := range present {
		if n != perTx {
			t.Errorf("write %v is in the backup in part: %d of %d relationships", k, n, perTx)
		}
		if !acked[k] {
			t.Errorf("write %v is in the backup but was never acknowledged", k)
		}
	}
	for k := range before {
		if present[k] != perTx {
			t.Errorf("write %v, acknowledged before the backup began, is missing", k)
		}
	}
	t.Logf("acknowledged before the backup: %d writes; in the backup: %d; acknowledged in all: %d", len(before), len(present), len(acked))
}

func waitProfile(t *testing.T, path string, done <-chan clitest.Result) *profile.Profile {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if p, err := profile.Read(path); err == nil {
			return p
		}
		select {
		case r := <-done:
			t.Fatalf("serve stopped early: code %d, stderr:\n%s", r.Code, r.Stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no profile after 60s")
		}
	}
}
