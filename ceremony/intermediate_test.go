package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func writeCSR(t *testing.T, key any, cn string) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: []string{"Example Sovereign Cloud GmbH"}, Country: []string{"DE"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "issuing.csr")
	os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o644)
	return p
}

func TestRootSignsIntermediate(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	csr := writeCSR(t, key, "Example Issuing CA 2026")
	dir := mustRun(t, "sign-intermediate-ceremony.yaml", root.b, Options{Previous: root.dir, CSR: csr})
	b, _ := os.ReadFile(filepath.Join(dir, "intermediate.der"))
	c, err := x509.ParseCertificate(b)
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero || c.Subject.CommonName != "Example Issuing CA 2026" || !c.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
		t.Fatalf("intermediate profile: %+v", c)
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		out, err := exec.Command("openssl", "verify", "-CAfile", filepath.Join(dir, "root.pem"), filepath.Join(dir, "intermediate.pem")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), ": OK") {
			t.Fatalf("openssl verify: %v %s", err, out)
		}
	}
}

func TestIntermediateRefusesBadRequests(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	good := writeCSR(t, ec, "Issuing CA")
	tampered := filepath.Join(t.TempDir(), "tampered.csr")
	b, _ := os.ReadFile(good)
	blk, _ := pem.Decode(b)
	blk.Bytes[len(blk.Bytes)-5] ^= 1
	os.WriteFile(tampered, pem.EncodeToMemory(blk), 0o644)
	small, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, c := range map[string]struct{ csr, want string }{
		"altered request":   {tampered, "signature does not verify"},
		"RSA-2048 CA key":   {writeCSR(t, small, "Weak CA"), "3072 bits or more"},
		"not a request":     {filepath.Join("..", "testdata", "root-ceremony.yaml"), "not a certificate signing request"},
		"no request at all": {"", "--csr"},
	} {
		t.Run(name, func(t *testing.T) {
			dir, err := run(t, "sign-intermediate-ceremony.yaml", root.b, Options{Previous: root.dir, CSR: c.csr})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v", err)
			}
			if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
				t.Fatal("a refused request left a ceremony folder")
			}
		})
	}
}
