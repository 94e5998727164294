package ceremony

import (
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDestroyKey(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	makeDEKs(t, root.b, 2)
	dir := mustRun(t, "destroy-ceremony.yaml", root.b, Options{Previous: root.dir})
	if n := secretKeys(t, root.b); n != 1 {
		t.Fatalf("%d data keys left, want 1", n)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "transcript.jsonl"))
	for _, want := range []string{`"event":"key.identified"`, `"kcv_method":"AES-ECB"`, `"event":"key.destroyed"`, `"verified_absent":true`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("transcript lacks %s", want)
		}
	}
	// Destroying it again finds nothing and changes nothing.
	if _, err := run(t, "destroy-ceremony.yaml", root.b, Options{Previous: root.dir}); err == nil || !strings.Contains(err.Error(), "no key labelled") {
		t.Fatalf("second destruction: %v", err)
	}
	// The signer that seals a ceremony cannot be its subject.
	src, _ := os.ReadFile(filepath.Join("..", "testdata", "destroy-ceremony.yaml"))
	bad := strings.Replace(string(src), "key: dek-00000", "key: example-root-2026-transcript", 1)
	if _, err := ParseScript("s.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "cannot destroy itself") {
		t.Fatalf("destroying the signer: %v", err)
	}
}

func TestSignCRL(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	revoked := filepath.Join(t.TempDir(), "revoked.txt")
	os.WriteFile(revoked, []byte("# serial reason\n4a1f00c3 keyCompromise\n0x77aa superseded\n"), 0o644)
	dir := mustRun(t, "sign-crl-ceremony.yaml", root.b, Options{Previous: root.dir, Revoked: revoked})
	der, _ := os.ReadFile(filepath.Join(dir, "root.crl"))
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	rootDER, _ := os.ReadFile(filepath.Join(root.dir, "root.der"))
	rc, _ := x509.ParseCertificate(rootDER)
	if err := crl.CheckSignatureFrom(rc); err != nil || len(crl.RevokedCertificateEntries) != 2 || crl.RevokedCertificateEntries[0].ReasonCode != 1 || crl.Number.Int64() != 1 {
		t.Fatalf("CRL: %v %+v", err, crl)
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		out, err := exec.Command("openssl", "crl", "-in", filepath.Join(dir, "root.crl.pem"), "-CAfile", filepath.Join(dir, "root.pem"), "-noout", "-verify").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "verify OK") {
			t.Fatalf("openssl crl -verify: %v %s", err, out)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, []byte("4a1f00c3 keyCompromise\n4A1F00C3\n"), 0o644)
	if _, err := run(t, "sign-crl-ceremony.yaml", root.b, Options{Previous: root.dir, Revoked: bad}); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Fatalf("duplicate serial: %v", err)
	}
}
