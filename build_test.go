package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
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
	bin := built(t, "keyrite", "./scripts/build")
	// keyrite (the command line) and keyrite-app (the desktop app) each run ceremonies: each
	// records its revision and its own SHA-256, the file that ran the ceremony.
	for _, exe := range []string{bin, bin + "-app"} {
		out, err := exec.Command("go", "version", "-m", exe).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "ceremony.revision="+want) {
			t.Fatalf("go version -m %s does not show revision %s:\n%s", exe, want, out)
		}
		dir := filepath.Join(tmp, filepath.Base(exe))
		run := exec.Command(exe, "rehearse", "--out", dir)
		run.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(tmp, "data"), "XDG_CACHE_HOME="+filepath.Join(tmp, "cache"))
		if out, err := run.CombinedOutput(); err != nil {
			t.Fatalf("%s rehearse: %v\n%s", exe, err, out)
		}
		res, err := transcript.Verify(dir, transcript.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Opening.Keyrite.Revision; !strings.HasPrefix(got, want) {
			b, _ := json.Marshal(res.Opening.Keyrite)
			t.Fatalf("the transcript's opening records %s, want revision %s", b, want)
		}
		if got, sum := res.Opening.Keyrite.GoSHA256, fileSHA256(t, exe); got != sum {
			t.Fatalf("%s's transcript records binary SHA-256 %s, want its own, %s", exe, got, sum)
		}
		text, err := exec.Command("pdftotext", filepath.Join(dir, "report.pdf"), "-").Output()
		if err != nil {
			t.Fatalf("pdftotext the report: %v", err)
		}
		if !strings.Contains(string(text), "revision "+want) {
			t.Fatalf("the report does not print revision %s", want)
		}
	}
}

// scripts/build makes keyrite, the command line, linking no GUI, and keyrite-app beside it,
// the desktop app, which keyrite without a command opens.
func TestBuildMakesCommandLineAndApp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds keyrite and opens the app under Xvfb; runs without -short (./scripts/test)")
	}
	bin := built(t, "keyrite", "./scripts/build")
	deps := func(exe string) string {
		out, err := exec.Command("go", "version", "-m", exe).Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if d := deps(bin); strings.Contains(d, "fyne.io/") || strings.Contains(d, "go-gl/") || !strings.Contains(d, "-tags=nogui") {
		t.Fatalf("scripts/build's keyrite links the GUI:\n%s", d)
	}
	if d := deps(bin + "-app"); !strings.Contains(d, "fyne.io/fyne/v2") {
		t.Fatalf("scripts/build's keyrite-app has no GUI:\n%s", d)
	}
	if _, err := exec.LookPath("xvfb-run"); err != nil {
		t.Fatal("opening the app needs xvfb-run (./scripts/install-deps installs it)")
	}
	tmp := t.TempDir()
	cmd := exec.Command("xvfb-run", "-a", "-s", "-screen 0 1024x768x24", bin)
	cmd.Env = append(os.Environ(), "KEYRITE_STARTUP_PROBE=1", "XDG_DATA_HOME="+filepath.Join(tmp, "data"), "XDG_CONFIG_HOME="+filepath.Join(tmp, "config"))
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "first window shown") {
		t.Fatalf("keyrite without a command did not open the app's window: %v\n%s", err, out)
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}
