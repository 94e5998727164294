package ceremony

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/runenames"
)

// renderable reports whether every renderer a ceremony's text reaches can draw s: the PDF
// report and share sheets (each of the Go fonts they embed, regular, bold, mono and mono
// bold, has a glyph for every character) and the terminal (which escapes anything it cannot
// print). Some characters are refused always, whatever the fonts hold (refusedAlways). The
// error names the first character refused, as U+XXXX and its Unicode name.
func renderable(s string) error {
	fonts, ferr := goFonts()
	var buf sfnt.Buffer
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				return fmt.Errorf("invalid UTF-8 at byte %d", i)
			}
		}
		if why := refusedAlways(r); why != "" {
			return fmt.Errorf("character %s at byte %d %s", RuneName(r), i, why)
		}
		for _, f := range fonts {
			if g, gerr := f.GlyphIndex(&buf, r); ferr != nil || gerr != nil || g == 0 {
				return fmt.Errorf("character %s at byte %d cannot be drawn: no font embedded in the PDF report and share sheets has a glyph for it", RuneName(r), i)
			}
		}
	}
	return nil
}

var goFonts = sync.OnceValues(func() ([]*sfnt.Font, error) {
	var out []*sfnt.Font
	for _, ttf := range [][]byte{goregular.TTF, gobold.TTF, gomono.TTF, gomonobold.TTF} {
		f, err := sfnt.Parse(ttf)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
})

// invisible lists graphic characters that draw as nothing: a name made of them, or hiding
// them, reads differently on paper than in the transcript.
var invisible = map[rune]bool{0x034F: true, 0x115F: true, 0x1160: true, 0x17B4: true, 0x17B5: true,
	0x180B: true, 0x180C: true, 0x180D: true, 0x180F: true, 0x2800: true, 0x3164: true, 0xFFA0: true}

// refusedAlways says why r is refused in any text a ceremony shows, whatever the renderer:
// control characters, bidirectional and other invisible format characters, line and
// paragraph separators, private-use, unassigned and invalid code points. "" if r is allowed.
func refusedAlways(r rune) string {
	switch {
	case r == utf8.RuneError:
		return "is the replacement character, left where text was not valid UTF-8"
	case unicode.IsControl(r):
		return "is a control character (it can move the cursor, clear a terminal or hide text)"
	case unicode.In(r, unicode.Bidi_Control):
		return "is a bidirectional control (it reorders what the room reads)"
	case unicode.Is(unicode.Cf, r):
		return "is an invisible format character"
	case unicode.In(r, unicode.Zl, unicode.Zp):
		return "is a line or paragraph separator"
	case unicode.Is(unicode.Co, r):
		return "is a private-use character (no font draws it the same way twice)"
	case invisible[r]:
		return "draws as nothing (an invisible filler)"
	case !unicode.IsGraphic(r):
		return "is not an assigned, visible character"
	}
	return ""
}

// RuneName names r as U+XXXX and its Unicode name, for messages.
func RuneName(r rune) string {
	if n := runenames.Name(r); n != "" {
		return fmt.Sprintf("U+%04X (%s)", r, n)
	}
	return fmt.Sprintf("U+%04X", r)
}

// scriptString is one string a script carries, where it is and what it is called.
type scriptString struct {
	Field string // dotted path, e.g. participants.2.name
	Line  int
	Value string
}

// scriptStrings lists every scalar in a parsed script, with its field path and line.
func scriptStrings(root *yaml.Node) []scriptString {
	var out []scriptString
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				walk(n.Content[i+1], join(path, k.Value))
				// A key is text too (an unknown one is refused later, but named here).
				out = append(out, scriptString{join(path, k.Value), k.Line, k.Value})
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, join(path, strconv.Itoa(i)))
			}
		case yaml.ScalarNode:
			out = append(out, scriptString{path, n.Line, n.Value})
		}
	}
	walk(root, "")
	return out
}

func join(path, part string) string {
	if path == "" {
		return part
	}
	return path + "." + part
}

// checkText refuses every string of the script, and every line of its text (the report
// reproduces the script, comments included), that renderable refuses. Errors name the file,
// line, field and the character.
func checkText(file string, src []byte, root *yaml.Node) ScriptError {
	var errs ScriptError
	bad := map[int]bool{} // lines already named
	strs := scriptStrings(root)
	for _, s := range strs {
		if err := renderable(s.Value); err != nil {
			errs = append(errs, FieldError{file, s.Line, s.Field, err.Error() + "; retype it, transliterate it or leave it out"})
			bad[s.Line] = true
		}
	}
	for i, l := range strings.Split(string(src), "\n") {
		if bad[i+1] {
			continue
		}
		l = strings.ReplaceAll(strings.TrimSuffix(l, "\r"), "\t", " ") // layout, not text
		if i == 0 {
			l = strings.TrimPrefix(l, "\uFEFF")
		}
		if err := renderable(l); err != nil {
			errs = append(errs, FieldError{file, i + 1, "(script text)", err.Error() + "; the report prints the script's text, comments included"})
		}
	}
	return errs
}
