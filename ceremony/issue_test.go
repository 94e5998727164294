package ceremony

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"testing"
	"time"
)

// badSigner signs with its key, then changes the signature's last byte: an HSM that returns
// a wrong signature.
type badSigner struct{ *ecdsa.PrivateKey }

func (b badSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := b.PrivateKey.Sign(r, digest, opts)
	if err == nil {
		sig[len(sig)-1] ^= 1
	}
	return sig, err
}

// issue refuses what CheckSignatureFrom refuses, though it verifies the new certificate's
// signature once (in x509.CreateCertificate) where it used to verify it twice: a signature
// the signer got wrong, a signing key that is not the issuer certificate's (CreateCertificate
// refuses it too), an issuer that is not a CA or may not sign certificates; and it issues
// what CheckSignatureFrom accepts.
func TestIssueRefusesWhatCheckSignatureFromRefuses(t *testing.T) {
	rootKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	subKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, rc := testRoot(t, rootKey, "Issue Root")
	if err := rc.CheckSignatureFrom(rc); err != nil {
		t.Fatal(err)
	}
	sub := func() *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Issue Sub"},
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCertSign}
	}
	notCA, noCertSign := *rc, *rc
	notCA.IsCA = false
	noCertSign.KeyUsage = x509.KeyUsageDigitalSignature
	for name, tc := range map[string]struct {
		issuer *x509.Certificate
		signer crypto.Signer
		ok     bool
	}{
		"the issuer's key":                  {rc, rootKey, true},
		"another key than the issuer's":     {rc, otherKey, false},
		"an issuer that is not a CA":        {&notCA, rootKey, false},
		"an issuer without keyCertSign":     {&noCertSign, rootKey, false},
		"a signer that returns a wrong sig": {rc, badSigner{rootKey}, false},
	} {
		c, err := issue(sub(), tc.issuer, subKey.Public(), tc.signer)
		if tc.ok != (err == nil) {
			t.Errorf("%s: issue: %v", name, err)
		}
		if name == "an issuer that is not a CA" || name == "an issuer without keyCertSign" {
			var cv x509.ConstraintViolationError
			if !errors.As(err, &cv) {
				t.Errorf("%s: %v, want x509.ConstraintViolationError as CheckSignatureFrom gives", name, err)
			}
		}
		if c != nil {
			if err := c.CheckSignatureFrom(tc.issuer); err != nil {
				t.Errorf("%s: issued a certificate CheckSignatureFrom refuses: %v", name, err)
			}
		}
	}
}

// testRoot makes the template of a root named cn, with the profile's defaults, and the
// certificate key issues from it for itself.
func testRoot(t *testing.T, key crypto.Signer, cn string) (tmpl, cert *x509.Certificate) {
	t.Helper()
	tmpl, err := rootTemplate(CertProfile{Subject: Subject{CommonName: cn}, ValidityDays: 3650}, Profile{}, big.NewInt(1), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err = issue(tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl, cert
}
