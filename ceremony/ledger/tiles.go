package ledger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/internal/atomicfile"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"
)

// tileHeight is C2SP tlog-tiles' fixed tile height: 256 hashes or entries per full tile.
const tileHeight = 8

const tileWidth = 1 << tileHeight

// tilePath is a tile's path inside the log folder in C2SP tlog-tiles form: level is a number or
// "entries", n is encoded as 3-digit path elements ("x001/x234/067"), a partial tile of width
// w < 256 ends in ".p/<w>".
func tilePath(level string, n int64, w int) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	p := "tile/" + level + "/" + s
	if w < tileWidth {
		p += ".p/" + strconv.Itoa(w)
	}
	return p
}

func hashTilePath(t tlog.Tile) string { return tilePath(strconv.Itoa(t.L), t.N, t.W) }

func entryTilePath(t tlog.Tile) string { return tilePath("entries", t.N, t.W) }

// readEntries reads the first n entries from the entry bundles.
func (l *Log) readEntries(n int64) error {
	if n < 0 || n > 1<<32 {
		return fmt.Errorf("ceremony log: checkpoint size %d is out of range", n)
	}
	for k := int64(0); k*tileWidth < n; k++ {
		w := int(min(n-k*tileWidth, tileWidth))
		p := entryTilePath(tlog.Tile{H: tileHeight, N: k, W: w})
		data, err := transcript.ReadFileMax(filepath.Join(l.root, Dir, filepath.FromSlash(p)), int64(w)*(maxEntry+2))
		if err != nil {
			return fmt.Errorf("ceremony log: entries %d to %d: %w", k*tileWidth, k*tileWidth+int64(w)-1, err)
		}
		entries, err := splitBundle(data)
		if err != nil || len(entries) != w {
			return fmt.Errorf("ceremony log: %s: not a bundle of %d entries (%v)", p, w, err)
		}
		for _, e := range entries {
			if err := l.add(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func splitBundle(data []byte) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, errors.New("truncated length")
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			return nil, errors.New("truncated entry")
		}
		out = append(out, data[2:2+n])
		data = data[2+n:]
	}
	return out, nil
}

func (l *Log) bundle(t tlog.Tile) []byte {
	var b []byte
	for i := t.N * tileWidth; i < t.N*tileWidth+int64(t.W); i++ {
		b = binary.BigEndian.AppendUint16(b, uint16(len(l.entries[i])))
		b = append(b, l.entries[i]...)
	}
	return b
}

// checkTiles checks every hash tile a reader of the log would fetch against the entries.
func (l *Log) checkTiles() error {
	for _, t := range tlog.NewTiles(tileHeight, 0, l.Size()) {
		want, err := tlog.ReadTileData(t, l.hashReader())
		if err != nil {
			return err
		}
		p := hashTilePath(t)
		got, err := transcript.ReadFileMax(filepath.Join(l.root, Dir, filepath.FromSlash(p)), int64(len(want)))
		if err != nil {
			return fmt.Errorf("ceremony log: %w", err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("ceremony log: tile %s does not match the entries", p)
		}
	}
	return nil
}

// writeTiles writes the tiles and entry bundles that growing the log from old entries adds.
// They are new files that no checkpoint names yet: a crash leaves them unread, and a retry
// replaces them.
func (l *Log) writeTiles(old int64) error {
	for _, t := range tlog.NewTiles(tileHeight, old, l.Size()) {
		data, err := tlog.ReadTileData(t, l.hashReader())
		if err != nil {
			return err
		}
		if err := l.writeLogFile(hashTilePath(t), data); err != nil {
			return err
		}
		if t.L == 0 {
			if err := l.writeLogFile(entryTilePath(t), l.bundle(t)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *Log) writeLogFile(p string, data []byte) error {
	name := filepath.Join(l.root, Dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("ceremony log: %w", err)
	}
	if old, err := transcript.ReadFileMax(name, int64(len(data))); err == nil && bytes.Equal(old, data) {
		return nil // written by an earlier try of the same append
	}
	// New, or a leftover of an append that crashed before its checkpoint: no checkpoint names it.
	return writeAtomic(name, data)
}

func writeAtomic(name string, data []byte) error { return atomicfile.WriteFile(name, data, 0o644) }
