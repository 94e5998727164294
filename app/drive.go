package app

// Drive and capture serve the tests and the screenshot tour (tour.go, build tag screenshots).
// No production code calls them, so the keyrite binary does not link them; scripts/test
// checks that with go tool nm.

import (
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// capture saves the window as a PNG. It refuses while a share is on screen: Keyrite never
// records an image of a share.
func (a *App) capture(path string) error {
	if a.Run != nil && a.Run.ShareVisible() {
		return errors.New("a share is on screen; Keyrite does not capture it")
	}
	// Under X, capture what the server shows (ImageMagick's import): Fyne's own capture
	// reads back an empty frame from Xvfb's software GL.
	if os.Getenv("DISPLAY") != "" {
		if path2, err := exec.LookPath("import"); err == nil {
			if out, err := exec.Command(path2, "-window", "root", path).CombinedOutput(); err != nil {
				return fmt.Errorf("import: %v: %s", err, out)
			}
			return nil
		}
	}
	var err error
	doAndWait(func() {
		img := a.Win.Canvas().Capture()
		var f *os.File
		if f, err = os.Create(path); err == nil {
			err = png.Encode(f, img)
			f.Close()
		}
	})
	return err
}

// Drive plays everyone in the room for a running ceremony, through the widgets, until it
// ends: confirms as the named person does (their initials, once the prompt has settled),
// reveals and hides shares (remembering them), types them back. moment is called when a
// screen worth showing first appears. Tests and the screenshot tour use it. A ceremony that
// ends sealed as completed must show a confirmed "about to" gate before every dangerous HSM
// call (ceremony.CheckGates), or Drive returns an error.
func Drive(a *App, timeout time.Duration, moment func(string)) error {
	return DriveHolding(a, timeout, moment, map[string]string{})
}

// DriveHolding is Drive with the custodians' shares in held: those they already hold (from an
// earlier ceremony, for a restore or a drill) and, after it, those they were handed.
func DriveHolding(a *App, timeout time.Duration, moment func(string), held map[string]string) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		r := a.Run
		var act func()
		var name string
		doAndWait(func() {
			switch {
			case r.DoneCard.Visible():
				name = "done"
			case r.orient.Work.Visible():
				name = "progress" // long HSM work: nobody acts
			case !r.Settled(): // a fresh prompt takes no input yet
			case r.QuestionCard.Visible():
				name = questionMoment(r)
				act = func() { confirmAs(r, r.Expected()) }
			case r.RevealCard.Visible() && r.Reveal.Visible():
				name = "5-share-reveal"
				act = func() { r.Reveal.OnTapped() }
			case r.RevealCard.Visible() && r.Hide.Visible():
				who := custodianIn(r.RevealFor.Text)
				held[who] = strings.Join(strings.Fields(r.Code.Text), " ")
				act = func() { r.Hide.OnTapped() }
			case r.AskCard.Visible():
				name = "6-share-entry"
				code := held[custodianIn(r.AskFor.Text)]
				act = func() {
					r.ShareEntry.SetText(code)
					r.ShareOK.OnTapped()
				}
			}
		})
		if name == "done" {
			var err error
			doAndWait(func() {
				// Sealed, the close screen offers the report; stopped, refused or aborted, it
				// says why.
				if r.Resume.Visible() || !r.OpenReport.Visible() {
					err = errors.New(r.Outcome.Text)
				}
			})
			if err == nil {
				err = gatesShown(r.dir())
			}
			return err
		}
		if name != "" && moment != nil {
			moment(name)
		}
		if act != nil {
			doAndWait(act)
			time.Sleep(30 * time.Millisecond)
		}
	}
	return errors.New("the ceremony did not finish in time")
}

// custodianIn finds the custodian's name in a prompt: "Share 1 of 3 is for NAME. ..." or
// "NAME: type ...".
func custodianIn(text string) string {
	if i := strings.Index(text, " is for "); i >= 0 {
		rest := text[i+len(" is for "):]
		return rest[:strings.Index(rest, ". ")]
	}
	name, _, _ := strings.Cut(text, ":")
	return name
}

// Ceremony is what a person enters on the start screen for one ceremony: the template and
// the fields it needs. Fields left empty are cleared.
type Ceremony struct {
	Template         string // a template title (Template(type), TemplateQuorum, TemplateFile)
	ScriptFile       string // TemplateFile: the script
	Threshold, Total string // TemplateQuorum: M and N ("" keeps the screen's choice)
	Previous         string // the earlier ceremony it continues
	Out              string // its evidence folder
	ImportJob        string // export: the import job's folder
	Transfer         string // import: the export's folder
	Target           string // migration: the target token
	CSR              string // intermediate CA: the CSR file
	Revoked          string // CRL: the revoked serials file
	Issued           string // OCSP responses: certificates the root issued
	Outside          string // cross-certification: the outside CA's certificate or CSR
}

// Begin enters c on the start screen, reviews the ceremony and begins it, through the
// widgets. It returns what the start screen refuses (the same error its dialog shows).
func Begin(a *App, c Ceremony) error {
	var err error
	doAndWait(func() {
		a.ShowStart()
		s := a.Start
		s.Template.SetSelected(c.Template)
		if c.Threshold != "" {
			s.Threshold.SetSelected(c.Threshold)
			s.Total.SetSelected(c.Total)
		}
		for e, v := range map[*widget.Entry]string{s.ScriptFile: c.ScriptFile, s.Previous: c.Previous, s.Out: c.Out,
			s.ImportJob: c.ImportJob, s.Transfer: c.Transfer, s.Target: c.Target, s.CSR: c.CSR, s.Revoked: c.Revoked,
			s.Issued: c.Issued, s.Outside: c.Outside} {
			e.SetText(v)
		}
		if _, err = s.plan(); err != nil {
			return
		}
		a.Review = nil
		s.Review.OnTapped()
		if a.Review == nil {
			err = errors.New("the start screen showed no review")
			return
		}
		a.Review.Begin.OnTapped()
	})
	return err
}

// RunCeremony begins c (Begin) and plays the room until it ends (DriveHolding); held are the
// shares the custodians hold, and gain those they are handed.
func RunCeremony(a *App, c Ceremony, timeout time.Duration, held map[string]string) error {
	if err := Begin(a, c); err != nil {
		return err
	}
	return DriveHolding(a, timeout, nil, held)
}

// questionMoment names the question on screen for the screenshot tour, "" if it is none of
// the moments it shows.
func questionMoment(r *RunScreen) string {
	switch {
	case strings.HasPrefix(r.Question.Text, "Roll call"):
		return "3-roll-call"
	case r.GateBanner.Visible():
		return "4-gate"
	case strings.Contains(r.Question.Text, "happen as shown"):
		return "4-step"
	}
	return ""
}

// confirmAs gives the confirmation the question on screen asks for: the initials typed,
// then Confirm. Call it on Fyne's goroutine.
func confirmAs(r *RunScreen, initials string) {
	r.Initials.SetText(initials)
	r.Yes.OnTapped()
}

// gatesShown checks that a ceremony sealed as completed confirmed a gate before every
// dangerous HSM call.
func gatesShown(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, transcript.FileName))
	if err != nil {
		return nil // nothing was written (a pre-flight refusal): nothing to check
	}
	entries, _ := transcript.Parse(data)
	return ceremony.CheckGates(entries)
}
