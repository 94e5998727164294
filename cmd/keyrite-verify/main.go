// Command keyrite-verify checks Keyrite evidence offline: a ceremony folder, a folder of
// chained ceremonies, or an evidence bundle. It is pure Go and links no report renderer, GUI
// or PKCS#11 code (a test checks its dependencies): build it anywhere with CGO_ENABLED=0 and
// run it on the auditor's own machine. The report is checked by its hash in the bundle's
// signed manifest; `keyrite verify` also renders it again when it can.
//
//	keyrite-verify [--root SPKI-SHA256] DIR|BUNDLE
//
// --root takes the root's fingerprint as the paper report prints it, grouped or not.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/keyrite/keyrite/evidence"
)

func main() {
	root := flag.String("root", "", "SHA-256 of the root public key (SPKI) the transcript must chain to, from the paper report (\"634C 83A1 …\", with or without spaces or colons)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: keyrite-verify [--root SPKI-SHA256] DIR|BUNDLE")
		os.Exit(2)
	}
	if err := evidence.VerifyPath(os.Stdout, flag.Arg(0), evidence.Options{Root: *root}); err != nil {
		fmt.Fprintf(os.Stderr, "keyrite-verify: error: %s\n", evidence.Printable(err.Error()))
		os.Exit(1)
	}
}
