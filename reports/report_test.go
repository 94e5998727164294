package reports_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/ceremonytest"
	"github.com/keyrite/keyrite/reports"
)

func quorumCeremony(t *testing.T) (string, *ceremonytest.UI) {
	ui := &ceremonytest.UI{}
	return ceremonytest.Run(t, ceremonytest.Script(t, "..", "root-quorum-ceremony.yaml"), ui, ceremony.Options{}), ui
}

func TestReportIsDeterministicAndComplete(t *testing.T) {
	dir, ui := quorumCeremony(t)
	a, err := reports.RenderReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := reports.RenderReport(dir)
	if !bytes.Equal(a, b) {
		t.Fatal("two renders of the same transcript differ")
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) not installed")
	}
	p := filepath.Join(t.TempDir(), "report.pdf")
	os.WriteFile(p, a, 0o644)
	out, err := exec.Command("pdftotext", p, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{
		"Key ceremony report", "Łukasz Wróbel", "Zoë Ångström", "Χριστίνα Παπαδοπούλου", "Ирина Смирнова",
		"Generate the root key", "AES-CMAC", "Example Root CA 2026", "keyrite-transcript/v1", "page 1 of", "Signature",
		"SoftHSM", "REHEARSAL",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report text lacks %q", want)
		}
	}
	for name, code := range ui.Shares {
		for _, g := range strings.Fields(code)[:6] {
			if strings.Contains(text, g+" ") && strings.Contains(text, code[:11]) {
				t.Errorf("report holds %s's share", name)
			}
		}
		if strings.Contains(strings.ReplaceAll(text, "\n", " "), code) {
			t.Errorf("report holds %s's share", name)
		}
	}
}

func TestReportRefusesTamperedCeremony(t *testing.T) {
	dir, _ := quorumCeremony(t)
	f := filepath.Join(dir, "root.pem")
	os.WriteFile(f, []byte("tampered"), 0o644)
	if _, err := reports.RenderReport(dir); err == nil || !strings.Contains(err.Error(), "root.pem") {
		t.Fatalf("err = %v", err)
	}
}
