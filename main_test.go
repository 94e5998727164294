package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestMain lets a test run this binary as keyrite itself (KEYRITE_AS_MAIN=1).
func TestMain(m *testing.M) {
	if os.Getenv("KEYRITE_AS_MAIN") == "1" {
		os.Args = append([]string{"keyrite"}, strings.Fields(os.Getenv("KEYRITE_ARGS"))...)
		main()
		return
	}
	code := m.Run()
	if builds != "" {
		os.RemoveAll(builds)
	}
	os.Exit(code)
}

// builds holds the binaries the tests build, once each (built).
var (
	builds   string
	buildsMu sync.Mutex
)

// built returns the path of keyrite built with go build ARGS... (tags, ldflags), or by
// ./scripts/build when that is ARGS, building it the first time it is asked for, as NAME in a
// folder of its own.
func built(t *testing.T, name string, args ...string) string {
	t.Helper()
	buildsMu.Lock()
	defer buildsMu.Unlock()
	if builds == "" {
		dir, err := os.MkdirTemp("", "keyrite-builds-")
		if err != nil {
			t.Fatal(err)
		}
		builds = dir
	}
	bin := filepath.Join(builds, fmt.Sprintf("%x", sha256.Sum256([]byte(strings.Join(args, "\x00")))), name)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", append(append([]string{"build"}, args...), "-o", bin, ".")...)
	if args[0] == "./scripts/build" {
		cmd = exec.Command(args[0], bin)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return bin
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
	bin := built(t, "keyrite", "-tags", "nogui")
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "DISPLAY=")
	out, err = cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "keyrite rehearse") {
		t.Fatalf("the command-line build without a command: exit %d (%v), want its usage and 2:\n%s", code, err, out)
	}
}

// The command-line build started without a command replaces itself with the desktop app beside
// it, PATH-app (scripts/build's keyrite-app), and only with one of its own build: no other file
// is run.
func TestCommandLineStartsTheAppBesideIt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds keyrite twice; runs without -short (./scripts/test)")
	}
	nogui := built(t, "keyrite", "-tags", "nogui")
	bin := filepath.Join(t.TempDir(), "keyrite")
	app := bin + "-app"
	copyFile(t, nogui, bin)
	run := func() (string, int) {
		t.Helper()
		var out strings.Builder
		cmd := exec.Command(bin)
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Run()
		return out.String(), cmd.ProcessState.ExitCode()
	}

	// None beside it: the usage, and where the app was looked for.
	out, code := run()
	if code != 2 || !strings.Contains(out, "keyrite rehearse") || !strings.Contains(out, app+" is not beside this command line") {
		t.Fatalf("without %s: exit %d, want the usage, where the app was looked for, and 2:\n%s", app, code, out)
	}
	// The app beside it, of the same build: keyrite becomes it. (The "app" here is the
	// command-line build itself, so it looks for its own app in turn: the message shows that
	// keyrite-app ran, as keyrite-app, in keyrite's place.)
	copyFile(t, nogui, app)
	out, code = run()
	if code != 2 || !strings.Contains(out, app+"-app is not beside this command line") {
		t.Fatalf("with %s beside it: exit %d, want the app run in its place:\n%s", app, code, out)
	}
	// An app of another build, or not a Go program at all: refused, not run.
	copyFile(t, built(t, "keyrite", "-tags", "nogui", "-ldflags", "-X github.com/keyrite/keyrite/ceremony.revision=another"), app)
	out, code = run()
	if code != 1 || !strings.Contains(out, "from another build") || strings.Contains(out, app+"-app") {
		t.Fatalf("with an app of another build: exit %d, want it refused and not run:\n%s", code, out)
	}
	ran := filepath.Join(t.TempDir(), "ran")
	if err := os.WriteFile(app, []byte("#!/bin/sh\ntouch "+ran+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, code = run()
	if _, err := os.Stat(ran); code != 1 || err == nil || !strings.Contains(out, "not a Go executable") {
		t.Fatalf("with a shell script as the app: exit %d, ran: %v, want it refused and not run:\n%s", code, err == nil, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(to)
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
