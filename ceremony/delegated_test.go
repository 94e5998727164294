package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

func hasExtension(c *x509.Certificate, oid []int) bool {
	for _, x := range c.Extensions {
		if x.Id.Equal(oid) {
			return true
		}
	}
	return false
}

// lintedClean checks that a ceremony's records lint name with zlint and find no error and no
// warning, before and after signing.
func lintedClean(t *testing.T, res *transcript.Result, name string) {
	t.Helper()
	found := false
	for i := range res.Entries {
		e := &res.Entries[i].Record
		switch e.Event {
		case transcript.EventPreflightPassed:
			d, _ := transcript.Data[transcript.PreflightPassed](e)
			for _, l := range d.Lints {
				if l.Name == name {
					found = true
					if len(l.Findings["error"])+len(l.Findings["warn"])+len(l.Findings["fatal"])+len(l.Waived) > 0 {
						t.Errorf("%s linted with findings %v, waived %v", name, l.Findings, l.Waived)
					}
				}
			}
		case transcript.EventCertificateLinted:
			d, _ := transcript.Data[transcript.CertificateLinted](e)
			if len(d.Findings["error"])+len(d.Findings["warn"])+len(d.Findings["fatal"]) > 0 {
				t.Errorf("certificate linted with findings %v", d.Findings)
			}
		}
	}
	if !found {
		t.Errorf("the pre-flight did not lint %s", name)
	}
}

// The OCSP responder's key is generated in the HSM; its certificate is what RFC 6960 and the
// Baseline Requirements ask of a delegated responder, lint-clean under every zlint source, and
// chains to the root.
func TestOCSPResponderGeneratedInHSM(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	dir := mustRun(t, "sign-ocsp-responder-ceremony.yaml", root.b, Options{Previous: root.dir})
	c := readCert(t, filepath.Join(dir, "ocsp-responder.pem"))
	rc := readCert(t, filepath.Join(dir, "root.pem"))
	if c.IsCA || c.KeyUsage != x509.KeyUsageDigitalSignature || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageOCSPSigning ||
		!hasExtension(c, oidOCSPNoCheck) || len(c.CRLDistributionPoints) > 0 || len(c.PolicyIdentifiers) > 0 || c.Subject.CommonName != "Example Root CA 2026 OCSP Responder 1" {
		t.Fatalf("responder profile: %+v", c)
	}
	if d := c.NotAfter.Sub(c.NotBefore); d != 90*24*time.Hour {
		t.Fatalf("validity %v, want 90 days", d)
	}
	if err := c.CheckSignatureFrom(rc); err != nil {
		t.Fatal(err)
	}
	k, err := openLoggedIn(t, root.b).FindKeyPair("example-root-2026-ocsp-1")
	if err != nil || !k.Public().(*ecdsa.PublicKey).Equal(c.PublicKey) {
		t.Fatalf("the certified key is not the HSM's: %v", err)
	}
	res := verified(t, dir)
	lintedClean(t, res, "ocsp-responder.pem")
	out := opensslOK(t, "verify", "-CAfile", filepath.Join(dir, "root.pem"), "-purpose", "ocsphelper", filepath.Join(dir, "ocsp-responder.pem"))
	if !strings.Contains(out, ": OK") {
		t.Fatal(out)
	}
	text := opensslOK(t, "x509", "-in", filepath.Join(dir, "ocsp-responder.pem"), "-noout", "-text")
	for _, w := range []string{"OCSP Signing", "OCSP No Check", "Digital Signature", "CA:FALSE"} {
		if !strings.Contains(text, w) {
			t.Errorf("openssl x509 -text lacks %q", w)
		}
	}
}

// From a CSR: the request's own signature is checked; an altered one is refused before the
// HSM is touched, a good one certified with its subject and key.
func TestOCSPResponderFromCSR(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	s := edited(t, loadTestScript(t, "sign-ocsp-responder-ceremony.yaml"), func(s *Script) {
		s.OCSPResponder.Key, s.OCSPResponder.Subject = nil, Subject{}
	})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := writeCSR(t, key, "Example In-Region OCSP Responder")
	b, _ := os.ReadFile(csr)
	tampered := filepath.Join(t.TempDir(), "tampered.csr")
	os.WriteFile(tampered, []byte(strings.Replace(string(b), string(b[100:104]), "AAAA", 1)), 0o644)
	dir := filepath.Join(t.TempDir(), "refused")
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, s, dir, root.b, ui, Options{Previous: root.dir, CSR: tampered})
	}, "certificate request")
	if _, err := run(t, "sign-ocsp-responder-ceremony.yaml", root.b, Options{Previous: root.dir}); err != nil {
		t.Fatal(err) // the example generates its key: no CSR needed
	}
	dir = mustRunScript(t, s, root.b, Options{Previous: root.dir, CSR: csr})
	c := readCert(t, filepath.Join(dir, "ocsp-responder.pem"))
	if c.Subject.CommonName != "Example In-Region OCSP Responder" || !c.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
		t.Fatalf("certified %v", c.Subject)
	}
	lintedClean(t, verified(t, dir), "ocsp-responder.pem")
	noCSR := filepath.Join(t.TempDir(), "no-csr")
	if err := start(t, s, noCSR, root.b, &scriptedUI{}, Options{Previous: root.dir}); err == nil || !strings.Contains(err.Error(), "--csr") {
		t.Fatalf("without a CSR: %v", err)
	}
}

// Validity beyond the maximum is refused by the script check.
func TestDelegatedValidityLimits(t *testing.T) {
	for _, c := range []struct{ file, from, to, want string }{
		{"sign-ocsp-responder-ceremony.yaml", "validity_days: 90", "validity_days: 367", "ocsp_responder.validity_days: 367 must be between 1 and 366"},
		{"sign-crl-signer-ceremony.yaml", "country: DE\ntranscript", "country: DE\n  validity_days: 2000\ntranscript", "crl_signer.validity_days: 2000 must be between 1 and 1096"},
		{"sign-ocsp-responder-ceremony.yaml", "label: example-root-2026-ocsp-1", "label: example-root-2026", "is taken"},
		{"sign-crl-signer-ceremony.yaml", "preset: private", "preset: public-trust", "a CRL signer belongs to a private PKI"},
	} {
		src, _ := os.ReadFile(filepath.Join("..", "testdata", c.file))
		bad := strings.Replace(string(src), c.from, c.to, 1)
		if bad == string(src) {
			t.Fatalf("%s: no %q", c.file, c.from)
		}
		if _, err := ParseScript(c.file, []byte(bad)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.file, err, c.want)
		}
	}
}

// The CRL signer: cRLSign only, not a CA; a CRL its HSM key signs verifies under its
// certificate, which chains to the root.
func TestCRLSignerGeneratedInHSM(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	dir := mustRun(t, "sign-crl-signer-ceremony.yaml", root.b, Options{Previous: root.dir})
	c := readCert(t, filepath.Join(dir, "crl-signer.pem"))
	if c.IsCA || !c.BasicConstraintsValid || c.KeyUsage != x509.KeyUsageCRLSign || len(c.ExtKeyUsage) > 0 {
		t.Fatalf("CRL signer profile: %+v", c)
	}
	if d := c.NotAfter.Sub(c.NotBefore); d != 365*24*time.Hour {
		t.Fatalf("validity %v", d)
	}
	if err := c.CheckSignatureFrom(readCert(t, filepath.Join(dir, "root.pem"))); err != nil {
		t.Fatal(err)
	}
	lintedClean(t, verified(t, dir), "crl-signer.pem")
	text := opensslOK(t, "x509", "-in", filepath.Join(dir, "crl-signer.pem"), "-noout", "-text")
	for _, w := range []string{"CRL Sign", "CA:FALSE"} {
		if !strings.Contains(text, w) {
			t.Errorf("openssl x509 -text lacks %q", w)
		}
	}
}

// opensslOK runs openssl and returns its output; openssl is a test dependency
// (scripts/install-deps), so its absence fails the test.
func opensslOK(t *testing.T, args ...string) string {
	t.Helper()
	out, err := execCommand("openssl", args...)
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func execCommand(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// lintedCleanOCSP checks that n OCSP responses were linted once signed with no error and no
// warning, and that the pre-flight linted them too.
func lintedCleanOCSP(t *testing.T, res *transcript.Result, n int) {
	t.Helper()
	after, before := 0, 0
	for i := range res.Entries {
		e := &res.Entries[i].Record
		switch e.Event {
		case transcript.EventOCSPLinted:
			d, _ := transcript.Data[transcript.OCSPLinted](e)
			after++
			if len(d.Findings["error"])+len(d.Findings["warn"])+len(d.Findings["fatal"]) > 0 || d.LintsRun == 0 || !d.Same {
				t.Errorf("%s linted with findings %v (%d lints)", d.Name, d.Findings, d.LintsRun)
			}
		case transcript.EventPreflightPassed:
			d, _ := transcript.Data[transcript.PreflightPassed](e)
			for _, l := range d.Lints {
				if strings.HasPrefix(l.Name, "ocsp-") {
					before++
				}
			}
		}
	}
	if after != n || before != n {
		t.Errorf("%d responses linted before signing and %d after, want %d", before, after, n)
	}
}

// The delegated certificates take the script's profile: the responder refuses a CRL
// distribution point or policies of its own (the Baseline Requirements forbid both) and takes
// the issuer's AIA; a validity window beyond the kind's maximum is refused.
func TestDelegatedProfiles(t *testing.T) {
	src, _ := os.ReadFile(filepath.Join("..", "testdata", "sign-ocsp-responder-ceremony.yaml"))
	bad := strings.Replace(string(src), "  validity_days: 90\n", "  validity_days: 90\n  profile:\n    crl_distribution_points: [http://pki.example.de/x.crl]\n", 1)
	if _, err := ParseScript("r.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "ocsp_responder.profile.crl_distribution_points") {
		t.Fatalf("a responder with a CRL DP: %v", err)
	}
	root := rootOn(t, "root-ceremony.yaml")
	s := edited(t, loadTestScript(t, "sign-ocsp-responder-ceremony.yaml"), func(s *Script) {
		s.Profile = &Profile{CAIssuers: []string{"http://pki.example-sovereign.de/certs/example-root-ca-2026.der"}}
	})
	dir := mustRunScript(t, s, root.b, Options{Previous: root.dir})
	c := readCert(t, filepath.Join(dir, "ocsp-responder.pem"))
	if len(c.IssuingCertificateURL) != 1 || len(c.CRLDistributionPoints) != 0 || len(c.ExtKeyUsage) != 1 {
		t.Fatalf("responder with the issuer's AIA: %v %v %v", c.IssuingCertificateURL, c.CRLDistributionPoints, c.ExtKeyUsage)
	}
	lintedClean(t, verified(t, dir), "ocsp-responder.pem")
	long := edited(t, loadTestScript(t, "sign-ocsp-responder-ceremony.yaml"), func(s *Script) {
		s.OCSPResponder.ValidityDays = 0
		s.OCSPResponder.Profile = &Profile{Validity: &Validity{Days: 400}}
		s.OCSPResponder.Key.Label = "example-root-2026-ocsp-2"
		s.ID = "long"
	})
	d := filepath.Join(t.TempDir(), "long")
	refusedBeforeHSM(t, root.b, d, func(ui UI) error { return start(t, long, d, root.b, ui, Options{Previous: root.dir}) }, "longer than 366 days")
}
