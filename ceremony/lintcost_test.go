package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	zlint "github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/keyrite/keyrite/hsm"
)

// The lints left out of a throwaway shape are zlint's own names: a renamed lint would be
// excluded no longer (and cost its time again) without this test failing.
func TestExcludedLintsExist(t *testing.T) {
	for _, name := range append(append([]string(nil), throwawayIssuer...), throwawayOnly...) {
		if lint.GlobalRegistry().ByName(name) == nil {
			t.Errorf("zlint has no lint %q any more: drop it from the exclusions or use its new name", name)
		}
	}
}

// A shape signed by a throwaway issuer key runs every lint zlint would run on it but those
// that judge the throwaway keys; a real subject key keeps the subject-key lints.
func TestThrowawayShapesLeaveOutOnlyThrowawayLints(t *testing.T) {
	check := func(res lintResult, c *x509.Certificate, left []string) {
		t.Helper()
		zc, err := zx509.ParseCertificate(c.Raw)
		if err != nil {
			t.Fatal(err)
		}
		full := zlint.LintCertificate(zc)
		for _, name := range left {
			if _, ok := full.Results[name]; !ok {
				t.Errorf("zlint does not run %s on %s: its exclusion saves nothing", name, c.Subject)
			}
		}
		if want := len(full.Results) - len(left); res.LintsRun != want {
			t.Errorf("%s: %d lints ran, want %d (all but %v)", c.Subject, res.LintsRun, want, left)
		}
	}
	root, err := rootTemplate(CertProfile{Subject: Subject{CommonName: "Lint Cost Root"}, ValidityDays: 3650}, Profile{}, big.NewInt(1), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	res, c, err := lintCertificate("root.pem", root, nil, hsm.ECDSAP384, nil, "", lintPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	check(res, c, []string{"e_cert_issued_by_compromised_emudhra_ca", "e_ecdsa_small_private_key"})
	real, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issued := *root
	issued.Subject.CommonName = "Lint Cost Subject"
	res, c, err = lintCertificate("sub.pem", &issued, root, hsm.ECDSAP384, real.Public(), "", lintPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	check(res, c, []string{"e_cert_issued_by_compromised_emudhra_ca"})
}

// warmKeyLints builds zlint's small-key table by running the lint itself: on the base point
// (private key 1) it must find the key small, or it did not run.
func TestWarmingRunsTheSmallKeyLint(t *testing.T) {
	if !runSmallKeyLint(elliptic.P384()) {
		t.Fatal("e_ecdsa_small_private_key did not find private key 1 small: the warm-up ran no lint")
	}
}
