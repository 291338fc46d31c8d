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
)

// Pebble's write-ahead log format (pebble/record): 32 KiB blocks of chunks, each with
// a header of checksum (4), length (2), encoding (1), log number (4) and, in the
// WAL-sync format, a sync offset (8). The checksum covers the header from the
// encoding byte on, and the payload.
const (
	walBlockSize          = 32 << 10
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
		if bad, next, ok := walDamage(data, uint32(num)); !ok {
			return &DamagedError{Dir: dir, File: name, Problem: fmt.Sprintf(
				"the write-ahead log has a damaged record at offset %d followed by valid records (from offset %d), so acknowledged writes after it would be lost", bad, next)}
		}
	}
	return nil
}

// walDamage parses a log's chunks in order. It returns ok=false with the offset of
// the first invalid chunk and of a later valid one when the log is damaged in the
// middle; ok=true when it is clean or ends in a torn tail.
func walDamage(data []byte, logNum uint32) (bad, next int, ok bool) {
	off := 0
	for off < len(data) {
		if end, valid := walChunkAt(data, off, logNum); valid {
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
		if _, valid := walChunkAt(data, at, logNum); valid {
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
	c := crc32.Checksum(data[off+6:end], crcTable)
	if binary.LittleEndian.Uint32(data[off:]) != (c>>15|c<<17)+0xa282ead8 {
		return 0, false
	}
	return end, true
}
