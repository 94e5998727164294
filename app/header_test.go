package app

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/ceremony"
)

// A root rehearsal driven through the GUI: the header names the ceremony and REHEARSAL on
// every screen, counts the roll call as step 1 of M and every step after it, and names the
// person who must act now (the one the question names). At the close, the seal's short hash
// and the root's fingerprint are drawn exactly as the rendered report prints them.
func TestHeaderOrientsTheRoomAndFiguresMatchTheReport(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext (poppler-utils) is needed: ./scripts/install-deps installs it")
	}
	a := newTestApp(t)
	a.Start.Template.SetSelected(Template(ceremony.TypeRoot))
	out := filepath.Join(t.TempDir(), "ceremony")
	a.Start.Out.SetText(out)
	script, err := a.Start.script()
	if err != nil {
		t.Fatal(err)
	}
	test.Tap(a.Start.Review)
	total := len(script.StepTitles()) + 1
	test.Tap(a.Review.Begin)

	steps := map[string]bool{}
	var mu sync.Mutex
	var problems []string
	workSeen := 0 // checks made while long HSM work was shown
	check := func(moment string) {
		r := a.Run
		doAndWait(func() {
			o := r.orient
			bad := func(f string, args ...any) { problems = append(problems, moment+": "+fmt.Sprintf(f, args...)) }
			if o.Mode.Text != ModeRehearsal || !o.Header.Visible() {
				bad("the header says %q, not %s", o.Mode.Text, ModeRehearsal)
			}
			if !strings.Contains(o.Ceremony.Text, script.ID) {
				bad("the header %q does not name ceremony %s", o.Ceremony.Text, script.ID)
			}
			mu.Lock()
			steps[o.Step.Text] = true
			mu.Unlock()
			if m := regexp.MustCompile(`^Step (\d+) of (\d+)$`).FindStringSubmatch(o.Step.Text); m == nil || m[2] != fmt.Sprint(total) {
				bad("the header counts %q, want step N of %d", o.Step.Text, total)
			}
			if moment == "3-roll-call" && o.Step.Text != fmt.Sprintf("Step 1 of %d", total) {
				bad("the roll call is %q, want step 1", o.Step.Text)
			}
			// Drive names the moment in one turn of the UI thread and this check runs in the
			// next: short HSM work may have ended between them, so the long-work header is
			// judged while the long-work panel is still shown (and at least once, below).
			if moment == "progress" && o.Work.Visible() {
				workSeen++
				if !strings.Contains(o.Acting.Text, "the HSM is working") || !o.PowerOff.Visible() || o.WorkWhat.Text == "" {
					bad("long work shows %q, %q", o.Acting.Text, o.WorkWhat.Text)
				}
			}
			// The question names its person first ("Roll call: is NAME present", "Witness NAME: ...").
			for _, p := range script.Participants {
				if r.QuestionCard.Visible() && strings.Contains(r.Question.Text, p.Name) && !strings.Contains(o.Acting.Text, p.Name+" ("+p.Role+")") {
					bad("the question asks %s, the header says %q", p.Name, o.Acting.Text)
				}
			}
		})
	}
	if err := Drive(a, 2*time.Minute, check); err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if len(steps) < 3 {
		t.Errorf("the header showed only %v", steps)
	}
	if workSeen == 0 {
		t.Error("the header was never checked while long HSM work was shown")
	}
	r := a.Run
	if r.orient.Step.Text != "Ceremony complete" || r.SealFigure == nil || r.RootFigure == nil {
		t.Fatalf("the close shows %q, seal figure %v", r.orient.Step.Text, r.SealFigure)
	}
	text, err := exec.Command("pdftotext", r.report, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	// A long value may wrap in the report's table, as it wraps on screen, between groups.
	report := strings.Join(strings.Fields(string(text)), " ")
	for _, f := range []*Figure{r.SealFigure, r.RootFigure} {
		checkFigure(t, f)
		if !strings.Contains(report, f.Text()) {
			t.Errorf("the screen shows %s %q; the report does not print it", f.Label.Text, f.Text())
		}
	}
	if n := strings.Count(report, "seal "+r.SealFigure.Text()); n < 2 {
		t.Errorf("the report's pages carry the screen's seal short hash %d times", n)
	}
}

// checkFigure fails unless the figure's value is large, monospace, grouped in fours (a key
// check value is one group of six, as the report prints it), with words to read aloud.
func checkFigure(t *testing.T, f *Figure) {
	t.Helper()
	if len(f.Rows) == 0 {
		t.Fatalf("figure %q has no value", f.Label.Text)
	}
	for _, row := range f.Rows {
		if !row.TextStyle.Monospace || row.SizeName != theme.SizeNameHeadingText {
			t.Errorf("figure %q: row %q is not large monospace", f.Label.Text, row.Text)
		}
		for _, g := range strings.Fields(row.Text) {
			if len(g) > 4 && (f.Label.Text != "Check value" || len(g) != 6) {
				t.Errorf("figure %q: group %q is longer than four", f.Label.Text, g)
			}
		}
	}
	if f.Words == nil || len(strings.Fields(f.Words.Text)) < 3 {
		t.Errorf("figure %q has no words to read aloud", f.Label.Text)
	}
}

// A production run says PRODUCTION, in red, beside the token it runs on; a rehearsal says
// REHEARSAL in blue. The word is always there: the colour is never the only signal.
func TestHeaderSaysRehearsalOrProduction(t *testing.T) {
	a := newTestApp(t)
	a.Start.Template.SetSelected(TemplateQuorum)
	r := runScreenFor(t, a, roomSizes[0])
	if r.orient.Mode.Text != ModeRehearsal || r.orient.Band.FillColor != rehearsalBlue {
		t.Errorf("a rehearsal's header says %q in %v", r.orient.Mode.Text, r.orient.Band.FillColor)
	}
	p := *r.p
	p.real, p.token = true, r.p.token
	p.token.Label = "root-hsm-1"
	o := newOrientation(a, &p, widget.NewLabel(""), widget.NewLabel(""))
	if o.Mode.Text != ModeProduction || o.Band.FillColor != productionRed || !strings.Contains(o.Ceremony.Text, "root-hsm-1") {
		t.Errorf("a production header says %q %q in %v", o.Mode.Text, o.Ceremony.Text, o.Band.FillColor)
	}
}

// Long HSM work shows what is done, where, a clock that ticks and the warning not to power
// off; the panel goes when the ceremony moves on.
func TestLongWorkIsLabelledTimedAndWarns(t *testing.T) {
	a := newTestApp(t)
	a.Start.Template.SetSelected(TemplateQuorum)
	r := runScreenFor(t, a, roomSizes[0])
	what := `Generating rsa-4096 key "root" in token "keyrite-rehearsal-0001"`
	o := r.orient
	var now time.Time
	var clock sync.Mutex
	o.now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
	advance := func(d time.Duration) { clock.Lock(); now = now.Add(d); clock.Unlock() }
	now = time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)
	r.Progress(what, 0, 0)
	if !o.Work.Visible() || o.WorkWhat.Text != what || !o.PowerOff.Visible() || o.PowerOff.Text != PowerOffWarning || !r.Busy.Visible() {
		t.Fatalf("the work panel shows %q (visible %v), warning %q", o.WorkWhat.Text, o.Work.Visible(), o.PowerOff.Text)
	}
	if o.Elapsed.Text != "Elapsed 0:00" {
		t.Errorf("at the start the clock says %q", o.Elapsed.Text)
	}
	advance(7 * time.Second)
	r.Progress(what, 0, 0) // the engine calls again while the HSM works: the clock keeps counting
	if o.Elapsed.Text != "Elapsed 0:07" {
		t.Errorf("after 7 s the clock says %q", o.Elapsed.Text)
	}
	advance(65 * time.Second)
	deadline := time.Now().Add(5 * time.Second) // the ticker updates it with no call from the engine
	for {
		var got string
		doAndWait(func() { got = o.Elapsed.Text })
		if got == "Elapsed 1:12" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the clock does not tick on its own: it says %q", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.Progress(`Moving 3 keys from token "a" to token "b"`, 1, 3)
	if o.Elapsed.Text != "Elapsed 0:00" || !r.Bar.Visible() || r.Busy.Visible() || r.Bar.Value != 1 {
		t.Errorf("new work of known size: clock %q, bar %v (%v), busy %v", o.Elapsed.Text, r.Bar.Visible(), r.Bar.Value, r.Busy.Visible())
	}
	r.Show(ceremony.Screen{Title: "Next", Actor: "Zoë Ångström (administrator)", Number: 3, Total: 9})
	if o.Work.Visible() {
		t.Error("the work panel stays after the ceremony moved on")
	}
	if o.Acting.Text != "Now: Zoë Ångström (administrator)" || o.Step.Text != "Step 4 of 10" {
		t.Errorf("after the work the header says %q, %q", o.Step.Text, o.Acting.Text)
	}
}

// A note's fingerprint, and a check value a note names, are drawn as figures: the exact
// grouped text, large and monospace, with words.
func TestNoteFiguresAreLargeGroupedWithWords(t *testing.T) {
	test.NewApp()
	box := boxOf(noteObjects(fingerprintNote))
	f := findFigure(box)
	if f == nil {
		t.Fatal("the fingerprint note has no figure")
	}
	f.Words = lastWords(f.Box)
	checkFigure(t, f)
	want := "5F4A 6D8A ADC8 9203 C5FF 987D 3BE3 29FA 5D76 990A 917C 5633 C14C 9532 367E F3C0"
	if f.Text() != want || len(f.Rows) != 2 {
		t.Errorf("the figure reads %q in %d rows, want %q in 2", f.Text(), len(f.Rows), want)
	}
	kcv := boxOf(noteObjects("KEK check value: 1A2B3C. Split 2-of-3; all 3 subsets of 2 shares rebuild it."))
	f = findFigure(kcv)
	if f == nil || f.Text() != "1A2B3C" {
		t.Fatalf("the check value is not drawn as a figure: %v", f)
	}
	f.Words = lastWords(f.Box)
	checkFigure(t, f)
}

func boxOf(objs []fyne.CanvasObject) *fyne.Container { return &fyne.Container{Objects: objs} }

func lastWords(box *fyne.Container) *widget.Label {
	for _, o := range box.Objects {
		if l, ok := o.(*widget.Label); ok && strings.HasPrefix(l.Text, "Read aloud: ") {
			return l
		}
	}
	return nil
}
