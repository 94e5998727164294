package ceremony

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// withName is the example root script with its administrator's name replaced by name, written
// as a YAML double-quoted string (so control characters can be spelt), on line 10.
func withName(t testing.TB, name string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "testdata", "root-ceremony.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.Replace(string(src), "name: Zoë Ångström", "name: "+yamlQuote(name), 1))
}

// yamlQuote writes s as a YAML double-quoted scalar, escaping what YAML does not allow raw.
func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == 0xfeff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String() + `"`
}

// Names in every script people write theirs in, and names that hide something: each is
// either refused at validation, naming file, line, field and the character as U+XXXX, or
// accepted because every renderer it reaches draws it (renderable). Control characters, bidi
// overrides and invisible characters are refused whatever the fonts hold. A refusal at
// validation comes before anything else: the HSM is not even opened (see also
// TestHostileNameLeavesTokenUnchanged).
func TestNamesRenderedOrRefused(t *testing.T) {
	for _, c := range []struct {
		what, name string
		always     bool // refused whatever the fonts hold
		never      bool // accepted whatever: the fonts have always drawn it
	}{
		{"Latin", "Zoë Ångström", false, true},
		{"Greek", "Αλέξανδρος Οικονόμου", false, true},
		{"Cyrillic", "Ольга Кузнецова", false, true},
		{"emoji", "Bob \U0001F600", false, false},
		{"CJK", "王秀英", false, false},
		{"Japanese", "山田 花子", false, false},
		{"Arabic", "محمد عبد الله", false, false},
		{"Hebrew", "דוד כהן", false, false},
		{"ANSI escape", "Eve\x1b[2J", true, false},
		{"bell", "Eve\a", true, false},
		{"newline", "Eve\nVerified", true, false},
		{"C1 control", "Eve\u0085", true, false},
		{"right-to-left override", "Eve\u202Egnp.exe", true, false},
		{"right-to-left isolate", "Eve\u2067x", true, false},
		{"zero-width space", "E\u200Bve", true, false},
		{"Hangul filler", "\u3164", true, false},
		{"private use", "Eve\uE000", true, false},
	} {
		t.Run(c.what, func(t *testing.T) {
			_, err := ParseScript("names.yaml", withName(t, c.name))
			rerr := renderable(c.name)
			switch {
			case c.always && rerr == nil, c.never && rerr != nil:
				t.Fatalf("renderable(%q) = %v", c.name, rerr)
			case rerr == nil && err != nil:
				t.Fatalf("%q renders but the script is refused: %v", c.name, err)
			case rerr != nil && err == nil:
				t.Fatalf("%q cannot be rendered (%v) but the script is accepted", c.name, rerr)
			case rerr != nil:
				msg := err.Error()
				if !strings.Contains(msg, "names.yaml:10: participants.0.name: ") || !strings.Contains(msg, "U+") {
					t.Fatalf("the refusal does not name file:line:field and the character:\n%s", msg)
				}
				if strings.ContainsAny(msg, "\x1b\a\u0085\u202E\u2067\u200B") {
					t.Fatalf("the refusal carries the hostile character itself: %q", msg)
				}
			}
		})
	}
}

// Every free-text field is checked, not only names; comments too (the report prints the
// script's text), with the field or "(script text)" named.
func TestEveryFieldIsChecked(t *testing.T) {
	src, _ := os.ReadFile(filepath.Join("..", "testdata", "root-ceremony.yaml"))
	for _, c := range []struct{ old, new, want string }{
		{"organization: Example Sovereign Cloud GmbH", `organization: "Example\u202E GmbH"`, ":7: organization: "},
		{"location: Ceremony room 4.12, Frankfurt", `location: "Room\u0007 4"`, ":8: location: "},
		{"common_name: Example Root CA 2026", `common_name: "Example Root\u0001 CA"`, ":30: certificate.subject.common_name: "},
		{"bags: [TEB-2026-0001, TEB-2026-0002]", `bags: [TEB-2026-0001, "TEB-\u200D2"]`, ":23: equipment.bags.1: "},
		{"laptop: Air-gapped laptop KR-LAPTOP-01", "laptop: Air-gapped \u2066laptop", ":22: equipment.laptop: "},
		{"# The example root key ceremony", "# The example \u202Eroot key ceremony", ":1: (script text): "},
	} {
		bad := strings.Replace(string(src), c.old, c.new, 1)
		if bad == string(src) {
			t.Fatalf("%q not in the example", c.old)
		}
		_, err := ParseScript("f.yaml", []byte(bad))
		if err == nil || !strings.Contains(err.Error(), "f.yaml"+c.want) || !strings.Contains(err.Error(), "U+") {
			t.Errorf("%s: err = %v, want %q", c.new, err, c.want)
		}
	}
}

// FuzzScriptText holds validation to its promise: a script is refused, or every string in it
// (every field of the parsed Script, found by reflection, not by the checker's own walk) is
// drawn by every renderer. The seeds run in the normal test suite.
func FuzzScriptText(f *testing.F) {
	for _, name := range []string{"root-ceremony.yaml", "root-quorum-ceremony.yaml", "rotate-ceremony.yaml", "destroy-ceremony.yaml", "export-ceremony.yaml"} {
		src, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, name := range []string{"Bob \U0001F600", "王秀英", "محمد", "דוד כהן", "Eve\x1b[2J", "a\u202Eb", "e\u0301", "\u0301e", "Ω\u200D", "x\xff"} {
		f.Add(withName(f, name))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := ParseScript("fuzz.yaml", src)
		if err != nil {
			return
		}
		forEachString(reflect.ValueOf(s).Elem(), "", func(field, v string) {
			if !utf8.ValidString(v) {
				t.Fatalf("%s: accepted invalid UTF-8 %q", field, v)
			}
			if err := renderable(v); err != nil {
				t.Fatalf("%s: accepted %q, which a renderer refuses: %v", field, v, err)
			}
			for _, r := range v { // the terminal escapes the rest, but no control character is accepted
				if unicode.IsControl(r) {
					t.Fatalf("%s: accepted %q, which holds control character U+%04X", field, v, r)
				}
			}
		})
	})
}

// forEachString calls f with every string in v (a struct, slice, map, pointer), except the
// script's own file name.
func forEachString(v reflect.Value, path string, f func(field, v string)) {
	switch v.Kind() {
	case reflect.String:
		f(path, v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			forEachString(v.Elem(), path, f)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			sf := v.Type().Field(i)
			if sf.IsExported() && sf.Tag.Get("yaml") != "-" {
				forEachString(v.Field(i), path+"."+sf.Name, f)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			forEachString(v.Index(i), fmt.Sprintf("%s[%d]", path, i), f)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			forEachString(k, path+"{key}", f)
			forEachString(v.MapIndex(k), path+"{}", f)
		}
	}
}
