package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/hsm"
)

// The start screen offers one template per ceremony type (its TypeInfo.Title, starting from
// its example script), and two of its own:
const (
	TemplateQuorum = "Root key with quorum backup (M-of-N)" // the root example with an M-of-N backup
	TemplateFile   = "Open a ceremony script file"
)

// Template is the start screen's name for a ceremony type's template.
func Template(typ string) string {
	info, _ := ceremony.LookupType(typ)
	return info.Title
}

// templates lists the start screen's templates, root and its quorum variant first, and the
// ceremony type each registered one starts.
func templates() ([]string, map[string]ceremony.TypeInfo) {
	byTitle := map[string]ceremony.TypeInfo{}
	options := []string{Template(ceremony.TypeRoot), TemplateQuorum}
	for _, t := range ceremony.Types() {
		byTitle[t.Title] = t
		if t.Name != ceremony.TypeRoot {
			options = append(options, t.Title)
		}
	}
	return append(options, TemplateFile), byTitle
}

// Start is the first screen: which HSM, which ceremony, where its evidence goes.
type Start struct {
	Content        fyne.CanvasObject
	HSMKind        *widget.RadioGroup
	Module         *widget.Entry // module path or pkcs11: URI
	Token          *widget.Entry // token label
	FindTokens     *widget.Button
	Tokens         *widget.Label
	Template       *widget.Select
	Threshold      *widget.Select
	Total          *widget.Select
	ScriptFile     *widget.Entry
	ResumeFolder   *widget.Entry  // an interrupted ceremony's folder (control_start.go)
	ResumeButton   *widget.Button // resumes it
	Previous       *widget.Entry  // the earlier ceremony this one continues
	Provider       *widget.Select
	Method         *widget.Entry
	ImportJob      *widget.Entry
	WrappingKey    *widget.Entry
	IssuedAt       *widget.Entry
	AzureKEK       *widget.Entry
	Transfer       *widget.Entry
	Target         *widget.Entry
	CSR            *widget.Entry
	Revoked        *widget.Entry
	Issued         *widget.Entry // OCSP responses: certificates the root issued
	Outside        *widget.Entry // cross-certification: the outside CA's certificate or CSR
	Out            *widget.Entry
	SheetsTo       *widget.RadioGroup // where share sheets go: a printer or a folder
	Sheets         *widget.Entry      // the printer's CUPS name, or the folder
	Review         *widget.Button
	VerifyButton   *widget.Button
	Recent         *widget.List
	recent         []string
	transferInputs *widget.Accordion
	templates      map[string]ceremony.TypeInfo // by template title
	a              *App
}

const (
	hsmRehearsal = "Rehearsal token (SoftHSM2, no hardware needed)"
	hsmReal      = "HSM: PKCS#11 module path or pkcs11: URI"
)

func newStart(a *App) *Start {
	s := &Start{a: a}
	s.HSMKind = widget.NewRadioGroup([]string{hsmRehearsal, hsmReal}, func(v string) { s.updateHSM() })
	s.Module = widget.NewEntry()
	s.Module.SetPlaceHolder("/usr/lib/vendor/libpkcs11.so or pkcs11:token=Root?module-path=/usr/lib/vendor/libpkcs11.so")
	s.Token = widget.NewEntry()
	s.Token.SetPlaceHolder("token label")
	s.Tokens = widget.NewLabel("")
	s.Tokens.Wrapping = fyne.TextWrapWord
	s.FindTokens = widget.NewButtonWithIcon("Find tokens", theme.SearchIcon(), s.findTokens)
	options, byTitle := templates()
	s.templates = byTitle
	s.Template = widget.NewSelect(options, func(string) { s.updateTemplate() })
	var counts []string
	for i := 2; i <= 16; i++ {
		counts = append(counts, strconv.Itoa(i))
	}
	s.Threshold = widget.NewSelect(counts, nil)
	s.Total = widget.NewSelect(counts, nil)
	s.Threshold.SetSelected("2")
	s.Total.SetSelected("3")
	s.ScriptFile = widget.NewEntry()
	s.ScriptFile.SetPlaceHolder("path to a ceremony script (.yaml)")
	s.Previous = widget.NewEntry()
	s.Previous.SetPlaceHolder("folder of the sealed ceremony this one continues (backup, root, import job)")
	entry := func(hint string) *widget.Entry { e := widget.NewEntry(); e.SetPlaceHolder(hint); return e }
	s.Provider = widget.NewSelect([]string{"pkcs11", "aws-kms", "gcp-kms", "azure-key-vault"}, nil)
	s.Provider.SetSelected("pkcs11")
	s.Method = entry("the provider's import method, e.g. RSA_AES_KEY_WRAP_SHA_1 (empty: its preferred one)")
	s.ImportJob = entry("export to another HSM: folder of its sealed import-job ceremony")
	s.WrappingKey = entry("export to a cloud KMS: the provider's wrapping public key (PEM file)")
	s.IssuedAt = entry("when the provider issued it, e.g. 2026-11-25T09:30:00Z")
	s.AzureKEK = entry("Azure: key exchange key identifier https://<vault>.vault.azure.net/keys/<name>/<version>")
	s.Transfer = entry("import: folder of the sealed export ceremony")
	s.Target = entry("migration: the target token's label")
	s.CSR = entry("intermediate CA: its certificate signing request (PEM file)")
	s.Revoked = entry("CRL: file of revoked serials, one \"serial-hex [reason] [revoked-at]\" per line")
	s.Issued = entry("OCSP responses: certificates the root issued (PEM file), besides the continued ceremony's")
	s.Outside = entry("cross-certification: the outside CA's certificate or certificate request (PEM file)")
	s.Out = widget.NewEntry()
	s.Sheets = widget.NewEntry()
	s.SheetsTo = widget.NewRadioGroup([]string{sheetsPrinter, sheetsFolder}, func(string) { s.updateSheets() })
	s.SheetsTo.Horizontal = true
	s.Review = widget.NewButtonWithIcon("Review the ceremony", theme.NavigateNextIcon(), s.review)
	s.Review.Importance = widget.HighImportance
	s.VerifyButton = widget.NewButtonWithIcon("Verify a ceremony or evidence bundle", theme.ConfirmIcon(), func() { a.ShowVerify("") })
	s.Recent = widget.NewList(func() int { return len(s.recent) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(recentLabel(s.recent[i])) })
	s.Recent.OnSelected = func(i widget.ListItemID) {
		s.Recent.UnselectAll()
		s.openRecent(s.recent[i]) // control_start.go: verify it, or offer to resume it
	}

	heading := widget.NewLabel("Keyrite — HSM key ceremonies")
	heading.SizeName = theme.SizeNameHeadingText
	heading.TextStyle.Bold = true
	form := widget.NewForm(
		widget.NewFormItem("HSM", s.HSMKind),
		widget.NewFormItem("Module or URI", s.Module),
		widget.NewFormItem("Token", container.NewBorder(nil, nil, nil, s.FindTokens, s.Token)),
		widget.NewFormItem("", s.Tokens),
		widget.NewFormItem("Ceremony", s.Template),
		widget.NewFormItem("Quorum", container.NewHBox(widget.NewLabel("any"), s.Threshold, widget.NewLabel("of"), s.Total, widget.NewLabel("custodians"))),
		widget.NewFormItem("Script file", s.ScriptFile),
		widget.NewFormItem("Earlier ceremony", s.Previous),
		widget.NewFormItem("Evidence folder", s.Out),
		widget.NewFormItem("Share sheets go to", container.NewVBox(s.SheetsTo, s.Sheets)),
	)
	transferForm := widget.NewForm(
		widget.NewFormItem("Export to", s.Provider),
		widget.NewFormItem("Import method", s.Method),
		widget.NewFormItem("Import job", s.ImportJob),
		widget.NewFormItem("Wrapping key", s.WrappingKey),
		widget.NewFormItem("Issued at", s.IssuedAt),
		widget.NewFormItem("Azure KEK", s.AzureKEK),
		widget.NewFormItem("Export ceremony", s.Transfer),
		widget.NewFormItem("Target token", s.Target),
		widget.NewFormItem("CSR", s.CSR),
		widget.NewFormItem("Revoked", s.Revoked),
		widget.NewFormItem("Issued certificates", s.Issued),
		widget.NewFormItem("Outside CA", s.Outside),
	)
	s.transferInputs = widget.NewAccordion(widget.NewAccordionItem("Inputs for transfers, intermediate CAs and CRLs", transferForm))
	recent := container.NewBorder(widget.NewLabelWithStyle("Recent ceremonies (select to verify)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil, s.Recent)
	left := container.NewVBox(heading, widget.NewLabel("Choose the HSM and the ceremony. Everything is checked before the HSM is touched."), form,
		s.transferInputs, container.NewHBox(s.Review, s.VerifyButton), s.newResumeRow())
	s.Content = container.NewHSplit(container.NewVScroll(container.NewPadded(left)), container.NewPadded(recent))
	s.Content.(*container.Split).Offset = 0.72
	s.HSMKind.SetSelected(hsmRehearsal)
	s.Template.SetSelected(TemplateQuorum)
	s.SheetsTo.SetSelected(sheetsFolder)
	return s
}

const (
	sheetsPrinter = "Printer (CUPS)"
	sheetsFolder  = "Folder outside the evidence"
)

func (s *Start) updateSheets() {
	if s.SheetsTo.Selected == sheetsPrinter {
		s.Sheets.SetPlaceHolder("CUPS printer name, or \"default\": the sheets are printed, never saved")
	} else {
		s.Sheets.SetPlaceHolder("a removable medium per custodian, mounted here in turn (rehearsal: empty = beside the evidence)")
	}
}

// sheets is where the share sheets go, checked against the evidence folder before anything
// starts. A rehearsal with no folder named puts them beside its evidence folder.
func (s *Start) sheets(p *plan, script *ceremony.Script) error {
	if !script.IssuesShares() {
		return nil
	}
	v := strings.TrimSpace(s.Sheets.Text)
	if s.SheetsTo.Selected == sheetsPrinter {
		p.sharesPrinter = v
		if v == "" {
			return errors.New("enter the printer for the share sheets (its CUPS name, or \"default\")")
		}
	} else {
		if v == "" && !p.real {
			v = filepath.Clean(p.out) + ".share-sheets"
		}
		p.sharesDir = v
	}
	return ceremony.CheckSheetDestination(p.out, ceremony.SheetDestination{Dir: p.sharesDir, Printer: p.sharesPrinter}, !p.real)
}

func (s *Start) updateHSM() {
	real := s.HSMKind.Selected == hsmReal
	for _, w := range []fyne.Disableable{s.Module, s.Token} {
		if real {
			w.Enable()
		} else {
			w.Disable()
		}
	}
	if !real {
		s.Token.SetText("")
		s.Tokens.SetText("Keyrite's own SoftHSM2 store in " + s.a.RehearsalDir + ": a fresh token is made for each new rehearsal; a ceremony that continues one runs on that one's token.")
	} else {
		s.Tokens.SetText("Enter the module path or a pkcs11: URI and press Find tokens.")
	}
}

func (s *Start) updateTemplate() {
	t := s.Template.Selected
	enable := func(w fyne.Disableable, on bool) {
		if on {
			w.Enable()
		} else {
			w.Disable()
		}
	}
	enable(s.Threshold, t == TemplateQuorum)
	enable(s.Total, t == TemplateQuorum)
	enable(s.ScriptFile, t == TemplateFile)
	info := s.templates[t]
	enable(s.Previous, t == TemplateFile || info.Needs(ceremony.InputPrevious))
	if s.transferInputs != nil && needsMore(info) {
		s.transferInputs.Open(0)
	}
	if s.Out.Text == "" || strings.HasPrefix(filepath.Base(s.Out.Text), "ceremony-") {
		home, _ := os.UserHomeDir()
		s.Out.SetText(filepath.Join(home, "keyrite", "ceremony-"+time.Now().UTC().Format("20060102-150405")))
	}
}

// findTokens lists the module's tokens off the UI goroutine.
func (s *Start) findTokens() {
	path, _, err := s.modulePath()
	if err != nil {
		s.a.showError("find tokens", err)
		return
	}
	s.FindTokens.Disable()
	s.Tokens.SetText("Looking for tokens…")
	go func() {
		text, err := listTokens(path)
		do(func() {
			s.FindTokens.Enable()
			if err != nil {
				s.Tokens.SetText("")
				s.a.showError("find tokens", err)
				return
			}
			s.Tokens.SetText(text)
		})
	}()
}

func (s *Start) modulePath() (string, hsm.Selector, error) {
	v := strings.TrimSpace(s.Module.Text)
	if v == "" {
		return "", hsm.Selector{}, errors.New("enter the PKCS#11 module path or a pkcs11: URI")
	}
	sel := hsm.Selector{Label: strings.TrimSpace(s.Token.Text)}
	if strings.HasPrefix(v, "pkcs11:") {
		u, err := hsm.ParseURI(v)
		if err != nil {
			return "", sel, err
		}
		if sel.Label == "" {
			sel = u.Selector()
		}
		return u.ModulePath, sel, nil
	}
	return v, sel, nil
}

func listTokens(path string) (string, error) {
	m, err := hsm.Open(path)
	if err != nil {
		return "", err
	}
	defer m.Close()
	ts, err := m.Tokens()
	if err != nil {
		return "", err
	}
	var lines []string
	for _, t := range ts {
		if t.Initialized {
			lines = append(lines, t.String())
		}
	}
	if len(lines) == 0 {
		return "No initialised token in this module.", nil
	}
	return strings.Join(lines, "\n"), nil
}

// plan is what the start screen asks for, checked before the HSM is touched.
type plan struct {
	scripts  []*ceremony.Script // run in order; a quorum rehearsal is one ceremony
	out      string
	previous string
	real     bool
	module   string
	token    hsm.Selector

	sharesDir, sharesPrinter string // where share sheets go (ceremony.Options)

	importJob, wrappingKey, azureKEK, transfer, target, csr, revoked string
	issued, outside                                                  string
	issuedAt                                                         time.Time
}

func (s *Start) plan() (*plan, error) {
	out := strings.TrimSpace(s.Out.Text)
	if out == "" {
		return nil, errors.New("choose an evidence folder for the ceremony's outputs")
	}
	if err := ceremony.CheckNewDir(out); err != nil {
		return nil, err
	}
	script, err := s.script()
	if err != nil {
		return nil, err
	}
	return s.planFor(script, out)
}

// planFor is the plan of script into out, with the HSM and the inputs on the screen: a new
// ceremony's, or an interrupted one's that is resumed (control_start.go).
func (s *Start) planFor(script *ceremony.Script, out string) (*plan, error) {
	p := &plan{out: out, previous: strings.TrimSpace(s.Previous.Text), real: s.HSMKind.Selected == hsmReal}
	var err error
	if p.real {
		if p.module, p.token, err = s.modulePath(); err != nil {
			return nil, err
		}
		if p.token.Label == "" && p.token.Serial == "" {
			return nil, errors.New("enter the token label (Find tokens lists them)")
		}
	}
	if script.Info().Needs(ceremony.InputPrevious) && p.previous == "" {
		return nil, fmt.Errorf("a %s ceremony continues an earlier one on the same key hierarchy: enter its folder", script.Type)
	}
	p.importJob, p.wrappingKey, p.azureKEK = strings.TrimSpace(s.ImportJob.Text), strings.TrimSpace(s.WrappingKey.Text), strings.TrimSpace(s.AzureKEK.Text)
	p.transfer, p.target, p.csr = strings.TrimSpace(s.Transfer.Text), strings.TrimSpace(s.Target.Text), strings.TrimSpace(s.CSR.Text)
	p.revoked = strings.TrimSpace(s.Revoked.Text)
	p.issued, p.outside = strings.TrimSpace(s.Issued.Text), strings.TrimSpace(s.Outside.Text)
	if v := strings.TrimSpace(s.IssuedAt.Text); v != "" {
		if p.issuedAt, err = time.Parse(time.RFC3339, v); err != nil {
			return nil, fmt.Errorf("issued at %q: write it as 2026-11-25T09:30:00Z", v)
		}
	}
	if script.Info().Needs(ceremony.InputTarget) && p.target == "" {
		return nil, errors.New("a migration moves keys to a second token: enter its label")
	}
	if err := s.sheets(p, script); err != nil {
		return nil, err
	}
	p.scripts = []*ceremony.Script{script}
	return p, nil
}

// script is the script of the chosen template: an example script, the quorum example for
// M-of-N, or the file named.
func (s *Start) script() (*ceremony.Script, error) {
	switch s.Template.Selected {
	case TemplateQuorum:
		m, _ := strconv.Atoi(s.Threshold.Selected)
		n, _ := strconv.Atoi(s.Total.Selected)
		script, _, err := ceremony.QuorumExamples(s.a.Examples["root-quorum"], s.a.Examples["restore"], m, n)
		return script, err
	case TemplateFile:
		return ceremony.LoadScript(strings.TrimSpace(s.ScriptFile.Text))
	}
	info, ok := s.templates[s.Template.Selected]
	if !ok {
		return nil, fmt.Errorf("%q has no script in this version", s.Template.Selected)
	}
	script, err := ceremony.ParseScript(info.Example+"-ceremony.yaml", s.a.Examples[info.Example])
	if err == nil && script.Export != nil && (s.Provider.Selected != script.Export.Provider || s.Method.Text != "") {
		script, err = script.WithExport(s.Provider.Selected, strings.TrimSpace(s.Method.Text))
	}
	return script, err
}

// needsMore reports whether a ceremony type takes inputs from the accordion (beyond the
// earlier ceremony and the share sheets' folder).
func needsMore(info ceremony.TypeInfo) bool {
	for _, in := range info.Inputs {
		if in != ceremony.InputPrevious && in != ceremony.InputSharesDir {
			return true
		}
	}
	return false
}

func (s *Start) review() {
	p, err := s.plan()
	if err == nil {
		err = appTextAll(p.scripts) // theme_text.go: names the app cannot draw are refused now
	}
	if err != nil {
		s.a.showError("the ceremony cannot start", err)
		return
	}
	s.a.Review = newReview(s.a, p)
	s.a.show(s.a.Review.Content)
}

func (s *Start) refreshRecent() {
	s.recent = s.a.Fyne.Preferences().StringList(recentKey)
	s.Recent.Refresh()
}
