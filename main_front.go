//go:build front

// Command keyrite, the front binary scripts/build makes as ./keyrite (go build -tags front,
// CGO_ENABLED=0): `keyrite verify` and `keyrite inventory` run here, and everything else in the
// binary beside it of
// the same build, which it becomes (exec: the same process, its arguments, standard streams and
// signals): ./keyrite-cli for every other command, ./keyrite-app for the app (`keyrite` alone).
//
// Go initialises every package a binary links before main: the ceremony engine's linter
// (zlint, its public-suffix list), the PDF renderer, the PKCS#11 module's cgo and the GUI
// (Fyne, GLFW, OpenGL, X11) cost the full binaries 8 to 16 ms before main. The front links
// none of them (package cli/base holds verify and inventory, which package cli runs too, so
// both print the same bytes), and so starts as fast as the pure-Go keyrite-verify. Handing a
// command on costs the front's own start and one exec, 3 to 4 ms of CPU here. The ceremony's
// transcript records the SHA-256 of the binary that ran it, keyrite-cli or keyrite-app.
package main

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"syscall"

	"github.com/keyrite/keyrite/cli/base"
	"github.com/keyrite/keyrite/internal/startclock"
)

// here are the commands the front runs itself: they read evidence and nothing else.
var here = map[string]func(args []string, stdout, stderr io.Writer) error{
	"verify": func(args []string, stdout, stderr io.Writer) error {
		return base.Verify(args, stdout, stderr, nil)
	},
	"inventory": base.Inventory,
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		// The app; without it beside this binary, the command line's usage (exit 2).
		err := become("-app", nil)
		fmt.Fprintf(os.Stderr, "keyrite: error: %s\n", base.Escape(err.Error()))
	} else if cmd, ok := here[args[0]]; ok {
		stdout, stderr := base.NewEscaper(os.Stdout), base.NewEscaper(os.Stderr)
		err := cmd(args[1:], stdout, stderr)
		if !errors.Is(err, base.ErrNoRenderer) { // verify --render: keyrite-cli has the renderer
			code := base.Report(stderr, err, base.Hint(err))
			stdout.Flush()
			stderr.Flush()
			os.Exit(code)
		}
	}
	err := become("-cli", args)
	fmt.Fprintf(os.Stderr, "keyrite: error: %s\n", base.Escape(err.Error()))
	os.Exit(2)
}

// become replaces this process with the binary beside this one named as this one plus suffix
// (keyrite-cli, keyrite-app), run with args, if it is of this build; it returns only when it
// cannot.
func become(suffix string, args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot tell where keyrite is: %w", err)
	}
	sibling := exe + suffix
	if _, err := os.Stat(sibling); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is not beside %s (./scripts/build builds keyrite, keyrite-cli and keyrite-app together)", sibling, exe)
	}
	if err := sameBuild(sibling); err != nil {
		return err
	}
	err = syscall.Exec(sibling, append([]string{sibling}, args...), startclock.Handover(os.Environ()))
	return fmt.Errorf("starting %s: %w", sibling, err)
}

// sameBuild refuses a binary that is not from the build this one is from (version, revision,
// Go version and main module as `go version -m` shows them), so keyrite never hands a command
// to an older or foreign binary by mistake.
func sameBuild(sibling string) error {
	theirs, err := buildinfo.ReadFile(sibling)
	if err != nil {
		return fmt.Errorf("%s is not a Go executable keyrite can read: %w; ./scripts/build builds it beside keyrite", sibling, err)
	}
	ours, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Errorf("keyrite cannot read its own build information to compare with %s", sibling)
	}
	if a, b := buildIdentity(ours), buildIdentity(theirs); a != b {
		return fmt.Errorf("%s is from another build than keyrite: [%s], keyrite [%s]; build them again together with ./scripts/build", sibling, b, a)
	}
	return nil
}

// buildIdentity is what the binaries of one build share: the main module, its version, the Go
// version, and the revision scripts/build sets (-ldflags) or the toolchain stamps (vcs.*).
func buildIdentity(bi *debug.BuildInfo) string {
	id := fmt.Sprintf("%s %s, %s", bi.Main.Path, bi.Main.Version, bi.GoVersion)
	for _, s := range bi.Settings {
		switch s.Key {
		case "-ldflags", "vcs.revision", "vcs.modified":
			id += fmt.Sprintf(", %s=%s", s.Key, s.Value)
		}
	}
	return id
}
