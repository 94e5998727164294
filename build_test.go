package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// scripts/build records the git revision in the binary (go version -m shows it), and a
// ceremony run with that binary records it in its transcript's opening.
func TestBuildIdentityIsRecorded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds keyrite and runs a rehearsal; runs without -short (./scripts/test)")
	}
	rev, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("the test needs the git checkout Keyrite is built from: %v", err)
	}
	want := strings.TrimSpace(string(rev))
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "keyrite")
	if out, err := exec.Command("./scripts/build", bin).CombinedOutput(); err != nil {
		t.Fatalf("scripts/build: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "ceremony.revision="+want) {
		t.Fatalf("go version -m does not show revision %s:\n%s", want, out)
	}
	dir := filepath.Join(tmp, "ceremony")
	run := exec.Command(bin, "rehearse", "--out", dir)
	run.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(tmp, "data"))
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("keyrite rehearse: %v\n%s", err, out)
	}
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Opening.Keyrite.Revision; !strings.HasPrefix(got, want) {
		b, _ := json.Marshal(res.Opening.Keyrite)
		t.Fatalf("the transcript's opening records %s, want revision %s", b, want)
	}
	text, err := exec.Command("pdftotext", filepath.Join(dir, "report.pdf"), "-").Output()
	if err != nil {
		t.Fatalf("pdftotext the report: %v", err)
	}
	if !strings.Contains(string(text), "revision "+want) {
		t.Fatalf("the report does not print revision %s", want)
	}
}
