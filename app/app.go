// Package app is Keyrite's desktop GUI (Fyne). It is the only package that imports Fyne: it
// drives the same ceremony engine as the command line through the ceremony.UI port.
package app

import (
	"fmt"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/hsm"
)

// AppID is the Fyne application ID, as in FyneApp.toml.
const AppID = "dev.keyrite.app"

// Run opens the main window and blocks until it is closed.
func Run() error {
	a := fyneapp.NewWithID(AppID)
	w := a.NewWindow("Keyrite")
	w.SetContent(NewStart(hsm.DefaultRehearsalDir()).Content)
	w.Resize(fyne.NewSize(900, 600))
	w.ShowAndRun()
	return nil
}

// Start is the first screen: the HSM tokens Keyrite can see.
type Start struct {
	Content fyne.CanvasObject
	Tokens  *widget.List
	Status  *widget.Label
	rows    []string
}

// NewStart builds the start screen, listing the rehearsal store's tokens.
func NewStart(rehearsalDir string) *Start {
	s := &Start{Status: widget.NewLabel("")}
	s.Tokens = widget.NewList(
		func() int { return len(s.rows) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(s.rows[i]) },
	)
	title := widget.NewLabelWithStyle("Keyrite — HSM key ceremonies", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.Content = container.NewBorder(container.NewVBox(title, widget.NewLabel("Tokens on the rehearsal HSM (SoftHSM2):")), s.Status, nil, nil, s.Tokens)
	s.Refresh(rehearsalDir)
	return s
}

// Refresh lists the tokens again.
func (s *Start) Refresh(rehearsalDir string) {
	rows, err := listTokens(rehearsalDir)
	if err != nil {
		s.Status.SetText("Could not list tokens: " + err.Error())
		return
	}
	s.rows = rows
	s.Status.SetText(fmt.Sprintf("%d token(s). Run `keyrite rehearse --out DIR` to rehearse a root ceremony.", len(rows)))
	s.Tokens.Refresh()
}

func listTokens(rehearsalDir string) ([]string, error) {
	if _, err := hsm.PrepareRehearsal(rehearsalDir); err != nil {
		return nil, err
	}
	m, err := hsm.Open(hsm.SoftHSMModule)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	ts, err := m.Tokens()
	if err != nil {
		return nil, err
	}
	var rows []string
	for _, t := range ts {
		if t.Initialized {
			rows = append(rows, t.String())
		}
	}
	return rows, nil
}
