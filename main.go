// Command keyrite runs HSM key ceremonies: with no arguments it opens the desktop app, with a
// subcommand it runs headless (see `keyrite help`).
package main

import (
	_ "embed"
	"os"

	"github.com/keyrite/keyrite/app"
	"github.com/keyrite/keyrite/cli"
)

//go:embed testdata/root-ceremony.yaml
var exampleScript []byte

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		ExampleScript: exampleScript, GUI: app.Run,
	}))
}
