package evidence

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/keyrite/keyrite/ceremony/ledger"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"golang.org/x/mod/sumdb/note"
)

// The ceremony log (ceremony/ledger) as evidence: a ceremony folder in an evidence root holds
// its inclusion proof, ledger.ProofFileName, written after the seal and carried in its bundle;
// a whole evidence root is verified against its log.

// checkLogProof checks a ceremony's own inclusion proof against its seal and transcript signer.
func checkLogProof(text []byte, res *transcript.Result) (string, error) {
	v, err := ledger.SignerVerifier(res)
	if err != nil {
		return "", err
	}
	i, origin, err := ledger.CheckCeremonyProof(text, res.Opening.CeremonyID, []byte(res.Seal.Text), v)
	if err != nil {
		return "", &BundleError{ledger.ProofFileName, err.Error()}
	}
	return fmt.Sprintf("logged as entry %d of ceremony log %s (inclusion proof checked)", i, origin), nil
}

// readLogProof reads a ceremony folder's inclusion proof, if it has one.
func readLogProof(dir string) ([]byte, error) {
	b, err := transcript.ReadFileMax(filepath.Join(dir, ledger.ProofFileName), 64<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// verifyRoot verifies an evidence root: every ceremony folder in it strictly (VerifyFolder),
// its ceremony log, the witnesses' cosignatures, and another copy of it (opt.Against).
func verifyRoot(out io.Writer, dir string, opt Options) error {
	var witnesses []note.Verifier
	for _, f := range opt.Witnesses {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("witness key: %w", err)
		}
		v, err := ledger.WitnessVerifier(string(b))
		if err != nil {
			return err
		}
		witnesses = append(witnesses, v)
	}
	rep, err := VerifyRoot(dir, opt, witnesses)
	if err != nil {
		return fmt.Errorf("verify %s: %w", Printable(dir), err)
	}
	var folders []transcript.Folder
	for _, p := range rep.Ceremonies {
		folders = append(folders, transcript.Folder{Dir: filepath.Join(dir, filepath.FromSlash(p.Folder)), Result: p.Result})
	}
	if err := transcript.CheckChains(folders); err != nil {
		return fmt.Errorf("verify %s: %w", Printable(dir), err)
	}
	if len(folders) > 0 {
		io.WriteString(out, Printable(transcript.SummaryTree(folders))+"\n")
	}
	rep.Write(out, Printable)
	if opt.Against != "" {
		missing, short, long, err := ledger.CompareCopies(dir, opt.Against)
		if err != nil {
			return err
		}
		ledger.WriteComparison(out, opt.Against, missing, short, long, Printable)
	}
	if len(rep.Ceremonies) > 0 {
		last := rep.Ceremonies[len(rep.Ceremonies)-1].Result
		_, err = io.WriteString(out, Printable(trustLine(last.Root.Subject.CommonName, last.RootSPKI, opt.Root)))
	}
	return err
}

// VerifyRoot verifies the evidence root dir with ledger.VerifyRoot, each ceremony folder
// strictly by VerifyFolder.
func VerifyRoot(dir string, opt Options, witnesses []note.Verifier) (*ledger.RootReport, error) {
	root, err := ParseRoot(opt.Root)
	if err != nil {
		return nil, err
	}
	opt.Root = root
	return ledger.VerifyRoot(dir, func(d string) (*transcript.Result, error) {
		f, err := VerifyFolder(d, opt)
		return f.Result, err
	}, witnesses)
}
