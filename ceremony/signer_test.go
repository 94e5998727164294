package ceremony

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// TestSignerCertificateProfile: the transcript signer's certificate says what the key is for
// (id-kp-documentSigning, RFC 9336) and carries a subject key identifier, so relying parties
// and linters can tell it from a TLS or CA key.
func TestSignerCertificateProfile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	if err := start(t, exampleScript(t), dir, freshToken(t), &scriptedUI{}, Options{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "transcript-signer.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.UnknownExtKeyUsage) != 1 || !c.UnknownExtKeyUsage[0].Equal(oidDocumentSigning) || len(c.ExtKeyUsage) != 0 {
		t.Fatalf("signer EKUs %v %v, want only id-kp-documentSigning", c.ExtKeyUsage, c.UnknownExtKeyUsage)
	}
	if len(c.SubjectKeyId) != 20 || len(c.AuthorityKeyId) == 0 {
		t.Fatalf("signer key identifiers: subject %x, authority %x", c.SubjectKeyId, c.AuthorityKeyId)
	}
	if c.IsCA || c.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Fatalf("signer is CA %v with key usage %v", c.IsCA, c.KeyUsage)
	}
}
