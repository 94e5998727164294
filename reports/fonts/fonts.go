// Package fonts holds the fonts Keyrite's PDFs embed and answers, without a PDF renderer,
// whether they can draw a string: Renderable is the check the pre-flight runs on every
// string a ceremony will print, before the HSM is touched.
//
// Guarantees: every font is embedded in the binary (go:embed or Go packages), so rendering
// never depends on the machine's fonts and the same input gives the same bytes. A string
// Renderable accepts is drawn by the reports package with real glyphs (no empty boxes) and
// extracts (pdftotext) as the same string; a string it refuses is named by its first
// character that cannot be drawn, as U+XXXX and its Unicode name.
package fonts

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"sync"

	"github.com/go-text/typesetting/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
)

// Style is a typeface style the documents use.
type Style int

// The four styles every document uses. A character must be drawable in each, because a name
// appears in regular text, in bold headings and in the script's monospace appendix.
const (
	Sans Style = iota
	SansBold
	Mono
	MonoBold
	numStyles
)

// Face is one embedded font file. It is read and parsed the first time it is asked about,
// so that text in the Go fonts' scripts never costs the (large) fallback fonts' memory and
// time: a Latin ceremony never decompresses the CJK font.
type Face struct {
	// Family is the name a PDF document registers the font under; it is unique per file.
	Family string

	src  func() ([]byte, error)
	once sync.Once
	err  error

	shaper        *font.Face
	pua           bool
	ttf, original []byte
}

// load reads and parses the face once. An embedded font that does not parse is a defect of
// the build (the tests load every one): the face then covers nothing, so Renderable refuses
// text that needs it rather than drawing boxes.
func (f *Face) load() {
	f.once.Do(func() {
		file, err := f.src()
		if err == nil {
			err = f.parse(file)
		}
		if err != nil {
			f.err = fmt.Errorf("embedded font %s: %w", f.Family, err)
			return
		}
		owners.Store(f.shaper, f)
	})
}

// owners maps each parsed font to its Face.
var owners sync.Map

// Owner returns the Face whose parsed font is shaper (nil if none).
func Owner(shaper *font.Face) *Face {
	f, _ := owners.Load(shaper)
	face, _ := f.(*Face)
	return face
}

// Err reports why the face could not be loaded, if it could not.
func (f *Face) Err() error { f.load(); return f.err }

// Shaper is the parsed font, for shaping and coverage.
func (f *Face) Shaper() *font.Face { f.load(); return f.shaper }

// PUA reports that glyph g is also reachable as the character PUABase+g in TTF's cmap, so
// that a shaped glyph with no character of its own can be drawn.
func (f *Face) PUA() bool { f.load(); return f.pua }

// PUABase is the first private-use character that PUA faces map to their glyphs. Renderable
// refuses private-use characters, so no text ever collides with these.
const PUABase = 0xE000

// maxPUAGlyphs is the number of glyphs the BMP's private-use area can address.
const maxPUAGlyphs = 0xF8FF - PUABase + 1

// TTF returns a copy of the font file a PDF embeds (a PDF writer may patch its copy).
func (f *Face) TTF() []byte { f.load(); return bytes.Clone(f.ttf) }

// OriginalTTF returns a copy of the font file as shipped, without the private-use cmap.
func (f *Face) OriginalTTF() []byte { f.load(); return bytes.Clone(f.original) }

// Covers reports whether the face has a glyph for r.
func (f *Face) Covers(r rune) bool {
	if f.load(); f.err != nil {
		return false
	}
	_, ok := f.shaper.NominalGlyph(r)
	return ok
}

type source struct {
	family string
	ttf    func() ([]byte, error)
}

// The fallback fonts; README.md in this folder says where each comes from and its licence.
var (
	//go:embed NotoSans-Regular.ttf.gz
	latinGzip []byte
	//go:embed NotoSans-Bold.ttf.gz
	latinBoldGzip []byte
	//go:embed NotoSansHebrew-Regular.ttf
	hebrew []byte
	//go:embed NotoSansHebrew-Bold.ttf
	hebrewBold []byte
	//go:embed NotoSansArabic-Regular.ttf
	arabic []byte
	//go:embed NotoSansArabic-Bold.ttf
	arabicBold []byte
	//go:embed NotoSansDevanagari-Regular.ttf
	devanagari []byte
	//go:embed NotoSansDevanagari-Bold.ttf
	devanagariBold []byte
	//go:embed wqy-microhei.ttc.gz
	cjkGzip []byte
)

func fixed(b []byte) func() ([]byte, error) { return func() ([]byte, error) { return b, nil } }

func gunzip(b []byte) func() ([]byte, error) {
	return func() ([]byte, error) {
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}
}

// chains lists, per style, the faces tried in order for each character: the style's own
// font (the Go fonts: Latin, Greek, Cyrillic in the WGL4 set), Noto Sans for the Latin,
// Greek and Cyrillic letters beyond it (Vietnamese, for one), then Hebrew, Arabic,
// Devanagari and the CJK fallback (Chinese, Japanese, Korean; it has no bold, so bold text uses it as is).
var chains = func() [numStyles][]source {
	fallback := func(bold bool) []source {
		if bold {
			return []source{{"latin-bold", gunzip(latinBoldGzip)}, {"hebrew-bold", fixed(hebrewBold)}, {"arabic-bold", fixed(arabicBold)}, {"devanagari-bold", fixed(devanagariBold)}, {"cjk", gunzip(cjkGzip)}}
		}
		return []source{{"latin", gunzip(latinGzip)}, {"hebrew", fixed(hebrew)}, {"arabic", fixed(arabic)}, {"devanagari", fixed(devanagari)}, {"cjk", gunzip(cjkGzip)}}
	}
	return [numStyles][]source{
		Sans:     append([]source{{"go", fixed(goregular.TTF)}}, fallback(false)...),
		SansBold: append([]source{{"go-bold", fixed(gobold.TTF)}}, fallback(true)...),
		Mono:     append([]source{{"gomono", fixed(gomono.TTF)}}, fallback(false)...),
		MonoBold: append([]source{{"gomono-bold", fixed(gomonobold.TTF)}}, fallback(true)...),
	}
}()

var (
	loadOnce sync.Once
	loaded   [numStyles][]*Face
	loadErr  error
)

// Chain returns the faces of style s, the first one being the style's own font and the
// others the fallbacks for scripts it lacks.
func Chain(s Style) ([]*Face, error) {
	loadOnce.Do(load)
	if loadErr != nil {
		return nil, loadErr
	}
	return loaded[s], nil
}

func load() {
	byFamily := map[string]*Face{}
	for s, chain := range chains {
		for _, src := range chain {
			f, ok := byFamily[src.family]
			if !ok {
				f = &Face{Family: src.family, src: src.ttf} // parsed on first use
				byFamily[src.family] = f
			}
			loaded[s] = append(loaded[s], f)
		}
	}
}

// newFace parses a font file at once (tests use it to read a face's output back).
func newFace(family string, file []byte) (*Face, error) {
	f := &Face{Family: family, src: fixed(file)}
	return f, f.Err()
}

// parse reads file: a collection's first font, its shaper, and the private-use cmap.
func (f *Face) parse(file []byte) error {
	tables, err := parseSFNT(file)
	if err != nil {
		return err
	}
	ttf := file
	if string(file[:4]) == "ttcf" { // a collection: PDFs embed its first font on its own
		ttf = tables.bytes()
	}
	if f.shaper, err = font.ParseTTF(bytes.NewReader(ttf)); err != nil {
		return err
	}
	f.ttf, f.original = ttf, ttf
	if n := tables.numGlyphs(); n > 0 && n <= maxPUAGlyphs {
		out, err := tables.withPUA(f.shaper, n)
		if err != nil {
			return err
		}
		f.ttf, f.pua = out, true
	}
	return nil
}
