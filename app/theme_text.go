package app

import (
	"bytes"
	"fmt"
	"sync"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"github.com/go-text/typesetting/di"
	"github.com/go-text/typesetting/font"
	"github.com/go-text/typesetting/fontscan"
	"github.com/go-text/typesetting/language"
	"github.com/go-text/typesetting/shaping"
	"golang.org/x/text/unicode/bidi"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/reports/fonts"
)

// What the app can draw. Fyne 2.7 draws text with go-text: a string is split into runs by
// direction, script and font (shaping.Segmenter), each run is shaped by HarfBuzz (Arabic
// joining, Devanagari conjuncts, Hangul syllables) and drawn, in the string's logical order,
// left to right. Its fonts are its own (Noto Sans for Latin, Greek and Cyrillic, and a colour
// emoji font) and then whatever fonts this computer has installed.
//
// So, measured (theme_text_test.go renders each with the app's fonts): Korean, Hebrew and
// Arabic names are drawn correctly — glyphs present, Arabic joined, right-to-left words in
// their right order — when this computer has a font for them; an emoji ZWJ sequence splits
// into its parts (the PDF check refuses emoji anyway). Two things it cannot do: draw a
// character no font here has (it draws U+FFFD), and reorder a right-to-left stretch that spans
// more than one run (a digit, or punctuation drawn from another font, between right-to-left
// words): its runs stay in logical order, so the words come out scrambled.
//
// appDrawable refuses exactly those two cases, by running the same segmentation over the
// same fonts; the review screen refuses a script with such a string up front, naming the
// app as the renderer (ceremony.Script.CheckTextFor), before anything is done.

// appFonts is the font map the check resolves characters with: as Fyne's own (its painter's
// dynamic font map), the theme's fonts first, then the emoji font, then the face this
// computer offers for the user's language, then any system font that has the character.
type appFonts struct {
	faces  []*font.Face
	system func(r rune) *font.Face // nil: none
}

func (f *appFonts) ResolveFace(r rune) *font.Face {
	for _, face := range f.faces {
		if _, ok := face.NominalGlyph(r); ok {
			return face
		}
	}
	if f.system != nil {
		if face := f.system(r); face != nil {
			if _, ok := face.NominalGlyph(r); ok {
				f.faces = append(f.faces, face)
				return face
			}
		}
	}
	return f.faces[0]
}

// has reports whether some face of the map draws r.
func (f *appFonts) has(r rune) bool {
	_, ok := f.ResolveFace(r).NominalGlyph(r)
	return ok
}

var (
	systemOnce  sync.Once
	systemFonts *fontscan.FontMap
	systemMu    sync.Mutex
)

// systemFace finds a font this computer has for r, as Fyne's painter does (fontscan over
// the system's font folders; the index is cached in the user's cache folder).
func systemFace(r rune) *font.Face {
	systemOnce.Do(func() {
		fm := fontscan.NewFontMap(quiet{})
		if err := fm.UseSystemFonts(""); err == nil {
			systemFonts = fm
		}
	})
	if systemFonts == nil {
		return nil
	}
	systemMu.Lock()
	defer systemMu.Unlock()
	systemFonts.SetQuery(fontscan.Query{Families: []string{fontscan.SansSerif}})
	return systemFonts.ResolveFace(r)
}

// quiet drops fontscan's log lines (about fontconfig files this computer lacks).
type quiet struct{}

func (quiet) Printf(string, ...any) {}

// localeFace is the face Fyne adds for the user's language before any other system font.
func localeFace() *font.Face {
	if systemFace(' ') == nil {
		return nil
	}
	systemMu.Lock()
	defer systemMu.Unlock()
	systemFonts.SetQuery(fontscan.Query{Families: []string{fontscan.SansSerif}})
	l, _ := fontscan.NewLangID(language.Language(lang.SystemLocale().LanguageString()))
	return systemFonts.ResolveFaceForLang(l)
}

// newAppFonts is the map for one text style, with the system's fonts or none.
func newAppFonts(style fyne.TextStyle, system bool) (*appFonts, error) {
	f := &appFonts{}
	for _, res := range []fyne.Resource{theme.DefaultTheme().Font(style), theme.DefaultEmojiFont()} {
		face, err := font.ParseTTF(bytes.NewReader(res.Content()))
		if err != nil {
			return nil, fmt.Errorf("the app's font %s: %w", res.Name(), err)
		}
		f.faces = append(f.faces, face)
	}
	if system {
		if face := localeFace(); face != nil {
			f.faces = append(f.faces, face)
		}
		f.system = systemFace
	}
	return f, nil
}

// appDrawable reports whether the app draws s correctly with the fonts of map f: every
// character has a glyph, and every right-to-left stretch is one run (which Fyne's shaper
// draws in the right order).
func appDrawable(f *appFonts, s string) error {
	for _, r := range s {
		if unicode.IsGraphic(r) && !unicode.IsSpace(r) && !f.has(r) {
			return fmt.Errorf("character %s: no font of the app or of this computer has it (the app would draw �)", fonts.Describe(r))
		}
	}
	runes := []rune(s)
	if len(runes) == 0 {
		return nil
	}
	var seg shaping.Segmenter
	runs := seg.Split(shaping.Input{Text: runes, RunEnd: len(runes), Direction: di.DirectionLTR}, f)
	for _, rg := range rtlStretches(runes) {
		for _, run := range runs {
			if rg[0] < run.RunStart || rg[0] >= run.RunEnd {
				continue
			}
			if run.Direction.Progression() != di.TowardTopLeft || rg[1] >= run.RunEnd {
				return fmt.Errorf("%q mixes right-to-left text with %q, which the app draws in the wrong order", s, string(runes[rg[0]:rg[1]+1]))
			}
		}
	}
	return nil
}

// rtlStretches finds, in a left-to-right paragraph, each stretch the bidirectional
// algorithm lays out right to left (level 1 or more): from a right-to-left letter to the
// last right-to-left letter or number before the next left-to-right letter. Index pairs
// are inclusive.
func rtlStretches(runes []rune) [][2]int {
	class := func(r rune) bidi.Class { p, _ := bidi.LookupRune(r); return p.Class() }
	var out [][2]int
	for i := 0; i < len(runes); {
		if c := class(runes[i]); c != bidi.R && c != bidi.AL {
			i++
			continue
		}
		start, end, j := i, i, i+1
		for ; j < len(runes); j++ {
			switch class(runes[j]) {
			case bidi.L:
			case bidi.R, bidi.AL, bidi.EN, bidi.AN:
				end = j
				continue
			default:
				continue
			}
			break
		}
		out = append(out, [2]int{start, end})
		i = j
	}
	return out
}

// appTextAll checks the strings of every script against the app's renderer on this
// computer, in the two styles the run screen draws names in (regular and bold).
func appTextAll(scripts []*ceremony.Script) error {
	var maps []*appFonts
	for _, style := range []fyne.TextStyle{{}, {Bold: true}} {
		f, err := newAppFonts(style, true)
		if err != nil {
			return err
		}
		maps = append(maps, f)
	}
	draw := func(str string) error {
		for _, f := range maps {
			if err := appDrawable(f, str); err != nil {
				return err
			}
		}
		return nil
	}
	for _, s := range scripts {
		if err := s.CheckTextFor("the app (with its fonts and this computer's)", draw); err != nil {
			return err
		}
	}
	return nil
}
