package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// relinted is every lint-after-signing record of a ceremony, by name.
func relinted(t *testing.T, res *transcript.Result) map[string]transcript.Relinted {
	t.Helper()
	out := map[string]transcript.Relinted{}
	for i := range res.Entries {
		e := &res.Entries[i].Record
		if e.Event == transcript.EventCertificateRelinted || e.Event == transcript.EventCRLRelinted {
			d, err := transcript.Data[transcript.Relinted](e)
			if err != nil {
				t.Fatal(err)
			}
			out[d.Name] = d
		}
	}
	return out
}

// Every certificate and CRL is linted again once signed, with every lint on its real keys,
// and the result is recorded beside the one before signing: the root, the transcript
// signer, the intermediate and the CRL all give the same findings.
func TestLintAfterSigningIsRecorded(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	got := relinted(t, verified(t, root.dir))
	for _, name := range []string{rootPEM, signerPEM} {
		r, ok := got[name]
		if !ok || !r.Same || len(r.Differences) > 0 || r.LintsRun < 100 || len(r.SHA256) != 64 {
			t.Errorf("%s: %+v (found %v)", name, r, ok)
		}
	}
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	dir := mustRun(t, "sign-intermediate-ceremony.yaml", root.b, Options{Previous: root.dir, CSR: writeCSR(t, key, "Example Issuing CA 2026")})
	if r := relinted(t, verified(t, dir))[intermediatePEM]; !r.Same || len(r.Findings["error"])+len(r.Findings["warn"]) > 0 {
		t.Errorf("intermediate: %+v", r)
	}
	crl := mustRun(t, "sign-crl-ceremony.yaml", root.b, Options{Previous: dir})
	if r, ok := relinted(t, verified(t, crl))["root.crl"]; !ok || !r.Same {
		t.Errorf("CRL: %+v", r)
	}
}

// A certificate whose signed bytes lint differently from the shape linted before signing is
// refused: the ceremony closes as aborted and sealed, the difference is recorded, and the
// certificate is not written.
func TestLintDifferenceAfterSigningAborts(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	real := lintIssued
	t.Cleanup(func() { lintIssued = real })
	lintIssued = func(name, shape string, der []byte, pol lintPolicy) (lintResult, error) {
		res, err := real(name, shape, der, pol)
		if name == intermediatePEM {
			res.Findings["warn"] = append(res.Findings["warn"], "w_found_only_after_signing")
		}
		return res, err
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	dir := filepath.Join(t.TempDir(), "intermediate")
	err := start(t, loadTestScript(t, "sign-intermediate-ceremony.yaml"), dir, root.b, &scriptedUI{}, Options{Previous: root.dir, CSR: writeCSR(t, key, "Example Issuing CA 2026")})
	var ae *AbortedError
	if !errors.As(err, &ae) || ae.Sealed != nil || ae.Step != "sign-intermediate" {
		t.Fatalf("err = %v", err)
	}
	res := verified(t, dir)
	if _, ok := res.Aborted(); !ok {
		t.Fatal("not sealed as aborted")
	}
	r, ok := relinted(t, res)[intermediatePEM]
	if !ok || r.Same || !slices.Equal(r.Differences, []string{"+warn w_found_only_after_signing"}) {
		t.Fatalf("recorded %+v", r)
	}
	for _, f := range []string{intermediatePEM, intermediateDER, intermediateFull} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s was written: %v", f, err)
		}
	}
}

func TestLintDifferences(t *testing.T) {
	pre := lintResult{Findings: map[string][]string{"warn": {"w_a"}, "info": {"n_b"}}, Waived: []string{"e_c"}}
	post := lintResult{Findings: map[string][]string{"warn": {"w_a"}, "error": {"e_d"}}}
	if got := lintDifferences(pre, post); !slices.Equal(got, []string{"+error e_d", "-info n_b", "-waived e_c"}) {
		t.Errorf("differences %v", got)
	}
	if got := lintDifferences(pre, pre); len(got) != 0 {
		t.Errorf("a lint differs from itself: %v", got)
	}
}

// Under the private preset an intermediate without CRL DP, AIA or policies is issued; the
// Baseline Requirements lints it fails are recorded as waived with their reasons, before and
// after signing.
func TestPrivatePresetIntermediate(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	s := edited(t, loadTestScript(t, "sign-intermediate-ceremony.yaml"), func(s *Script) {
		s.Profile = &Profile{Preset: PresetPrivate}
	})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	dir := mustRunScript(t, s, root.b, Options{Previous: root.dir, CSR: writeCSR(t, key, "Example Private CA")})
	c := readCert(t, filepath.Join(dir, intermediatePEM))
	if len(c.CRLDistributionPoints)+len(c.IssuingCertificateURL)+len(c.Policies) > 0 {
		t.Fatalf("the private intermediate carries %v %v %v", c.CRLDistributionPoints, c.IssuingCertificateURL, c.Policies)
	}
	res := verified(t, dir)
	var waived map[string]string
	for i := range res.Entries {
		if e := &res.Entries[i].Record; e.Event == transcript.EventCertificateLinted {
			d, _ := transcript.Data[transcript.CertificateLinted](e)
			waived = d.Waived
		}
	}
	if waived["e_sub_ca_crl_distribution_points_missing"] != privateWaivers["e_sub_ca_crl_distribution_points_missing"] || waived["e_sub_ca_certificate_policies_missing"] == "" {
		t.Fatalf("waived %v", waived)
	}
	if r := relinted(t, res)[intermediatePEM]; !r.Same || !slices.Contains(r.Waived, "e_sub_ca_crl_distribution_points_missing") {
		t.Fatalf("after signing: %+v", r)
	}
}

// A profile's explicit validity window replaces a section's validity_days: the root and the
// intermediate carry exactly the window the script gives; one that does not lie within the
// root's is refused in the pre-flight, before the HSM is touched, naming the field.
func TestExplicitValidityWindows(t *testing.T) {
	start0 := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	rootEnd := start0.AddDate(10, 0, 0)
	rs := edited(t, loadTestScript(t, "root-ceremony.yaml"), func(s *Script) {
		s.Certificate.ValidityDays = 0
		s.Certificate.Profile = &Profile{Validity: &Validity{NotBefore: start0.Format(time.RFC3339), NotAfter: rootEnd.Format(time.RFC3339)}}
	})
	b := freshToken(t)
	rootDir := mustRunScript(t, rs, b, Options{})
	rc := readCert(t, filepath.Join(rootDir, rootPEM))
	if !rc.NotBefore.Equal(start0) || !rc.NotAfter.Equal(rootEnd) {
		t.Fatalf("root valid %s to %s, want %s to %s", rc.NotBefore, rc.NotAfter, start0, rootEnd)
	}
	window := func(id string, end time.Time) *Script {
		return edited(t, loadTestScript(t, "sign-intermediate-ceremony.yaml"), func(s *Script) {
			in := *s.Intermediate
			in.ValidityDays = 0
			in.Profile = &Profile{ExtKeyUsages: []string{"serverAuth"}, Validity: &Validity{NotBefore: start0.Add(time.Minute).Format(time.RFC3339), NotAfter: end.Format(time.RFC3339)}}
			s.Intermediate, s.ID = &in, id
		})
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := writeCSR(t, key, "Example Issuing CA 2026")
	end := start0.AddDate(3, 0, 0)
	dir := mustRunScript(t, window("windowed", end), b, Options{Previous: rootDir, CSR: csr})
	if c := readCert(t, filepath.Join(dir, intermediatePEM)); !c.NotBefore.Equal(start0.Add(time.Minute)) || !c.NotAfter.Equal(end) {
		t.Fatalf("intermediate valid %s to %s", c.NotBefore, c.NotAfter)
	}
	long := window("too-long", rootEnd.Add(24*time.Hour))
	d := filepath.Join(t.TempDir(), "long")
	refusedBeforeHSM(t, b, d, func(ui UI) error {
		return start(t, long, d, b, ui, Options{Previous: rootDir, CSR: csr})
	}, "intermediate.profile", "must lie within its issuer's")
}
