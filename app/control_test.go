package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// beginRoot starts the root ceremony's rehearsal into a new folder and returns the folder.
func beginRoot(t *testing.T, a *App) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ceremony")
	doAndWait(func() {
		a.Start.Template.SetSelected(Template(ceremony.TypeRoot))
		a.Start.Out.SetText(out)
		test.Tap(a.Start.Review)
		test.Tap(a.Review.Begin)
	})
	return out
}

// driveUntil confirms every question as its person would until the question on screen
// contains at and has settled.
func driveUntil(t *testing.T, a *App, at string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		found := false
		doAndWait(func() {
			r := a.Run
			if !r.QuestionCard.Visible() || !r.Settled() {
				return
			}
			if strings.Contains(r.Question.Text, at) {
				found = true
				return
			}
			confirmAs(r, r.Expected())
		})
		if found {
			return
		}
	}
	t.Fatalf("the ceremony never asked %q", at)
}

func entriesOf(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, transcript.FileName))
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := transcript.Parse(data)
	var ev []string
	for _, e := range entries {
		ev = append(ev, e.Event)
	}
	return strings.Join(ev, " ")
}

func TestInitials(t *testing.T) {
	for name, want := range map[string]string{"Zoë Ångström": "ZÅ", "Ирина Смирнова": "ИС", "Jean  Dupont": "JD", "דוד כהן": "דכ", "Łukasz Wróbel": "ŁW"} {
		if got := initialsOf(name); got != want {
			t.Errorf("initialsOf(%q) = %q, want %q", name, got, want)
		}
	}
	for typed, want := range map[string]string{"za": "ZÅ", "Z. Å.": "ZÅ", "ис": "ИС", "lw": "ŁW"} {
		if typed == "lw" { // Ł has no decomposition: it is typed as itself
			if sameInitials(typed, want) {
				t.Errorf("%q matched %q", typed, want)
			}
			continue
		}
		if !sameInitials(typed, want) {
			t.Errorf("%q does not match %q", typed, want)
		}
	}
	if sameInitials("", "") || sameInitials("ZB", "ZÅ") {
		t.Error("empty or wrong initials matched")
	}
}

// A double key press confirms one thing. Zoë types her initials and presses Enter twice in
// one go: she is confirmed once, and the second press does not answer Łukasz's question.
// Then, before Łukasz's question has settled, his initials and Enter arrive (a fast repeat):
// they are ignored; the question waits, empty, for him.
func TestDoubleKeyPressConfirmsOneThing(t *testing.T) {
	a := newTestApp(t)
	out := beginRoot(t, a)
	driveUntil(t, a, "Roll call: is Zoë Ångström present")
	enter := &fyne.KeyEvent{Name: fyne.KeyReturn}
	space := &fyne.KeyEvent{Name: fyne.KeySpace}
	doAndWait(func() {
		r := a.Run
		f, ok := a.Win.Canvas().Focused().(fyne.Focusable)
		if !ok || f != r.Initials {
			t.Fatalf("the question opened with the focus on %T, not the initials field", a.Win.Canvas().Focused())
		}
		f.TypedKey(space) // the old double press of Space confirms nothing now
		f.TypedKey(space)
		for _, c := range "ZA" {
			f.TypedRune(c)
		}
		f.TypedKey(enter)
		f.TypedKey(enter)
	})
	var lukasz bool
	for i := 0; i < 1000 && !lukasz; i++ {
		doAndWait(func() {
			lukasz = a.Run.QuestionCard.Visible() && strings.Contains(a.Run.Question.Text, "Łukasz Wróbel")
			if lukasz { // freshly shown: a fast repeat of initials and Enter
				for _, c := range a.Run.Expected() {
					a.Run.Initials.TypedRune(c)
				}
				a.Run.Initials.TypedKey(enter)
				a.Run.Yes.OnTapped()
			}
		})
		time.Sleep(2 * time.Millisecond)
	}
	if !lukasz {
		t.Fatal("Łukasz's roll call never came")
	}
	time.Sleep(3 * settle)
	doAndWait(func() {
		r := a.Run
		if !r.QuestionCard.Visible() || !strings.Contains(r.Question.Text, "Łukasz Wróbel") || r.Initials.Text != "" || !r.Settled() {
			t.Fatalf("after the double press the screen asks %q (initials %q)", r.Question.Text, r.Initials.Text)
		}
	})
	if err := Drive(a, time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	res, err := transcript.Verify(out, transcript.Options{})
	if err != nil {
		t.Fatal(err)
	}
	present := 0
	for _, e := range res.Entries {
		if e.Event == transcript.EventParticipantPresent {
			present++
		}
	}
	if present != 5 {
		t.Fatalf("%d participants confirmed present, want 5", present)
	}
}

// The gate comes on a screen of its own, marked ABOUT TO, naming the key and the token, and
// asks the witness for their initials before the HSM acts; the transcript shows the gate
// before the key's record.
func TestGateScreenBeforeTheHSMActs(t *testing.T) {
	a := newTestApp(t)
	out := beginRoot(t, a)
	driveUntil(t, a, "About to generate")
	doAndWait(func() {
		r := a.Run
		if !r.GateBanner.Visible() || r.Expected() != "ИС" || !strings.Contains(r.Question.Text, `root key "example-root-2026", on token "keyrite-rehearsal`) {
			t.Fatalf("gate screen: banner %v, initials %q, %q", r.GateBanner.Visible(), r.Expected(), r.Question.Text)
		}
	})
	if ev := entriesOf(t, out); strings.Contains(ev, "key.generated") {
		t.Fatalf("the key exists before its gate was confirmed: %s", ev)
	}
	doAndWait(func() { confirmAs(a.Run, "xx") }) // wrong initials confirm nothing
	time.Sleep(3 * settle)
	if ev := entriesOf(t, out); strings.Contains(ev, "gate.confirmed") {
		t.Fatalf("wrong initials confirmed the gate: %s", ev)
	}
	moments := map[string]bool{}
	if err := Drive(a, time.Minute, func(m string) { moments[m] = true }); err != nil {
		t.Fatal(err) // Drive checks the gates of the sealed transcript
	}
	if ev := entriesOf(t, out); !strings.Contains(ev, "gate.confirmed key.generated") || !moments["4-gate"] {
		t.Fatalf("gates: %v\n%s", moments, ev)
	}
}

// An exception recorded from the app is signed off by the witness's initials, written into
// the transcript, and the question is asked again; the ceremony seals and verifies.
func TestExceptionFromTheApp(t *testing.T) {
	a := newTestApp(t)
	out := beginRoot(t, a)
	driveUntil(t, a, `did "Generate the root key" happen`)
	const reason = "the fingerprint was read aloud twice; the first reading skipped a group"
	doAndWait(func() {
		r := a.Run
		test.Tap(r.Exception)
		r.ExceptionReason.SetText(reason)
		r.ExceptionWitness.SetText("ис") // the witness's initials, any case
		test.Tap(r.RecordException)
	})
	waitFor(t, func() bool { return strings.Contains(entriesOf(t, out), "exception.recorded") })
	driveUntil(t, a, `did "Generate the root key" happen`) // asked again
	if err := Drive(a, time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	res, err := transcript.Verify(out, transcript.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ex transcript.Exception
	for _, e := range res.Entries {
		if e.Event == transcript.EventException {
			ex, _ = transcript.Data[transcript.Exception](&e.Record)
		}
	}
	if ex.Reason != reason || ex.Witness != "Ирина Смирнова" {
		t.Fatalf("exception %+v", ex)
	}
}

// Abort from the app, at the gate after the root key exists: the reason and the witness's
// initials, the key destroyed with consent; the abort screen says the key was destroyed on
// the token and the transcript is sealed as aborted; the evidence verifies as aborted.
func TestAbortFromTheApp(t *testing.T) {
	a := newTestApp(t)
	out := beginRoot(t, a)
	driveUntil(t, a, "About to sign the root certificate")
	doAndWait(func() {
		r := a.Run
		test.Tap(r.Abort)
		if !r.AbortCard.Visible() || r.QuestionCard.Visible() {
			t.Fatal("the abort card does not cover the question")
		}
		r.AbortReason.SetText("fire alarm: the room is evacuated")
		r.AbortWitness.SetText("XX")
		test.Tap(r.AbortNow) // wrong initials: nothing happens
		if !r.AbortCard.Visible() {
			t.Fatal("an abort without the witness's initials was taken")
		}
		r.AbortWitness.SetText("ИС")
		test.Tap(r.AbortNow)
	})
	if err := Drive(a, time.Minute, nil); err == nil {
		t.Fatal("an aborted ceremony drove to a seal")
	}
	var outcome, title string
	doAndWait(func() { outcome, title = a.Run.Outcome.Text, a.Run.Title.Text })
	for _, want := range []string{`The key "example-root-2026" was destroyed on token "keyrite-rehearsal`, "closed as aborted and sealed", "fire alarm", "new folder"} {
		if !strings.Contains(outcome, want) {
			t.Errorf("the abort screen does not say %q:\n%s", want, outcome)
		}
	}
	if title != "The ceremony was aborted" {
		t.Errorf("title %q", title)
	}
	res, err := transcript.Verify(out, transcript.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if reason, ok := res.Aborted(); !ok || !strings.Contains(reason, "fire alarm") {
		t.Fatalf("aborted %v %q", ok, reason)
	}
}

// Pause sets the question aside (nothing is answered while paused); Continue shows it again.
// Then the room stops the ceremony after the root key exists: the stop screen says the key
// exists on the token and the transcript is not sealed. The app is closed and opened again
// (a restart): the start screen lists the ceremony as interrupted, resumes it from its
// folder, and it seals and verifies.
func TestPauseStopAndResumeAfterRestart(t *testing.T) {
	a := newTestApp(t)
	out := beginRoot(t, a)
	driveUntil(t, a, `did "Generate the root key" happen`)
	doAndWait(func() {
		r := a.Run
		test.Tap(r.Pause)
		if !r.PauseCard.Visible() || r.QuestionCard.Visible() {
			t.Fatal("the pause does not set the question aside")
		}
		confirmAs(r, r.Expected()) // nothing is answered while paused
		test.Tap(r.Continue)
		if !r.QuestionCard.Visible() || r.Settled() {
			t.Fatal("continue does not show the question freshly")
		}
	})
	time.Sleep(3 * settle)
	doAndWait(func() {
		r := a.Run
		test.Tap(r.Pause)
		test.Tap(r.StopHere)
	})
	waitFor(t, func() bool { return a.Run.DoneCard.Visible() })
	var outcome string
	doAndWait(func() { outcome = a.Run.Outcome.Text })
	for _, want := range []string{`The key "example-root-2026" exists on token "keyrite-rehearsal`, "is not sealed", "Resume"} {
		if !strings.Contains(outcome, want) {
			t.Errorf("the stop screen does not say %q:\n%s", want, outcome)
		}
	}
	if ev := entriesOf(t, out); strings.Contains(ev, "witness.confirmed") {
		t.Fatalf("a paused question was answered: %s", ev)
	}

	// A restart: a new app on the same rehearsal store and preferences.
	var b *App
	doAndWait(func() { b = New(a.Fyne, a.Examples, a.RehearsalDir) })
	t.Cleanup(func() { b.Win.Close() })
	doAndWait(func() {
		b.ShowStart()
		i := -1
		for j, d := range b.Start.recent {
			if d == out {
				i = j
			}
		}
		if i < 0 || !strings.Contains(recentLabel(out), "interrupted") {
			t.Fatalf("the start screen does not list %s as interrupted: %q", out, b.Start.recent)
		}
		b.Start.Recent.OnSelected(i)
		if b.Start.ResumeFolder.Text != out {
			t.Fatalf("selecting it did not offer the resume: %q", b.Start.ResumeFolder.Text)
		}
		test.Tap(b.Start.ResumeButton)
	})
	if err := Drive(b, time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := transcript.Verify(out, transcript.Options{}); err != nil {
		t.Fatal(err)
	}
	// A sealed ceremony is not offered a resume.
	doAndWait(func() {
		if _, err := b.Start.resumePlan(out); err == nil || !strings.Contains(err.Error(), "sealed") {
			t.Fatalf("resume of a sealed ceremony: %v", err)
		}
	})
}

// An abort at the roll call, before the ceremony opened: nothing is written, the screen says
// nothing on the HSM changed, and no resume is offered.
func TestAbortBeforeTheOpening(t *testing.T) {
	a := newTestApp(t)
	out := beginRoot(t, a)
	driveUntil(t, a, "Roll call: is Jean Dupont")
	doAndWait(func() {
		r := a.Run
		test.Tap(r.Abort)
		r.AbortReason.SetText("the auditor has to leave")
		r.AbortWitness.SetText("ис")
		test.Tap(r.AbortNow)
	})
	waitFor(t, func() bool { return a.Run.DoneCard.Visible() })
	doAndWait(func() {
		r := a.Run
		for _, want := range []string{"Nothing on the HSM was changed", "No transcript was written", "the room aborted the ceremony before it opened"} {
			if !strings.Contains(r.Outcome.Text, want) {
				t.Errorf("the screen does not say %q:\n%s", want, r.Outcome.Text)
			}
		}
		if r.Resume.Visible() {
			t.Error("a resume is offered for a ceremony that never opened")
		}
	})
	if _, err := os.Stat(filepath.Join(out, transcript.FileName)); !os.IsNotExist(err) {
		t.Fatalf("an abort at the roll call wrote a transcript (%v)", err)
	}
}
