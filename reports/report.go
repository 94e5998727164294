package reports

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/boombuler/barcode/qr"
	"github.com/go-pdf/fpdf/contrib/barcode"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// RenderReport renders the auditor's report of the ceremony in dir, which must verify. The
// report holds only what the transcript holds (and the script, which the transcript binds by
// hash), so anyone can re-render it and compare: the same transcript gives the same bytes.
func RenderReport(dir string) ([]byte, error) {
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		return nil, fmt.Errorf("the ceremony does not verify, so no report is made: %w", err)
	}
	return reportFrom(res, dir)
}

// reportFrom renders the report of a ceremony already verified.
func reportFrom(res *transcript.Result, dir string) ([]byte, error) {
	c, err := Read(res)
	if err != nil {
		return nil, err
	}
	script, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(c.ScriptFile)))
	if err != nil {
		return nil, fmt.Errorf("read the ceremony's script: %w", err)
	}
	return renderReport(c, string(script))
}

// Renderer names the report renderer's version; every report carries it in its PDF
// keywords, and every bundle in its signed manifest. Change it whenever the same transcript
// would render to other bytes: a verifier renders a bundle's report again only when it runs
// the version that made it, and checks every other by its hash in the manifest.
const Renderer = "keyrite-report/3"

// rendererVersion is Renderer; a test changes it, with reportTitle, to stand for a later
// Keyrite whose template changed.
var rendererVersion = Renderer

// reportTitle heads every report.
var reportTitle = "Key ceremony report"

type page struct {
	*doc
	width, left float64
}

func renderReport(c *Ceremony, script string) ([]byte, error) {
	pdf := newDocument(fmt.Sprintf("%s — %s", reportTitle, c.ID), c.Closed)
	pdf.SetKeywords(rendererVersion, false)
	pdf.AliasNbPages("{nb}")
	p := &page{doc: pdf}
	w, _ := pdf.GetPageSize()
	l, _, r, _ := pdf.GetMargins()
	p.width, p.left = w-l-r, l
	pdf.SetHeaderFuncMode(func() {
		pdf.SetFont(sans, "", 8)
		pdf.SetTextColor(90, 90, 90)
		pdf.CellFormat(p.width/2, 5, "Keyrite key ceremony report", "", 0, "L", false, 0, "")
		pdf.CellFormat(p.width/2, 5, fmt.Sprintf("Ceremony %s · seal %s", c.ID, c.SealShort), "", 1, "R", false, 0, "")
		pdf.Line(l, pdf.GetY()+1, l+p.width, pdf.GetY()+1)
		pdf.SetTextColor(0, 0, 0)
		pdf.Ln(4)
	}, false)
	pdf.SetFooterFunc(func() {
		pdf.SetY(-14)
		pdf.SetFont(sans, "", 8)
		pdf.SetTextColor(90, 90, 90)
		pdf.CellFormat(p.width/2, 5, fmt.Sprintf("%s · seal %s", c.ID, c.SealShort), "", 0, "L", false, 0, "")
		pdf.CellFormat(p.width/2, 5, fmt.Sprintf("page %d of {nb}", pdf.PageNo()), "", 0, "R", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})

	p.cover(c)
	p.section("1. Script")
	p.para(fmt.Sprintf("The ceremony followed the script %s, SHA-256 %s. Its full text is reproduced in the appendix.", c.ScriptFile, c.ScriptSHA256))
	p.participants(c)
	p.equipment(c)
	p.steps(c)
	p.deviations(c)
	p.keys(c)
	p.certificates(c)
	p.outputs(c)
	p.seal(c)
	p.signatures(c)
	p.appendix(script)
	if err := pdf.Error(); err != nil {
		return nil, err
	}
	return output(pdf)
}

func (p *page) section(title string) {
	if p.GetY() > 240 {
		p.AddPage()
	}
	p.Ln(4)
	p.SetFont(sans, "B", 13)
	p.CellFormat(p.width, 8, title, "", 1, "L", false, 0, "")
	p.SetFont(sans, "", 10)
}

func (p *page) para(s string) {
	p.SetFont(sans, "", 10)
	p.MultiCell(p.width, 5, s, "", "L", false)
	p.Ln(1)
}

func (p *page) row(label, value string) {
	if p.GetY() > 262 { // keep a label with the start of its value
		p.AddPage()
	}
	p.SetFont(sans, "B", 9.5)
	x, y := p.GetXY()
	page := p.PageNo()
	p.MultiCell(48, 5, label, "", "L", false)
	y1 := p.GetY()
	p.SetXY(x+48, y)
	p.SetFont(sans, "", 9.5)
	p.MultiCell(p.width-48, 5, value, "", "L", false)
	if p.PageNo() == page && p.GetY() < y1 {
		p.SetY(y1)
	}
}

func (p *page) mono(s string, size float64) {
	p.SetFont(mono, "", size)
	p.MultiCell(p.width, size*0.45, s, "", "L", false)
	p.SetFont(sans, "", 10)
}

func (p *page) cover(c *Ceremony) {
	p.AddPage()
	p.Ln(20)
	p.SetFont(sans, "B", 24)
	p.MultiCell(p.width, 11, reportTitle, "", "L", false)
	p.SetFont(sans, "", 15)
	title := c.Title
	if title == "" {
		title = c.ID
	}
	p.MultiCell(p.width, 8, title, "", "L", false)
	p.Ln(8)
	if c.Rehearsal {
		p.SetFillColor(255, 240, 200)
		p.SetFont(sans, "B", 11)
		p.MultiCell(p.width, 7, "REHEARSAL — this ceremony ran on a rehearsal token (SoftHSM2). It proves the procedure, not a production key.", "", "L", true)
		p.Ln(4)
	}
	for _, r := range [][2]string{
		{"Ceremony", c.ID},
		{"Type", c.Type},
		{"Organisation", c.Organization},
		{"Location", c.Location},
		{"Opened", c.Opened.UTC().Format("2006-01-02 15:04:05 UTC")},
		{"Closed", c.Closed.UTC().Format("2006-01-02 15:04:05 UTC")},
		{"Result", c.Result},
		{"Transcript", fmt.Sprintf("%d records, sealed; seal head %s", c.Records, c.SealShort)},
		{"Root public key SHA-256", fingerprintGrouped(c.RootSPKI)},
	} {
		p.row(r[0], r[1])
	}
	if c.Previous != nil {
		p.row("Continues", "ceremony "+c.Previous.CeremonyID+", whose seal the transcript quotes")
	}
	p.Ln(6)
	p.para("This report is rendered from the sealed transcript alone. Section 10 says how to check the transcript and this report independently, without Keyrite.")
}

func fingerprintGrouped(hexs string) string {
	var b []byte
	fmt.Sscanf(hexs, "%x", &b)
	return fingerprint.Grouped(b)
}

func (p *page) participants(c *Ceremony) {
	p.section("2. Participants")
	for _, r := range c.Participants {
		v := r.Role
		if r.Bag != "" {
			v += " (share in bag " + r.Bag + ")"
		}
		p.row(r.Name, v)
	}
}

func (p *page) equipment(c *Ceremony) {
	p.section("3. Equipment")
	if tok, ok := c.HSM["token"].(map[string]any); ok {
		p.row("HSM token", fmt.Sprintf("%s — %s %s, serial %s, firmware %s", str(tok, "label"), str(tok, "manufacturer"), str(tok, "model"), str(tok, "serial"), str(tok, "firmware")))
	}
	if mod, ok := c.HSM["module"].(map[string]any); ok {
		p.row("PKCS#11 module", fmt.Sprintf("%s (%s %s), %s", str(c.HSM, "module_path"), str(mod, "manufacturer"), str(mod, "version"), str(mod, "description")))
	}
	p.row("Module SHA-256", c.ModuleSHA256)
	p.row("Keyrite", fmt.Sprintf("version %s, revision %s, %s", c.Keyrite.Version, orDash(c.Keyrite.Revision), c.Keyrite.Go))
	p.row("Keyrite binary SHA-256", orDash(c.Keyrite.GoSHA256))
	for _, k := range []string{"hsm", "laptop"} {
		if v := str(c.Equipment, k); v != "" {
			p.row(strings.ToUpper(k[:1])+k[1:]+" (script)", v)
		}
	}
	if bags := str(c.Equipment, "bags"); bags != "" && bags != "null" {
		p.row("Tamper-evident bags", strings.Trim(strings.ReplaceAll(bags, `"`, ""), "[]"))
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (p *page) steps(c *Ceremony) {
	p.section("4. Steps")
	for i, s := range c.Steps {
		if p.GetY() > 250 {
			p.AddPage()
		}
		p.SetFont(sans, "B", 10.5)
		p.MultiCell(p.width, 6, fmt.Sprintf("4.%d  %s — %s", i+1, s.Title, s.Result), "", "L", false)
		p.SetFont(sans, "", 9)
		line := fmt.Sprintf("%s to %s UTC · acted: %s", s.Started.UTC().Format("15:04:05"), s.Ended.UTC().Format("15:04:05"), s.Actor)
		if s.Witness != "" {
			line += " · witnessed by " + s.Witness
		}
		p.MultiCell(p.width, 4.5, line, "", "L", false)
		if s.Error != "" {
			p.SetTextColor(160, 0, 0)
			p.MultiCell(p.width, 4.5, "Failure: "+s.Error, "", "L", false)
			p.SetTextColor(0, 0, 0)
		}
		p.SetFont(sans, "", 8)
		p.SetTextColor(60, 60, 60)
		for _, e := range s.Events {
			text := fmt.Sprintf("#%d %s  %s", e.Seq, e.Time.UTC().Format("15:04:05"), e.Name)
			if e.Summary != "" {
				text += ": " + e.Summary
			}
			p.SetX(p.left + 4)
			p.MultiCell(p.width-4, 3.8, text, "", "L", false)
		}
		p.SetTextColor(0, 0, 0)
		p.Ln(2)
	}
}

func (p *page) deviations(c *Ceremony) {
	p.section("5. Deviations")
	if len(c.Deviations) == 0 {
		p.para("None: every step ran as scripted.")
		return
	}
	p.para("Departures from the script, as recorded. None is hidden; each is part of the sealed transcript.")
	for _, d := range c.Deviations {
		p.SetFont(sans, "", 9)
		p.MultiCell(p.width, 4.5, fmt.Sprintf("#%d %s [%s] %s: %s", d.Seq, d.Time.UTC().Format("15:04:05"), d.Step, d.Name, d.Summary), "", "L", false)
	}
}

func (p *page) keys(c *Ceremony) {
	p.section("6. Keys and key check values")
	for _, k := range c.Keys {
		p.SetFont(sans, "B", 10)
		verb := "generated in the HSM"
		if k.Event == "key.restored" {
			verb = "restored into the HSM from its backup"
		}
		p.MultiCell(p.width, 5.5, fmt.Sprintf("%s (%s, %s), %s", k.Label, k.Algorithm, k.Purpose, verb), "", "L", false)
		p.row("SPKI SHA-256", fingerprintGrouped(k.SPKI))
		p.row("Read aloud", k.Words)
		var attrs []string
		for a, v := range k.Attributes {
			attrs = append(attrs, fmt.Sprintf("%s=%v", strings.TrimPrefix(a, "CKA_"), v))
		}
		sort.Strings(attrs)
		p.row("Attributes (read back)", strings.Join(attrs, ", "))
		p.row("Token serial", k.Token)
		p.Ln(2)
	}
	for _, k := range c.KCVs {
		p.row("KCV: "+k.What, fmt.Sprintf("%s (%s of a zero block)", k.Value, k.Method))
	}
}

func (p *page) certificates(c *Ceremony) {
	p.section("7. Certificates")
	if len(c.Certificates) == 0 {
		p.para("None issued in this ceremony.")
	}
	for _, ct := range c.Certificates {
		p.SetFont(sans, "B", 10)
		p.MultiCell(p.width, 5.5, ct.Name, "", "L", false)
		p.row("Subject", ct.Subject)
		p.row("Issuer", ct.Issuer)
		p.row("Serial", ct.Serial)
		p.row("Valid", ct.NotBefore+" to "+ct.NotAfter)
		p.row("Signature", ct.Algorithm)
		p.row("Certificate SHA-256", fingerprintGrouped(ct.SHA256))
		p.row("SPKI SHA-256", fingerprintGrouped(ct.SPKI))
		p.Ln(2)
	}
}

func (p *page) outputs(c *Ceremony) {
	p.section("8. Files")
	p.para("Every file the ceremony wrote, with the SHA-256 the transcript recorded:")
	for _, o := range c.Outputs {
		p.SetFont(mono, "", 7.5)
		p.MultiCell(p.width, 3.8, fmt.Sprintf("%s  %s (%d bytes)", o.SHA256, o.File, o.Size), "", "L", false)
	}
	p.SetFont(sans, "", 10)
}

func (p *page) seal(c *Ceremony) {
	p.section("9. Transcript seal")
	p.para("The seal is a signed checkpoint over the transcript's last record. Read the short hash on every page aloud and compare it with the screen at the close.")
	y := p.GetY()
	if y > 200 {
		p.AddPage()
		y = p.GetY()
	}
	key := barcode.RegisterQR(p.Fpdf, c.Seal, qr.M, qr.Unicode)
	barcode.Barcode(p.Fpdf, key, p.left+p.width-55, y, 55, 55, false)
	p.SetXY(p.left, y)
	p.SetFont(mono, "", 7.5)
	p.MultiCell(p.width-60, 3.8, c.Seal, "", "L", false)
	if p.GetY() < y+58 {
		p.SetY(y + 58)
	}
	p.section("10. Checking this ceremony independently")
	p.para("1. With Keyrite, or its pure-Go verifier built anywhere with CGO_ENABLED=0:  keyrite-verify --root " + c.RootSPKI + " DIR")
	p.para("2. With OpenSSL only: the first four lines of transcript.seal are the signed checkpoint; the last field of its last line is base64 of a 4-byte key ID and the DER signature. openssl verify -CAfile root.pem transcript-signer.pem, then openssl dgst -sha384 -verify (the signer's public key) -signature (the signature) over the checkpoint. The checkpoint's third line is the number of lines of transcript.jsonl, its fourth the base64 SHA-256 of the last line; each line's \"prev\" is the SHA-256 of the line before. The format is specified in docs/transcript.md.")
	p.para("3. Re-render this report from the transcript (keyrite report DIR) and compare the bytes.")
}

func (p *page) signatures(c *Ceremony) {
	p.AddPage()
	p.section("11. Signatures")
	p.para("By signing, each participant confirms that the ceremony took place as this report describes.")
	p.Ln(2)
	for _, r := range c.Participants {
		if p.GetY() > 255 {
			p.AddPage()
		}
		p.SetFont(sans, "B", 10)
		p.CellFormat(p.width, 5, r.Name+" — "+r.Role, "", 1, "L", false, 0, "")
		p.SetFont(sans, "", 8)
		y := p.GetY() + 9
		p.Line(p.left, y, p.left+95, y)
		p.Line(p.left+105, y, p.left+p.width, y)
		p.SetY(y + 1)
		p.CellFormat(105, 4, "Signature", "", 0, "L", false, 0, "")
		p.CellFormat(p.width-105, 4, "Date", "", 1, "L", false, 0, "")
		p.Ln(4)
	}
}

func (p *page) appendix(script string) {
	p.AddPage()
	p.section("Appendix: the script")
	p.mono(script, 7.5)
}
