package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Each in-region PKI ceremony runs from the command line on the rehearsal token, as the README
// shows, and its folder verifies: the intermediate, its OCSP responder and pre-signed responses,
// the CRL signer, a cross-certificate of an outside CA, and a CRL with dated, reasoned entries.
func TestPKICeremoniesFromTheCommandLine(t *testing.T) {
	store, root, _ := rehearsed(t)
	tmp := t.TempDir()
	writePEMFile := func(name, typ string, der []byte) string {
		p := filepath.Join(tmp, name)
		os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644)
		return p
	}
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "Example Issuing CA 2026", Country: []string{"DE"}, Organization: []string{"Example Sovereign Cloud GmbH"}}}, key)
	csr := writePEMFile("issuing.csr", "CERTIFICATE REQUEST", der)
	pkey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ptmpl := &x509.Certificate{SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: "Partner Root CA", Organization: []string{"Partner BV"}, Country: []string{"NL"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	pder, _ := x509.CreateCertificate(rand.Reader, ptmpl, ptmpl, &pkey.PublicKey, pkey)
	partner := writePEMFile("partner.pem", "CERTIFICATE", pder)

	run := func(script, previous string, extra ...string) string {
		t.Helper()
		out := filepath.Join(tmp, strings.TrimSuffix(script, "-ceremony.yaml"))
		args := append([]string{"run", filepath.Join("..", "testdata", script), "--rehearsal", "--rehearsal-dir", store, "--yes", "--previous", previous, "--out", out}, extra...)
		if code, stdout, stderr := keyrite(t, "", args...); code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", script, code, stdout, stderr)
		}
		if code, stdout, stderr := keyrite(t, "", "verify", out); code != 0 {
			t.Fatalf("verify %s: exit %d\n%s\n%s", script, code, stdout, stderr)
		}
		return out
	}
	inter := run("sign-intermediate-ceremony.yaml", root, "--csr", csr)
	responder := run("sign-ocsp-responder-ceremony.yaml", inter)
	responses := run("sign-ocsp-responses-ceremony.yaml", responder, "--issued", filepath.Join(inter, "intermediate.pem"))
	signer := run("sign-crl-signer-ceremony.yaml", responses)
	cross := run("cross-certify-ceremony.yaml", signer, "--outside", partner)
	crl := run("sign-crl-ceremony.yaml", cross)

	ic, _ := os.ReadFile(filepath.Join(inter, "intermediate.pem"))
	blk, _ := pem.Decode(ic)
	c, _ := x509.ParseCertificate(blk.Bytes)
	for _, check := range [][]string{
		{"ocsp", "-respin", filepath.Join(responses, "ocsp-"+c.SerialNumber.Text(16)+".der"), "-issuer", filepath.Join(responses, "root.pem"), "-CAfile", filepath.Join(responses, "root.pem"), "-no_nonce"},
		{"verify", "-CAfile", filepath.Join(responder, "root.pem"), filepath.Join(responder, "ocsp-responder.pem")},
		{"verify", "-CAfile", filepath.Join(cross, "root.pem"), filepath.Join(cross, "cross-certificate.pem")},
		{"crl", "-in", filepath.Join(crl, "root.crl.pem"), "-CAfile", filepath.Join(crl, "root.pem"), "-noout", "-verify"},
	} {
		out, err := exec.Command("openssl", check...).CombinedOutput()
		if err != nil || !(strings.Contains(string(out), "OK") || strings.Contains(string(out), "verify OK")) {
			t.Errorf("openssl %s: %v\n%s", strings.Join(check, " "), err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(signer, "crl-signer.pem")); err != nil {
		t.Error(err)
	}
}
