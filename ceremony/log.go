package ceremony

import (
	"crypto"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyrite/keyrite/ceremony/ledger"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/internal/atomicfile"
)

// LogProofFileName is the ceremony's inclusion proof in its evidence root's ceremony log
// (c2sp.org/tlog-proof), written into the ceremony folder after the seal.
const LogProofFileName = ledger.ProofFileName

// EvidenceRoot is the evidence root the ceremony folder dir belongs to: its parent folder when
// that holds a ceremony log (`keyrite log init`), else "".
func EvidenceRoot(dir string) string {
	p := filepath.Dir(filepath.Clean(dir))
	if ledger.IsRoot(p) {
		return p
	}
	return ""
}

// openingLog reads the ceremony log of the evidence root dir belongs to, before anything is
// done: a damaged log, or one a witness's cosignature contradicts, is refused then. Its state
// is what the opening records, so that ceremony and log interlock. No evidence root: nil.
func openingLog(dir string) (*transcript.LogState, error) {
	root := EvidenceRoot(dir)
	if root == "" {
		return nil, nil
	}
	l, err := ledger.Open(root)
	if err != nil {
		return nil, fmt.Errorf("the evidence root %s: %w; nothing was done", root, err)
	}
	if err := l.CheckCosigned(); err != nil {
		return nil, fmt.Errorf("the evidence root %s: %w; nothing was done", root, err)
	}
	st := l.State()
	return &st, nil
}

// logSealed appends the sealed ceremony in dir to its evidence root's ceremony log, signs the
// new checkpoint with the transcript signer, and writes the ceremony's inclusion proof beside
// its seal. Like the report and the bundle it is derived from the seal and made again by a
// resume: a ceremony the log holds already is not appended twice.
func logSealed(dir string, signer crypto.Signer) error {
	root := EvidenceRoot(dir)
	if root == "" {
		return nil
	}
	sealText, err := os.ReadFile(filepath.Join(dir, transcript.SealFileName))
	if err != nil {
		return err
	}
	seal, err := transcript.ParseSeal(sealText)
	if err != nil {
		return err
	}
	s, err := ledger.NewSigner(seal.SignerName, signer)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return err
	}
	i, err := ledger.Append(root, ledger.CeremonyEntry(seal.CeremonyID, rel, sealText), s)
	if err != nil {
		return fmt.Errorf("append to the ceremony log: %w", err)
	}
	l, err := ledger.Open(root)
	if err != nil {
		return err
	}
	proof, err := l.Proof(i)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, LogProofFileName), proof, 0o644)
}
