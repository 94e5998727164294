package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// softCA is a software CA for tests: its certificate and key.
type softCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newSoftCA(t *testing.T, cn string, parent *softCA, edit func(*x509.Certificate)) softCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: []string{"Outside Org"}, Country: []string{"NL"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(5 * 365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	if edit != nil {
		edit(tmpl)
	}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return softCA{c, key}
}

// A CRL's issuing distribution point must be the CRL distribution point of the certificates
// the continued ceremony holds; another is refused, naming both.
func TestCRLScopeMustMatchDistributionPoint(t *testing.T) {
	root := newSoftCA(t, "Example Root CA 2026", nil, nil)
	sub := newSoftCA(t, "Example Issuing CA", &root, func(c *x509.Certificate) {
		c.CRLDistributionPoints = []string{"http://pki.example-sovereign.de/crl/other.crl"}
	})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "intermediate.pem"), certPEM(sub.cert), 0o644)
	s := loadTestScript(t, "sign-crl-ceremony.yaml")
	r := &Run{Script: s, previous: &previousCeremony{dir: dir, root: root.cert, result: &transcript.Result{Outputs: []transcript.Output{{File: "intermediate.pem"}}}}}
	p := &preflighter{r: r}
	p.crlScope(s.CRL)
	if len(p.errs) != 1 || !strings.Contains(p.errs.Error(), "crl.distribution_point") || !strings.Contains(p.errs.Error(), "other.crl") {
		t.Fatalf("mismatch not refused: %v", p.errs)
	}
	s.CRL.DistributionPoint = "http://pki.example-sovereign.de/crl/other.crl"
	p = &preflighter{r: r}
	p.crlScope(s.CRL)
	if len(p.errs) != 0 {
		t.Fatalf("matching scope refused: %v", p.errs)
	}
}

// The issuing distribution point must be one of the CRL distribution points the root's
// profile gives its certificates.
func TestCRLScopeMustMatchProfile(t *testing.T) {
	src := string(loadTestScript(t, "sign-crl-ceremony.yaml").Source)
	withProfile := strings.Replace(src, "crl:\n", "profile:\n  crl_distribution_points: [http://pki.example-sovereign.de/crl/other.crl]\ncrl:\n", 1)
	if _, err := ParseScript("p.yaml", []byte(withProfile)); err == nil || !strings.Contains(err.Error(), "crl.distribution_point") || !strings.Contains(err.Error(), "not among the CRL distribution points") {
		t.Fatalf("a scope outside the profile: %v", err)
	}
	same := strings.Replace(withProfile, "other.crl", "example-root-ca-2026.crl", 1)
	if _, err := ParseScript("p.yaml", []byte(same)); err != nil {
		t.Fatalf("the profile's own distribution point: %v", err)
	}
}
