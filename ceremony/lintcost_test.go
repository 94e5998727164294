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
	"slices"
	"strings"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	zlint "github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
	"github.com/zmap/zlint/v3/lints/community"
	"golang.org/x/mod/modfile"

	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/internal/emudhra"
	"github.com/keyrite/keyrite/internal/smallkey"
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

// smallKeyPair is the key pair on curve whose private key is d (1 < d < n).
func smallKeyPair(t *testing.T, curve elliptic.Curve, d *big.Int) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.ParseRawPrivateKey(curve, d.FillBytes(make([]byte, (curve.Params().N.BitLen()+7)/8)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The small-key check Keyrite runs is internal/smallkey's, in every certificate lint: a root
// whose key is 2, or n − 2^16, is refused by the lint after signing and by the lint of a shape
// with a real subject key, as zlint's own lint refused it; a random key is not. A registry
// without Keyrite's implementation fails the test.
func TestKeyriteLintsCatchSmallKeys(t *testing.T) {
	for _, pol := range []lintPolicy{{}, {waived: privateWaivers}} {
		reg, err := certificateLints(pol, nil)
		if err != nil {
			t.Fatal(err)
		}
		l := reg.CertificateLints().ByName(smallkey.Name)
		if l == nil {
			t.Fatalf("Keyrite's certificate lints have no %s", smallkey.Name)
		}
		if _, ok := l.Lint().(*smallkey.Lint); !ok {
			t.Fatalf("Keyrite's certificate lints run %T for %s, not internal/smallkey's", l.Lint(), smallkey.Name)
		}
		if _, ok := reg.CertificateLints().ByName(emudhra.Name).Lint().(*emudhra.Lint); !ok {
			t.Fatalf("Keyrite's certificate lints run zlint's %s, not internal/emudhra's", emudhra.Name)
		}
	}
	p256n := elliptic.P256().Params().N
	random, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key   *ecdsa.PrivateKey
		small bool
	}{
		{smallKeyPair(t, elliptic.P384(), big.NewInt(2)), true},
		{smallKeyPair(t, elliptic.P256(), new(big.Int).Sub(p256n, big.NewInt(1<<16))), true},
		{smallKeyPair(t, elliptic.P256(), new(big.Int).Sub(p256n, big.NewInt(1<<16+1))), false},
		{random, false},
	} {
		name := fmt.Sprintf("%s key %x", tc.key.Curve.Params().Name, tc.key.D)
		tmpl, err := rootTemplate(CertProfile{Subject: Subject{CommonName: "Small Key Root"}, ValidityDays: 3650}, Profile{}, big.NewInt(1), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, tc.key.Public(), tc.key)
		if err != nil {
			t.Fatal(err)
		}
		after, err := lintIssued("root.pem", "self-signed", der, Profile{}.policy())
		if err != nil {
			t.Fatal(err)
		}
		root, _ := x509.ParseCertificate(der)
		sub := *tmpl
		sub.Subject.CommonName = "Small Key Subject"
		before, _, err := lintCertificate("sub.pem", &sub, root, hsm.ECDSAP384, tc.key.Public(), "", Profile{}.policy())
		if err != nil {
			t.Fatal(err)
		}
		zc, err := zx509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		zlintSays := community.NewEcdsaSmallPrivateKey().Execute(zc).Status == lint.Error
		for what, res := range map[string]lintResult{"after signing": after, "before signing, a real subject key": before} {
			if got := slices.Contains(res.Findings["error"], smallkey.Name); got != tc.small || zlintSays != tc.small {
				t.Errorf("%s, %s: Keyrite found it small: %v, zlint: %v, want %v", name, what, got, zlintSays, tc.small)
			}
		}
	}
}

// A process makes one throwaway key per algorithm and role, an issuer's apart from a subject's,
// and filters each selection of lints once, to the lints a fresh filter gives.
func TestThrowawayKeysAndRegistriesAreMadeOnce(t *testing.T) {
	a, err := throwawayFor(hsm.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := throwawayFor(hsm.ECDSAP256)
	sub, err := throwawaySubjectFor(hsm.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("a second throwaway issuer key was made")
	}
	if a.Public().(*ecdsa.PublicKey).Equal(sub.Public()) {
		t.Error("the throwaway subject key is the issuer's")
	}
	if _, err := throwawayFor("no-such-algorithm"); err == nil {
		t.Error("a throwaway key of an unknown algorithm")
	}
	pol := lintPolicy{sources: signerLintSources}
	r1, err := certificateLints(pol, throwawayIssuer)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := certificateLints(pol, throwawayIssuer)
	fresh, err := lint.GlobalRegistry().Filter(lint.FilterOptions{IncludeSources: signerLintSources, ExcludeNames: throwawayIssuer})
	if err != nil {
		t.Fatal(err)
	}
	if r1 != r2 || !slices.Equal(r1.Names(), fresh.Names()) {
		t.Errorf("the kept registry: same %v, %d lints, a fresh filter %d", r1 == r2, len(r1.Names()), len(fresh.Names()))
	}
}

// A certificate signed with a compromised eMudhra key (zlint's minted test certificate) is
// refused by Keyrite's lint after signing, as by zlint's lint; one signed by the eMudhra root
// is not.
func TestKeyriteLintsCatchCompromisedSigners(t *testing.T) {
	for file, want := range map[string]bool{"emudhraOvG3CMinted.pem": true, "emudhraEvG3BIntermediate.pem": false} {
		b, err := os.ReadFile("../internal/emudhra/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		res, err := lintIssued(file, "issued", blk.Bytes, Profile{}.policy())
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(res.Findings["error"], emudhra.Name); got != want {
			t.Errorf("%s: %s found: %v, want %v", file, emudhra.Name, got, want)
		}
	}
}

// certLinter names the zlint version go.mod requires: the one Keyrite's two lints are compared
// with.
func TestCertLinterNamesTheRequiredZlint(t *testing.T) {
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Require {
		if r.Mod.Path == "github.com/zmap/zlint/v3" {
			if want := "zlint " + r.Mod.Version + " "; !strings.HasPrefix(certLinter, want) {
				t.Fatalf("certLinter is %q, but go.mod requires zlint %s", certLinter, r.Mod.Version)
			}
			return
		}
	}
	t.Fatal("go.mod requires no github.com/zmap/zlint/v3")
}

// Linting a CRL runs every CRL lint zlint has and leaves the configuration of zlint's global
// registry, which every other lint reads, as it was.
func TestCRLLintLeavesZlintsConfigurationAlone(t *testing.T) {
	global := lint.GlobalRegistry()
	before := global.GetConfiguration()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issuer := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CRL Lint Root"}, SubjectKeyId: []byte{1, 2, 3, 4},
		KeyUsage: x509.KeyUsageCRLSign | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	now := time.Now().UTC().Truncate(time.Second)
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now.AddDate(0, 11, 0)}, issuer, key)
	if err != nil {
		t.Fatal(err)
	}
	res, err := lintCRLBytes("root.crl", "issued by CRL Lint Root", der, nil)
	if err != nil {
		t.Fatal(err)
	}
	if global.GetConfiguration() != before {
		t.Fatal("linting a CRL changed the configuration of zlint's global registry")
	}
	if want := len(global.RevocationListLints().Lints()); res.LintsRun != want {
		t.Errorf("%d CRL lints ran, zlint has %d", res.LintsRun, want)
	}
	if slices.Contains(res.Findings["error"], "e_crl_next_update_invalid") {
		t.Errorf("a CA's CRL valid 11 months was linted as a subscriber's: %v", res.Findings)
	}
}
