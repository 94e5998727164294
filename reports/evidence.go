package reports

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/internal/atomicfile"
)

// WriteEvidence makes the report and the evidence bundle in a sealed ceremony's folder,
// signing the bundle's manifest with the transcript signer. They are derived from the sealed
// transcript, so this is idempotent and can be run again at any time (`keyrite resume`): a
// report that is not the one the transcript renders to, and a bundle that does not verify as
// this ceremony's (torn by a kill or a full disk), are replaced atomically; a good bundle is
// kept. A file the transcript records as an output is never replaced.
func WriteEvidence(dir string, signer crypto.Signer) (report, bundle string, err error) {
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		return "", "", fmt.Errorf("the ceremony does not verify, so no evidence is written: %w", err)
	}
	pdf, err := reportFrom(res, dir)
	if err != nil {
		return "", "", err
	}
	report = filepath.Join(dir, ReportFileName)
	bundle = filepath.Join(dir, BundleName(res.Opening.CeremonyID))
	for _, name := range []string{report, bundle} {
		if err := checkDerived(res, dir, name); err != nil {
			return "", "", err
		}
	}
	if old, err := os.ReadFile(report); err != nil || !bytes.Equal(old, pdf) {
		if err := atomicfile.WriteFile(report, pdf, 0o644); err != nil {
			return "", "", fmt.Errorf("report: %w", err)
		}
	}
	if bundleOf(bundle, res, pdf) {
		return report, bundle, nil
	}
	return report, bundle, writeBundleFile(bundle, func(w io.Writer) error { return writeBundle(res, dir, pdf, w, signer) })
}

// WriteBundleFile writes the evidence bundle of the ceremony in dir to the file name,
// atomically, replacing a file there unless the ceremony records it as an output.
func WriteBundleFile(dir, name string, signer crypto.Signer) error {
	res, report, err := derived(dir, name, "bundle")
	if err != nil {
		return err
	}
	return writeBundleFile(name, func(w io.Writer) error { return writeBundle(res, dir, report, w, signer) })
}

// WriteReportFile writes the report of the ceremony in dir to the file name, atomically,
// replacing a file there unless the ceremony records it as an output.
func WriteReportFile(dir, name string) error {
	_, pdf, err := derived(dir, name, "report")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(name, pdf, 0o644)
}

// derived verifies the ceremony in dir, checks that the derived file (a "report" or a
// "bundle") may be written to name, and renders the report.
func derived(dir, name, what string) (*transcript.Result, []byte, error) {
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("the ceremony does not verify, so no %s is made: %w", what, err)
	}
	if err := checkDerived(res, dir, name); err != nil {
		return nil, nil, err
	}
	pdf, err := reportFrom(res, dir)
	return res, pdf, err
}

// checkDerived refuses to put a derived file where the ceremony in dir keeps its evidence:
// its transcript, its seal or an output a record names.
func checkDerived(res *transcript.Result, dir, name string) error {
	abs, err := filepath.Abs(name)
	if err != nil {
		return err
	}
	base, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		return nil // on another volume: not in the ceremony folder
	}
	rel = filepath.ToSlash(rel)
	recorded := rel == transcript.FileName || rel == transcript.SealFileName
	for _, o := range res.Outputs {
		recorded = recorded || o.File == rel
	}
	if recorded {
		return fmt.Errorf("%s is evidence the transcript records; Keyrite never replaces it (write the derived file elsewhere with --out)", name)
	}
	return nil
}

// bundleOf reports whether the file name is already an evidence bundle of this sealed
// ceremony, holding the report rendered now, and verifies.
func bundleOf(name string, res *transcript.Result, report []byte) bool {
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	work, err := os.MkdirTemp("", "keyrite-bundle-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(work)
	got, err := VerifyBundle(f, work)
	if err != nil || got.Ceremony.Seal.Text != res.Seal.Text || got.Manifest == nil {
		return false
	}
	// The bundle's signed manifest lists the report by its hash (verification does not unpack it).
	sum := sha256.Sum256(report)
	e, ok := got.Manifest.Files[ReportFileName]
	return ok && !e.Withheld && e.SHA256 == hex.EncodeToString(sum[:]) && e.Size == int64(len(report))
}

// writeBundleFile writes the bundle that write makes to name, atomically (replacing a file
// there: a bundle is derived, and one that was there is torn or stale).
func writeBundleFile(name string, write func(io.Writer) error) error {
	if err := atomicfile.Write(name, 0o644, true, write); err != nil {
		return fmt.Errorf("evidence bundle: %w", err)
	}
	return nil
}
