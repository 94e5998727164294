package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets a test run this binary as keyrite itself (KEYRITE_AS_MAIN=1).
func TestMain(m *testing.M) {
	if os.Getenv("KEYRITE_AS_MAIN") == "1" {
		os.Args = append([]string{"keyrite"}, strings.Fields(os.Getenv("KEYRITE_ARGS"))...)
		main()
		return
	}
	os.Exit(m.Run())
}

// TestQuietUnderCLocale: no command prints Fyne's "Error parsing user locale C" when the locale
// is C.UTF-8 (CI's and most containers'), POSIX.UTF-8 or C.
func TestQuietUnderCLocale(t *testing.T) {
	for _, lang := range []string{"C.UTF-8", "POSIX.UTF-8", "C"} {
		for _, args := range []string{"help", "verify " + t.TempDir() + "/missing"} {
			cmd := exec.Command(os.Args[0])
			var env []string
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "LANG=") && !strings.HasPrefix(kv, "LC_ALL=") && !strings.HasPrefix(kv, "LC_MESSAGES=") && !strings.HasPrefix(kv, "LANGUAGE=") {
					env = append(env, kv)
				}
			}
			cmd.Env = append(env, "KEYRITE_AS_MAIN=1", "KEYRITE_ARGS="+args, "LANG="+lang)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			cmd.Run()
			if strings.Contains(stderr.String(), "Fyne error") || strings.Contains(stderr.String(), "locale") {
				t.Errorf("LANG=%s keyrite %s printed Fyne's locale noise:\n%s", lang, args, stderr.String())
			}
		}
	}
}

// The command-line build (-tags nogui) links no GUI: no Fyne, no OpenGL or GLFW, and says so
// when started without a command.
func TestCommandLineBuildLinksNoGUI(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "nogui", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps -tags nogui: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/keyrite/keyrite/cli") {
		t.Fatalf("go list -deps did not list keyrite's dependencies:\n%s", out)
	}
	for _, d := range strings.Fields(string(out)) {
		for _, banned := range []string{"fyne.io/", "go-gl/", "keyrite/keyrite/app"} {
			if strings.Contains(d, banned) {
				t.Errorf("the -tags nogui build links %s", d)
			}
		}
	}
	if testing.Short() {
		return
	}
	bin := t.TempDir() + "/keyrite"
	if out, err := exec.Command("go", "build", "-tags", "nogui", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags nogui: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "DISPLAY=")
	out, err = cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "keyrite rehearse") {
		t.Fatalf("the command-line build without a command: exit %d (%v), want its usage and 2:\n%s", code, err, out)
	}
}
