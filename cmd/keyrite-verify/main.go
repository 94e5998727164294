// Command keyrite-verify checks Keyrite evidence offline: a ceremony folder, a folder of
// chained ceremonies, or an evidence bundle. It is pure Go: build it anywhere with
// CGO_ENABLED=0, with no HSM and no GUI libraries, and run it on the auditor's own machine.
//
//	keyrite-verify [--root SPKI-SHA256] DIR|BUNDLE
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/keyrite/keyrite/reports"
)

func main() {
	root := flag.String("root", "", "SHA-256 of the root public key (SPKI) the transcript must chain to, from the paper report")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: keyrite-verify [--root SPKI-SHA256] DIR|BUNDLE")
		os.Exit(2)
	}
	if err := reports.VerifyPath(os.Stdout, flag.Arg(0), *root); err != nil {
		fmt.Fprintf(os.Stderr, "keyrite-verify: error: %v\n", err)
		os.Exit(1)
	}
}
