package localstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.uber.org/zap"
)

// storeFile matches the names of the files Pebble keeps in a store's directory.
var storeFile = regexp.MustCompile(`^(MANIFEST-\d+|OPTIONS-\d+|\d+\.(sst|log|blob)|marker\..+)$`)

// fileInError finds the name of a store file in an error message, to name it in a
// DamagedError.
var fileInError = regexp.MustCompile(`(MANIFEST-\d+|OPTIONS-\d+|\d{6,}\.(sst|log|blob)|marker\.[a-z-]+\.\d+\.[^\s"':]+)`)

// objectInError finds a table or blob file Pebble names by number and type.
var (
	objectInError = regexp.MustCompile(`(\d{6,}) \(type (sstable|blob)\)`)
	tableInError  = regexp.MustCompile(`(?:file|table) (\d{6,})\b`)
)

// namedFile returns the store file an error message names, if any.
func namedFile(msg string) string {
	if m := objectInError.FindStringSubmatch(msg); m != nil {
		if m[2] == "sstable" {
			return m[1] + ".sst"
		}
		return m[1] + ".blob"
	}
	if name := fileInError.FindString(msg); name != "" {
		return name
	}
	if m := tableInError.FindStringSubmatch(msg); m != nil {
		return m[1] + ".sst" // the store keeps no blob files (no value separation)
	}
	return ""
}

// storeFiles lists the Pebble files in dir, sorted.
func storeFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("localstore: listing data directory %s: %w", dir, describeOSError(err))
	}
	var names []string
	for _, e := range entries {
		if storeFile.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// openedStore is what openStore hands to Open.
type openedStore struct {
	db       *pebble.DB
	lock     *pebble.Lock
	identity identitySlot
	// hasIdentity is false for a new directory or one written before the identity
	// file existed.
	hasIdentity bool
	// readOnly is set while db is the read-only open of a directory that holds
	// data: Pebble then replays the log without flushing it or deleting any file,
	// so a refusal leaves the damaged directory exactly as it was.
	readOnly bool
	opts     *pebble.Options
	files    []string
	dir      string
	corrupt  *corruptionLog
}

// reopenForWrites closes the read-only store that passed verification and opens
// the directory for writing.
func (s *openedStore) reopenForWrites() error {
	if !s.readOnly {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	if err != nil {
		return fmt.Errorf("localstore: closing %s after verifying it: %w", s.dir, err)
	}
	opts := s.opts.Clone()
	opts.ReadOnly = false
	db, err := guard(func() (*pebble.DB, error) { return pebble.Open(s.dir, opts) })
	if err != nil {
		return openError(s.dir, s.files, err)
	}
	s.db, s.readOnly = db, false
	return nil
}

func (s *openedStore) close() {
	if s.db != nil {
		_ = s.db.Close()
	}
	if s.lock != nil {
		_ = s.lock.Close()
	}
}

// openStore verifies dir and opens its Pebble store, read-only when the directory
// holds data (Open loads and checks it, then calls reopenForWrites). The checks, in order: the
// directory is one (created owner-only if missing, tightened if others may read
// it); no other process holds it; its identity file, if any, is readable; a
// directory with the identity file still has data files; there is room to write;
// every write-ahead log is intact up to its tail; Pebble finds the manifest when
// the directory holds data (so a lost manifest is never mistaken for a new store).
func openStore(dir string, reserve uint64, log *zap.Logger) (*openedStore, error) {
	if err := prepareDir(dir, log); err != nil {
		return nil, err
	}
	fsys := ownerOnlyFS{vfs.Default}
	lock, err := pebble.LockDirectory(dir, fsys)
	if err != nil {
		return nil, lockError(dir, err)
	}
	s := &openedStore{lock: lock, corrupt: &corruptionLog{}}
	ok := false
	defer func() {
		if !ok {
			s.close()
		}
	}()

	if s.identity, s.hasIdentity, err = readIdentity(dir); err != nil {
		return nil, err
	}
	files, err := storeFiles(dir)
	if err != nil {
		return nil, err
	}
	hasData := len(files) > 0
	if s.hasIdentity && !hasData {
		return nil, &DamagedError{Dir: dir, Problem: "the store's identity file " + IdentityFile +
			" is present but every data file (MANIFEST-*, marker.*, *.sst, *.log) is missing"}
	}
	if err := checkFreeSpace(dir, reserve, doingOpen, 0, freeBytes); err != nil {
		return nil, err
	}
	if hasData {
		if err := checkManifest(dir, files); err != nil {
			return nil, err
		}
		if err := checkWALs(dir); err != nil {
			return nil, err
		}
	}

	opts := &pebble.Options{
		FS:               fsys,
		Lock:             lock,
		Logger:           pebbleLogger{log},
		EventListener:    eventListener(log, s.corrupt),
		ErrorIfNotExists: hasData,
	}
	if err := checkOptionsFile(dir, files, opts); err != nil {
		return nil, err
	}
	opts.ReadOnly = hasData
	s.opts, s.files, s.dir, s.readOnly = opts, files, dir, hasData
	db, err := guard(func() (*pebble.DB, error) { return pebble.Open(dir, opts) })
	if err != nil {
		return nil, openError(dir, files, err)
	}
	s.db = db
	ok = true
	return s, nil
}

// checkOptionsFile checks the newest OPTIONS file as Pebble will, so that a
// damaged one is refused with its name (Pebble's error does not name it).
func checkOptionsFile(dir string, files []string, opts *pebble.Options) error {
	newest, newestNum := "", -1
	for _, f := range files {
		if num, ok := strings.CutPrefix(f, "OPTIONS-"); ok {
			if n, err := strconv.Atoi(num); err == nil && n > newestNum {
				newest, newestNum = f, n
			}
		}
	}
	if newest == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, newest))
	if err != nil {
		return fmt.Errorf("localstore: reading %s: %w", filepath.Join(dir, newest), describeOSError(err))
	}
	check := opts.Clone()
	check.EnsureDefaults()
	if err := check.CheckCompatibility(dir, string(data)); err != nil {
		return &DamagedError{Dir: dir, File: newest, Problem: "the storage engine's options file cannot be read or does not match this store " +
			"(it holds no relationships: the store writes a new one at every start, so deleting this one also lets it open)", Err: err}
	}
	return nil
}

// guard turns a panic of the storage engine while opening a damaged store into an
// error. Pebble verifies checksums before decoding, so this is a last line; its
// stack goes to the error so the cause is not lost.
func guard[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: the storage engine panicked: %v\n%s", pebble.ErrCorruption, r, debug.Stack())
		}
	}()
	return f()
}

// lockError explains a failure to take the directory's lock: held by another
// process (or another Datastore in this process), or something else.
func lockError(dir string, err error) error {
	var pathErr *fs.PathError
	if !errors.As(err, &pathErr) && (errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) ||
		strings.Contains(err.Error(), "lock held by current process")) {
		return fmt.Errorf("%w: %s is open in another process (or elsewhere in this one), which holds its LOCK file: stop it first, or use another directory", ErrLocked, dir)
	}
	return fmt.Errorf("localstore: locking data directory %s: %w", dir, describeOSError(err))
}

// openError names the real cause of a failed pebble.Open.
func openError(dir string, files []string, err error) error {
	named := namedFile(err.Error())
	switch {
	case errors.Is(err, pebble.ErrDBDoesNotExist):
		return &DamagedError{Dir: dir, File: "marker.manifest.*", Problem: fmt.Sprintf(
			"the directory holds data files (%s) but no manifest: the manifest marker or the MANIFEST file it names is missing, so the storage engine would start an empty store",
			summarizeFiles(files))}
	case errors.Is(err, pebble.ErrDBNotPristine):
		return &DamagedError{Dir: dir, File: "marker.format-version.*", Problem: "the format-version marker is missing while the store holds data", Err: err}
	case pebble.IsCorruptionError(err):
		return &DamagedError{Dir: dir, File: named, Problem: "a file fails its checksum or cannot be decoded", Err: err}
	case vfs.IsNoSpaceError(err):
		free, _ := freeBytes(dir)
		return &DiskFullError{Dir: dir, Free: free, Need: free + 1, Doing: doingOpen}
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("localstore: opening %s: permission denied: %w: run the server as the directory's owner", dir, err)
	case errors.Is(err, fs.ErrNotExist) && strings.HasPrefix(named, "MANIFEST-"):
		return &DamagedError{Dir: dir, File: named, Problem: "the manifest the marker names is missing", Err: err}
	case errors.Is(err, fs.ErrNotExist) && named != "":
		return &DamagedError{Dir: dir, File: named, Problem: "a file the manifest (" + currentManifest(files) +
			") lists is missing: it was deleted, or the manifest lost its later records", Err: err}
	case named != "" && isStoreDataFile(named):
		return &DamagedError{Dir: dir, File: named, Problem: "the storage engine cannot read it", Err: err}
	}
	return fmt.Errorf("localstore: opening %s: %w", dir, err)
}

// currentManifest names the manifest the marker points at ("MANIFEST-*" if none).
func currentManifest(files []string) string {
	for _, f := range files {
		if m, ok := strings.CutPrefix(f, "marker.manifest."); ok {
			if _, manifest, ok := strings.Cut(m, "."); ok {
				return manifest
			}
		}
	}
	return "MANIFEST-*"
}

func isStoreDataFile(name string) bool {
	return strings.HasPrefix(name, "MANIFEST-") || strings.HasSuffix(name, ".sst") ||
		strings.HasSuffix(name, ".log") || strings.HasSuffix(name, ".blob") || strings.HasPrefix(name, "OPTIONS-")
}

func summarizeFiles(files []string) string {
	if len(files) <= 4 {
		return strings.Join(files, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(files[:4], ", "), len(files)-4)
}

// loadError names the cause of a failed load: damage Pebble found while reading
// every stored object, or something else.
func loadError(dir string, err error) error {
	if pebble.IsCorruptionError(err) {
		return &DamagedError{Dir: dir, File: namedFile(err.Error()), Problem: "a table fails its checksum while reading the store", Err: err}
	}
	var damaged *DamagedError
	if errors.As(err, &damaged) {
		return err
	}
	return fmt.Errorf("localstore: load %s: %w", dir, err)
}

// describeOSError keeps the error and adds what usually fixes it.
func describeOSError(err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w (permission denied: run as the directory's owner, or choose a directory you own)", err)
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%w (a path component is a file, not a directory)", err)
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%w (the file system is full)", err)
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w (the file system is read-only)", err)
	}
	return err
}
