package reports

import (
	"fmt"
	"strings"
	"time"
)

// ShareSheet is what one custodian receives: their share and nothing else secret.
type ShareSheet struct {
	CeremonyID   string
	Organization string
	KeyLabel     string
	Custodian    string
	Role         string
	Number       int
	Threshold    int
	Total        int
	KCV          string // with its method, e.g. "1A2B3C (AES-CMAC of a zero block)"
	Bag          string // tamper-evident bag number, if assigned
	Date         time.Time
	Code         string // the share code; the only secret on the sheet
}

// RenderShareSheet renders one custodian's share sheet as a PDF.
func RenderShareSheet(s ShareSheet) ([]byte, error) {
	pdf := newDocument(fmt.Sprintf("Share %d of %d — %s", s.Number, s.Total, s.CeremonyID), s.Date)
	pdf.AddPage()
	w, _ := pdf.GetPageSize()
	left, _, right, _ := pdf.GetMargins()
	width := w - left - right

	pdf.SetFont(sans, "B", 10)
	pdf.SetTextColor(170, 0, 0)
	pdf.CellFormat(width, 6, "CONFIDENTIAL — KEY SHARE — FOR THE NAMED CUSTODIAN ONLY", "", 1, "C", false, 0, "")
	pdf.SetTextColor(0, 0, 0)
	pdf.Ln(2)
	pdf.SetFont(sans, "B", 20)
	pdf.CellFormat(width, 10, fmt.Sprintf("Share %d of %d", s.Number, s.Total), "", 1, "L", false, 0, "")
	pdf.SetFont(sans, "", 11)
	pdf.MultiCell(width, 5.5, fmt.Sprintf("Any %d of the %d shares rebuild the backup key of %q. Fewer reveal nothing.", s.Threshold, s.Total, s.KeyLabel), "", "L", false)
	pdf.Ln(3)

	rows := [][2]string{
		{"Custodian", s.Custodian},
		{"Role", s.Role},
		{"Ceremony", s.CeremonyID},
		{"Organisation", s.Organization},
		{"Key", s.KeyLabel},
		{"Key check value", s.KCV},
		{"Date", s.Date.UTC().Format("2006-01-02")},
	}
	if s.Bag != "" {
		rows = append(rows, [2]string{"Tamper-evident bag", s.Bag})
	}
	for _, r := range rows {
		pdf.SetFont(sans, "B", 10)
		pdf.CellFormat(42, 6.5, r[0], "", 0, "L", false, 0, "")
		pdf.SetFont(sans, "", 10)
		pdf.CellFormat(width-42, 6.5, r[1], "", 1, "L", false, 0, "")
	}
	pdf.Ln(5)

	pdf.SetFont(sans, "B", 12)
	pdf.CellFormat(width, 7, "Share code", "", 1, "L", false, 0, "")
	groups := strings.Fields(s.Code)
	pdf.SetFillColor(245, 245, 245)
	y := pdf.GetY()
	const perRow, cellW, cellH = 3, 48, 11.5
	rowsN := (len(groups) + perRow - 1) / perRow
	pdf.Rect(left, y, width, float64(rowsN)*cellH+6, "F")
	pdf.SetY(y + 3)
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
	pdf.SetY(y + float64(rowsN)*cellH + 10)

	pdf.SetFont(sans, "", 10)
	pdf.MultiCell(width, 5, strings.Join([]string{
		"Read the code in groups. Each group's last symbol is a check symbol: if you mistype, Keyrite names the group to read again.",
		"The code uses the digits 0-9 and the letters A-Z without I, L, O and U.",
		"",
		"What to do with this sheet:",
		"  1. Check the code with Keyrite when asked to re-enter it, in the ceremony room.",
		"  2. Seal this sheet in the tamper-evident bag named above, in front of the witness, and sign below.",
		"  3. Never photograph, scan, copy or type this code into any other computer.",
		"  4. Keep it where only you can reach it. Report its loss at once: the backup must then be re-shared.",
	}, "\n"), "", "L", false)
	pdf.Ln(4)
	for _, label := range []string{"Custodian signature", "Witness signature", "Bag number / date"} {
		pdf.SetFont(sans, "", 9)
		pdf.CellFormat(55, 10, label, "", 0, "L", false, 0, "")
		pdf.Line(pdf.GetX(), pdf.GetY()+8, left+width, pdf.GetY()+8)
		pdf.Ln(10)
	}
	if pdf.PageNo() != 1 {
		return nil, fmt.Errorf("share sheet for %s runs to %d pages; a share must fit on one sheet", s.Custodian, pdf.PageNo())
	}
	return output(pdf)
}
