//go:build nogui

package main

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"syscall"

	"github.com/keyrite/keyrite/cli"
	"github.com/keyrite/keyrite/internal/startclock"
)

// The command-line build (go build -tags nogui; scripts/build makes ./keyrite this way) links
// no Fyne, OpenGL or X11 library: every command starts without their initialisation and runs on
// a machine without them. The desktop app is a second executable beside it, the one-binary
// build (go build, no tags) that scripts/build writes as ./keyrite-app: `keyrite` without a
// command replaces itself with it (exec, same process), so the app runs exactly as if started
// directly, records its own executable's SHA-256 in the ceremonies it runs (what ran them), and
// finds no trace of this process. Without the app beside it, `keyrite` alone prints its usage.

// appSuffix names the app beside the command line: PATH plus "-app" (keyrite, keyrite-app).
const appSuffix = "-app"

// gui replaces this process with the desktop app beside the executable.
func gui(map[string][]byte) func() error {
	return func() error {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("%w: cannot tell where keyrite is: %v", cli.ErrNoApp, err)
		}
		app := exe + appSuffix
		if err := sameBuild(app); err != nil {
			return err
		}
		err = syscall.Exec(app, []string{app}, startclock.Handover(os.Environ()))
		return fmt.Errorf("starting the desktop app %s: %w", app, err)
	}
}

// sameBuild refuses an app that is not from the build this command line is from (version,
// revision, Go version and main module as `go version -m` shows them), so `keyrite` never
// opens an older or foreign app by mistake.
func sameBuild(app string) error {
	if _, err := os.Stat(app); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s is not beside this command line (./scripts/build builds both); every command above works without it", cli.ErrNoApp, app)
	}
	theirs, err := buildinfo.ReadFile(app)
	if err != nil {
		return fmt.Errorf("the desktop app %s is not a Go executable keyrite can read: %w; ./scripts/build builds it beside keyrite", app, err)
	}
	ours, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Errorf("keyrite cannot read its own build information to compare with the desktop app %s", app)
	}
	if a, b := buildIdentity(ours), buildIdentity(theirs); a != b {
		return fmt.Errorf("the desktop app %s is from another build than keyrite: the app [%s], keyrite [%s]; build both again with ./scripts/build", app, b, a)
	}
	return nil
}

// buildIdentity is what two executables of one build share: the main module, its version, the
// Go version, and the revision scripts/build sets (-ldflags) or the toolchain stamps (vcs.*).
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
