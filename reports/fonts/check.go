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
// character has a glyph in every style of the PDFs' fonts (regular, bold, monospace) and,
// where a script needs shaping, the shaper supports it. The terminal escapes anything it
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
			for st := range faces {
				if !covered(faces[st], r) {
					return &Unrenderable{Rune: r, Offset: i, Reason: "no font embedded in the PDFs has a glyph for it"}
				}
			}
		}
		prev = r
	}
	return nil
}

func covered(chain []*Face, r rune) bool {
	if r > 0xFFFF { // the PDF writer encodes characters as single UTF-16 code units
		return false
	}
	for _, f := range chain {
		if f.Covers(r) {
			return true
		}
	}
	return false
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
