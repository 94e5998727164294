package app

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/ceremony"
)

// Resume from the start screen: a ceremony interrupted before its seal (stopped, a token
// removed, the app or the machine killed) is resumed from its folder, after a restart too.
// The folder holds the script's copy and the transcript; the HSM and the inputs are those on
// the start screen, as when it began (the rehearsal token is the one its transcript names).
// Recent ceremonies that are interrupted say so; selecting one puts it in the resume field.

// newResumeRow is the start screen's "Resume an interrupted ceremony" row.
func (s *Start) newResumeRow() fyne.CanvasObject {
	s.ResumeFolder = widget.NewEntry()
	s.ResumeFolder.SetPlaceHolder("folder of a ceremony that stopped before its seal")
	s.ResumeButton = widget.NewButtonWithIcon("Resume", theme.MediaReplayIcon(), s.resumeInterrupted)
	s.ResumeFolder.OnSubmitted = func(string) { s.ResumeButton.OnTapped() }
	label := widget.NewLabelWithStyle("Resume an interrupted ceremony", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	return container.NewVBox(widget.NewSeparator(), label, container.NewBorder(nil, nil, nil, s.ResumeButton, s.ResumeFolder))
}

// resumePlan is the plan that resumes the ceremony in dir.
func (s *Start) resumePlan(dir string) (*plan, error) {
	dir = strings.TrimSpace(dir)
	if dir == "" {
		return nil, errors.New("enter the folder of the ceremony to resume")
	}
	af, err := ceremony.AftermathOf(dir)
	switch {
	case err != nil:
		return nil, err
	case af.Transcript == "":
		return nil, fmt.Errorf("%s holds no ceremony transcript: there is nothing to resume (a ceremony that stopped before its transcript existed changed nothing; start it again)", dir)
	case af.Sealed:
		return nil, fmt.Errorf("the ceremony in %s is sealed: there is nothing to resume; verify it", dir)
	}
	script, err := ceremony.LoadScript(filepath.Join(dir, ceremony.ScriptFileName))
	if err != nil {
		return nil, fmt.Errorf("the ceremony's script copy: %w", err)
	}
	return s.planFor(script, dir)
}

// resumeInterrupted resumes the ceremony named in the resume field on the run screen.
func (s *Start) resumeInterrupted() {
	p, err := s.resumePlan(s.ResumeFolder.Text)
	if err != nil {
		s.a.showError("the ceremony cannot be resumed", err)
		return
	}
	s.a.Run = newRunScreen(s.a, p)
	s.a.show(s.a.Run.Content)
	s.a.Run.resume()
}

// recentLabel is a recent ceremony's line: its folder, and whether it waits to be resumed.
func recentLabel(dir string) string {
	if af, err := ceremony.AftermathOf(dir); err == nil && af.Interrupted() {
		return dir + "  — interrupted: select to resume"
	}
	return dir
}

// openRecent verifies a recent ceremony, or puts an interrupted one in the resume field.
func (s *Start) openRecent(dir string) {
	if af, err := ceremony.AftermathOf(dir); err == nil && af.Interrupted() {
		s.ResumeFolder.SetText(dir)
		s.a.Win.Canvas().Focus(s.ResumeFolder)
		return
	}
	s.a.ShowVerify(dir)
}
