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
	for _, d := range deps(t, "nogui", "github.com/keyrite/keyrite/cli") {
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
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "keyrite rehearse") {
		t.Fatalf("the command-line build without a command: exit %d (%v), want its usage and 2:\n%s", code, err, out)
	}
}

// deps lists the packages keyrite built with -tags tag links; one of them must be want (else
// the list is not the binary's).
func deps(t *testing.T, tag, want string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-tags", tag, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps -tags %s: %v\n%s", tag, err, out)
	}
	if !strings.Contains(string(out), want) {
		t.Fatalf("go list -deps -tags %s did not list %s:\n%s", tag, want, out)
	}
	return strings.Fields(string(out))
}

// The front binary (scripts/build's ./keyrite) links none of what makes the full binaries slow
// to start: no ceremony engine or linter, no PDF renderer, no PKCS#11, no GUI.
func TestFrontLinksNoEngine(t *testing.T) {
	for _, d := range deps(t, "front", "github.com/keyrite/keyrite/cli/base") {
		for _, banned := range []string{"fyne.io/", "go-gl/", "zmap/", "publicsuffix", "miekg/pkcs11", "go-pdf/",
			"keyrite/keyrite/app", "keyrite/keyrite/cli", "keyrite/keyrite/ceremony", "keyrite/keyrite/hsm", "keyrite/keyrite/reports"} {
			if strings.Contains(d, banned) && d != "github.com/keyrite/keyrite/cli/base" && !strings.HasPrefix(d, "github.com/keyrite/keyrite/ceremony/") {
				t.Errorf("the front links %s", d)
			}
		}
	}
}

// The front hands `keyrite` alone to PATH-app and every command but verify to PATH-cli, the
// binaries beside it, and only to one of its own build: no other file is run.
func TestFrontHandsOverToItsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds keyrite twice; runs without -short (./scripts/test)")
	}
	front := built(t, "keyrite", "-tags", "front")
	bin := filepath.Join(t.TempDir(), "keyrite")
	copyFile(t, front, bin)
	run := func(args ...string) (string, int) {
		t.Helper()
		var out strings.Builder
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Run()
		return out.String(), cmd.ProcessState.ExitCode()
	}

	// Nothing beside it: where the app and the command line were looked for.
	out, code := run()
	if code != 2 || !strings.Contains(out, bin+"-app is not beside") || !strings.Contains(out, bin+"-cli is not beside") {
		t.Fatalf("alone, without a command: exit %d, want both missing binaries named and 2:\n%s", code, out)
	}
	// Of the same build beside it, they run in its place. (They are the front itself here, so
	// each looks for its own siblings in turn: the message shows which ran, as what.)
	copyFile(t, front, bin+"-app")
	copyFile(t, front, bin+"-cli")
	if out, _ := run(); !strings.Contains(out, bin+"-app-app is not beside") {
		t.Fatalf("keyrite alone did not become %s-app:\n%s", bin, out)
	}
	if out, _ := run("help"); !strings.Contains(out, bin+"-cli-cli is not beside") || strings.Contains(out, bin+"-app") {
		t.Fatalf("keyrite help did not become %s-cli:\n%s", bin, out)
	}
	// Of another build, or not a Go program at all: refused, not run.
	copyFile(t, built(t, "keyrite", "-tags", "front", "-ldflags", "-X github.com/keyrite/keyrite/ceremony.revision=another"), bin+"-cli")
	out, code = run("help")
	if code != 2 || !strings.Contains(out, "from another build") || strings.Contains(out, "-cli-cli") {
		t.Fatalf("with a keyrite-cli of another build: exit %d, want it refused and not run:\n%s", code, out)
	}
	ran := filepath.Join(t.TempDir(), "ran")
	if err := os.WriteFile(bin+"-cli", []byte("#!/bin/sh\ntouch "+ran+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, code = run("help")
	if _, err := os.Stat(ran); code != 2 || err == nil || !strings.Contains(out, "not a Go executable") {
		t.Fatalf("with a shell script as keyrite-cli: exit %d, ran: %v, want it refused and not run:\n%s", code, err == nil, out)
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
