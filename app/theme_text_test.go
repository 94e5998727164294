package app

import (
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/keyrite/keyrite/ceremony"
)

// Each script a name may use is rendered with the app's own fonts (Fyne's software painter,
// as the window draws it, with this computer's fonts as Fyne finds them), and what the
// pre-flight's app check (appDrawable) says about it must match what is drawn: a string it
// accepts is drawn with real glyphs, joined and in the right order; a string it refuses is
// refused by the review screen, naming the app.

// drawText renders s large on its own, white on the window's background.
func drawText(t *testing.T, s string) image.Image {
	t.Helper()
	a := newTestApp(t)
	txt := canvas.NewText(s, color.White)
	txt.TextSize = 48
	w := a.Fyne.NewWindow("text")
	t.Cleanup(w.Close)
	w.SetPadded(false)
	w.SetContent(txt)
	w.Resize(fyne.NewSize(txt.MinSize().Width+40, 90))
	return w.Canvas().Capture()
}

// inkColumns is how much ink each column of img holds (brightness above the background).
func inkColumns(img image.Image) []float64 {
	b := img.Bounds()
	bg := luma(img.At(b.Max.X-1, b.Max.Y-1))
	cols := make([]float64, b.Dx())
	for x := b.Min.X; x < b.Max.X; x++ {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			if d := luma(img.At(x, y)) - bg; d > 0.1 {
				cols[x-b.Min.X] += d
			}
		}
	}
	return cols
}

func luma(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	return (0.3*float64(r) + 0.59*float64(g) + 0.11*float64(b)) / 0xffff
}

// inked trims the empty columns at both ends.
func inked(cols []float64) []float64 {
	i, j := 0, len(cols)
	for i < j && cols[i] == 0 {
		i++
	}
	for j > i && cols[j-1] == 0 {
		j--
	}
	return cols[i:j]
}

// locate finds where the ink of part best matches inside whole: the column offset and how
// far off the best match is (0 is exact).
func locate(whole, part []float64) (int, float64) {
	best, at := math.Inf(1), -1
	var norm float64
	for _, v := range part {
		norm += v * v
	}
	for off := 0; off+len(part) <= len(whole); off++ {
		var d float64
		for i, v := range part {
			d += (whole[off+i] - v) * (whole[off+i] - v)
		}
		if d < best {
			best, at = d, off
		}
	}
	return at, best / norm
}

// drawnOrder reports whether word a is drawn left of word b within s, where both are drawn.
func drawnLeftOf(t *testing.T, s, a, b string) bool {
	t.Helper()
	whole := inkColumns(drawText(t, s))
	pa, ea := locate(whole, inked(inkColumns(drawText(t, a))))
	pb, eb := locate(whole, inked(inkColumns(drawText(t, b))))
	if pa < 0 || pb < 0 || ea > 0.05 || eb > 0.05 {
		t.Fatalf("%q: the words %q and %q are not found as drawn alone (match %.3f, %.3f): shaping across them differs", s, a, b, ea, eb)
	}
	return pa < pb
}

func systemMap(t *testing.T) *appFonts {
	t.Helper()
	f, err := newAppFonts(fyne.TextStyle{}, true)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Korean: the app's own fonts have no Hangul, so without a font on this computer a Korean
// name is refused; with one (as here, if installed), it is drawn with real glyphs, not the
// U+FFFD that Fyne draws for a missing one.
func TestAppRendersKoreanOrRefusesIt(t *testing.T) {
	const name = "김민준"
	bare, err := newAppFonts(fyne.TextStyle{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := appDrawable(bare, name); err == nil || !strings.Contains(err.Error(), "HANGUL") {
		t.Errorf("with only the app's own fonts, %q is not refused by its character: %v", name, err)
	}
	if err := appDrawable(systemMap(t), name); err != nil {
		t.Logf("this computer has no Hangul font: %v", err)
		checkReviewRefuses(t, name)
		return
	}
	drawn := inkColumns(drawText(t, name))
	missing := inkColumns(drawText(t, "\uFFFD\uFFFD\uFFFD"))
	if len(inked(drawn)) == 0 || sameInk(drawn, missing) {
		t.Errorf("%q is accepted but drawn as U+FFFD boxes", name)
	}
}

func sameInk(a, b []float64) bool {
	a, b = inked(a), inked(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 0.5 {
			return false
		}
	}
	return true
}

// Hebrew and Arabic: a name of right-to-left words is drawn with its first word on the right;
// Arabic letters are joined (the word is narrower than its letters drawn apart). A name whose
// right-to-left text the app would draw in the wrong order (a number inside it) is refused —
// and it is indeed drawn in the wrong order.
func TestAppRendersHebrewAndArabicInOrderOrRefusesThem(t *testing.T) {
	f := systemMap(t)
	for _, c := range []struct{ name, first, second string }{
		{"דוד כהן", "דוד", "כהן"},
		{"محمد علي", "محمد", "علي"},
	} {
		if err := appDrawable(f, c.name); err != nil {
			t.Logf("%q refused here: %v", c.name, err)
			checkReviewRefuses(t, c.name)
			continue
		}
		if drawnLeftOf(t, c.name, c.first, c.second) {
			t.Errorf("%q is accepted but drawn left to right: %q is left of %q", c.name, c.first, c.second)
		}
	}
	// The order rule, checked against the drawing both ways.
	for _, c := range []struct{ name, first, second string }{
		{"דוד כהן", "דוד", "כהן"},
		{"דוד 12", "דוד", "12"},
		{"محمد 7", "محمد", "7"},
	} {
		err := appDrawable(f, c.name)
		if err != nil && !strings.Contains(err.Error(), "wrong order") {
			continue // a missing glyph: checked above
		}
		wrong := drawnLeftOf(t, c.name, c.first, c.second)
		if (err == nil) == wrong {
			t.Errorf("%q: the check says %v, but the app draws %q left of %q: %v", c.name, err, c.first, c.second, wrong)
		}
	}
	// Joined: the word differs from its letters kept apart by zero-width non-joiners.
	word, apart := "محمد", "م\u200cح\u200cم\u200cد"
	if appDrawable(f, word) == nil && sameInk(inkColumns(drawText(t, word)), inkColumns(drawText(t, apart))) {
		t.Errorf("%q is drawn as its letters apart: not shaped", word)
	}
}

// An emoji ZWJ sequence: Fyne draws its parts side by side (its emoji font has no such
// ligature), and the PDF check refuses emoji anyway: a script naming one is refused before
// anything happens, naming the character.
func TestEmojiZWJSequenceIsRefusedUpFront(t *testing.T) {
	const seq = "👩\u200d💻"
	one := len(inked(inkColumns(drawText(t, "👩"))))
	if both := len(inked(inkColumns(drawText(t, seq)))); both < one*3/2 {
		t.Logf("Fyne now joins %q (%d columns, one emoji is %d)", seq, both, one)
	}
	src := strings.Replace(string(rootScript(t)), "Zoë Ångström", "Zoë "+seq, 1)
	_, err := ceremony.ParseScript("root-ceremony.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "U+1F469") {
		t.Fatalf("a script naming %q is not refused up front: %v", seq, err)
	}
}

func rootScript(t *testing.T) []byte {
	t.Helper()
	src := examples(t)["root"]
	if !strings.Contains(string(src), "Zoë Ångström") {
		t.Fatal("the root example no longer names Zoë Ångström")
	}
	return src
}

// checkReviewRefuses fails unless the start screen refuses a ceremony naming name, before
// the review, saying the app cannot show it.
func checkReviewRefuses(t *testing.T, name string) {
	t.Helper()
	script, err := ceremony.ParseScript("root-ceremony.yaml", []byte(strings.Replace(string(rootScript(t)), "Zoë Ångström", name, 1)))
	if err != nil {
		t.Fatalf("the PDF check refuses %q already: %v", name, err)
	}
	err = appTextAll([]*ceremony.Script{script})
	if err == nil || !strings.Contains(err.Error(), "the app") || !strings.Contains(err.Error(), "participants.0.name") {
		t.Errorf("a script naming %q is not refused naming the app and the field: %v", name, err)
	}
}

// The start screen refuses, before the review and before anything is done, a script naming
// a custodian the app would draw in the wrong order.
func TestReviewRefusesANameTheAppCannotShow(t *testing.T) {
	checkReviewRefuses(t, "דוד 12")
	a := newTestApp(t)
	file := filepath.Join(t.TempDir(), "root.yaml")
	if err := os.WriteFile(file, []byte(strings.Replace(string(rootScript(t)), "Zoë Ångström", "דוד 12", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	a.Start.Template.SetSelected(TemplateFile)
	a.Start.ScriptFile.SetText(file)
	a.Start.Out.SetText(filepath.Join(t.TempDir(), "ceremony"))
	test.Tap(a.Start.Review)
	if a.Review != nil {
		t.Fatal("the review screen opened for a script whose name the app cannot show")
	}
}
