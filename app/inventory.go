package app

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/evidence"
)

// InventoryScreen shows the key inventory of a folder tree of evidence, as `keyrite inventory`
// prints it: every key by identity, its state, copies and uses; ceremonies that do not verify
// are listed with the reason at the end.
type InventoryScreen struct {
	Content fyne.CanvasObject
	Path    *widget.Entry
	Read    *widget.Button
	Verdict *widget.Label
	Keys    *widget.Label
}

func newInventoryScreen(a *App) *InventoryScreen {
	s := &InventoryScreen{}
	s.Path = widget.NewEntry()
	s.Path.SetPlaceHolder("a folder of ceremony folders (any depth)")
	s.Path.OnSubmitted = func(string) { s.read() }
	s.Read = widget.NewButtonWithIcon("List keys", theme.ConfirmIcon(), s.read)
	s.Read.Importance = widget.HighImportance
	folder := widget.NewButtonWithIcon("Folder…", theme.FolderOpenIcon(), func() {
		dialog.ShowFolderOpen(func(u fyne.ListableURI, err error) {
			if u != nil {
				s.Path.SetText(u.Path())
				s.read()
			}
		}, a.Win)
	})
	s.Verdict = widget.NewLabel("Open a folder of ceremonies.")
	s.Verdict.Wrapping = fyne.TextWrapWord
	s.Keys = widget.NewLabel("")
	s.Keys.TextStyle.Monospace = true
	heading := widget.NewLabel("Key inventory")
	heading.SizeName = theme.SizeNameHeadingText
	home := widget.NewButtonWithIcon("Back", theme.HomeIcon(), a.ShowStart)
	top := container.NewVBox(container.NewBorder(nil, nil, home, nil, heading),
		container.NewBorder(nil, nil, nil, container.NewHBox(folder, s.Read), s.Path), s.Verdict)
	s.Content = container.NewBorder(container.NewPadded(top), nil, nil, nil, container.NewPadded(container.NewScroll(s.Keys)))
	return s
}

// ShowInventory shows the inventory view, reading path if given.
func (a *App) ShowInventory(path string) {
	if a.Inventory == nil {
		a.Inventory = newInventoryScreen(a)
	}
	a.show(a.Inventory.Content)
	if path != "" {
		a.Inventory.Path.SetText(path)
		a.Inventory.read()
	}
}

// read builds the inventory off the UI goroutine.
func (s *InventoryScreen) read() {
	path := strings.TrimSpace(s.Path.Text)
	if path == "" {
		return
	}
	s.Read.Disable()
	s.Verdict.SetText("Reading…")
	go func() {
		inv, err := evidence.InventoryTree(path, time.Now())
		do(func() {
			s.Read.Enable()
			if err != nil {
				s.Keys.SetText("")
				s.Verdict.SetText("✗ " + evidence.Printable(err.Error()))
				return
			}
			s.Keys.SetText(inv.String())
			verdict := "✓ every ceremony verified"
			if n := len(inv.Unverified); n > 0 {
				verdict = fmt.Sprintf("⚠ %d ceremonies could not be verified and are left out (listed at the end)", n)
			}
			s.Verdict.SetText(verdict) // last: it is what people (and tests) wait for
		})
	}()
}
