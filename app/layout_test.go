package app

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/ceremony"
)

// The two window sizes every layout test runs at: the smallest screen Keyrite supports and
// the common large one.
var roomSizes = []fyne.Size{fyne.NewSize(1024, 768), fyne.NewSize(1920, 1080)}

// runScreenFor builds the run screen of the start screen's current choice, without starting
// the ceremony, shown in the window at size.
func runScreenFor(t *testing.T, a *App, size fyne.Size) *RunScreen {
	t.Helper()
	a.Start.Out.SetText(filepath.Join(t.TempDir(), "ceremony"))
	p, err := a.Start.plan()
	if err != nil {
		t.Fatal(err)
	}
	r := newRunScreen(a, p)
	a.Run = r
	a.show(r.Content)
	a.Win.Resize(size)
	a.watch()
	return r
}

// fingerprintNote is a note as the engine writes it when a key is generated.
const fingerprintNote = "Key \"example-root-2026\" generated.\nSPKI SHA-256: 5F4A 6D8A ADC8 9203 C5FF 987D 3BE3 29FA 5D76 990A 917C 5633 C14C 9532 367E F3C0\n" +
	"Read aloud: eyetooth direction goggles maverick ringbolt retrieval physique aggregate solo Yucatán printer insincere clockwork torpedo breakup whimsical exceed impetus prowler Apollo pheasant informant egghead concurrent snapline disbelief preclude component Christmas insurgent upset recipe"

// busyRunScreen fills the run screen as a long step does: a long explanation, a question,
// the long-work panel and many notes, the newest a fingerprint.
func busyRunScreen(r *RunScreen) {
	r.Show(ceremony.Screen{Step: "generate-root-key", Title: "Generate the root key", Explain: strings.Repeat("The HSM generates the root key inside the token; it never leaves the HSM in the clear. ", 4),
		Actor: "Zoë Ångström (administrator)", Number: 2, Total: 9})
	for i := 0; i < 8; i++ {
		r.Note("Wrote script.yaml (SHA-256 38BF 3AA0 40BF 96A2…)")
	}
	r.Note(fingerprintNote)
	r.Progress("Generating rsa-4096 key \"root\" in token \"keyrite-rehearsal-0001\"", 0, 0)
	r.orient.acting("Ирина Смирнова", "answer the question below")
	r.Question.SetText("Witness Ирина Смирнова: did \"Generate the root key\" happen as shown on the screen?")
	r.show(r.QuestionCard)
	r.orient.Work.Show()
}

func saveWindow(t *testing.T, a *App, name string) {
	t.Helper()
	dir := os.Getenv("KEYRITE_TEST_SHOTS")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	png.Encode(f, a.Win.Canvas().Capture())
}

// objectsInView lists every visible object of the window's content with its absolute
// position, without entering a scroll container's content (which may rightly extend beyond
// what shows) or a collection's rows.
func objectsInView(a *App) map[fyne.CanvasObject]fyne.Position {
	out := map[fyne.CanvasObject]fyne.Position{}
	var walk func(o fyne.CanvasObject, at fyne.Position)
	walk = func(o fyne.CanvasObject, at fyne.Position) {
		if o == nil || !o.Visible() {
			return
		}
		pos := at.Add(o.Position())
		out[o] = pos
		switch c := o.(type) {
		case *container.Scroll, *widget.List, *widget.Tree, *widget.Table:
			return
		case *fyne.Container:
			for _, child := range c.Objects {
				walk(child, pos)
			}
		case fyne.Widget:
			for _, child := range test.WidgetRenderer(c).Objects() {
				walk(child, pos)
			}
		}
	}
	walk(a.Win.Content(), fyne.NewPos(0, 0))
	return out
}

// checkFits fails when the window's content needs more than size, when a visible object lies
// outside the window, or when a one-line label is narrower than its text (clipped).
func checkFits(t *testing.T, a *App, screen string, size fyne.Size) {
	t.Helper()
	win := a.Win.Canvas().Size()
	if m := a.Win.Content().MinSize(); m.Width > win.Width+0.5 || m.Height > win.Height+0.5 {
		t.Errorf("%s at %v: the screen needs %v, more than the window's %v", screen, size, m, win)
	}
	for o, pos := range objectsInView(a) {
		sz := o.Size()
		if sz.Width == 0 || sz.Height == 0 {
			continue
		}
		if pos.X < -0.5 || pos.Y < -0.5 || pos.X+sz.Width > win.Width+0.5 || pos.Y+sz.Height > win.Height+0.5 {
			t.Errorf("%s at %v: %T %s at %v size %v lies outside the %v window", screen, size, o, describe(o), pos, sz, win)
		}
		if l, ok := o.(*widget.Label); ok && l.Wrapping == fyne.TextWrapOff && l.Truncation == fyne.TextTruncateOff && l.Text != "" && sz.Width+0.5 < l.MinSize().Width {
			t.Errorf("%s at %v: label %q is %v wide, its text needs %v: clipped", screen, size, l.Text, sz.Width, l.MinSize().Width)
		}
	}
}

func describe(o fyne.CanvasObject) string {
	switch v := o.(type) {
	case *widget.Label:
		return fmt.Sprintf("%q", v.Text)
	case *widget.Button:
		return fmt.Sprintf("%q", v.Text)
	}
	return ""
}

// rectOf is an object's absolute rectangle in the window.
func rectOf(a *App, o fyne.CanvasObject) (fyne.Position, fyne.Size) {
	return a.Fyne.Driver().AbsolutePositionForObject(o), o.Size()
}

func overlaps(p1 fyne.Position, s1 fyne.Size, p2 fyne.Position, s2 fyne.Size) bool {
	return p1.X < p2.X+s2.Width-0.5 && p2.X < p1.X+s1.Width-0.5 && p1.Y < p2.Y+s2.Height-0.5 && p2.Y < p1.Y+s1.Height-0.5
}

func inside(p fyne.Position, s fyne.Size, outerP fyne.Position, outerS fyne.Size) bool {
	return p.X >= outerP.X-0.5 && p.Y >= outerP.Y-0.5 && p.X+s.Width <= outerP.X+outerS.Width+0.5 && p.Y+s.Height <= outerP.Y+outerS.Height+0.5
}

// At 1024×768 and at 1920×1080, with a long explanation, the long-work panel, a question and
// nine notes, the newest a fingerprint: everything lies inside the window, the question and its
// buttons are in view, the newest note's fingerprint is in view in its own panel, and the
// note panel does not overlap the question.
func TestNewestNoteAlwaysInViewNeverOverTheQuestion(t *testing.T) {
	for _, size := range roomSizes {
		a := newTestApp(t)
		a.Start.Template.SetSelected(TemplateQuorum)
		r := runScreenFor(t, a, size)
		busyRunScreen(r)
		relayout(a, size)
		saveWindow(t, a, "run-"+sizeName(size))
		checkFits(t, a, "run screen", size)
		win := a.Win.Canvas().Size()
		np, ns := rectOf(a, r.NotePanel)
		if !inside(np, ns, fyne.NewPos(0, 0), win) || ns.Height < 100 {
			t.Fatalf("at %v the note panel is at %v size %v: not in view", size, np, ns)
		}
		for _, o := range []fyne.CanvasObject{r.QuestionCard, r.Question, r.Yes, r.No} {
			qp, qs := rectOf(a, o)
			if !inside(qp, qs, fyne.NewPos(0, 0), win) {
				t.Errorf("at %v the question's %T is at %v size %v: not in view", size, o, qp, qs)
			}
			if overlaps(qp, qs, np, ns) {
				t.Errorf("at %v the note panel (%v %v) overlaps the question's %T (%v %v)", size, np, ns, o, qp, qs)
			}
		}
		f := findFigure(r.orient.Note)
		if f == nil {
			t.Fatalf("at %v the newest note's fingerprint is not drawn as a figure", size)
		}
		for _, row := range f.Rows {
			rp, rs := rectOf(a, row)
			if !inside(rp, rs, np, ns) {
				t.Errorf("at %v the newest fingerprint's row %q (%v %v) is not in view in the note panel (%v %v)", size, row.Text, rp, rs, np, ns)
			}
		}
	}
}

// findFigure finds the first figure's rows drawn in box (noteObjects).
func findFigure(box *fyne.Container) *Figure {
	for _, o := range box.Objects {
		c, ok := o.(*fyne.Container)
		if !ok || len(c.Objects) < 2 {
			continue
		}
		f := &Figure{Box: c}
		for _, x := range c.Objects {
			l, ok := x.(*widget.Label)
			switch {
			case !ok:
			case l.TextStyle.Monospace:
				f.Rows = append(f.Rows, l)
			case f.Label == nil:
				f.Label = l
			}
		}
		if len(f.Rows) > 0 {
			return f
		}
	}
	return nil
}

// Every screen fits the default window and a 1024×768 one, and a 1920×1080 one: nothing
// outside the window, no one-line label clipped.
func TestEveryScreenFitsFrom1024x768To1920x1080(t *testing.T) {
	if defaultWindowSize.Width > 1024 || defaultWindowSize.Height > 768 {
		t.Fatalf("the default window %v is larger than a 1024×768 screen", defaultWindowSize)
	}
	for _, size := range append([]fyne.Size{defaultWindowSize}, roomSizes...) {
		a := newTestApp(t)
		screens := []struct {
			name string
			show func()
		}{
			{"start", func() { a.ShowStart() }},
			{"review", func() {
				a.Start.Out.SetText(filepath.Join(t.TempDir(), "ceremony"))
				test.Tap(a.Start.Review)
			}},
			{"verify", func() { // a refused ceremony: the long verdict, every kind of row
				dir := fixtureCopy(t)
				changeRecord(t, dir, 5, `"participant.present"`, `"participant.absent"`)
				os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
				doAndWait(func() { a.Verify.Root.SetText(strings.Repeat("AB12 ", 16)) })
				a.ShowVerify(dir) // checked in the background: wait for the verdict before measuring
				waitFor(t, func() bool { return strings.HasPrefix(a.Verify.Verdict.Text, "✗") })
			}},
			{"run", func() {
				a.Start.Template.SetSelected(TemplateQuorum)
				busyRunScreen(runScreenFor(t, a, size))
			}},
		}
		for _, s := range screens {
			s.show() // not under the UI lock: the run screen's UI methods take it themselves
			doAndWait(func() {
				relayout(a, size)
				checkFits(t, a, s.name, size)
			})
		}
	}
}

// The text grows with the window: factor 1 at 1024×768, at least 1.3 at 1920×1080, and a
// label's text is that much taller.
func TestTextScalesUpAt1920(t *testing.T) {
	a := newTestApp(t)
	l := widget.NewLabel("Roll call")
	a.show(l)
	relayout(a, roomSizes[0])
	small := l.MinSize().Height
	if f := a.theme.Factor(); f != 1 {
		t.Errorf("at 1024×768 the factor is %v, want 1", f)
	}
	relayout(a, roomSizes[1])
	if f := a.theme.Factor(); f < 1.3 {
		t.Errorf("at 1920×1080 the factor is %v, want at least 1.3", f)
	}
	if large := l.MinSize().Height; large < small*1.25 {
		t.Errorf("a label is %v tall at 1024×768 and %v at 1920×1080: the text did not scale up", small, large)
	}
	relayout(a, roomSizes[0])
	if f := a.theme.Factor(); f != 1 {
		t.Errorf("back at 1024×768 the factor is %v, want 1", f)
	}
}

// The focused widget has a thick amber ring around it, and it follows the focus.
func TestKeyboardFocusIsVisible(t *testing.T) {
	a := newTestApp(t)
	b1, b2 := widget.NewButton("Yes, confirmed", nil), widget.NewButton("No", nil)
	a.show(container.NewVBox(b1, b2))
	relayout(a, roomSizes[0])
	if a.ring.Visible() {
		t.Fatal("a focus ring is shown with nothing focused")
	}
	for _, b := range []*widget.Button{b1, b2} {
		a.Win.Canvas().Focus(b)
		a.watch()
		if !a.ring.Visible() || a.ring.StrokeWidth < 3 || a.ring.StrokeColor != focusAmber {
			t.Fatalf("focused %q: ring visible %v, stroke %v %v", b.Text, a.ring.Visible(), a.ring.StrokeWidth, a.ring.StrokeColor)
		}
		bp, bs := rectOf(a, b)
		rp, rs := rectOf(a, a.ring)
		if !inside(bp, bs, rp, rs) || inside(rp, rs, bp, bs) {
			t.Errorf("the ring (%v %v) does not surround %q (%v %v)", rp, rs, b.Text, bp, bs)
		}
	}
	if c := a.theme.Color(theme.ColorNameFocus, theme.VariantDark); c != focusAmber {
		t.Errorf("the theme's focus colour is %v", c)
	}
}

func sizeName(s fyne.Size) string {
	return fmt.Sprintf("%.0fx%.0f", s.Width, s.Height)
}

// relayout lays the window out again at size, as the real driver does after every change
// (the test driver lays out only on a resize).
func relayout(a *App, size fyne.Size) {
	a.Win.Resize(size.AddWidthHeight(1, 1))
	a.Win.Resize(size)
	a.watch()
}
