package fonts

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/runenames"
)

// Unrenderable is Renderable's error: the first character of a string that some renderer
// cannot draw, and why.
type Unrenderable struct {
	Rune   rune
	Offset int    // byte offset of the character in the string
	Reason string // e.g. "no embedded font has a glyph for it"
}

func (e *Unrenderable) Error() string {
	if e.Rune == utf8.RuneError {
		return fmt.Sprintf("invalid UTF-8 at byte %d", e.Offset)
	}
	return fmt.Sprintf("character %s at byte %d: %s", Describe(e.Rune), e.Offset, e.Reason)
}

// Describe names a character as U+XXXX and its Unicode name, quoting it only when it is
// visible, so that an error message never carries a control or format character.
func Describe(r rune) string {
	name := runenames.Name(r)
	if name == "" || name[0] == '<' {
		name = category(r)
	}
	if unicode.IsGraphic(r) && !unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Me, r) && r != ' ' {
		return fmt.Sprintf("%q (U+%04X %s)", string(r), r, name)
	}
	return fmt.Sprintf("U+%04X %s", r, name)
}

func category(r rune) string {
	switch {
	case unicode.Is(unicode.Han, r) && unicode.Is(unicode.Lo, r):
		return fmt.Sprintf("CJK UNIFIED IDEOGRAPH-%04X", r)
	case r >= 0xAC00 && r <= 0xD7A3:
		return hangulName(r)
	case unicode.Is(unicode.Cc, r):
		return "control character"
	case unicode.Is(unicode.Co, r):
		return "private-use character"
	case unicode.Is(unicode.Cs, r):
		return "surrogate"
	}
	return "unassigned character"
}

// Renderable reports whether every renderer Keyrite prints s with can draw it: each
// character has a glyph in every style of the PDFs' fonts (regular, bold, monospace), and a
// combining mark is in the font of the letter it sits on. The fonts cover Latin (the Go
// fonts' WGL4 set), Greek, Cyrillic, Hebrew, Arabic, Devanagari, Chinese, Japanese and
// Korean; the reports package shapes Hebrew, Arabic and Devanagari with HarfBuzz and lays
// right-to-left text out in visual order. The terminal escapes anything it
// cannot print, so it accepts every string. Refused always, whatever the fonts: invalid
// UTF-8, control characters (newline and tab included), unassigned and private-use
// characters, bidirectional controls and every other invisible format character, except the
// zero-width joiner and non-joiner between two letters of a script that uses them to choose
// a form (Arabic, Devanagari).
func Renderable(s string) error {
	var faces [numStyles][]*Face
	for st := range faces {
		c, err := Chain(Style(st))
		if err != nil {
			return err
		}
		faces[st] = c
	}
	var prev rune = -1
	var base [numStyles]*Face // the face each style draws the last letter with
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				return &Unrenderable{Rune: r, Offset: i}
			}
		}
		if why := refused(r, prev, s[i+utf8.RuneLen(r):]); why != "" {
			return &Unrenderable{Rune: r, Offset: i, Reason: why}
		}
		if r != zwj && r != zwnj {
			mark := unicode.In(r, unicode.Mn, unicode.Mc, unicode.Me)
			for st := range faces {
				if mark {
					if base[st] == nil || !base[st].Covers(r) {
						return &Unrenderable{Rune: r, Offset: i, Reason: "the font that draws the letter before it has no such mark to place on it"}
					}
					continue
				}
				if base[st] = pick(faces[st], r); base[st] == nil {
					return &Unrenderable{Rune: r, Offset: i, Reason: "no font embedded in the PDFs has a glyph for it"}
				}
			}
		}
		prev = r
	}
	return nil
}

// pick is the face of chain that draws r, the first that has it, or nil.
func pick(chain []*Face, r rune) *Face {
	if r > 0xFFFF { // the PDF writer encodes characters as single UTF-16 code units
		return nil
	}
	for _, f := range chain {
		if f.Covers(r) {
			return f
		}
	}
	return nil
}

const (
	zwnj = '\u200C'
	zwj  = '\u200D'
)

// joinerScripts are the scripts in which a zero-width (non-)joiner chooses a letter's form.
var joinerScripts = []*unicode.RangeTable{unicode.Arabic, unicode.Devanagari}

// invisible are characters that are not format characters yet draw nothing: fillers,
// variation selectors, the combining grapheme joiner.
var invisible = &unicode.RangeTable{R16: []unicode.Range16{
	{Lo: 0x034F, Hi: 0x034F, Stride: 1},
	{Lo: 0x115F, Hi: 0x1160, Stride: 1},
	{Lo: 0x17B4, Hi: 0x17B5, Stride: 1},
	{Lo: 0x180B, Hi: 0x180F, Stride: 1},
	{Lo: 0x2800, Hi: 0x2800, Stride: 1},
	{Lo: 0x3164, Hi: 0x3164, Stride: 1},
	{Lo: 0xFE00, Hi: 0xFE0F, Stride: 1},
	{Lo: 0xFFA0, Hi: 0xFFA0, Stride: 1},
	{Lo: 0xFFF9, Hi: 0xFFFC, Stride: 1},
}, R32: []unicode.Range32{{Lo: 0xE0100, Hi: 0xE01EF, Stride: 1}}}

// refused says why r is refused whatever the fonts hold, or "".
func refused(r, prev rune, rest string) string {
	switch {
	case unicode.Is(unicode.Cc, r):
		return "control characters are never printed"
	case r == zwj || r == zwnj:
		next, _ := utf8.DecodeRuneInString(rest)
		if inAny(prev, joinerScripts) && inAny(next, joinerScripts) {
			return ""
		}
		return "a zero-width joiner or non-joiner is accepted only between two Arabic or Devanagari letters"
	case unicode.Is(unicode.Bidi_Control, r):
		return "bidirectional controls (overrides, embeddings, isolates, marks) can disguise text and are refused"
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r), unicode.Is(invisible, r):
		return "invisible characters are refused: nobody can read them off the page"
	case unicode.Is(unicode.Co, r):
		return "private-use characters have no agreed meaning"
	case unicode.Is(unicode.Noncharacter_Code_Point, r):
		return "noncharacters are refused"
	case !assigned(r):
		return "the character is not assigned in Unicode " + unicode.Version
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc) && (prev < 0 || unicode.IsSpace(prev) || unicode.Is(unicode.Cc, prev)):
		return "a combining mark must follow the letter it belongs to"
	}
	return ""
}

func inAny(r rune, ts []*unicode.RangeTable) bool {
	return r >= 0 && unicode.In(r, ts...)
}

func assigned(r rune) bool {
	for _, t := range unicode.Categories {
		if unicode.Is(t, r) {
			return true
		}
	}
	return false
}

// hangulName is a precomposed Hangul syllable's Unicode name, which the standard derives
// from its jamo rather than lists.
func hangulName(r rune) string {
	lead := []string{"G", "GG", "N", "D", "DD", "R", "M", "B", "BB", "S", "SS", "", "J", "JJ", "C", "K", "T", "P", "H"}
	vowel := []string{"A", "AE", "YA", "YAE", "EO", "E", "YEO", "YE", "O", "WA", "WAE", "OE", "YO", "U", "WEO", "WE", "WI", "YU", "EU", "YI", "I"}
	tail := []string{"", "G", "GG", "GS", "N", "NJ", "NH", "D", "L", "LG", "LM", "LB", "LS", "LT", "LP", "LH", "M", "B", "BS", "S", "SS", "NG", "J", "C", "K", "T", "P", "H"}
	i := int(r - 0xAC00)
	return "HANGUL SYLLABLE " + lead[i/588] + vowel[i%588/28] + tail[i%28]
}
