package ceremony

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/keyrite/keyrite/reports/fonts"
)

// renderable reports whether every renderer a ceremony's text reaches can draw s: the PDF
// report and share sheets (reports/fonts, which also refuses control, bidirectional and other
// invisible characters whatever the fonts hold) and the terminal (which escapes anything it
// cannot print). The error names the first character refused, as U+XXXX and its name.
func renderable(s string) error { return fonts.Renderable(s) }

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

// CheckTextFor refuses every string of the script that one more renderer, which the engine
// cannot consult itself, cannot draw: the app's, whose fonts come partly from the computer it
// runs on. renderer names it in each message; draw reports why it cannot draw a string. Like
// the PDF check at parse time, it runs before anything is done.
func (s *Script) CheckTextFor(renderer string, draw func(string) error) error {
	var root yaml.Node
	if err := yaml.Unmarshal(s.Source, &root); err != nil {
		return err
	}
	var errs ScriptError
	for _, str := range scriptStrings(&root) {
		if err := draw(str.Value); err != nil {
			errs = append(errs, FieldError{s.Name, str.Line, str.Field, fmt.Sprintf("%v; %s cannot show it, so the room could not read it on screen: retype it or transliterate it", err, renderer)})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
