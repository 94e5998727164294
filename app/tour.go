//go:build screenshots

package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// The screenshot tour is built only with -tags screenshots (scripts/screenshots): it is not
// in the keyrite binary users run.

func init() {
	extras = append(extras, func(a *App) {
		if dir := os.Getenv("KEYRITE_SCREENSHOTS"); dir != "" {
			go a.screenshotTour(dir, os.Getenv("KEYRITE_SCREENSHOT_SIZE"))
		}
	})
}

// tourShots are the screens the tour saves, in order; scripts/screenshots checks each exists.
var tourShots = []string{"01-start", "02-review", "03-roll-call", "04-question", "05-gate", "06-progress",
	"07-share-reveal", "08-share-entry", "09-sealed", "10-verify-good", "11-verify-bad", "12-inventory", "13-stop", "14-abort"}

// moments maps Drive's moments to the tour's file names.
var moments = map[string]string{"3-roll-call": "03-roll-call", "4-step": "04-question", "4-gate": "05-gate",
	"progress": "06-progress", "5-share-reveal": "07-share-reveal", "6-share-entry": "08-share-entry"}

// screenshotTour walks the app as people would and saves every screen into dir
// (KEYRITE_SCREENSHOTS=dir keyrite), with the window at size ("1024x768"): a 2-of-3 quorum
// rehearsal with an RSA-4096 root key (long enough to see its progress), the verify view of
// its folder and of a tampered copy, the key inventory, a rehearsal stopped by a witness's
// "no" and one the room aborted. It quits the app when done.
func (a *App) screenshotTour(dir, size string) {
	defer do(a.Fyne.Quit)
	if err := a.tour(dir, size); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
	}
}

func (a *App) tour(dir, size string) error {
	var w, h float32 = 1024, 768
	if size != "" {
		if _, err := fmt.Sscanf(size, "%fx%f", &w, &h); err != nil {
			return fmt.Errorf("size %q: %w", size, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	doAndWait(func() {
		a.Win.SetFixedSize(true)
		a.Win.Resize(fyne.NewSize(w, h))
	})
	var shotErr error
	shot := func(name string) {
		time.Sleep(300 * time.Millisecond) // let the watcher scale the theme and the frame settle
		doAndWait(a.watch)
		time.Sleep(300 * time.Millisecond)
		if err := a.capture(filepath.Join(dir, name+".png")); err != nil && shotErr == nil {
			shotErr = fmt.Errorf("%s: %w", name, err)
		}
	}
	work, err := os.MkdirTemp("", "keyrite-tour-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	out := filepath.Join(work, "ceremony")
	script, err := a.rsaQuorumScript(work)
	if err != nil {
		return err
	}
	doAndWait(func() { a.Start.Out.SetText(out) })
	shot("01-start")
	doAndWait(func() {
		a.Start.Template.SetSelected(TemplateFile)
		a.Start.ScriptFile.SetText(script)
		a.Start.Review.OnTapped()
	})
	if a.Review == nil {
		return errors.New("the review screen did not open")
	}
	shot("02-review")
	doAndWait(func() { a.Review.Begin.OnTapped() })
	took := map[string]bool{}
	err = Drive(a, 5*time.Minute, func(moment string) {
		if moment == "progress" { // the key generation's, not the pre-flight's
			var what string
			doAndWait(func() { what = a.Run.orient.WorkWhat.Text })
			if !strings.HasPrefix(what, "Generating") {
				return
			}
		}
		if name := moments[moment]; name != "" && !took[name] {
			took[name] = true
			shot(name)
		}
	})
	if err != nil {
		return err
	}
	shot("09-sealed")
	if err := a.tourVerify(out, work, shot); err != nil {
		return err
	}
	if err := a.tourEnd(filepath.Join(work, "stopped"), "13-stop", witnessSaysNo, shot); err != nil {
		return err
	}
	if err := a.tourEnd(filepath.Join(work, "aborted"), "14-abort", roomAborts, shot); err != nil {
		return err
	}
	for _, name := range tourShots {
		if _, err := os.Stat(filepath.Join(dir, name+".png")); err != nil && shotErr == nil {
			shotErr = fmt.Errorf("the tour never showed %s", name)
		}
	}
	return shotErr
}

// rsaQuorumScript writes the 2-of-3 quorum example with an RSA-4096 root key.
func (a *App) rsaQuorumScript(dir string) (string, error) {
	s, _, err := ceremony.QuorumExamples(a.Examples["root-quorum"], a.Examples["restore"], 2, 3)
	if err != nil {
		return "", err
	}
	src := strings.Replace(string(s.Source), "algorithm: ecdsa-p384", "algorithm: rsa-4096", 1)
	if src == string(s.Source) {
		return "", errors.New("the quorum example no longer names ecdsa-p384")
	}
	path := filepath.Join(dir, "root-quorum-rsa.yaml")
	return path, os.WriteFile(path, []byte(src), 0o644)
}

// tourVerify shows the verify view of the sealed folder, of a copy with one record changed,
// and the key inventory.
func (a *App) tourVerify(out, work string, shot func(string)) error {
	verify := func(path string) {
		doAndWait(func() { a.ShowVerify(path) })
		for i := 0; i < 300; i++ {
			var v string
			doAndWait(func() { v = a.Verify.Verdict.Text })
			if v != "Checking…" && v != "" {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	verify(out)
	shot("10-verify-good")
	bad := filepath.Join(work, "tampered")
	if err := os.CopyFS(bad, os.DirFS(out)); err != nil {
		return err
	}
	p := filepath.Join(bad, transcript.FileName)
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), `"participant.present"`, `"participant.absent!"`, 1)), 0o644); err != nil {
		return err
	}
	verify(bad)
	shot("11-verify-bad")
	doAndWait(func() { a.ShowInventory(out) })
	time.Sleep(2 * time.Second)
	shot("12-inventory")
	return nil
}

// tourEnd runs a root rehearsal until the first witness question, where the room ends it
// (end acts on the question's screen): the ceremony stops or is aborted, and the screen that
// says so is saved as name.
func (a *App) tourEnd(out, name string, end func(r *RunScreen), shot func(string)) error {
	doAndWait(func() {
		a.ShowStart()
		a.Start.Template.SetSelected(Template(ceremony.TypeRoot))
		a.Start.Out.SetText(out)
		a.Start.Review.OnTapped()
	})
	doAndWait(func() { a.Review.Begin.OnTapped() })
	ended := false
	err := Drive(a, 2*time.Minute, func(moment string) {
		if moment != "4-step" || ended {
			return
		}
		ended = true
		r := a.Run
		doAndWait(func() { end(r) })
		for i := 0; i < 600; i++ { // until the ceremony has ended
			var done bool
			doAndWait(func() { done = r.DoneCard.Visible() })
			if done {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	if !ended {
		return fmt.Errorf("%s: the rehearsal never reached a witness question (%v)", name, err)
	}
	shot(name)
	return nil
}

// witnessSaysNo: the witness does not confirm, with a reason; the ceremony stops, resumable.
func witnessSaysNo(r *RunScreen) {
	r.No.OnTapped()
	r.Reason.SetText("the witness saw a different token serial on the HSM's display")
	r.RecordNo.OnTapped()
}

// roomAborts: the room aborts, with a reason and the witness's initials; the ceremony is
// closed as aborted and sealed.
func roomAborts(r *RunScreen) {
	r.Abort.OnTapped()
	r.AbortReason.SetText("the tamper-evident seal on the HSM's case was broken")
	r.AbortWitness.SetText(initialsOf(r.witness()))
	r.AbortNow.OnTapped()
}
