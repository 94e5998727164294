package ceremony

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/reports"
)

func readCert(t *testing.T, p string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	c, err := x509.ParseCertificate(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A rotation introduces the new root, cross-certified both ways; the next ceremony is sealed in
// the new hierarchy, and the three verify as one chain.
func TestRotateRoot(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	rot := mustRun(t, "rotate-ceremony.yaml", root.b, Options{Previous: root.dir})
	crlScript := edited(t, loadTestScript(t, "sign-crl-ceremony.yaml"), func(s *Script) {
		s.ID = "example-root-2031-crl-1"
		s.CRL.RootKey = "example-root-2031"
		s.Signer.Label = "example-root-2031-transcript"
		// The new root's CRL is published where the rotation's cross-certificate names it.
		s.CRL.DistributionPoint = "http://pki.example-sovereign.de/crl/example-root-ca-2031.crl"
	})
	crl := filepath.Join(t.TempDir(), "crl")
	if err := start(t, crlScript, crl, root.b, &scriptedUI{}, Options{Previous: rot}); err != nil {
		t.Fatal(err)
	}

	oldRoot := readCert(t, filepath.Join(root.dir, "root.der"))
	newRoot := readCert(t, filepath.Join(rot, "new-root.der"))
	crossON := readCert(t, filepath.Join(rot, "cross-old-certifies-new.pem"))
	crossNO := readCert(t, filepath.Join(rot, "cross-new-certifies-old.pem"))
	if crossON.CheckSignatureFrom(oldRoot) != nil || crossNO.CheckSignatureFrom(newRoot) != nil {
		t.Fatal("cross-certificates do not verify under their issuers")
	}
	// A certificate of the new hierarchy verifies for someone who trusts only the old root.
	signer := readCert(t, filepath.Join(rot, "new-transcript-signer.pem"))
	old := x509.NewCertPool()
	old.AddCert(oldRoot)
	inter := x509.NewCertPool()
	inter.AddCert(crossON)
	if _, err := signer.Verify(x509.VerifyOptions{Roots: old, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("new hierarchy through the cross-certificate: %v", err)
	}

	tree := t.TempDir()
	for name, d := range map[string]string{"1-root": root.dir, "2-rotation": rot, "3-crl": crl} {
		os.Rename(d, filepath.Join(tree, name))
	}
	folders, err := transcript.VerifyTree(tree, transcript.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if folders[2].Result.RootSPKI == folders[0].Result.RootSPKI {
		t.Fatal("the CRL ceremony was not sealed in the new hierarchy")
	}
	states := map[string]string{}
	for _, k := range reports.Inventory(folders).Keys {
		states[k.Label] = k.State
	}
	if states["example-root-2026"] != "deactivated" || states["example-root-2031"] != "active" {
		t.Fatalf("inventory states %v", states)
	}
	// Without the rotation record, a change of root between chained ceremonies is refused.
	p := filepath.Join(tree, "2-rotation", transcript.FileName)
	data, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(data), `"event":"root.rotated"`, `"event":"root.rotatex"`, 1)), 0o644)
	if _, err := transcript.VerifyTree(tree, transcript.Options{}); err == nil {
		t.Fatal("a tampered rotation verified")
	}
}
