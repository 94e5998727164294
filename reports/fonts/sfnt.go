package fonts

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/go-text/typesetting/font"
)

// sfnt is a TrueType file's tables by tag.
type sfnt struct {
	version uint32
	tags    []string
	tables  map[string][]byte
}

// parseSFNT reads a TrueType file or, from a collection, its first font.
func parseSFNT(b []byte) (*sfnt, error) {
	if len(b) < 12 {
		return nil, errors.New("not a TrueType file")
	}
	dir := 0
	if string(b[:4]) == "ttcf" {
		if len(b) < 16 || binary.BigEndian.Uint32(b[8:]) == 0 {
			return nil, errors.New("empty font collection")
		}
		dir = int(binary.BigEndian.Uint32(b[12:]))
		if dir+12 > len(b) {
			return nil, errors.New("font collection's first font lies outside the file")
		}
	}
	f := &sfnt{version: binary.BigEndian.Uint32(b[dir:]), tables: map[string][]byte{}}
	n := int(binary.BigEndian.Uint16(b[dir+4:]))
	if len(b) < dir+12+16*n {
		return nil, errors.New("truncated table directory")
	}
	for i := 0; i < n; i++ {
		rec := b[dir+12+16*i:]
		tag := string(rec[:4])
		off, length := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if uint64(off)+uint64(length) > uint64(len(b)) {
			return nil, fmt.Errorf("table %q lies outside the file", tag)
		}
		f.tags = append(f.tags, tag)
		f.tables[tag] = b[off : off+length]
	}
	return f, nil
}

func (f *sfnt) numGlyphs() int {
	maxp := f.tables["maxp"]
	if len(maxp) < 6 {
		return 0
	}
	return int(binary.BigEndian.Uint16(maxp[4:]))
}

// bytes writes the tables back as a TrueType file, in tag order, each 4-byte aligned with
// its checksum.
func (f *sfnt) bytes() []byte {
	tags := append([]string(nil), f.tags...)
	sort.Strings(tags)
	n := len(tags)
	sr, es := 1, 0
	for sr*2 <= n {
		sr, es = sr*2, es+1
	}
	out := make([]byte, 12+16*n)
	binary.BigEndian.PutUint32(out, f.version)
	binary.BigEndian.PutUint16(out[4:], uint16(n))
	binary.BigEndian.PutUint16(out[6:], uint16(sr*16))
	binary.BigEndian.PutUint16(out[8:], uint16(es))
	binary.BigEndian.PutUint16(out[10:], uint16(n*16-sr*16))
	for i, tag := range tags {
		t := f.tables[tag]
		rec := out[12+16*i:]
		copy(rec, tag)
		binary.BigEndian.PutUint32(rec[4:], checksum(t))
		binary.BigEndian.PutUint32(rec[8:], uint32(len(out)))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(t)))
		out = append(out, t...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	return out
}

func checksum(t []byte) uint32 {
	var sum uint32
	for i := 0; i < len(t); i += 4 {
		var w [4]byte
		copy(w[:], t[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}

// withPUA returns the font with a cmap holding its own BMP characters and, for every glyph
// g < n, the private-use character PUABase+g: a PDF writer that draws characters through
// the cmap (as fpdf does) can then draw any glyph a shaper chose, ligatures and contextual
// forms included. The glyph order, and so every glyph ID, is unchanged.
func (f *sfnt) withPUA(shaper *font.Face, n int) ([]byte, error) {
	m := map[rune]font.GID{}
	it := shaper.Cmap.Iter()
	for it.Next() {
		r, g := it.Char()
		if r < 0xFFFF && (r < PUABase || r > 0xF8FF) && g != 0 {
			m[r] = g
		}
	}
	for g := 1; g < n; g++ {
		m[rune(PUABase+g)] = font.GID(g)
	}
	sub, err := cmapFormat4(m)
	if err != nil {
		return nil, err
	}
	cmap := make([]byte, 12, 12+len(sub))
	binary.BigEndian.PutUint16(cmap[2:], 1) // one encoding record
	binary.BigEndian.PutUint16(cmap[4:], 3) // Windows
	binary.BigEndian.PutUint16(cmap[6:], 1) // Unicode BMP
	binary.BigEndian.PutUint32(cmap[8:], 12)
	cmap = append(cmap, sub...)
	f.tables["cmap"] = cmap
	return f.bytes(), nil
}

// cmapFormat4 encodes m as a cmap format 4 subtable, one segment per run of consecutive
// characters with consecutive glyphs (idDelta only, no glyph array).
func cmapFormat4(m map[rune]font.GID) ([]byte, error) {
	runes := make([]rune, 0, len(m))
	for r := range m {
		runes = append(runes, r)
	}
	sort.Slice(runes, func(i, j int) bool { return runes[i] < runes[j] })
	type seg struct{ start, end rune }
	var segs []seg
	for _, r := range runes {
		if k := len(segs) - 1; k >= 0 && segs[k].end == r-1 && int(m[r])-int(m[segs[k].end]) == 1 {
			segs[k].end = r
			continue
		}
		segs = append(segs, seg{r, r})
	}
	segs = append(segs, seg{0xFFFF, 0xFFFF})
	n := len(segs)
	length := 16 + 8*n
	if length > 0xFFFF {
		return nil, fmt.Errorf("cmap needs %d segments, more than format 4 holds", n)
	}
	sr, es := 1, 0
	for sr*2 <= n {
		sr, es = sr*2, es+1
	}
	b := make([]byte, length)
	be := binary.BigEndian
	be.PutUint16(b, 4)
	be.PutUint16(b[2:], uint16(length))
	be.PutUint16(b[6:], uint16(2*n))
	be.PutUint16(b[8:], uint16(2*sr))
	be.PutUint16(b[10:], uint16(es))
	be.PutUint16(b[12:], uint16(2*n-2*sr))
	ends, starts, deltas := b[14:], b[16+2*n:], b[16+4*n:]
	for i, s := range segs {
		be.PutUint16(ends[2*i:], uint16(s.end))
		be.PutUint16(starts[2*i:], uint16(s.start))
		delta := 1 // the final 0xFFFF segment maps to glyph 0
		if s.start != 0xFFFF {
			delta = int(m[s.start]) - int(s.start)
		}
		be.PutUint16(deltas[2*i:], uint16(delta)) // modulo 65536, as the format specifies
	}
	// idRangeOffsets (b[16+6n:]) stay zero.
	return b, nil
}
