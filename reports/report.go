package reports

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	gobarcode "github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
	"github.com/go-pdf/fpdf/contrib/barcode"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/reports/fonts"
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
const Renderer = "keyrite-report/8"

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
	// The seal's QR code depends on the seal alone: it is encoded (choosing its mask is most
	// of a report's QR cost) on another core while the sections before it are laid out.
	sealQR := make(chan qrCode, 1)
	go func() {
		code, err := qr.Encode(c.Seal, qr.M, qr.Unicode)
		sealQR <- qrCode{code, err}
	}()
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
	p.para(fmt.Sprintf("The ceremony followed the script %s, SHA-256 %s. Its full text is reproduced in appendix B.", c.ScriptFile, c.ScriptSHA256))
	p.participants(c)
	p.equipment(c)
	p.bags(c)
	p.inventories(c)
	p.steps(c)
	p.deviations(c)
	p.keys(c)
	p.certificates(c)
	p.outputs(c)
	p.seal(c, <-sealQR)
	p.checking(c)
	p.signatures(c)
	p.records(c)
	p.appendix(script)
	if err := pdf.Error(); err != nil {
		return nil, err
	}
	return output(pdf)
}

// Layout: text is drawn in boxes whose height is measured before they are drawn, so that a
// table row, a key-value row, a step's heading with its boxes, or a signature block is never
// split across a page break.

const (
	labelW = 48  // width of the label column of key-value rows
	lineH  = 4.6 // line height of body text
)

// box is text to draw in a column: style, size (points) and alignment.
type box struct {
	text  string
	w     float64
	style fonts.Style
	size  float64
	align string
}

func (p *page) setStyle(st fonts.Style, size float64) {
	p.SetFont(styles[st].family, styles[st].style, size)
}

// laid is a box broken into lines.
type laid struct {
	box
	lines []line
}

// lay breaks boxes into lines once, for measuring and drawing; h is the tallest box's height.
func (p *page) lay(lh float64, boxes ...box) (out []laid, h float64) {
	out = make([]laid, len(boxes))
	for i, b := range boxes {
		p.setStyle(b.style, b.size)
		out[i] = laid{b, p.layout(b.text, b.w)}
		h = max(h, float64(len(out[i].lines))*lh)
	}
	return out, h
}

// height is the height of a box drawn with lines lh high.
func (p *page) height(b box, lh float64) float64 {
	_, h := p.lay(lh, b)
	return h
}

// draw draws laid boxes side by side from (x, y) without breaking the page; the caller made
// room.
func (p *page) draw(ls []laid, x, y, lh float64) {
	for _, l := range ls {
		p.setStyle(l.style, l.size)
		for i, ln := range l.lines {
			p.drawLine(ln, x, y+float64(i)*lh, l.w, lh, l.align)
		}
		x += l.w
	}
}

// drawBox draws b at (x, y) without breaking the page; the caller made room.
func (p *page) drawBox(b box, x, y, lh float64) {
	ls, _ := p.lay(lh, b)
	p.draw(ls, x, y, lh)
}

// row draws boxes side by side as one row that is never split across pages; it returns the
// row's height.
func (p *page) row(lh float64, boxes ...box) float64 {
	ls, h := p.lay(lh, boxes...)
	p.keep(h)
	y := p.GetY()
	p.draw(ls, p.left, y, lh)
	p.SetXY(p.left, y+h)
	return h
}

// keep starts a new page unless h millimetres fit below the current position.
func (p *page) keep(h float64) {
	if !p.fits(h) {
		p.AddPage()
	}
}

func (p *page) section(title string) {
	p.keep(40) // a heading never ends a page
	p.Ln(4)
	p.row(8, box{title, p.width, fonts.SansBold, 13, "L"})
	p.Ln(1)
}

func (p *page) sub(title string) {
	p.keep(20)
	p.Ln(1)
	p.row(5.5, box{title, p.width, fonts.SansBold, 10.5, "L"})
}

func (p *page) para(s string) {
	p.setStyle(fonts.Sans, 10)
	p.MultiCell(p.width, 5, s, "", "L", false)
	p.Ln(1)
}

// kv is a label and its value, side by side, kept together.
func (p *page) kv(label, value string) {
	p.row(lineH, box{label, labelW, fonts.SansBold, 9.5, "L"}, box{value, p.width - labelW, fonts.Sans, 9.5, "L"})
}

// kvMono is kv with the value in the monospace font (hashes, serials).
func (p *page) kvMono(label, value string) {
	p.row(lineH, box{label, labelW, fonts.SansBold, 9.5, "L"}, box{value, p.width - labelW, fonts.Mono, 9, "L"})
}

// table draws a header and rows; a row is never split across pages and the header is
// repeated on every page the table continues on.
func (p *page) table(widths []float64, header []string, rows [][]string, monoCol int) {
	const lh = 4.2
	head := func() {
		var bs []box
		for i, h := range header {
			bs = append(bs, box{h, widths[i], fonts.SansBold, 8.5, "L"})
		}
		p.row(lh, bs...)
		y := p.GetY()
		p.Line(p.left, y+0.4, p.left+p.width, y+0.4)
		p.SetY(y + 1.2)
	}
	p.keep(3 * lh)
	head()
	page := p.PageNo()
	bs := make([]box, len(header))
	for _, r := range rows {
		for i, cell := range r {
			st := fonts.Sans
			if i == monoCol {
				st = fonts.Mono
			}
			bs[i] = box{cell, widths[i], st, 8.5, "L"}
		}
		ls, h := p.lay(lh, bs...)
		p.keep(h + 0.8)
		if p.PageNo() != page {
			head()
			page = p.PageNo()
		}
		y := p.GetY()
		p.draw(ls, p.left, y, lh)
		p.SetXY(p.left, y+h+0.8)
	}
	p.Ln(2)
}

func (p *page) cover(c *Ceremony) {
	p.AddPage()
	p.Ln(20)
	p.row(11, box{reportTitle, p.width, fonts.SansBold, 24, "L"})
	title := c.Title
	if title == "" {
		title = c.ID
	}
	p.row(8, box{title, p.width, fonts.Sans, 15, "L"})
	p.Ln(8)
	if c.Rehearsal {
		p.SetFillColor(255, 240, 200)
		p.setStyle(fonts.SansBold, 11)
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
		{"Transcript", fmt.Sprintf("%d records, sealed", c.Records)},
		{"Seal (short hash)", c.SealShort},
		{"Root public key SHA-256", fingerprintGrouped(c.RootSPKI)},
		{"Keyrite", build(c.Keyrite)},
	} {
		p.kv(r[0], r[1])
	}
	if c.Previous != nil {
		p.kv("Continues", "ceremony "+c.Previous.CeremonyID+", whose seal the transcript quotes")
	}
	p.Ln(6)
	p.para("This report is rendered from the sealed transcript alone. Section 12 says how to check the transcript and this report independently, without trusting this copy of Keyrite. Read the seal's short hash, printed on every page, aloud and compare it with the screen at the close.")
}

// build names the Keyrite that ran the ceremony.
func build(b transcript.Build) string {
	s := "version " + b.Version
	if b.Revision != "" {
		s += ", revision " + b.Revision
	} else {
		s += ", revision not recorded"
	}
	return s + ", " + b.Go
}

func fingerprintGrouped(hexs string) string {
	var b []byte
	fmt.Sscanf(hexs, "%x", &b)
	return fingerprint.Grouped(b)
}

func (p *page) participants(c *Ceremony) {
	p.section("2. Participants")
	var rows [][]string
	for _, r := range c.Participants {
		present := "not recorded"
		if !r.Present.IsZero() {
			present = "present, " + clock(r.Present) + " UTC"
		}
		rows = append(rows, []string{r.Name, r.Role, orDash(r.Bag), present})
	}
	p.table([]float64{70, 34, 34, p.width - 138}, []string{"Name", "Role", "Share's bag", "Roll call"}, rows, -1)
}

func (p *page) equipment(c *Ceremony) {
	p.section("3. Equipment")
	for _, h := range c.HSMs {
		what := "HSM token"
		if h.Role == "target" {
			what = "Target HSM token"
		}
		t := h.Token
		p.kv(what, fmt.Sprintf("%s — %s %s, serial %s, firmware %s", t.Label, t.Manufacturer, t.Model, t.Serial, t.Firmware))
		if h.Module != nil {
			p.kv("PKCS#11 module", fmt.Sprintf("%s (%s %s), %s", h.ModulePath, h.Module.Manufacturer, h.Module.Version, h.Module.Description))
		}
	}
	p.kvMono("Module SHA-256", orDash(c.ModuleSHA256))
	p.kv("Keyrite", build(c.Keyrite))
	p.kvMono("Keyrite binary SHA-256", orDash(c.Keyrite.GoSHA256))
	if c.Equipment.HSM != "" {
		p.kv("HSM, as the script names it", c.Equipment.HSM)
	}
	if c.Equipment.Laptop != "" {
		p.kv("Laptop, as the script names it", c.Equipment.Laptop)
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (p *page) bags(c *Ceremony) {
	p.section("4. Tamper-evident bags")
	if len(c.Bags) == 0 {
		p.para("The script names no tamper-evident bags.")
		return
	}
	var rows [][]string
	for _, b := range c.Bags {
		state := "NOT recorded as sealed"
		if b.Sealed {
			state = fmt.Sprintf("sealed in front of %s at %s UTC (record #%d)", b.Witness, clock(b.Time), b.Seq)
		}
		if b.Disputed != "" {
			state += "; " + b.Disputed
		}
		rows = append(rows, []string{b.Number, b.Holds, state})
	}
	p.table([]float64{34, 60, p.width - 94}, []string{"Bag", "Holds", "Sealed"}, rows, -1)
}

func (p *page) inventories(c *Ceremony) {
	p.section("5. Token inventories")
	if len(c.Inventories) == 0 {
		p.para("No token inventory is recorded.")
	}
	for _, inv := range c.Inventories {
		who := "token"
		if inv.Role != "" {
			who = inv.Role + " token"
		}
		p.sub(fmt.Sprintf("%s the ceremony, %s %s (record #%d)", capital(inv.When), who, inv.Token, inv.Seq))
		switch {
		case inv.Objects == nil:
			p.para(fmt.Sprintf("%d %s; this record lists only their number.", inv.Count, plural(inv.Count, "object", "objects")))
		case len(inv.Objects) == 0:
			p.para("No objects.")
		default:
			var rows [][]string
			for _, o := range inv.Objects {
				rows = append(rows, []string{orDash(o.Label), o.Class, orDash(o.KeyType), orDash(o.ID)})
			}
			p.table([]float64{62, 30, 22, p.width - 114}, []string{"Label", "Class", "Key type", "ID"}, rows, 3)
		}
		if inv.Unreadable > 0 {
			p.para(fmt.Sprintf("%d %s could not be read.", inv.Unreadable, plural(inv.Unreadable, "object", "objects")))
		}
	}
}

// initials draws the actor's and the witness's initials boxes at the right of the line at y.
func (p *page) initials(y float64, witness bool) {
	x := p.left + p.width - 40
	for _, who := range []string{"actor", "witness"} {
		if who == "witness" && !witness {
			break
		}
		p.Rect(x, y, 18, 9, "D")
		p.setStyle(fonts.Sans, 6.5)
		p.SetTextColor(110, 110, 110)
		p.SetXY(x, y+9)
		p.Fpdf.CellFormat(18, 3, who+" initials", "", 0, "C", false, 0, "")
		p.SetTextColor(0, 0, 0)
		x += 22
	}
}

func (p *page) steps(c *Ceremony) {
	p.section("6. Steps")
	p.para("Each step as it happened: its times, who performed it, who witnessed it, and what the transcript records, one sentence per record (appendix A lists the raw records). The actor and the witness initial each step in the boxes.")
	const evLH = 3.9
	for i, s := range c.Steps {
		head := box{fmt.Sprintf("6.%d  %s — %s", i+1, s.Title, s.Result), p.width - 44, fonts.SansBold, 10, "L"}
		meta := fmt.Sprintf("%s to %s UTC. Performed by %s.", clock(s.Started), clock(s.Ended), s.Actor)
		if s.Ended.IsZero() {
			meta = fmt.Sprintf("Started %s UTC, no recorded end. Performed by %s.", clock(s.Started), s.Actor)
		}
		switch {
		case s.Witness != "":
			meta += " Witnessed by " + s.Witness + "."
		case s.WitnessRequired:
			meta += " A witness was required; none is recorded."
		default:
			meta += " No witness required by the script."
		}
		mbox := box{meta, p.width - 44, fonts.Sans, 8.5, "L"}
		hh := max(p.height(head, 5)+p.height(mbox, evLH), 14)
		var evs [][2]box
		evh := 0.0
		for _, e := range s.Events {
			b := [2]box{{clock(e.Time), 16, fonts.Mono, 7.5, "L"}, {fmt.Sprintf("%c%s (#%d)", lrm, e.Sentence, e.Seq), p.width - 20, fonts.Sans, 8.5, "L"}}
			evs = append(evs, b)
			evh += p.height(b[1], evLH)
		}
		if p.fits(hh + evh + 3) {
			// the whole step on this page
		} else if hh+evh+3 < p.bottom()-30 {
			p.AddPage()
		} else {
			p.keep(hh + 2*evLH)
		}
		y := p.GetY()
		p.drawBox(head, p.left, y, 5)
		p.drawBox(mbox, p.left, y+p.height(head, 5), evLH)
		p.initials(y, s.WitnessRequired || s.Witness != "")
		p.SetXY(p.left, y+hh)
		if s.Error != "" {
			p.SetTextColor(160, 0, 0)
			p.row(evLH, box{"Failure: " + s.Error, p.width, fonts.Sans, 8.5, "L"})
			p.SetTextColor(0, 0, 0)
		}
		p.SetTextColor(50, 50, 50)
		for _, b := range evs {
			p.SetX(p.left + 4)
			h := p.height(b[1], evLH)
			if !p.fits(h) {
				p.AddPage()
			}
			y := p.GetY()
			p.drawBox(b[0], p.left+4, y, evLH)
			p.drawBox(b[1], p.left+20, y, evLH)
			p.SetXY(p.left, y+h)
		}
		p.SetTextColor(0, 0, 0)
		p.Ln(3)
	}
}

func (p *page) deviations(c *Ceremony) {
	p.section("7. Deviations and exceptions")
	if len(c.Deviations) == 0 {
		p.para("Deviations: none; no step failed and nothing was declined, disputed, resumed or cleaned up.")
	} else {
		p.para("Departures from the script, as recorded. None is hidden; each is part of the sealed transcript.")
		var rows [][]string
		for _, d := range c.Deviations {
			rows = append(rows, []string{fmt.Sprintf("#%d", d.Seq), clock(d.Time), d.Step, string(lrm) + d.Sentence})
		}
		p.table([]float64{12, 16, 36, p.width - 64}, []string{"Record", "Time", "Step", "What happened"}, rows, -1)
	}
	if len(c.Exceptions) == 0 {
		p.para("Exceptions: none; every participant is recorded present, every step that required a witness names one, and every bag is recorded sealed.")
		return
	}
	p.para("Exceptions: what the script asked for and the transcript does not record.")
	for _, e := range c.Exceptions {
		p.row(lineH, box{"•", 5, fonts.Sans, 9.5, "L"}, box{e, p.width - 5, fonts.Sans, 9.5, "L"})
	}
}

func (p *page) keys(c *Ceremony) {
	p.section("8. Keys and key check values")
	for _, k := range c.Keys {
		verb := map[string]string{"key.restored": "restored into the HSM from its backup", "key.imported": "imported into the HSM"}[k.Event]
		if verb == "" {
			verb = "generated in the HSM"
		}
		title := fmt.Sprintf("%s (%s", k.Label, k.Algorithm)
		if k.Purpose != "" {
			title += ", " + k.Purpose
		}
		title += "), " + verb
		if k.Destroyed {
			title = "DESTROYED — " + title
		}
		p.keep(6 * lineH)
		p.sub(title)
		p.kv("State at the close", k.State)
		if k.SPKI != "" {
			p.kvMono("SPKI SHA-256", fingerprintGrouped(k.SPKI))
			p.kv("Read aloud", k.Words)
		}
		if len(k.Attributes) > 0 {
			p.kv("Attributes (read back)", attributes(k.Attributes))
		}
		p.kvMono("Token serial", orDash(k.Token))
		p.kv("Recorded", fmt.Sprintf("record #%d", k.Seq))
		p.Ln(2)
	}
	for _, k := range c.KCVs {
		p.kv("KCV: "+k.What, fmt.Sprintf("%s (%s of a zero block)", k.Value, k.Method))
	}
}

func (p *page) certificates(c *Ceremony) {
	p.section("9. Certificates")
	if len(c.Certificates) == 0 {
		p.para("None issued in this ceremony.")
	}
	for _, ct := range c.Certificates {
		p.keep(8 * lineH)
		p.sub(ct.Name)
		p.kv("Subject", ct.Subject)
		p.kv("Issuer", ct.Issuer)
		p.kvMono("Serial", ct.Serial)
		p.kv("Valid", ct.NotBefore+" to "+ct.NotAfter)
		p.kv("Signature", ct.Algorithm)
		p.kvMono("Certificate SHA-256", fingerprintGrouped(ct.SHA256))
		p.kvMono("SPKI SHA-256", fingerprintGrouped(ct.SPKI))
		p.Ln(2)
	}
}

func (p *page) outputs(c *Ceremony) {
	p.section("10. Files")
	p.para("Every file the ceremony wrote, with the size and SHA-256 the transcript recorded:")
	var rows [][]string
	for _, o := range c.Outputs {
		rows = append(rows, []string{o.File, bytesOf(o.Size), o.SHA256})
	}
	p.table([]float64{58, 22, p.width - 80}, []string{"File", "Size", "SHA-256"}, rows, 2)
}

// qrCode is a QR code encoded ahead of the page that shows it, or why it could not be.
type qrCode struct {
	code gobarcode.Barcode
	err  error
}

// seal is section 11: the seal's text beside sealQR, its QR code (qr.Encode(c.Seal, qr.M,
// qr.Unicode), registered as fpdf's barcode.RegisterQR would).
func (p *page) seal(c *Ceremony, sealQR qrCode) {
	p.section("11. Transcript seal")
	p.para("The seal is a signed checkpoint over the transcript's last record. Its short hash, " + c.SealShort + ", is printed on every page; read it aloud and compare it with the screen at the close.")
	p.keep(60)
	y := p.GetY()
	key := ""
	if sealQR.err != nil {
		p.SetError(sealQR.err)
	} else {
		key = barcode.Register(sealQR.code)
	}
	barcode.Barcode(p.Fpdf, key, p.left+p.width-55, y, 55, 55, false)
	p.drawBox(box{c.Seal, p.width - 60, fonts.Mono, 7.5, "L"}, p.left, y, 3.8)
	p.SetXY(p.left, y+58)
}

// commandBlocks are the commands of section 12, run in the ceremony folder, in blocks of at
// most n lines that each fit on a page: the files' hashes are checked by one sha256sum
// here-document per block. They are printed in the monospace font with ASCII hyphens and one
// command per line, so that text copied from the PDF runs as printed (a test runs it).
func commandBlocks(c *Ceremony, n int) [][]string {
	const check = "sha256sum --check --strict <<'EOF'"
	block := []string{"keyrite-verify --root " + c.RootSPKI + " .", "openssl verify -CAfile root.pem transcript-signer.pem", check}
	var blocks [][]string
	for _, o := range c.Outputs {
		if len(block)+2 > n {
			blocks = append(blocks, append(block, "EOF"))
			block = []string{check}
		}
		block = append(block, "SHA256 ("+o.File+") = "+o.SHA256) // the BSD form: single spaces survive copying
	}
	return append(blocks, append(block, "EOF"))
}

func (p *page) checking(c *Ceremony) {
	p.section("12. Checking this ceremony independently")
	p.para("In a shell, in the ceremony folder (or the folder a bundle unpacks to), these commands check the transcript, its seal and every file with Keyrite's pure-Go verifier (go install ./cmd/keyrite-verify, built with CGO_ENABLED=0 anywhere), then with OpenSSL and coreutils alone. Copy them from this PDF as they are.")
	const lh = 3.6
	for _, block := range commandBlocks(c, int((p.bottom()-40)/lh)) {
		h := float64(len(block))*lh + 3
		p.keep(h + 2)
		p.SetFillColor(245, 245, 245)
		y := p.GetY()
		p.Rect(p.left, y, p.width, h, "F")
		p.setStyle(fonts.Mono, 7)
		for i, l := range block {
			p.SetXY(p.left+1.5, y+1.5+float64(i)*lh)
			p.Fpdf.CellFormat(p.width-3, lh, l, "", 0, "L", false, 0, "")
		}
		p.SetXY(p.left, y+h+2)
	}
	p.para("Without Keyrite, the seal can be checked with OpenSSL: the first four lines of transcript.seal are the signed checkpoint; the last field of its last line is base64 of a 4-byte key ID and the DER signature; openssl dgst -sha384 -verify (the signer's public key) -signature (the signature) checks it over the checkpoint. The checkpoint's third line is the number of lines of transcript.jsonl, its fourth the base64 SHA-256 of the last line; each line's \"prev\" is the SHA-256 of the line before. The format is specified in docs/transcript.md.")
	p.para("Re-render this report from the transcript (keyrite report DIR) and compare the bytes: the same transcript gives the same report.")
}

func (p *page) signatures(c *Ceremony) {
	p.AddPage()
	p.section("13. Signatures")
	p.para("By signing, each participant confirms that the ceremony took place as this report describes.")
	p.Ln(2)
	for _, r := range c.Participants {
		p.keep(24)
		p.row(5, box{r.Name + " — " + r.Role, p.width, fonts.SansBold, 10, "L"})
		y := p.GetY() + 10
		p.Line(p.left, y, p.left+95, y)
		p.Line(p.left+105, y, p.left+p.width, y)
		p.setStyle(fonts.Sans, 8)
		p.SetXY(p.left, y+1)
		p.Fpdf.CellFormat(105, 4, "Signature", "", 0, "L", false, 0, "")
		p.Fpdf.CellFormat(p.width-105, 4, "Date and time", "", 1, "L", false, 0, "")
		p.SetXY(p.left, y+9)
	}
}

// records is appendix A: every record with its raw event name, one line each in the
// monospace font (a long step name wraps its own line, never another).
func (p *page) records(c *Ceremony) {
	p.AddPage()
	p.section("Appendix A: the transcript's records")
	p.para("Every record of transcript.jsonl, with the event name as written (docs/transcript.md defines each).")
	var b strings.Builder
	fmt.Fprintf(&b, "%6s  %-12s  %-30s  %s\n", "record", "time (UTC)", "step", "event")
	for _, e := range c.Events {
		fmt.Fprintf(&b, "%6d  %-12s  %-30s  %s\n", e.Seq, e.Time.UTC().Format("15:04:05.000"), e.Step, e.Name)
	}
	p.setStyle(fonts.Mono, 7.5)
	p.MultiCell(p.width, 3.5, strings.TrimSuffix(b.String(), "\n"), "", "L", false)
}

func (p *page) appendix(script string) {
	p.AddPage()
	p.section("Appendix B: the script")
	p.setStyle(fonts.Mono, 7.5)
	p.MultiCell(p.width, 3.4, script, "", "L", false)
}
