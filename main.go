//go:build !front

// Command keyrite runs HSM key ceremonies: with no arguments it opens the desktop app, with a
// subcommand it runs headless (see `keyrite help`). scripts/build builds it three times: the
// front ./keyrite (-tags front, main_front.go), which verifies evidence itself and hands every
// other command to ./keyrite-cli (-tags nogui: the command line without the GUI,
// main_nogui.go) and the app to ./keyrite-app (no tags: the app and the command line in one
// binary, main_gui.go), all three of one build.
package main

import (
	"context"
	"embed"
	"fmt"
	"os"
	"os/signal"
	"path"
	"strings"

	"github.com/keyrite/keyrite/cli"
	"github.com/keyrite/keyrite/internal/quietlocale"
)

// The example scripts, one or more per ceremony type: testdata/NAME-ceremony.yaml is the
// example NAME (a type's TypeInfo.Example names its own).
//
//go:embed testdata/*-ceremony.yaml
var exampleFiles embed.FS

func examples() map[string][]byte {
	out := map[string][]byte{}
	files, _ := exampleFiles.ReadDir("testdata")
	for _, f := range files {
		b, err := exampleFiles.ReadFile(path.Join("testdata", f.Name()))
		if err == nil {
			out[strings.TrimSuffix(f.Name(), "-ceremony.yaml")] = b
		}
	}
	return out
}

func main() {
	quietlocale.Restore() // Fyne has read the locale; see package quietlocale
	ctx := context.Background()
	if len(os.Args) > 1 {
		// The first interrupt stops a ceremony at its next step or prompt (it can be
		// resumed); a second one ends the process at once.
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt)
		context.AfterFunc(ctx, func() {
			stop()
			fmt.Fprintln(os.Stderr, "\nkeyrite: stopping at the next step or prompt (interrupt again to stop at once; `keyrite resume` continues)")
		})
	}
	ex := examples()
	env := cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Examples: ex, Context: ctx,
		GUI: gui(ex),
	}
	if len(os.Args) == 1 {
		os.Exit(cli.Main(nil, env)) // the app: on the main OS thread, as GLFW needs
	}
	// A subcommand runs on a goroutine of its own, not on main's: Fyne's GLFW driver locks
	// main to the main OS thread at init, and every time a locked goroutine blocks (a channel,
	// a mutex, a cgo call's return) the runtime hands its thread over by futex. The report's
	// QR encoder alone then took 80 ms of handovers in a root ceremony instead of 8.
	code := make(chan int)
	go func() { code <- cli.Main(os.Args[1:], env) }()
	os.Exit(<-code)
}
