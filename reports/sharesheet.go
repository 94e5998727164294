package reports

import (
	"fmt"
	"strings"
	"time"
)

// ShareSheet is what one custodian receives: their share and nothing else secret. It is made
// to be sealed in a tamper-evident bag and kept in a safe for years, so it says on its own what
// it is, which ceremony and key it belongs to, how and when it is used, and whom to tell if it
// is lost. It is printed before the ceremony is sealed, so it cannot carry the seal: it names
// the ceremony, the script's hash and the root key's fingerprint, which the sealed report
// repeats beside the seal.
type ShareSheet struct {
	CeremonyID     string
	Document       string // the sheet's document number, e.g. "example-root-2026/S02-of-05"
	Organization   string
	KeyLabel       string
	RootSPKI       string // SHA-256 of the backed-up key's public key, grouped for reading
	ScriptSHA256   string // of the ceremony script, hex
	Custodian      string
	Role           string
	Number         int
	Threshold      int
	Total          int
	KCV            string // with its method, e.g. "1A2B3C (AES-CMAC of a zero block)"
	Bag            string // tamper-evident bag number, if assigned
	LossContact    string // whom to tell at once if the sheet is lost (from the script)
	Date           time.Time
	Code           string // the share code; the only secret on the sheet
	SupersedesNote string // for a re-share: which earlier split this one retires
}

// RenderShareSheet renders one custodian's share sheet as a PDF of one page.
func RenderShareSheet(s ShareSheet) ([]byte, error) {
	pdf := newDocument(fmt.Sprintf("Share %d of %d — %s", s.Number, s.Total, s.CeremonyID), s.Date)
	pdf.SetAutoPageBreak(true, 12)
	pdf.AddPage()
	w, _ := pdf.GetPageSize()
	left, _, right, _ := pdf.GetMargins()
	width := w - left - right

	pdf.SetFont(sans, "B", 10)
	pdf.SetTextColor(170, 0, 0)
	pdf.CellFormat(width, 5, "CONFIDENTIAL — KEY SHARE — FOR THE NAMED CUSTODIAN ONLY", "", 1, "C", false, 0, "")
	pdf.SetTextColor(0, 0, 0)
	pdf.Ln(1)
	pdf.SetFont(sans, "B", 18)
	pdf.CellFormat(width*0.6, 9, fmt.Sprintf("Share %d of %d", s.Number, s.Total), "", 0, "L", false, 0, "")
	pdf.SetFont(sans, "", 9)
	pdf.CellFormat(width*0.4, 9, "Document "+s.Document, "", 1, "R", false, 0, "")
	pdf.SetFont(sans, "", 10)
	pdf.MultiCell(width, 4.8, fmt.Sprintf("This is your share of the backup key of %q. Any %d of the %d shares together rebuild the key that unwraps its backup; fewer reveal nothing about it.", s.KeyLabel, s.Threshold, s.Total), "", "L", false)
	pdf.Ln(2)

	rows := [][2]string{
		{"Custodian", s.Custodian + " (" + s.Role + ")"},
		{"Tamper-evident bag", orDash(s.Bag)},
		{"Ceremony", s.CeremonyID},
		{"Organisation", s.Organization},
		{"Key", s.KeyLabel},
		{"Key fingerprint", s.RootSPKI},
		{"Script SHA-256", s.ScriptSHA256},
		{"Key check value", s.KCV},
		{"Date", s.Date.UTC().Format("2006-01-02")},
		{"Seal", "printed before the seal: the seal and its short hash are in the ceremony's report"},
	}
	for _, r := range rows {
		pdf.SetFont(sans, "B", 9)
		pdf.CellFormat(36, 5, r[0], "", 0, "L", false, 0, "")
		f := sans
		if r[0] == "Key fingerprint" || r[0] == "Script SHA-256" {
			f = mono
		}
		size := 8.5
		if f == mono {
			size = 7.5
		}
		pdf.SetFont(f, "", size)
		pdf.MultiCell(width-36, 5, r[1], "", "L", false)
	}
	if s.SupersedesNote != "" {
		pdf.SetFont(sans, "", 9)
		pdf.MultiCell(width, 4.5, s.SupersedesNote, "", "L", false)
	}
	pdf.Ln(2)

	pdf.SetFont(sans, "B", 12)
	pdf.CellFormat(width, 6, "Share code", "", 1, "L", false, 0, "")
	groups := strings.Fields(s.Code)
	pdf.SetFillColor(245, 245, 245)
	y := pdf.GetY()
	const perRow, cellW, cellH = 3, 48, 10.5
	rowsN := (len(groups) + perRow - 1) / perRow
	pdf.Rect(left, y, width, float64(rowsN)*cellH+4, "F")
	pdf.SetY(y + 2)
	for i, g := range groups {
		if i%perRow == 0 {
			pdf.SetX(left + 6)
		}
		pdf.SetFont(sans, "", 8)
		pdf.SetTextColor(110, 110, 110)
		pdf.CellFormat(8, cellH, fmt.Sprintf("%d", i+1), "", 0, "R", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
		pdf.SetFont(mono, "B", 22)
		ln := 0
		if i%perRow == perRow-1 || i == len(groups)-1 {
			ln = 1
		}
		pdf.CellFormat(cellW, cellH, " "+g, "", ln, "L", false, 0, "")
	}
	pdf.SetY(y + float64(rowsN)*cellH + 6)

	pdf.SetFont(sans, "", 8.5)
	pdf.MultiCell(width, 4.1, "Read the code in groups. Each group's last symbol is a check symbol: if you mistype, Keyrite names the group to read again. The code uses 0-9 and A-Z without I, L, O and U.", "", "L", false)
	pdf.SetFont(sans, "B", 9)
	pdf.CellFormat(width, 5.5, "How and when this sheet is used", "", 1, "L", false, 0, "")
	for i, item := range []string{
		"Today, in the ceremony room: type the code back once when Keyrite asks, to prove the sheet reads.",
		"Seal the sheet in the bag named above in front of the witness; both of you sign below. Keep the sealed bag in a safe only you can open, and check its number and seal whenever you see it.",
		"Bring the bag, still sealed, to a restore, re-share or drill ceremony of this key's backup. It is opened there in front of a witness, and the code is typed only into that ceremony's Keyrite laptop. Reseal it in a new bag afterwards; the ceremony records the new number.",
		"Never photograph, scan, copy or read out the code, and never type it anywhere else.",
		"If the sheet is lost, or its bag is found opened or damaged, tell at once: " + orDash(s.LossContact) + ". The backup is then re-shared, which makes this sheet worthless.",
		"When a re-share retires this share, the sheet is destroyed under witness in that ceremony.",
	} {
		pdf.SetFont(sans, "", 8.5)
		pdf.CellFormat(6, 4.1, fmt.Sprintf("%d.", i+1), "", 0, "R", false, 0, "")
		pdf.MultiCell(width-6, 4.1, item, "", "L", false)
	}
	pdf.Ln(2)
	for _, label := range []string{"Custodian: signature and date", "Witness: name, signature and date", "Bag number as sealed"} {
		pdf.SetFont(sans, "", 9)
		pdf.CellFormat(58, 9, label, "", 0, "L", false, 0, "")
		pdf.Line(pdf.GetX(), pdf.GetY()+7, left+width, pdf.GetY()+7)
		pdf.Ln(9)
	}
	if pdf.PageNo() != 1 {
		return nil, fmt.Errorf("share sheet for %s runs to %d pages; a share must fit on one sheet", s.Custodian, pdf.PageNo())
	}
	return output(pdf)
}
