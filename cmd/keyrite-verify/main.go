// Command keyrite-verify checks Keyrite evidence offline: a ceremony folder, a folder of
// chained ceremonies, an evidence bundle, or a whole evidence root against its ceremony log. It is pure Go and links no report renderer, GUI
// or PKCS#11 code (a test checks its dependencies): build it anywhere with CGO_ENABLED=0 and
// run it on the auditor's own machine. The report is checked by its hash in the bundle's
// signed manifest; `keyrite verify` also renders it again when it can.
//
//	keyrite-verify [--root SPKI-SHA256] [--witness KEY.pub]... [--against COPY] DIR|BUNDLE|ROOT
//
// --root takes the root's fingerprint as the paper report prints it, grouped or not. When the
// evidence does not verify, every record and file found wrong is listed before the error.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/keyrite/keyrite/evidence"
)

func main() {
	root := flag.String("root", "", "SHA-256 of the root public key (SPKI) the transcript must chain to, from the paper report (\"634C 83A1 …\", with or without spaces or colons)")
	var witnesses []string
	flag.Func("witness", "an evidence root's newest checkpoint must be cosigned by this witness (its .pub file); repeatable", func(s string) error {
		witnesses = append(witnesses, s)
		return nil
	})
	against := flag.String("against", "", "another copy of the evidence root (the archive's) to check against this one")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: keyrite-verify [--root SPKI-SHA256] [--witness KEY.pub]... [--against COPY] DIR|BUNDLE|ROOT")
		os.Exit(2)
	}
	if err := evidence.VerifyPathExplained(os.Stdout, flag.Arg(0), evidence.Options{Root: *root, Witnesses: witnesses, Against: *against}); err != nil {
		fmt.Fprintf(os.Stderr, "keyrite-verify: error: %s\n", evidence.Printable(err.Error()))
		os.Exit(1)
	}
}
