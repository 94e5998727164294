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
	"github.com/keyrite/keyrite/ceremony/transcript"
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
	text := reports.PDFText(t, a)
	for _, want := range []string{
		"Key ceremony report", "Łukasz Wróbel", "Zoë Ångström", "Χριστίνα Παπαδοπούλου", "Ирина Смирнова",
		"Generate the root key", "AES-CMAC", "Example Root CA 2026", "keyrite-transcript/v1", "page 1 of", "Signature",
		"SoftHSM", "REHEARSAL",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report text lacks %q", want)
		}
	}
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		t.Fatal(err)
	}
	short := res.Seal.ShortHashGrouped() // as the screen and keyrite's summary show it
	if !strings.Contains(transcript.Summary(res), short) || strings.Count(text, "seal "+short) < 2 {
		t.Errorf("the seal's short hash %q is not on the report's pages and in the summary alike", short)
	}
	body, _, found := strings.Cut(text, "Appendix A: the transcript")
	if !found {
		t.Fatal("the report has no appendix A")
	}
	for _, want := range []string{
		"confirmed present as custodian", "actor initials", "witness initials", "Tamper-evident bags", "TEB-2026-0101",
		"example-root-2026-transcript", "private key", "active on the token", "Deviations and exceptions",
		"sealed in front of", "keyrite-verify --root ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the report's body lacks %q", want)
		}
	}
	for _, raw := range []string{"participant.present", "kek.split", "share.issued", "bags=", "confirmed_by", `["`, "Hsm (script)", "object(s)", "TEB-2026-0001,TEB"} {
		if strings.Contains(body, raw) {
			t.Errorf("the report's body holds the raw %q (raw event names belong in appendix A only)", raw)
		}
	}
	if !strings.Contains(text, "participant.present") {
		t.Error("appendix A lacks the raw event names")
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

// The command block of section 12, as pdftotext extracts it from the PDF, runs in the
// ceremony folder and succeeds; after one file changes, it fails.
func TestReportCommandsRunAsPrinted(t *testing.T) {
	for _, tool := range []string{"pdftotext", "openssl", "sha256sum", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: ./scripts/install-deps", tool)
		}
	}
	dir, _ := quorumCeremony(t)
	os.RemoveAll(filepath.Join(dir, "shares")) // handed to the custodians: never kept with the evidence
	pdf, err := reports.RenderReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	text := reports.PDFText(t, pdf)
	i := strings.Index(text, "keyrite-verify --root ")
	j := strings.Index(text[max(i, 0):], "\nEOF\n")
	if i < 0 || j < 0 {
		t.Fatalf("no command block in the report's text:\n%s", text)
	}
	block := text[i : i+j+5]
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "keyrite-verify"), "./cmd/keyrite-verify")
	build.Dir, build.Env = "..", append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build keyrite-verify: %v\n%s", err, out)
	}
	run := func() ([]byte, error) {
		cmd := exec.Command("sh", "-e", "-c", block)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		return cmd.CombinedOutput()
	}
	if out, err := run(); err != nil {
		t.Fatalf("the printed commands fail: %v\n%s\n--- block ---\n%s", err, out, block)
	}
	if err := os.WriteFile(filepath.Join(dir, "root.pem"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(); err == nil {
		t.Fatalf("the printed commands pass after root.pem changed:\n%s", out)
	}
}

// A report started from the document Warm made is the same report, byte for byte.
func TestWarmedReportIsTheSame(t *testing.T) {
	dir, _ := quorumCeremony(t)
	cold, err := reports.RenderReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	reports.Warm()
	reports.Warm() // a second call before the first document is taken makes no second one
	warm, err := reports.RenderReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cold, warm) {
		t.Fatal("a report started from a warmed document differs from one started cold")
	}
	again, err := reports.RenderReport(dir) // the warmed document was used up: a new one
	if err != nil || !bytes.Equal(cold, again) {
		t.Fatalf("the report after the warmed one differs (%v)", err)
	}
}
