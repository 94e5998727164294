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
	// keyrite hands a ceremony to keyrite-cli, and keyrite-app (the desktop app) runs one
	// too: each records its revision and its own SHA-256, the file that ran the ceremony.
	for exe, ran := range map[string]string{bin: bin + "-cli", bin + "-app": bin + "-app"} {
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
		if got, sum := res.Opening.Keyrite.GoSHA256, fileSHA256(t, ran); got != sum {
			t.Fatalf("%s rehearse: the transcript records binary SHA-256 %s, want %s's, %s", exe, got, ran, sum)
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

// scripts/build makes keyrite, the front, linking neither the ceremony engine nor the GUI (nor
// cgo), keyrite-cli beside it, the command line without the GUI, and keyrite-app, the desktop
// app, which keyrite without a command opens.
func TestBuildMakesFrontCommandLineAndApp(t *testing.T) {
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
	if d := deps(bin); strings.Contains(d, "fyne.io/") || strings.Contains(d, "zmap/") || strings.Contains(d, "miekg/pkcs11") || !strings.Contains(d, "CGO_ENABLED=0") {
		t.Fatalf("scripts/build's keyrite links the engine, the GUI or cgo:\n%s", d)
	}
	if d := deps(bin + "-cli"); strings.Contains(d, "fyne.io/") || strings.Contains(d, "go-gl/") || !strings.Contains(d, "-tags=nogui") || !strings.Contains(d, "zmap/zlint") {
		t.Fatalf("scripts/build's keyrite-cli is not the command line without the GUI:\n%s", d)
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

// `keyrite verify` and `keyrite inventory` run in the front, without the command line beside
// it, and say exactly what keyrite-cli says, byte for byte and exit code, on good, changed and
// missing evidence, bundles and mistaken command lines; verify --render goes to keyrite-cli,
// which has the renderer.
func TestFrontVerifiesAsTheCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds keyrite and runs a rehearsal; runs without -short (./scripts/test)")
	}
	bin := built(t, "keyrite", "./scripts/build")
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "ceremony")
	run := exec.Command(bin, "rehearse", "--out", dir)
	run.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(tmp, "data"), "XDG_CACHE_HOME="+filepath.Join(tmp, "cache"))
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("keyrite rehearse: %v\n%s", err, out)
	}
	bundles, _ := filepath.Glob(filepath.Join(dir, "evidence-*.tar"))
	if len(bundles) != 1 {
		t.Fatalf("the rehearsal wrote %d bundles", len(bundles))
	}
	changed := filepath.Join(tmp, "changed")
	if err := os.CopyFS(changed, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	tr := filepath.Join(changed, "transcript.jsonl")
	b, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tr, []byte(strings.Replace(string(b), "Example Root CA 2026", "Example Root CA 2027", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(t.TempDir(), "keyrite") // the front with nothing beside it
	copyFile(t, bin, alone)
	say := func(exe string, args ...string) string {
		t.Helper()
		var stdout, stderr strings.Builder
		cmd := exec.Command(exe, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", cmd.ProcessState.ExitCode(), stdout.String(), stderr.String())
	}
	for _, args := range [][]string{
		{"verify", dir}, {"verify", bundles[0]}, {"verify", changed}, {"verify", filepath.Join(tmp, "missing")},
		{"verify", "--root", strings.Repeat("AB", 32), dir}, {"verify", dir, "--against", changed},
		{"verify"}, {"verify", "--no-such-flag", dir}, {"verify", dir, dir},
		{"inventory", tmp}, {"inventory", "--json", dir}, {"inventory", "--csv", dir}, {"inventory", changed},
		{"inventory"}, {"inventory", "--json", "--csv", dir}, {"inventory", filepath.Join(tmp, "missing")},
	} {
		want := say(bin+"-cli", args...)
		if got := say(alone, args...); got != want {
			t.Errorf("keyrite %s: the front says\n%s\nkeyrite-cli says\n%s", strings.Join(args, " "), got, want)
		}
	}
	if got := say(bin, "verify", "--render", dir); !strings.Contains(got, "re-rendered by renderer") {
		t.Errorf("keyrite verify --render did not render the report again:\n%s", got)
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
