package app

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

func examples(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	files, err := filepath.Glob(filepath.Join("..", "testdata", "*-ceremony.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example scripts: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(file), "-ceremony.yaml")] = b
	}
	return out
}

func newTestApp(t *testing.T) *App {
	t.Helper()
	// Built under the UI lock: a timer or goroutine an earlier test left (a prompt settling, a
	// verification finishing) touches Fyne's shared caches only under it too.
	uiMu.Lock()
	a := New(test.NewApp(), examples(t), t.TempDir())
	uiMu.Unlock()
	t.Cleanup(func() { a.Win.Close() })
	return a
}

// A whole rehearsal, root key with a 2-of-3 quorum backup, driven through the widgets as a
// person would: start screen, review, roll call, every step, three shares revealed and typed
// back. The evidence verifies.
func TestQuorumRehearsalThroughTheGUI(t *testing.T) {
	a := newTestApp(t)
	out := filepath.Join(t.TempDir(), "ceremony")
	a.Start.Template.SetSelected(TemplateQuorum)
	a.Start.Threshold.SetSelected("2")
	a.Start.Total.SetSelected("3")
	a.Start.Out.SetText(out)
	test.Tap(a.Start.Review)
	if a.Review == nil || !strings.Contains(a.Review.Summary.Text, "backed up 2-of-3") {
		t.Fatal("the review screen does not show the 2-of-3 backup")
	}
	test.Tap(a.Review.Begin)
	// A second tap must not start a second ceremony. The ceremony now runs: widgets are
	// touched only under the UI lock, as on Fyne's UI goroutine.
	doAndWait(func() { test.Tap(a.Review.Begin) })
	moments := map[string]bool{}
	if err := Drive(a, 2*time.Minute, func(m string) { moments[m] = true }); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"3-roll-call", "4-step", "5-share-reveal", "6-share-entry"} {
		if !moments[m] {
			t.Errorf("the ceremony never showed %s", m)
		}
	}
	res, err := transcript.Verify(out, transcript.Options{})
	if err != nil {
		t.Fatalf("the GUI's ceremony does not verify: %v", err)
	}
	issued := 0
	for _, e := range res.Entries {
		if e.Event == "share.confirmed" {
			issued++
		}
	}
	if issued != 3 {
		t.Fatalf("%d shares confirmed, want 3", issued)
	}
	if f := a.Run.RootFigure; f == nil || f.Words == nil || !strings.Contains(f.Words.Text, "Read aloud") || !a.Run.OpenReport.Visible() {
		t.Fatalf("the close screen lacks the fingerprint words or the report: %q", a.Run.Outcome.Text)
	}
	if _, err := os.Stat(filepath.Join(out, "report.pdf")); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(a.Run.Code.Text, " ") {
		t.Fatal("a share is still on screen after the ceremony")
	}
	// The verify view accepts the folder, then names the record that was changed.
	doAndWait(func() { a.ShowVerify(out) })
	waitFor(t, func() bool { return strings.HasPrefix(a.Verify.Verdict.Text, "✓") })
	p := filepath.Join(out, transcript.FileName)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `"participant.present"`, `"participant.absent!"`, 1)), 0o644)
	doAndWait(func() { a.ShowVerify(out) })
	waitFor(t, func() bool { return strings.HasPrefix(a.Verify.Verdict.Text, "✗") })
	if !strings.Contains(strings.Join(a.Verify.rows, "\n"), "✗ BAD #") {
		t.Fatalf("no record marked bad: %q", a.Verify.rows)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	// A deadline, not a count of tries: under -race on a loaded machine one look can take long.
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		var done bool
		doAndWait(func() { done = ok() })
		if done {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("timed out")
}

// Every template the start screen offers, except opening a file, has an example script that
// parses: nothing is offered that cannot be started.
func TestEveryTemplateHasAScript(t *testing.T) {
	a := newTestApp(t)
	offered := map[string]bool{}
	for _, tmpl := range a.Start.Template.Options {
		offered[tmpl] = true
		if tmpl == TemplateFile {
			continue
		}
		doAndWait(func() { a.Start.Template.SetSelected(tmpl) })
		s, err := a.Start.script()
		if err != nil {
			t.Errorf("%s: %v", tmpl, err)
			continue
		}
		if info, ok := a.Start.templates[tmpl]; ok && s.Type != info.Name {
			t.Errorf("%s starts a %s ceremony, want %s", tmpl, s.Type, info.Name)
		}
	}
	// Every registered ceremony type is offered.
	for _, typ := range ceremony.Types() {
		if !offered[typ.Title] {
			t.Errorf("ceremony type %s is not offered", typ.Name)
		}
	}
}

func TestCaptureRefusesVisibleShare(t *testing.T) {
	a := newTestApp(t)
	a.Run = newRunScreen(a, &plan{})
	a.Run.revealed.Store(true)
	if err := a.capture(filepath.Join(t.TempDir(), "x.png")); err == nil {
		t.Fatal("captured a window with a share on screen")
	}
}

// Only app (and the main package that starts it) may depend on Fyne: the ceremony is plain Go
// that the CLI and tests drive too.
func TestOnlyAppImportsFyne(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(l, " ")
		if pkg == "github.com/keyrite/keyrite" || strings.HasPrefix(pkg, "github.com/keyrite/keyrite/app") {
			continue
		}
		if strings.Contains(" "+deps, " fyne.io/") {
			t.Errorf("%s depends on Fyne", pkg)
		}
	}
}

// A witness who taps No is asked why; the reason is recorded, and the ceremony can be resumed
// from the same screen.
func TestDeviationWithReasonThenResume(t *testing.T) {
	a := newTestApp(t)
	out := filepath.Join(t.TempDir(), "ceremony")
	a.Start.Template.SetSelected(Template(ceremony.TypeRoot))
	a.Start.Out.SetText(out)
	test.Tap(a.Start.Review)
	test.Tap(a.Review.Begin)
	const reason = "bag TEB-2026-0001 arrived with a broken seal"
	declined := false
	for deadline := time.Now().Add(3 * time.Minute); !declined && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		doAndWait(func() {
			r := a.Run
			if !r.QuestionCard.Visible() || !r.Settled() {
				return
			}
			if strings.Contains(r.Question.Text, "Generate the root key") {
				test.Tap(r.No)
				r.Reason.SetText(reason)
				test.Tap(r.RecordNo)
				declined = true
				return
			}
			test.Type(r.Initials, r.Expected())
			test.Tap(r.Yes)
		})
	}
	waitFor(t, func() bool { return a.Run.DoneCard.Visible() && a.Run.Resume.Visible() })
	data, _ := os.ReadFile(filepath.Join(out, transcript.FileName))
	if !strings.Contains(string(data), reason) {
		t.Fatal("the reason is not in the transcript")
	}
	var stopped string
	doAndWait(func() { stopped = a.Run.Outcome.Text; test.Tap(a.Run.Resume) })
	// The resume starts on its own goroutine: wait until the stop screen has gone (or shows
	// another outcome) before driving, or a loaded machine shows Drive the old stop.
	waitFor(t, func() bool { return !a.Run.DoneCard.Visible() || a.Run.Outcome.Text != stopped })
	if err := Drive(a, time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := transcript.Verify(out, transcript.Options{}); err != nil {
		t.Fatal(err)
	}
}

// The whole 2-of-3 rehearsal runs from the keyboard alone, and no affirmative button ever
// has the focus a prompt opens with: a question focuses the empty initials field (the person
// types their initials, Enter confirms), a share entry its field; the reveal and hide buttons
// are reached with Tab and pressed with Space.
func TestKeyboardOnly(t *testing.T) {
	a := newTestApp(t)
	out := filepath.Join(t.TempDir(), "ceremony")
	a.Start.Template.SetSelected(TemplateQuorum)
	a.Start.Out.SetText(out)
	test.Tap(a.Start.Review)
	test.Tap(a.Review.Begin)
	held := map[string]string{}
	space := &fyne.KeyEvent{Name: fyne.KeySpace}
	enter := &fyne.KeyEvent{Name: fyne.KeyReturn}
	typeInto := func(f fyne.Focusable, text string) {
		for _, c := range text {
			f.TypedRune(c)
		}
	}
	// tabTo presses Tab until target has the focus, as a keyboard user does.
	tabTo := func(target fyne.Focusable) bool {
		for i := 0; i < 40 && a.Win.Canvas().Focused() != target; i++ {
			a.Win.Canvas().FocusNext()
		}
		return a.Win.Canvas().Focused() == target
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		done := false
		doAndWait(func() {
			r := a.Run
			if r.DoneCard.Visible() {
				done = true
				return
			}
			if !r.Settled() {
				return // the engine is working, or the prompt is settling
			}
			focused := a.Win.Canvas().Focused()
			if _, isButton := focused.(*widget.Button); isButton && !r.RevealCard.Visible() {
				t.Errorf("a prompt opened with the focus on a button")
			}
			switch {
			case r.QuestionCard.Visible():
				if focused != r.Initials {
					t.Errorf("a question is asked, but focus is on %T", focused)
					return
				}
				typeInto(r.Initials, strings.ToLower(r.Expected()))
				r.Initials.TypedKey(enter)
			case r.RevealCard.Visible() && r.Reveal.Visible():
				if tabTo(r.Reveal) {
					r.Reveal.TypedKey(space)
				}
			case r.RevealCard.Visible() && r.Hide.Visible():
				held[custodianIn(r.RevealFor.Text)] = strings.Join(strings.Fields(r.Code.Text), " ")
				if tabTo(r.Hide) {
					r.Hide.TypedKey(space)
				}
			case r.AskCard.Visible():
				if focused != r.ShareEntry {
					t.Errorf("a share is asked for, but focus is on %T", focused)
					return
				}
				typeInto(r.ShareEntry, held[custodianIn(r.AskFor.Text)])
				r.ShareEntry.TypedKey(enter)
			}
		})
		if done || t.Failed() {
			break
		}
	}
	if t.Failed() {
		return
	}
	if _, err := transcript.Verify(out, transcript.Options{}); err != nil {
		t.Fatalf("keyboard-only ceremony: %v", err)
	}
}
