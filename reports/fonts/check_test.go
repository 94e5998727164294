package fonts

import (
	"errors"
	"strings"
	"testing"
)

func TestRenderableAccepts(t *testing.T) {
	for _, s := range []string{
		"", "Łukasz Wróbel", "Zoë Ångström", "Χριστίνα Παπαδοπούλου", "Ирина Смирнова-Кузнецова",
		"Example Root CA 2026", "TEB-2026-0001", "Ærøskøbing", "Nguyễn Thị Đặng", "Şükrü Öztürk", "Ọláyínká Àjàyí",
		"דוד כהן", "שָׁלוֹם", "محمد عبد الله", "می‌خواهم", "王秀英", "山田　太郎", "김민준", "अनिल कुमार शर्मा", "क्‍ष",
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
		{"Zoe\u0308", "U+0308 COMBINING DIAERESIS"},
		{"ทองดี", "U+0E17 THAI CHARACTER THO THAHAN"},
		{"𠮷野", "U+20BB7"},
		{"王\u3400", "U+3400 CJK UNIFIED IDEOGRAPH-3400"},
		{"ק\u0651", "U+0651 ARABIC SHADDA"},
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
			if !f.PUA() {
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
			it := f.Shaper().Cmap.Iter()
			for it.Next() {
				r, g := it.Char()
				if r >= 0xFFFF || r >= PUABase && r <= 0xF8FF {
					continue
				}
				if g2, _ := re.Shaper().NominalGlyph(r); g2 != g {
					t.Errorf("%s: %U maps to glyph %d, was %d", f.Family, r, g2, g)
				}
			}
			for g := 1; g < n; g++ {
				if g2, ok := re.Shaper().NominalGlyph(rune(PUABase + g)); !ok || int(g2) != g {
					t.Fatalf("%s: U+%04X maps to glyph %d, want %d", f.Family, PUABase+g, g2, g)
				}
			}
		}
	}
}

func TestDescribe(t *testing.T) {
	for r, want := range map[rune]string{
		0xD7A3: `"힣" (U+D7A3 HANGUL SYLLABLE HIH)`, 0xAC00: `"가" (U+AC00 HANGUL SYLLABLE GA)`,
		0x738B: `"王" (U+738B CJK UNIFIED IDEOGRAPH-738B)`, 0x202E: "U+202E RIGHT-TO-LEFT OVERRIDE",
		0x05D3: `"ד" (U+05D3 HEBREW LETTER DALET)`, 0x07: "U+0007 control character",
	} {
		if got := Describe(r); got != want {
			t.Errorf("Describe(%U) = %s, want %s", r, got, want)
		}
	}
}
