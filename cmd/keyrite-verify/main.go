// Command keyrite-verify checks a ceremony folder offline. It is pure Go: build it anywhere
// with CGO_ENABLED=0, no HSM and no GUI libraries, and run it on the auditor's own machine.
//
//	keyrite-verify [--root SPKI-SHA256] DIR
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

func main() {
	root := flag.String("root", "", "SHA-256 of the root public key (SPKI) the transcript must chain to")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: keyrite-verify [--root SPKI-SHA256] DIR")
		os.Exit(2)
	}
	folders, err := transcript.VerifyTree(flag.Arg(0), transcript.Options{RootSPKI: *root})
	if err != nil {
		fmt.Fprintf(os.Stderr, "keyrite-verify: error: %v\n", err)
		os.Exit(1)
	}
	fmt.Print(transcript.SummaryTree(folders))
}
