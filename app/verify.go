package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/evidence"
	"github.com/keyrite/keyrite/reports"
)

// VerifyScreen lets a security officer check a ceremony folder or an evidence bundle: each
// record with a good or bad mark, the seal, the chain to the previous ceremony, the keys.
type VerifyScreen struct {
	Content   fyne.CanvasObject
	Path      *widget.Entry
	Check     *widget.Button
	Verdict   *widget.Label
	Records   *widget.List
	Seal      *widget.Label
	Chain     *widget.Label
	Inventory *widget.Label
	rows      []string
	a         *App
}

func newVerifyScreen(a *App) *VerifyScreen {
	v := &VerifyScreen{a: a}
	v.Path = widget.NewEntry()
	v.Path.SetPlaceHolder("ceremony folder, or an evidence-….tar bundle")
	v.Path.OnSubmitted = func(string) { v.verify() }
	v.Check = widget.NewButtonWithIcon("Verify", theme.ConfirmIcon(), v.verify)
	v.Check.Importance = widget.HighImportance
	folder := widget.NewButtonWithIcon("Folder…", theme.FolderOpenIcon(), func() {
		dialog.ShowFolderOpen(func(u fyne.ListableURI, err error) {
			if u != nil {
				v.Path.SetText(u.Path())
				v.verify()
			}
		}, a.Win)
	})
	bundle := widget.NewButtonWithIcon("Bundle…", theme.FileIcon(), func() {
		dialog.ShowFileOpen(func(u fyne.URIReadCloser, err error) {
			if u != nil {
				u.Close()
				v.Path.SetText(u.URI().Path())
				v.verify()
			}
		}, a.Win)
	})
	v.Verdict = widget.NewLabel("Open a ceremony folder or an evidence bundle.")
	v.Verdict.SizeName = theme.SizeNameSubHeadingText
	v.Verdict.Wrapping = fyne.TextWrapWord
	v.Records = widget.NewList(func() int { return len(v.rows) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(v.rows[i]) })
	mono := func() *widget.Label {
		l := widget.NewLabel("")
		l.TextStyle.Monospace = true
		l.Wrapping = fyne.TextWrapBreak
		return l
	}
	v.Seal, v.Chain, v.Inventory = mono(), widget.NewLabel(""), widget.NewLabel("")
	v.Chain.Wrapping, v.Inventory.Wrapping = fyne.TextWrapWord, fyne.TextWrapWord
	heading := widget.NewLabel("Verify a ceremony")
	heading.SizeName = theme.SizeNameHeadingText
	home := widget.NewButtonWithIcon("Back", theme.HomeIcon(), a.ShowStart)
	top := container.NewVBox(container.NewBorder(nil, nil, home, nil, heading),
		container.NewBorder(nil, nil, nil, container.NewHBox(folder, bundle, v.Check, widget.NewButtonWithIcon("Key inventory…", theme.ListIcon(), func() { a.ShowInventory(v.Path.Text) })), v.Path), v.Verdict)
	details := container.NewVScroll(container.NewVBox(
		widget.NewLabelWithStyle("Seal", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), v.Seal,
		widget.NewLabelWithStyle("Chain", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), v.Chain,
		widget.NewLabelWithStyle("Keys", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), v.Inventory))
	split := container.NewHSplit(container.NewBorder(widget.NewLabelWithStyle("Records", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil, v.Records), details)
	split.Offset = 0.55
	v.Content = container.NewBorder(container.NewPadded(top), nil, nil, nil, container.NewPadded(split))
	return v
}

// ShowVerify shows the verify view, checking path if given.
func (a *App) ShowVerify(path string) {
	a.show(a.Verify.Content)
	if path != "" {
		a.Verify.Path.SetText(path)
		a.Verify.verify()
	}
}

// verify checks the path off the UI goroutine.
func (v *VerifyScreen) verify() {
	path := strings.TrimSpace(v.Path.Text)
	if path == "" {
		return
	}
	v.Check.Disable()
	v.Verdict.SetText("Checking…")
	go func() {
		out := check(path)
		do(func() {
			v.Check.Enable()
			v.rows = out.rows
			v.Records.Refresh()
			v.Seal.SetText(out.seal)
			v.Chain.SetText(out.chain)
			v.Inventory.SetText(out.inventory)
			v.Verdict.SetText(out.verdict) // last: it is what people (and tests) wait for
		})
	}()
}

type checked struct {
	verdict, seal, chain, inventory string
	rows                            []string
}

// check verifies a folder or bundle. On failure it still lists the records it could read,
// marking the first bad one.
func check(path string) checked {
	var c checked
	fi, err := os.Stat(path)
	if err != nil {
		c.verdict = "✗ " + err.Error()
		return c
	}
	dir := path
	var res *transcript.Result
	if fi.Mode().IsRegular() {
		work, err := os.MkdirTemp("", "keyrite-verify-")
		if err != nil {
			c.verdict = "✗ " + err.Error()
			return c
		}
		defer os.RemoveAll(work)
		f, err := os.Open(path)
		if err != nil {
			c.verdict = "✗ " + err.Error()
			return c
		}
		br, err := reports.VerifyBundle(f, work)
		f.Close()
		if err != nil {
			c.verdict = "✗ Not verified: " + err.Error()
			return c
		}
		res, dir = br.Ceremony, work
		c.verdict = fmt.Sprintf("✓ Bundle verified: manifest signed by the transcript signer, %d files as listed, %d withheld.", br.Files, len(br.Withheld))
	} else {
		folders, err := evidence.VerifyTree(path, evidence.Options{Renderer: reports.ReportRenderer})
		if err != nil {
			c.verdict = "✗ Not verified: " + err.Error()
			c.rows = partialRows(path, err)
			return c
		}
		res, dir = folders[len(folders)-1].Result, folders[len(folders)-1].Dir
		c.verdict = fmt.Sprintf("✓ Verified: ceremony %s, %d records, sealed.", res.Opening.CeremonyID, len(res.Entries))
		if len(folders) > 1 {
			c.verdict = fmt.Sprintf("✓ Verified: %d chained ceremonies; showing %s.", len(folders), filepath.Base(dir))
		}
	}
	model, err := reports.Read(res)
	if err != nil {
		c.verdict = "✗ " + err.Error()
		return c
	}
	for _, e := range res.Entries {
		c.rows = append(c.rows, fmt.Sprintf("✓ #%d %s %s", e.Seq, e.Time[11:19], e.Event))
	}
	c.seal = res.Seal.Text
	c.chain = fmt.Sprintf("Sealed by %s, certified by %s.\nRoot public key SHA-256 %s\n%s", res.Signer.Subject.CommonName, res.Root.Subject.CommonName, res.RootSPKI.Grouped(), res.RootSPKI.Words())
	if p := res.Opening.Previous; p != nil {
		c.chain += fmt.Sprintf("\n\nContinues ceremony %s, whose seal it quotes:\n%s", p.CeremonyID, p.Checkpoint)
	} else {
		c.chain += "\n\nFirst ceremony of its key hierarchy."
	}
	var inv []string
	for _, k := range model.Keys {
		inv = append(inv, fmt.Sprintf("%s (%s, %s) — %s\n   %s", k.Label, k.Algorithm, k.Purpose, strings.TrimPrefix(k.Event, "key."), k.Words))
	}
	for _, k := range model.KCVs {
		inv = append(inv, fmt.Sprintf("KCV %s: %s (%s)", k.What, k.Value, k.Method))
	}
	c.inventory = strings.Join(inv, "\n\n")
	return c
}

func partialRows(dir string, verr error) []string {
	data, err := os.ReadFile(filepath.Join(dir, transcript.FileName))
	if err != nil {
		return nil
	}
	entries, _ := transcript.Parse(data)
	var rows []string
	for _, e := range entries {
		rows = append(rows, fmt.Sprintf("✓ #%d %s %s", e.Seq, e.Time[11:19], e.Event))
	}
	var re *transcript.RecordError
	if errors.As(verr, &re) {
		for i := range rows {
			if uint64(i) >= re.Seq {
				rows[i] = "✗" + strings.TrimPrefix(rows[i], "✓")
			}
		}
		if int(re.Seq) >= len(rows) {
			rows = append(rows, fmt.Sprintf("✗ #%d %s", re.Seq, re.Reason))
		}
	}
	return rows
}
