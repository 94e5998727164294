package reports

import (
	"crypto"
	"fmt"
	"io"
	"os"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/evidence"
)

// The evidence bundle's format and its verification live in package evidence, which knows no
// renderer; this file binds them to this package's report renderer.

// ReportFileName is the report's name inside a ceremony folder. It is written after the seal,
// from the sealed transcript, so it is not itself an output the transcript names.
const ReportFileName = evidence.ReportFileName

// The bundle's manifest and its signature, as evidence names them.
const (
	ManifestName    = evidence.ManifestName
	ManifestSigName = evidence.ManifestSigName
)

// ReportRenderer is this package's report renderer, for evidence verification: its version is
// rendererVersion (Renderer).
var ReportRenderer evidence.Renderer = renderer{}

type renderer struct{}

func (renderer) Version() string { return rendererVersion }
func (renderer) Render(res *transcript.Result, dir string) ([]byte, error) {
	return reportFrom(res, dir)
}

// BundleName is the evidence bundle's file name for a ceremony.
func BundleName(ceremonyID string) string { return evidence.BundleName(ceremonyID) }

// KeyInventory and Inventory are the evidence package's key inventory.
type KeyInventory = evidence.KeyInventory

// Inventory builds the key inventory of verified ceremonies.
func Inventory(folders []transcript.Folder) *KeyInventory { return evidence.Inventory(folders) }

// WriteBundle writes the evidence bundle of the ceremony in dir to w, signing its manifest with
// signer, which must be the ceremony's transcript-signing key.
func WriteBundle(dir string, w io.Writer, signer crypto.Signer) error {
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		return err
	}
	report, err := reportFrom(res, dir)
	if err != nil {
		return err
	}
	return writeBundle(res, dir, report, w, signer)
}

func writeBundle(res *transcript.Result, dir string, report []byte, w io.Writer, signer crypto.Signer) error {
	return evidence.WriteBundle(res, dir, report, rendererVersion, w, signer)
}

// VerifyBundle verifies the evidence bundle in r, a file or an in-memory reader (see
// evidence.VerifyBundle), rendering the report again when the bundle was written by this
// renderer version.
func VerifyBundle(r io.Reader, work string) (*evidence.BundleResult, error) {
	opt := evidence.Options{Renderer: ReportRenderer}
	switch b := r.(type) {
	case *os.File:
		return evidence.VerifyBundleFile(b, work, opt)
	case interface {
		io.ReaderAt
		Size() int64
	}:
		return evidence.VerifyBundle(b, b.Size(), work, opt)
	}
	return nil, fmt.Errorf("verify bundle: %T is neither a file nor an in-memory reader", r)
}

// VerifyPath is evidence.VerifyPath with this package's renderer: what `keyrite verify` runs.
func VerifyPath(out io.Writer, path, root string) error {
	return evidence.VerifyPath(out, path, evidence.Options{Root: root, Renderer: ReportRenderer})
}
