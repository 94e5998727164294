// Command keyrite runs HSM key ceremonies: with no arguments it opens the desktop app, with a
// subcommand it runs headless (see `keyrite help`).
package main

import (
	"context"
	"embed"
	"fmt"
	"os"
	"os/signal"
	"path"
	"strings"

	"github.com/keyrite/keyrite/app"
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
	os.Exit(cli.Main(os.Args[1:], cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Examples: ex, Context: ctx,
		GUI: func() error { return app.Run(ex) },
	}))
}
