package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writePEM(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The root cross-certifies an outside CA from its self-signed certificate: the
// cross-certificate keeps the outside CA's exact subject, key and key identifier, openssl
// verifies it under the root, and a certificate the outside CA issued verifies up to this root
// through it.
func TestCrossCertifyFromCertificate(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	partner := newSoftCA(t, "Partner Root CA", nil, func(c *x509.Certificate) { c.SubjectKeyId = []byte{1, 2, 3, 4, 5, 6, 7, 8} })
	leafCA := newSoftCA(t, "Partner Issuing CA", &partner, func(c *x509.Certificate) { c.MaxPathLenZero = true })
	in := writePEM(t, "partner.pem", "CERTIFICATE", partner.cert.Raw)
	// Without name constraints: allowed, and the record says they are recommended.
	s := edited(t, loadTestScript(t, "cross-certify-ceremony.yaml"), func(s *Script) { s.Cross.Profile = nil })
	dir := mustRunScript(t, s, root.b, Options{Previous: root.dir, Outside: in})
	x := readCert(t, filepath.Join(dir, "cross-certificate.pem"))
	if string(x.RawSubject) != string(partner.cert.RawSubject) || !x.PublicKey.(*ecdsa.PublicKey).Equal(partner.cert.PublicKey) ||
		string(x.SubjectKeyId) != string(partner.cert.SubjectKeyId) || !x.IsCA || x.MaxPathLen != 1 {
		t.Fatalf("cross-certificate: %+v", x)
	}
	if out := opensslOK(t, "verify", "-CAfile", filepath.Join(dir, "root.pem"), filepath.Join(dir, "cross-certificate.pem")); !strings.Contains(out, ": OK") {
		t.Fatal(out)
	}
	sub := writePEM(t, "sub.pem", "CERTIFICATE", leafCA.cert.Raw)
	if out := opensslOK(t, "verify", "-CAfile", filepath.Join(dir, "root.pem"), "-untrusted", filepath.Join(dir, "cross-certificate.pem"), sub); !strings.Contains(out, ": OK") {
		t.Fatal(out)
	}
	res := verified(t, dir)
	lintedClean(t, res, "cross-certificate.pem") // public-trust: CRL DP, AIA and a reserved policy
	if len(x.CRLDistributionPoints) == 0 || len(x.IssuingCertificateURL) == 0 || len(x.PolicyIdentifiers) == 0 {
		t.Fatalf("the public-trust profile is missing: %v %v %v", x.CRLDistributionPoints, x.IssuingCertificateURL, x.PolicyIdentifiers)
	}
	if !strings.Contains(events(res), "outside-ca.checked") {
		t.Fatal("no outside-ca.checked record")
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "transcript.jsonl")); !strings.Contains(string(data), "name constraints (cross_certify.profile.name_constraints) are recommended") {
		t.Fatal("the record does not say name constraints are recommended")
	}
	if _, err := os.Stat(filepath.Join(dir, "outside-ca.pem")); err != nil {
		t.Fatal(err)
	}
}

// From a CSR: the request's own signature is checked, then its subject and key certified.
func TestCrossCertifyFromCSR(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	csr := writeCSR(t, key, "Partner Root CA R2")
	dir := mustRun(t, "cross-certify-ceremony.yaml", root.b, Options{Previous: root.dir, Outside: csr}) // the example's name constraints
	x := readCert(t, filepath.Join(dir, "cross-certificate.pem"))
	if x.Subject.CommonName != "Partner Root CA R2" || !x.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) || len(x.SubjectKeyId) == 0 {
		t.Fatalf("cross-certificate: %+v", x.Subject)
	}
	if len(x.PermittedDNSDomains) != 1 || x.PermittedDNSDomains[0] != ".partner.example" || !x.PermittedDNSDomainsCritical {
		t.Fatalf("name constraints: %v", x.PermittedDNSDomains)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "transcript.jsonl")); !strings.Contains(string(data), `"name_constraints":"permitted DNS .partner.example"`) {
		t.Fatal("the record does not name the constraints")
	}
	lintedClean(t, verified(t, dir), "cross-certificate.pem")
	if out := opensslOK(t, "verify", "-CAfile", filepath.Join(dir, "root.pem"), filepath.Join(dir, "cross-certificate.pem")); !strings.Contains(out, ": OK") {
		t.Fatal(out)
	}
}

// A weak key, a name or key that is this hierarchy's own, an altered request or certificate,
// an end-entity certificate: each refused before the HSM is touched.
func TestCrossCertifyRefusals(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	rc := readCert(t, filepath.Join(root.dir, "root.pem"))
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	weakCA := newSoftCAKey(t, "Weak CA", weak)
	collide := newSoftCA(t, "x", nil, func(c *x509.Certificate) { c.Subject = rc.Subject })
	tampered := newSoftCA(t, "Tampered CA", nil, nil)
	bad := append([]byte(nil), tampered.cert.Raw...)
	bad[len(bad)-3] ^= 0xff
	ee := newSoftCA(t, "Not A CA", nil, func(c *x509.Certificate) { c.IsCA = false; c.KeyUsage = x509.KeyUsageDigitalSignature })
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrFile := writeCSR(t, ecKey, "Partner CA")
	b, _ := os.ReadFile(csrFile)
	blk, _ := pem.Decode(b)
	blk.Bytes[len(blk.Bytes)-4] ^= 0xff
	for name, c := range map[string]struct{ file, want string }{
		"RSA-1024":       {writePEM(t, "weak.pem", "CERTIFICATE", weakCA.Raw), "RSA-1024: too weak to cross-certify"},
		"our root name":  {writePEM(t, "collide.pem", "CERTIFICATE", collide.cert.Raw), "is the name of this hierarchy's certificate"},
		"altered cert":   {writePEM(t, "bad.pem", "CERTIFICATE", bad), "does not verify under its own key"},
		"altered CSR":    {writePEM(t, "bad.csr", "CERTIFICATE REQUEST", blk.Bytes), "signature does not verify"},
		"not a CA":       {writePEM(t, "ee.pem", "CERTIFICATE", ee.cert.Raw), "is not a CA certificate"},
		"no outside CA":  {"", "--outside FILE"},
		"not a cert/CSR": {filepath.Join("..", "testdata", "root-ceremony.yaml"), "neither a certificate nor a certificate signing request"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "x")
			err := start(t, loadTestScript(t, "cross-certify-ceremony.yaml"), dir, root.b, &scriptedUI{}, Options{Previous: root.dir, Outside: c.file})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
				t.Fatal("a refused outside CA left a ceremony folder")
			}
		})
	}
	// Our own root's key under another name (a certificate another CA issued for it) is
	// refused too.
	other := newSoftCA(t, "Other CA", nil, nil)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: "Renamed Root"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24 * 365),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, other.cert, rc.PublicKey, other.key)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "samekey")
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, loadTestScript(t, "cross-certify-ceremony.yaml"), dir, root.b, ui, Options{Previous: root.dir, Outside: writePEM(t, "samekey.pem", "CERTIFICATE", der)})
	}, "the outside CA's key is the key of this hierarchy's certificate")
}

// newSoftCAKey is a self-signed CA certificate for key.
func newSoftCAKey(t *testing.T, cn string, key *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24 * 365),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}
