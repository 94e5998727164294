package fonts

import (
	"errors"
	"strings"
	"testing"
)

func TestRenderableAccepts(t *testing.T) {
	for _, s := range []string{
		"", "Łukasz Wróbel", "Zoë Ångström", "Χριστίνα Παπαδοπούλου", "Ирина Смирнова-Кузнецова",
		"Example Root CA 2026", "TEB-2026-0001", "Ærøskøbing",
	} {
		if err := Renderable(s); err != nil {
			t.Errorf("Renderable(%q) = %v", s, err)
		}
	}
}

func TestRenderableRefusesNamingTheCharacter(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Bob \U0001F600", "U+1F600 GRINNING FACE"},
		{"Eve\x1b[2J", "U+001B control character"},
		{"Mallory\u202Egnp.exe", "U+202E RIGHT-TO-LEFT OVERRIDE"},
		{"Ann\u2066a\u2069", "U+2066 LEFT-TO-RIGHT ISOLATE"},
		{"Al\u200Dice", "U+200D ZERO WIDTH JOINER"},
		{"Bo\u00ADb", "U+00AD SOFT HYPHEN"},
		{"line\nbreak", "U+000A control character"},
		{"tab\there", "U+0009 control character"},
		{"pua\uE000", "U+E000 private-use character"},
		{"x\uFE0F", "U+FE0F VARIATION SELECTOR-16"},
		{"\u0301acute first", "U+0301 COMBINING ACUTE ACCENT"},
		{"bad \xff byte", "invalid UTF-8 at byte 4"},
		{"unassigned \U0003FFFD", "U+3FFFD"},
	} {
		err := Renderable(c.in)
		var u *Unrenderable
		if !errors.As(err, &u) {
			t.Errorf("Renderable(%q) = %v, want an *Unrenderable", c.in, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Renderable(%q) = %q, want it to name %q", c.in, err, c.want)
		}
		if strings.ContainsAny(err.Error(), "\x1b\u202E\u2066\u200D\n\t") {
			t.Errorf("the error for %q carries the invisible character itself: %q", c.in, err)
		}
	}
}

func TestCmapFormat4RoundTrips(t *testing.T) {
	for _, st := range []Style{Sans, SansBold, Mono, MonoBold} {
		chain, err := Chain(st)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range chain {
			if !f.PUA {
				continue
			}
			tables, err := parseSFNT(f.ttf)
			if err != nil {
				t.Fatal(err)
			}
			n := tables.numGlyphs()
			re, err := newFace("check", f.ttf)
			if err != nil {
				t.Fatal(err)
			}
			it := f.Shaper.Cmap.Iter()
			for it.Next() {
				r, g := it.Char()
				if r >= 0xFFFF || r >= PUABase && r <= 0xF8FF {
					continue
				}
				if g2, _ := re.Shaper.NominalGlyph(r); g2 != g {
					t.Errorf("%s: %U maps to glyph %d, was %d", f.Family, r, g2, g)
				}
			}
			for g := 1; g < n; g++ {
				if g2, ok := re.Shaper.NominalGlyph(rune(PUABase + g)); !ok || int(g2) != g {
					t.Fatalf("%s: U+%04X maps to glyph %d, want %d", f.Family, PUABase+g, g2, g)
				}
			}
		}
	}
}
