package reports

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// FuzzRenderable holds Renderable to its promise: a string it accepts renders on a share
// sheet, in every field a name can reach, without an error or a panic.
func FuzzRenderable(f *testing.F) {
	for _, s := range []string{"Łukasz Wróbel", "Ирина Смирнова", "Χριστίνα", "Bob \U0001F600", "a\u202Eb", "王秀英", "דוד כהן", "محمد"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 120 || Renderable(s) != nil {
			return
		}
		sh := sheet()
		sh.Custodian, sh.Organization, sh.Role = s, s, s
		if _, err := RenderShareSheet(sh); err != nil {
			t.Fatalf("Renderable accepted %q but the share sheet fails: %v", s, err)
		}
	})
}

// Strings mixing every script the fonts draw, with digits, punctuation, marks and joiners,
// at random: each one Renderable accepts renders on a share sheet.
func TestRenderableMixedStringsRender(t *testing.T) {
	tokens := []string{
		"a", "x", "Æ", "ø", "Ł", "ß", "é", "ễ", "α", "Ω", "ж", "Я", "א", "ד", "ך", "שָׁ", "ا", "ب", "ل", "مُحَمَّد", "لا",
		"می‌خواهم", "王", "秀", "山", "김", "민", "अ", "नि", "क्ष", "क्‍ष", "र्मा", "0", "7", " ", "-", ".", ",", "(", ")", "/",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for i := 0; i < 40; i++ {
		var b strings.Builder
		for n := 1 + rng.IntN(20); n > 0; n-- {
			b.WriteString(tokens[rng.IntN(len(tokens))])
		}
		s := b.String()
		if Renderable(s) != nil {
			continue
		}
		accepted++
		sh := sheet()
		sh.Custodian, sh.Organization = s, s+" "+s
		if _, err := RenderShareSheet(sh); err != nil {
			t.Fatalf("Renderable accepted %q but the share sheet fails: %v", s, err)
		}
	}
	if accepted < 25 {
		t.Fatalf("only %d of 40 strings accepted: the test exercises too little", accepted)
	}
}
