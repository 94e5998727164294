package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The in-region PKI end to end, as a relying party sees it: the offline root (root
// ceremony) certifies an issuing CA whose key the issuing CA keeps (sign-intermediate, from its
// CSR; the intermediate carries CRL DP, AIA and policies under the public-trust preset); the
// issuing CA issues a TLS server certificate and its own CRL (Go crypto/x509, as the online
// issuing CA would); the root signs its CRL (sign-crl) and an OCSP response about the
// intermediate (sign-ocsp-responses). openssl verifies the whole chain with revocation
// checking at every level, and the OCSP response; once the root's next CRL revokes the
// intermediate, openssl refuses the leaf.
func TestInRegionPKIVerifiesWithOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is needed (scripts/install-deps installs it)")
	}
	root := rootOn(t, "root-ceremony.yaml")
	interKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	interDir := mustRun(t, "sign-intermediate-ceremony.yaml", root.b, Options{Previous: root.dir, CSR: writeCSR(t, interKey, "Example Issuing CA 2026")})
	inter := readCert(t, filepath.Join(interDir, intermediatePEM))
	if len(inter.CRLDistributionPoints) == 0 || len(inter.IssuingCertificateURL) == 0 || len(inter.Policies) == 0 {
		t.Fatalf("the intermediate lacks CRL DP, AIA or policies: %v %v %v", inter.CRLDistributionPoints, inter.IssuingCertificateURL, inter.Policies)
	}

	// The issuing CA, online in the region, issues a server certificate and its CRL.
	now := time.Now()
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "portal.example-sovereign.de"}, DNSNames: []string{"portal.example-sovereign.de"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(90 * 24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		CRLDistributionPoints: []string{"http://pki.example-sovereign.de/crl/example-issuing-ca-2026.crl"},
		IssuingCertificateURL: []string{"http://pki.example-sovereign.de/certs/example-issuing-ca-2026.der"},
	}, inter, &leafKey.PublicKey, interKey)
	if err != nil {
		t.Fatal(err)
	}
	interCRL, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(7 * 24 * time.Hour)}, inter, interKey)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	leaf := filepath.Join(work, "leaf.pem")
	interCRLFile := filepath.Join(work, "issuing-ca.crl.pem")
	os.WriteFile(leaf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o600)
	os.WriteFile(interCRLFile, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: interCRL}), 0o600)

	// The root's CRL, about the CA certificates it issued (the example revokes two others).
	crlDir := mustRun(t, "sign-crl-ceremony.yaml", root.b, Options{Previous: interDir})
	rootPEMFile, interPEM := filepath.Join(interDir, rootPEM), filepath.Join(interDir, intermediatePEM)
	rootCRL := filepath.Join(crlDir, "root.crl.pem")

	// openssl, as a relying party: the leaf against the issuing CA's CRL (-crl_check, the
	// leaf's own issuer), and the intermediate against the root's CRL, whose issuing
	// distribution point is the intermediate's CRL distribution point.
	out := opensslOK(t, "verify", "-crl_check", "-x509_strict", "-CAfile", rootPEMFile, "-untrusted", interPEM, "-CRLfile", interCRLFile, leaf)
	if !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify -crl_check (leaf):\n%s", out)
	}
	out = opensslOK(t, "verify", "-crl_check", "-x509_strict", "-CAfile", rootPEMFile, "-CRLfile", rootCRL, interPEM)
	if !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify -crl_check (intermediate):\n%s", out)
	}
	// -crl_check_all checks every certificate, the self-signed root too, which a CRL with an
	// issuing distribution point does not cover (the root names no CRL distribution point:
	// openssl error 44, "different CRL scope"); a root CRL without one covers the chain.
	whole := edited(t, loadTestScript(t, "sign-crl-ceremony.yaml"), func(s *Script) {
		s.ID, s.CRL.Number, s.CRL.DistributionPoint, s.CRL.OnlyCACertificates = "example-root-2026-crl-2", 2, "", false
	})
	wholeDir := mustRunScript(t, whole, root.b, Options{Previous: crlDir})
	out = opensslOK(t, "verify", "-crl_check_all", "-x509_strict", "-CAfile", rootPEMFile, "-untrusted", interPEM,
		"-CRLfile", filepath.Join(wholeDir, "root.crl.pem"), "-CRLfile", interCRLFile, leaf)
	if !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify -crl_check_all:\n%s", out)
	}

	// The root's OCSP response about the intermediate.
	ocspDir := mustRun(t, "sign-ocsp-responses-ceremony.yaml", root.b, Options{Previous: interDir})
	out = opensslOK(t, "ocsp", "-respin", filepath.Join(ocspDir, fmt.Sprintf("ocsp-%x.der", inter.SerialNumber)), "-issuer", rootPEMFile,
		"-CAfile", rootPEMFile, "-cert", interPEM, "-no_nonce", "-resp_text")
	if !strings.Contains(out, "Response verify OK") || !strings.Contains(out, interPEM+": good") {
		t.Fatalf("openssl ocsp:\n%s", out)
	}

	// The root's next CRL revokes the intermediate: openssl now refuses the leaf.
	next := edited(t, loadTestScript(t, "sign-crl-ceremony.yaml"), func(s *Script) {
		s.ID, s.CRL.Number, s.CRL.DistributionPoint, s.CRL.OnlyCACertificates = "example-root-2026-crl-3", 3, "", false
		s.CRL.Revoked = []CRLEntry{{Serial: fmt.Sprintf("%x", inter.SerialNumber), RevokedAt: time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), Reason: "keyCompromise"}}
	})
	revokedDir := mustRunScript(t, next, root.b, Options{Previous: wholeDir})
	cmd := exec.Command("openssl", "verify", "-crl_check_all", "-CAfile", rootPEMFile, "-untrusted", interPEM,
		"-CRLfile", filepath.Join(revokedDir, "root.crl.pem"), "-CRLfile", interCRLFile, leaf)
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "certificate revoked") {
		t.Fatalf("openssl accepted a chain whose intermediate the root revoked (%v):\n%s", err, b)
	}
}
