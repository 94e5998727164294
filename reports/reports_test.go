package reports

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sheet() ShareSheet {
	return ShareSheet{
		CeremonyID: "example-root-2026", Organization: "Example GmbH", KeyLabel: "example-root-2026",
		Custodian: "Łukasz Wróbel", Role: "custodian", Number: 2, Threshold: 3, Total: 5,
		KCV: "1A2B3C (AES-CMAC of a zero block)", Bag: "TEB-2026-0002", Document: "example-root-2026/S02-of-05",
		RootSPKI:     "3F2A 91C0 77DE 0B14 5A6E C2D9 81F0 4B3A 9E17 D2C5 6A08 B3F1 44E9 0C7D 5B2A E813",
		ScriptSHA256: "b5d1c0e4f0a2e6a9c7d3f1e2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e6f8a0b2",
		LossContact:  "Jean Dupont, Security Officer, +49 69 1234 5678 (24 h)",
		Date:         time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		Code:         "07DPR 37ZVQ ABCDE FGHJK MNPQR STVWX YZ012 34567 89ABC DEFGH JKMNP QRSTV WXYZ0 12345 6789A BCDEF GHJKM NPQRS",
	}
}

func TestShareSheetIsDeterministic(t *testing.T) {
	a, err := RenderShareSheet(sheet())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := RenderShareSheet(sheet())
	if !bytes.Equal(a, b) {
		t.Fatal("the same sheet rendered twice differs")
	}
}

// pdftotext reads back every name and the code: the fonts carry the scripts we need.
func TestShareSheetText(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) not installed")
	}
	for _, name := range []string{"Łukasz Wróbel", "Zoë Ångström", "Χριστίνα Παπαδοπούλου", "Ирина Смирнова"} {
		s := sheet()
		s.Custodian = name
		pdf, err := RenderShareSheet(s)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "sheet.pdf")
		os.WriteFile(p, pdf, 0o600)
		out, err := exec.Command("pdftotext", "-layout", p, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		text := string(out)
		for _, want := range []string{name, "Share 2 of 5", "07DPR", "NPQRS", "TEB-2026-0002", "AES-CMAC",
			"example-root-2026/S02-of-05", "3F2A 91C0", "b5d1c0e4", "Jean Dupont, Security Officer", "Witness: name, signature and date",
			"Bring the bag, still sealed", "report"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: text lacks %q:\n%s", name, want, text)
			}
		}
	}
}
