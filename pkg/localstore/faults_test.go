package localstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/tuple"
)

var faultCases = flag.Int("localstore.fault-cases", 25,
	"fault-injection suite: generated positions per file and fault (bit flip, zeroed range, truncation)")

// faultFixture is a crashed store: acknowledged relationships in two flushed tables
// and in the write-ahead log, copied without closing the store.
type faultFixture struct {
	dir   string
	acked []string
}

func buildFaultFixture(t *testing.T) faultFixture {
	t.Helper()
	src := t.TempDir()
	ds := openTest(t, src, Options{GCInterval: -1, RevisionQuantization: -1})
	var acked []string
	write := func(from, txs int) {
		for i := from; i < from+txs; i++ {
			rels := crashTxRels(i)
			writeRels(t, ds, tuple.UpdateOperationTouch, rels...)
			acked = append(acked, rels...)
		}
	}
	write(0, 20)
	require.NoError(t, ds.store.Flush())
	write(20, 20)
	require.NoError(t, ds.store.Flush())
	write(40, 30) // only in the write-ahead log

	dst := t.TempDir()
	copyDir(t, src, dst)
	require.NoError(t, ds.Close())
	slices.Sort(acked)
	return faultFixture{dir: dst, acked: acked}
}

func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		out, err := os.OpenFile(filepath.Join(dst, e.Name()), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		require.NoError(t, err)
		_, err = io.Copy(out, in)
		require.NoError(t, err)
		require.NoError(t, in.Close())
		require.NoError(t, out.Close())
	}
}

func fileKind(name string) string {
	switch {
	case name == IdentityFile:
		return "identity"
	case strings.HasSuffix(name, ".log"):
		return "wal"
	case strings.HasSuffix(name, ".sst"):
		return "sst"
	case strings.HasPrefix(name, "MANIFEST-"):
		return "manifest"
	case strings.HasPrefix(name, "OPTIONS-"):
		return "options"
	case strings.HasPrefix(name, "marker."):
		return "marker"
	case name == "LOCK":
		return "lock"
	}
	return "other"
}

// fault damages one file of a copy of the fixture.
type fault struct {
	file  string
	kind  string // flip, zero, truncate, delete
	at    int64  // byte (flip, zero), new length (truncate)
	bit   uint8
	width int64
}

func (f fault) String() string {
	switch f.kind {
	case "flip":
		return fmt.Sprintf("%s/flip@%d.%d", f.file, f.at, f.bit)
	case "zero":
		return fmt.Sprintf("%s/zero@%d+%d", f.file, f.at, f.width)
	case "truncate":
		return fmt.Sprintf("%s/truncate@%d", f.file, f.at)
	}
	return f.file + "/delete"
}

func (f fault) apply(dir string) error {
	path := filepath.Join(dir, f.file)
	switch f.kind {
	case "delete":
		return os.Remove(path)
	case "truncate":
		return os.Truncate(path, f.at)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if f.kind == "flip" {
		data[f.at] ^= 1 << f.bit
	} else {
		clear(data[f.at:min(f.at+f.width, int64(len(data)))])
	}
	return os.WriteFile(path, data, 0o600)
}

// generateFaults returns, for every file, n bit flips, n zeroed ranges and n
// truncations at generated positions (plus the first and last byte and the empty
// file), and its deletion.
func generateFaults(t *testing.T, dir string, n int, rng *rand.Rand) []fault {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var faults []fault
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		name, size := e.Name(), info.Size()
		faults = append(faults, fault{file: name, kind: "delete"})
		if size == 0 {
			continue
		}
		positions := []int64{0, size - 1}
		for range n {
			positions = append(positions, rng.Int64N(size))
		}
		for _, p := range positions {
			faults = append(faults,
				fault{file: name, kind: "flip", at: p, bit: uint8(rng.IntN(8))},
				fault{file: name, kind: "zero", at: p, width: []int64{1, 7, 64, 512, 4096}[rng.IntN(5)]},
				fault{file: name, kind: "truncate", at: p})
		}
	}
	return faults
}

type faultOutcome struct {
	refused, opened, refusedNamingFile, namingDamaged int
}

// TestFaultInjection damages every file of a crashed store (flipped bits, zeroed
// ranges, truncations at generated positions, deletion) and opens it: every case
// must be either a DamagedError naming a file, or an open store holding every
// acknowledged relationship. Never fewer, never a panic.
func TestFaultInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("opens hundreds of damaged directories")
	}
	fx := buildFaultFixture(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (positions per file and fault: %d)", seed, *faultCases)
	rng := rand.New(rand.NewPCG(seed, 0))
	faults := generateFaults(t, fx.dir, *faultCases, rng)
	for name, sum := range dirDigest(t, fx.dir) {
		t.Logf("fixture file %-40s sha256 %.12s", name, sum)
	}

	kinds := map[string]bool{}
	for _, f := range faults {
		kinds[fileKind(f.file)] = true
	}
	for _, k := range []string{"wal", "sst", "manifest", "options", "marker", "identity"} {
		require.True(t, kinds[k], "the fixture has a %s file", k)
	}

	outcomes := map[string]*faultOutcome{}
	start := time.Now()
	work := t.TempDir()
	for i, f := range faults {
		dir := filepath.Join(work, fmt.Sprint(i))
		require.NoError(t, os.Mkdir(dir, 0o700))
		copyDir(t, fx.dir, dir)
		require.NoError(t, f.apply(dir))

		k := fileKind(f.file) + "/" + f.kind
		if outcomes[k] == nil {
			outcomes[k] = &faultOutcome{}
		}
		o := outcomes[k]
		before := dirDigest(t, dir)
		ds, err, panicked := openRecovering(dir)
		require.False(t, panicked, "%s: Open panicked: %v", f, err)
		if err != nil {
			var damaged *DamagedError
			require.ErrorIs(t, err, ErrDamaged, "%s: a refusal is a DamagedError", f)
			require.True(t, errors.As(err, &damaged))
			require.Contains(t, err.Error(), dir, "%s", f)
			require.Contains(t, err.Error(), "accessctl restore", "%s: the refusal names the recovery", f)
			o.refused++
			require.Equal(t, before, dirDigest(t, dir), "%s: a refused directory is left as it was", f)
			if damaged.File != "" && strings.Contains(err.Error(), damaged.File) {
				o.refusedNamingFile++
			} else {
				t.Logf("%s: refused without naming a file: %v", f, err)
			}
			if strings.Contains(err.Error(), f.file) {
				o.namingDamaged++
			} else {
				t.Logf("%s: refusal names another file: %v", f, err)
			}
			require.NoError(t, os.RemoveAll(dir))
			continue
		}
		got := allRels(t, ds, head(t, ds))
		require.NoError(t, ds.Close())
		missing := missingFrom(fx.acked, got)
		require.Empty(t, missing, "%s: opened without %d acknowledged relationships (of %d)", f, len(missing), len(fx.acked))
		o.opened++
		require.NoError(t, os.RemoveAll(dir))
	}

	keys := make([]string, 0, len(outcomes))
	for k := range outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	total := faultOutcome{}
	for _, k := range keys {
		o := outcomes[k]
		t.Logf("%-20s refused %4d (naming a file %4d)  opened complete %4d", k, o.refused, o.refusedNamingFile, o.opened)
		total.refused += o.refused
		total.opened += o.opened
		total.refusedNamingFile += o.refusedNamingFile
	}
	t.Logf("%d cases in %s: refused %d (naming a file %d), opened with all %d acknowledged relationships %d, lost 0",
		len(faults), since(start), total.refused, total.refusedNamingFile, len(fx.acked), total.opened)
	require.Equal(t, total.refused, total.refusedNamingFile, "every refusal names a file")
}

// openRecovering opens dir, reporting a panic (which fails the case) as an error.
func openRecovering(dir string) (ds *Datastore, err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			err, panicked = fmt.Errorf("%v\n%s", r, debug.Stack()), true
		}
	}()
	ds, err = Open(context.Background(), dir, Options{GCInterval: -1, RevisionQuantization: -1})
	return ds, err, false
}

// dirDigest describes every file of dir (but the lock file) by name and content.
func dirDigest(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range entries {
		if e.Name() == "LOCK" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = fmt.Sprintf("%x", sha256.Sum256(data))
	}
	return out
}

func missingFrom(want, got []string) []string {
	have := make(map[string]bool, len(got))
	for _, r := range got {
		have[r] = true
	}
	var missing []string
	for _, r := range want {
		if !have[r] {
			missing = append(missing, r)
		}
	}
	return missing
}
