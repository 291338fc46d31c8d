package localstore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Pebble's write-ahead log format (pebble/record): 32 KiB blocks of chunks, each with
// a header of checksum (4), length (2), encoding (1), log number (4) and, in the
// WAL-sync format, a sync offset (8). The checksum covers the header from the
// encoding byte on, and the payload.
const (
	walBlockSize          = 32 << 10
	walLegacyHeader       = 7
	walLegacyFirstEnc     = 1
	walLegacyLastEnc      = 4
	walRecyclableHeader   = 11
	walSyncHeader         = 19
	walRecyclableFirstEnc = 5
	walRecyclableLastEnc  = 8
	walSyncFirstEnc       = 9
	walSyncLastEnc        = 12
)

var walName = regexp.MustCompile(`^(\d+)\.log$`)

// checkWALs reads every write-ahead log in dir before Pebble replays it. Pebble stops
// replaying the newest log at the first chunk that fails its checksum and treats the
// rest as a torn tail, which is right after a crash (the chunk was being written and
// never acknowledged) but silently drops every later record when the damage is in the
// middle of the log. A damaged chunk followed by any valid chunk of the same log is
// therefore refused here: a torn tail is only ever followed by nothing, zeros or a
// recycled log's old records, which carry another log number.
//
// The cost is one sequential read of each log (a log holds at most one memtable's
// writes, 4 MiB by default, before Pebble flushes it to a table).
func checkWALs(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("localstore: listing %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if walName.MatchString(e.Name()) && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		num, err := strconv.ParseUint(walName.FindStringSubmatch(name)[1], 10, 32)
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("localstore: reading write-ahead log %s: %w", filepath.Join(dir, name), describeOSError(err))
		}
		if bad, next, ok := recordDamage(data, uint32(num), true); !ok {
			return &DamagedError{Dir: dir, File: name, Problem: fmt.Sprintf(
				"the write-ahead log has a damaged record at offset %d followed by valid records (from offset %d), so acknowledged writes after it would be lost", bad, next)}
		}
	}
	return nil
}

// checkManifest applies the same rule to the current MANIFEST (named by the
// manifest marker): Pebble stops loading it at the first record that fails its
// checksum, which would silently bring back an older version of the store (its
// later edits, flushes and compactions, lost).
func checkManifest(dir string, files []string) error {
	name := ""
	for _, f := range files {
		if m, ok := strings.CutPrefix(f, "marker.manifest."); ok {
			if _, manifest, ok := strings.Cut(m, "."); ok && strings.HasPrefix(manifest, "MANIFEST-") {
				name = manifest
			}
		}
	}
	if name == "" {
		return nil // Pebble reports a missing marker or manifest itself
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil // likewise
	}
	if bad, next, ok := recordDamage(data, 0, false); !ok {
		return &DamagedError{Dir: dir, File: name, Problem: fmt.Sprintf(
			"the manifest has a damaged record at offset %d followed by valid records (from offset %d), so the storage engine would load an older version of the store", bad, next)}
	}
	return nil
}

// recordDamage parses a record file's chunks in order (the write-ahead log's
// recyclable format carrying logNum, or the manifest's legacy format). It returns
// ok=false with the offset of the first invalid chunk and of a later valid one when
// the file is damaged in the middle; ok=true when it is clean or ends in a torn
// tail.
func recordDamage(data []byte, logNum uint32, wal bool) (bad, next int, ok bool) {
	chunkAt := func(off int) (int, bool) {
		if wal {
			return walChunkAt(data, off, logNum)
		}
		return legacyChunkAt(data, off)
	}
	off := 0
	for off < len(data) {
		if end, valid := chunkAt(off); valid {
			off = end
			continue
		}
		blockEnd := (off/walBlockSize + 1) * walBlockSize
		if blockEnd-off < walRecyclableHeader && blockEnd < len(data) {
			off = blockEnd // the writer pads a block's end that cannot hold a header
			continue
		}
		break
	}
	for at := off + 1; at < len(data); at++ {
		if _, valid := chunkAt(at); valid {
			return off, at, false
		}
	}
	return 0, 0, true
}

// walChunkAt reports whether a valid chunk of log logNum starts at off, and where
// it ends.
func walChunkAt(data []byte, off int, logNum uint32) (end int, ok bool) {
	limit := min(len(data), (off/walBlockSize+1)*walBlockSize)
	if off+walRecyclableHeader > limit {
		return 0, false
	}
	enc := data[off+6]
	header := 0
	switch {
	case enc >= walRecyclableFirstEnc && enc <= walRecyclableLastEnc:
		header = walRecyclableHeader
	case enc >= walSyncFirstEnc && enc <= walSyncLastEnc:
		header = walSyncHeader
	default:
		return 0, false
	}
	if binary.LittleEndian.Uint32(data[off+7:]) != logNum {
		return 0, false
	}
	end = off + header + int(binary.LittleEndian.Uint16(data[off+4:]))
	if end > limit {
		return 0, false
	}
	return end, chunkChecksumOK(data, off, end)
}

// legacyChunkAt reports whether a valid chunk of the legacy format (no log number)
// starts at off, and where it ends.
func legacyChunkAt(data []byte, off int) (end int, ok bool) {
	limit := min(len(data), (off/walBlockSize+1)*walBlockSize)
	if off+walLegacyHeader > limit {
		return 0, false
	}
	if enc := data[off+6]; enc < walLegacyFirstEnc || enc > walLegacyLastEnc {
		return 0, false
	}
	end = off + walLegacyHeader + int(binary.LittleEndian.Uint16(data[off+4:]))
	if end > limit {
		return 0, false
	}
	return end, chunkChecksumOK(data, off, end)
}

// chunkChecksumOK checks a chunk's masked CRC-32C, which covers the header from the
// encoding byte on, and the payload.
func chunkChecksumOK(data []byte, off, end int) bool {
	c := crc32.Checksum(data[off+6:end], crcTable)
	return binary.LittleEndian.Uint32(data[off:]) == (c>>15|c<<17)+0xa282ead8
}
