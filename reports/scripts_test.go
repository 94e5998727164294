package reports

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// everyScript holds a name in each script the PDFs promise to draw.
var everyScript = []string{
	"Łukasz Wróbel", "Nguyễn Thị Đặng", "Χριστίνα Παπαδοπούλου", "Ирина Смирнова-Кузнецова",
	"דוד כהן", "محمد عبد الله", "王秀英", "山田 太郎", "김민준", "अनिल कुमार शर्मा",
}

func pdftotext(t *testing.T, pdf []byte, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext (poppler-utils) is needed: ./scripts/install-deps")
	}
	p := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(p, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", append(args, p, "-")...).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// pageBoxes checks pdftotext -bbox: every word lies inside its page.
func pageBoxes(t *testing.T, name string, pdf []byte) {
	t.Helper()
	var doc struct {
		Pages []struct {
			Width  float64 `xml:"width,attr"`
			Height float64 `xml:"height,attr"`
			Words  []struct {
				XMin float64 `xml:"xMin,attr"`
				YMin float64 `xml:"yMin,attr"`
				XMax float64 `xml:"xMax,attr"`
				YMax float64 `xml:"yMax,attr"`
				Text string  `xml:",chardata"`
			} `xml:"word"`
		} `xml:"body>doc>page"`
	}
	out := pdftotext(t, pdf, "-bbox")
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%s: pdftotext -bbox: %v", name, err)
	}
	if len(doc.Pages) == 0 {
		t.Fatalf("%s: no pages in pdftotext -bbox", name)
	}
	for i, p := range doc.Pages {
		for _, w := range p.Words {
			if w.XMin < 0 || w.YMin < 0 || w.XMax > p.Width || w.YMax > p.Height {
				t.Errorf("%s page %d: %q lies outside the page (%.1f,%.1f)-(%.1f,%.1f)", name, i+1, w.Text, w.XMin, w.YMin, w.XMax, w.YMax)
			}
		}
	}
}

// Every script's name is read back from the share sheet exactly, in logical order, and a long
// organisation wraps inside the page.
func TestShareSheetEveryScript(t *testing.T) {
	for _, name := range everyScript {
		if err := Renderable(name); err != nil {
			t.Fatalf("Renderable(%q): %v", name, err)
		}
		s := sheet()
		s.Custodian = name
		s.Organization = "The Very Long Organisation Name of the Federated Association of Examples and Partners, " + name
		pdf, err := RenderShareSheet(s)
		if err != nil {
			t.Fatal(err)
		}
		text := pdftotext(t, pdf)
		if !strings.Contains(text, name) {
			t.Errorf("the sheet's text lacks %q:\n%s", name, text)
		}
		pageBoxes(t, name, pdf)
	}
}

// PageBoxes and PDFText are pageBoxes and pdftotext for the external tests (the export_test
// idiom).
var (
	PageBoxes = pageBoxes
	PDFText   = pdftotext
)
