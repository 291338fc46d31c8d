package localstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Backup directory layout: the manifest, written last (a directory without it is an
// unfinished backup), and the store, a Pebble directory that Restore copies.
const (
	// BackupManifestName is the manifest's file name in a backup directory.
	BackupManifestName = "backup.json"
	// BackupStoreDir is the directory of a backup that holds the store's files.
	BackupStoreDir = "store"
	// BackupFormat is the manifest format this version writes and reads.
	BackupFormat = 1
)

var (
	// ErrBackupDamaged is wrapped by every error that reports a backup that is damaged,
	// incomplete or not a backup at all (see BackupDamageError for which file and why).
	ErrBackupDamaged = errors.New("backup is damaged or incomplete")
	// ErrNotEmpty is wrapped by the errors of Backup and Restore for a destination
	// directory that already holds something.
	ErrNotEmpty = errors.New("destination is not empty")
)

// BackupDamageError names the file of a backup that failed verification and what is
// wrong with it. It wraps ErrBackupDamaged.
type BackupDamageError struct {
	// Path is the file (or directory) at fault.
	Path string
	// Problem says what is wrong, in a few words.
	Problem string
}

func (e *BackupDamageError) Error() string { return e.Path + ": " + e.Problem }
func (e *BackupDamageError) Unwrap() error { return ErrBackupDamaged }

func damaged(path, format string, args ...any) error {
	return &BackupDamageError{Path: path, Problem: fmt.Sprintf(format, args...)}
}

// Manifest describes one backup: what it holds and how to check it. It is stored as
// JSON in the backup's backup.json.
type Manifest struct {
	// Format is the manifest format (BackupFormat).
	Format int `json:"format"`
	// CreatedAt is when the backup was taken.
	CreatedAt time.Time `json:"created_at"`
	// Revision is the head revision of the snapshot (the localstore revision: nanoseconds
	// since the Unix epoch, as a decimal string); every write acknowledged at or before it
	// is in the backup, and none after it. "0" for a store that was never written.
	Revision string `json:"revision"`
	// RevisionTime is Revision as a time (zero for "0").
	RevisionTime time.Time `json:"revision_time"`
	// DatastoreID is the datastore's unique id; a restored store keeps it.
	DatastoreID string `json:"datastore_id"`
	// AccessGraphVersion and SpiceDBVersion name the software that took the backup.
	AccessGraphVersion string `json:"accessgraph_version"`
	SpiceDBVersion     string `json:"spicedb_version"`
	// Counts are the objects the snapshot holds, counted from the backup itself.
	Counts BackupCounts `json:"counts"`
	// ContentSHA256 is the SHA-256 of the logical contents: for every stored key in
	// order, uvarint(len(key)) key uvarint(len(value)) value. It does not depend on how
	// the storage engine laid the data out in files.
	ContentSHA256 string `json:"content_sha256"`
	// Files lists every file of the store directory with its size and SHA-256.
	Files []BackupFile `json:"files"`
	// ManifestSHA256 is the SHA-256 of this manifest's JSON encoding with this field
	// empty, so a damaged manifest is detected too.
	ManifestSHA256 string `json:"manifest_sha256"`
}

// BackupCounts are the objects of a snapshot.
type BackupCounts struct {
	Relationships    int64 `json:"relationships"`
	Namespaces       int64 `json:"namespaces"`
	Caveats          int64 `json:"caveats"`
	Counters         int64 `json:"counters"`
	SchemaRows       int64 `json:"schema_rows"`
	ChangelogEntries int64 `json:"changelog_entries"`
	// Keys is every stored key, the above and the store's metadata.
	Keys int64 `json:"keys"`
}

// BackupFile is one file of a backup's store.
type BackupFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Bytes is the total size of the store's files.
func (m *Manifest) Bytes() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// seal sets ManifestSHA256 and returns the manifest's JSON.
func (m *Manifest) seal() ([]byte, error) {
	m.ManifestSHA256 = ""
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	m.ManifestSHA256 = hex.EncodeToString(sum[:])
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// readManifest reads and checks a backup's manifest: well-formed, of a known format, and
// matching its own checksum.
func readManifest(dir string) (Manifest, error) {
	path := filepath.Join(dir, BackupManifestName)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return Manifest{}, fmt.Errorf("reading backup %s: %w", dir, serr)
		}
		return Manifest{}, damaged(path, "missing: %s is not a finished backup (a backup writes its manifest last)", dir)
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("reading backup manifest: %w", err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, damaged(path, "not a valid manifest: %v", err)
	}
	if dec.More() {
		return Manifest{}, damaged(path, "not a valid manifest: data after the JSON object")
	}
	if m.Format != BackupFormat {
		return Manifest{}, damaged(path, "format %d; this version reads format %d", m.Format, BackupFormat)
	}
	want := m.ManifestSHA256
	check := m
	canonical, err := check.seal()
	if err != nil {
		return Manifest{}, damaged(path, "not a valid manifest: %v", err)
	}
	if check.ManifestSHA256 != want {
		return Manifest{}, damaged(path, "the manifest's checksum does not match its contents (manifest_sha256 %q, computed %q): the manifest was altered", want, check.ManifestSHA256)
	}
	// Backups write the manifest in one canonical layout; any other byte is damage too.
	if !bytes.Equal(raw, canonical) {
		return Manifest{}, damaged(path, "the manifest's layout was altered (its values are intact)")
	}
	if err := m.checkFields(path); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// checkFields checks what JSON decoding cannot: names and checksums of the right shape.
func (m *Manifest) checkFields(path string) error {
	if !isSHA256Hex(m.ContentSHA256) {
		return damaged(path, "content_sha256 %q is not a SHA-256", m.ContentSHA256)
	}
	if _, err := ParseRevisionString(m.Revision); err != nil {
		return damaged(path, "revision %q is not a revision", m.Revision)
	}
	if len(m.Files) == 0 {
		return damaged(path, "lists no files")
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if f.Name == "" || f.Name != filepath.Base(f.Name) || f.Name == "." || f.Name == ".." {
			return damaged(path, "file name %q is not a plain file name", f.Name)
		}
		if seen[f.Name] {
			return damaged(path, "lists %s twice", f.Name)
		}
		seen[f.Name] = true
		if f.Size < 0 || !isSHA256Hex(f.SHA256) {
			return damaged(path, "entry of %s has a bad size or checksum", f.Name)
		}
	}
	return nil
}

func isSHA256Hex(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size && s == hex.EncodeToString(b)
}

// compareContent reports the first difference between what the manifest says the store
// holds and what was read from it.
func (m *Manifest) compareContent(manifestPath, storeDir string, got storeContent) error {
	type field struct {
		name      string
		want, got int64
	}
	for _, f := range []field{
		{"relationships", m.Counts.Relationships, got.counts.Relationships},
		{"namespaces", m.Counts.Namespaces, got.counts.Namespaces},
		{"caveats", m.Counts.Caveats, got.counts.Caveats},
		{"counters", m.Counts.Counters, got.counts.Counters},
		{"schema_rows", m.Counts.SchemaRows, got.counts.SchemaRows},
		{"changelog_entries", m.Counts.ChangelogEntries, got.counts.ChangelogEntries},
		{"keys", m.Counts.Keys, got.counts.Keys},
	} {
		if f.want != f.got {
			return damaged(manifestPath, "counts.%s is %d but the store in %s holds %d", f.name, f.want, storeDir, f.got)
		}
	}
	if m.Revision != got.head.String() {
		return damaged(manifestPath, "revision is %s but the store in %s is at %s", m.Revision, storeDir, got.head)
	}
	if m.DatastoreID != got.uniqueID {
		return damaged(manifestPath, "datastore_id is %q but the store in %s has %q", m.DatastoreID, storeDir, got.uniqueID)
	}
	if m.ContentSHA256 != got.sha256 {
		return damaged(manifestPath, "content_sha256 is %s but the contents of the store in %s hash to %s", m.ContentSHA256, storeDir, got.sha256)
	}
	return nil
}
