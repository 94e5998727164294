package reports

import (
	"crypto"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// BundleName is the evidence bundle's file name for a ceremony.
func BundleName(ceremonyID string) string { return "evidence-" + ceremonyID + ".tar" }

// WriteEvidence writes the report and the evidence bundle into a sealed ceremony's folder,
// signing the bundle's manifest with the transcript signer. It never overwrites either.
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
	if err := transcript.WriteFileExclusive(report, pdf, 0o644); err != nil {
		return "", "", err
	}
	bundle = filepath.Join(dir, BundleName(res.Opening.CeremonyID))
	return report, bundle, writeBundleFile(bundle, func(w io.Writer) error { return writeBundle(res, dir, pdf, w, signer) })
}

// WriteBundleFile writes the evidence bundle to a new file name.
func WriteBundleFile(dir, name string, signer crypto.Signer) error {
	return writeBundleFile(name, func(w io.Writer) error { return WriteBundle(dir, w, signer) })
}

// writeBundleFile creates the new file name and has write fill it; on failure the partial
// file is removed.
func writeBundleFile(name string, write func(io.Writer) error) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("evidence bundle: %w (Keyrite never overwrites one)", err)
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
