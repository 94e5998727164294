package app

import (
	"encoding/hex"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Review shows the script before anything happens: what, with whom, on what equipment.
type Review struct {
	Content fyne.CanvasObject
	Summary *widget.Label
	Begin   *widget.Button
	Back    *widget.Button
}

func newReview(a *App, p *plan) *Review {
	r := &Review{}
	s := p.scripts[0]
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nCeremony %s (%s)\n%s, %s\nScript SHA-256 %s\n\nParticipants\n", s.Title, s.ID, s.Type, s.Organization, s.Location, hex.EncodeToString(s.SHA256[:]))
	for _, pt := range s.Participants {
		bag := ""
		if pt.Bag != "" {
			bag = ", share in bag " + pt.Bag
		}
		fmt.Fprintf(&b, "   %s — %s%s\n", pt.Name, pt.Role, bag)
	}
	fmt.Fprintf(&b, "\nEquipment\n   HSM: %s\n   Laptop: %s\n", s.Equipment.HSM, s.Equipment.Laptop)
	if len(s.Equipment.Bags) > 0 {
		fmt.Fprintf(&b, "   Tamper-evident bags: %s\n", strings.Join(s.Equipment.Bags, ", "))
	}
	if s.Key.Label != "" {
		fmt.Fprintf(&b, "\nRoot key %q, %s", s.Key.Label, s.Key.Algorithm)
		if s.Backup != nil {
			fmt.Fprintf(&b, ", backed up %d-of-%d among the custodians", s.Backup.Threshold, len(s.People("custodian")))
		}
		fmt.Fprintf(&b, "\nRoot certificate %q, valid %d days\n", s.Certificate.Subject.CommonName, s.Certificate.ValidityDays)
	}
	if s.Restore != nil {
		fmt.Fprintf(&b, "\nRestore into key %q from the backup in %s\n", s.Restore.Label, p.previous)
	}
	where := "the rehearsal token (SoftHSM2)"
	if p.real {
		where = fmt.Sprintf("token %s of %s", p.token, p.module)
	}
	fmt.Fprintf(&b, "\nHSM: %s\nEvidence folder: %s\n", where, p.out)
	switch {
	case p.sharesPrinter != "":
		fmt.Fprintf(&b, "Share sheets: printed on %q (CUPS), never saved to a disk\n", p.sharesPrinter)
	case p.sharesDir != "":
		fmt.Fprintf(&b, "Share sheets: written to %s, outside the evidence folder\n", p.sharesDir)
	}
	fmt.Fprintf(&b, "\nThe roll call and the clock are confirmed first, before the HSM is touched.")
	r.Summary = widget.NewLabel(b.String())
	r.Summary.Wrapping = fyne.TextWrapWord
	r.Begin = widget.NewButtonWithIcon("Begin the ceremony", theme.MediaPlayIcon(), nil)
	r.Begin.OnTapped = func() {
		if r.Begin.Disabled() {
			return // one ceremony per review: a double tap starts nothing more
		}
		r.Begin.Disable()
		a.Run = newRunScreen(a, p)
		a.show(a.Run.Content)
		a.Run.start()
	}
	r.Begin.Importance = widget.HighImportance
	r.Back = widget.NewButtonWithIcon("Back", theme.NavigateBackIcon(), a.ShowStart)
	heading := widget.NewLabel("Review the ceremony")
	heading.SizeName = theme.SizeNameHeadingText
	r.Content = container.NewBorder(container.NewPadded(heading), container.NewPadded(container.NewHBox(r.Back, r.Begin)), nil, nil,
		container.NewVScroll(container.NewPadded(r.Summary)))
	return r
}
