package localstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
)

// IdentityFile is the store's own file in the data directory, next to Pebble's. It
// names the store (a digest of its unique id) and records the newest revision the
// store acknowledged, so Open can tell "the data ends before what was acknowledged"
// (a truncated or deleted write-ahead log, a damaged final record, a lost manifest
// edit) from a normal restart.
//
// Layout: two 64-byte slots written alternately, each
//
//	magic "LSIDHEAD" | sequence uint64 | head revision int64 | store id [16]byte |
//	reserved [20]byte | CRC-32C of the preceding 60 bytes
//
// The slot with the highest sequence and a valid checksum wins, so a write torn by a
// crash leaves the previous slot. A slot is rewritten in place (no fsync) after each
// acknowledged commit: the write-ahead log was synced first, so the recorded head is
// never ahead of what is durable; after a power loss it may lag behind, which only
// weakens the check. A kill -9 loses nothing that was written.
const IdentityFile = "LOCALSTORE"

const (
	identityMagic    = "LSIDHEAD"
	identitySlotSize = 64
	identitySlots    = 2
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// identitySlot is one decoded slot.
type identitySlot struct {
	seq  uint64
	head revision
	id   [16]byte
}

func (s identitySlot) encode() []byte {
	b := make([]byte, identitySlotSize)
	copy(b, identityMagic)
	binary.BigEndian.PutUint64(b[8:], s.seq)
	binary.BigEndian.PutUint64(b[16:], uint64(s.head))
	copy(b[24:40], s.id[:])
	binary.BigEndian.PutUint32(b[60:], crc32.Checksum(b[:60], crcTable))
	return b
}

func decodeIdentitySlot(b []byte) (identitySlot, bool) {
	if len(b) < identitySlotSize || !bytes.Equal(b[:8], []byte(identityMagic)) ||
		binary.BigEndian.Uint32(b[60:]) != crc32.Checksum(b[:60], crcTable) {
		return identitySlot{}, false
	}
	s := identitySlot{seq: binary.BigEndian.Uint64(b[8:]), head: revision(int64(binary.BigEndian.Uint64(b[16:])))}
	copy(s.id[:], b[24:40])
	return s, true
}

// storeIDDigest is the store id the identity file records for a unique id.
func storeIDDigest(uniqueID string) [16]byte {
	sum := sha256.Sum256([]byte(uniqueID))
	var id [16]byte
	copy(id[:], sum[:16])
	return id
}

// readIdentity reads dir's identity file. ok is false when there is none; a file
// that exists but has no valid slot is a DamagedError.
func readIdentity(dir string) (slot identitySlot, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, IdentityFile))
	if errors.Is(err, fs.ErrNotExist) {
		return identitySlot{}, false, nil
	}
	if err != nil {
		return identitySlot{}, false, fmt.Errorf("localstore: reading %s: %w", filepath.Join(dir, IdentityFile), err)
	}
	found := false
	for i := range identitySlots {
		off := i * identitySlotSize
		if off+identitySlotSize > len(data) {
			break
		}
		if s, valid := decodeIdentitySlot(data[off : off+identitySlotSize]); valid && (!found || s.seq > slot.seq) {
			slot, found = s, true
		}
	}
	if !found {
		return identitySlot{}, false, &DamagedError{Dir: dir, File: IdentityFile,
			Problem: fmt.Sprintf("the store's identity file fails its checksum (%d bytes, both copies unreadable)", len(data))}
	}
	return slot, true, nil
}

// identityWriter keeps the identity file open and records each acknowledged head.
type identityWriter struct {
	f    *os.File
	seq  uint64
	id   [16]byte
	path string
}

// createIdentity writes a new identity file atomically (temporary file, fsync,
// rename, directory fsync) recording head, and opens it for updates.
func createIdentity(dir string, id [16]byte, head revision) (*identityWriter, error) {
	path := filepath.Join(dir, IdentityFile)
	tmp := path + ".tmp"
	var buf []byte
	for i := range identitySlots {
		buf = append(buf, identitySlot{seq: uint64(i + 1), head: head, id: id}.encode()...)
	}
	if err := writeFileSync(tmp, buf); err != nil {
		return nil, fmt.Errorf("localstore: writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("localstore: writing %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("localstore: writing %s: %w", path, err)
	}
	return openIdentity(dir, identitySlot{seq: identitySlots, head: head, id: id})
}

// openIdentity opens an existing identity file for updates after slot.
func openIdentity(dir string, slot identitySlot) (*identityWriter, error) {
	path := filepath.Join(dir, IdentityFile)
	f, err := os.OpenFile(path, os.O_RDWR, ownerFileMode)
	if err != nil {
		return nil, fmt.Errorf("localstore: opening %s: %w", path, err)
	}
	return &identityWriter{f: f, seq: slot.seq, id: slot.id, path: path}, nil
}

// record writes head into the older slot. Not synced: see IdentityFile.
func (w *identityWriter) record(head revision) error {
	w.seq++
	slot := identitySlot{seq: w.seq, head: head, id: w.id}
	off := int64(w.seq%identitySlots) * identitySlotSize
	if _, err := w.f.WriteAt(slot.encode(), off); err != nil {
		return fmt.Errorf("localstore: recording head revision in %s: %w", w.path, err)
	}
	return nil
}

func (w *identityWriter) close() error {
	if w == nil || w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, ownerFileMode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a directory's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// checkIdentity compares the loaded store with its identity file: the same store,
// and at least the last head revision it acknowledged.
func checkIdentity(dir string, opened *openedStore, loaded *loadedState) error {
	if !opened.hasIdentity {
		return nil
	}
	manifest, newestLog := currentManifest(opened.files), ""
	for _, f := range opened.files {
		if strings.HasSuffix(f, ".log") {
			newestLog = f
		}
	}
	if loaded.head == 0 && opened.identity.head > 0 {
		return &DamagedError{Dir: dir, File: manifest, Problem: fmt.Sprintf(
			"the storage engine finds an empty store although revision %s was acknowledged: the manifest lost its records", opened.identity.head)}
	}
	if loaded.head < opened.identity.head {
		file := manifest
		if newestLog != "" {
			file = newestLog + " or " + manifest
		}
		return &DamagedError{Dir: dir, File: file, Problem: fmt.Sprintf(
			"the stored data ends at revision %s but revision %s was acknowledged: the write-ahead log lost its end or was deleted, or the manifest lost its later records",
			loaded.head, opened.identity.head)}
	}
	if storeIDDigest(loaded.uniqueID) != opened.identity.id {
		return &DamagedError{Dir: dir, File: IdentityFile, Problem: "the identity file belongs to another store than the data files next to it"}
	}
	return nil
}

// adoptIdentity opens the identity file for updates, creating it for a new
// directory or one written before it existed, and records the loaded head.
func adoptIdentity(dir string, opened *openedStore, loaded *loadedState, log *zap.Logger) (*identityWriter, error) {
	if !opened.hasIdentity {
		if loaded.head > 0 {
			log.Info("data directory has no identity file; writing one", zap.String("dir", dir), zap.String("file", IdentityFile))
		}
		return createIdentity(dir, storeIDDigest(loaded.uniqueID), loaded.head)
	}
	w, err := openIdentity(dir, opened.identity)
	if err != nil {
		return nil, err
	}
	if err := w.record(loaded.head); err != nil {
		_ = w.close()
		return nil, err
	}
	return w, nil
}
