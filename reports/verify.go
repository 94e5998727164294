package reports

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// VerifyPath verifies what an auditor was handed and writes a summary to out: a regular file
// is an evidence bundle, a folder is a ceremony or a folder of chained ceremonies. root, if
// set, is the SPKI SHA-256 of the root the transcripts must chain to (from the paper report).
func VerifyPath(out io.Writer, path, root string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if !fi.Mode().IsRegular() {
		folders, err := transcript.VerifyTree(path, transcript.Options{RootSPKI: root})
		if err != nil {
			return fmt.Errorf("verify %s: %w", path, err)
		}
		fmt.Fprint(out, transcript.SummaryTree(folders))
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	work, err := os.MkdirTemp("", "keyrite-bundle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	res, err := VerifyBundle(f, work)
	if err != nil {
		return fmt.Errorf("verify %s: %w", path, err)
	}
	if root != "" && !strings.EqualFold(root, res.Ceremony.RootSPKI.Hex()) {
		return fmt.Errorf("verify %s: the transcript signer chains to root %s, not to the expected root %s", path, res.Ceremony.RootSPKI.Hex(), root)
	}
	fmt.Fprintf(out, "Bundle verified: manifest signed by the transcript signer; %d files, %d bytes, all as listed; withheld: %s\n", res.Files, res.Bytes, strings.Join(res.Withheld, ", "))
	fmt.Fprint(out, transcript.Summary(res.Ceremony))
	return nil
}
