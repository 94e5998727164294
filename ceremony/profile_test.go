package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zmap/zlint/v3/lint"

	"github.com/keyrite/keyrite/hsm"
)

// withProfile is the example sign-intermediate script with its intermediate's profile
// replaced by section (YAML at the intermediate's indentation) and its top-level profile by
// top.
func withProfile(t *testing.T, top, section string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "testdata", "sign-intermediate-ceremony.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	i, j := strings.Index(s, "profile:\n  preset"), strings.Index(s, "intermediate:\n")
	s = s[:i] + top + s[j:]
	k := strings.Index(s, "  profile:\n    ext_key_usages")
	l := strings.Index(s, "transcript_signer:")
	return []byte(s[:k] + section + s[l:])
}

const exampleTop = `profile:
  preset: public-trust
  crl_distribution_points: [http://pki.example.test/root.crl]
  ca_issuers: [http://pki.example.test/root.der]
  policies:
    - {oid: 2.23.140.1.2.2, cps: https://pki.example.test/cps}
`

// Every profile field is checked when the script is read, before anything else: the error
// names the file, the line, the field, and says what to do.
func TestProfileFieldsRefusedWithFileLineField(t *testing.T) {
	if _, err := ParseScript("s.yaml", withProfile(t, exampleTop, "")); err != nil {
		t.Fatalf("the base script is refused: %v", err)
	}
	cases := []struct {
		name, top, section string
		field, want        string
	}{
		{"ftp CRL DP", strings.Replace(exampleTop, "http://pki.example.test/root.crl", "ftp://pki.example.test/root.crl", 1), "", "profile.crl_distribution_points.0", "must be an http:// URL"},
		{"https AIA under public-trust", strings.Replace(exampleTop, "http://pki.example.test/root.der", "https://pki.example.test/root.der", 1), "", "profile.ca_issuers.0", "public-trust"},
		{"bad policy OID", strings.Replace(exampleTop, "2.23.140.1.2.2", "2.23.x", 1), "", "profile.policies.0.oid", "dotted OID"},
		{"bad CPS", strings.Replace(exampleTop, "https://pki.example.test/cps", "mailto:cps@example.test", 1), "", "profile.policies.0.cps", "http:// or https://"},
		{"no reserved policy", strings.Replace(exampleTop, "2.23.140.1.2.2", "1.3.6.1.4.1.99999.1", 1), "", "intermediate.profile", "reserved OID"},
		{"no CRL DP under public-trust", strings.Replace(exampleTop, "  crl_distribution_points: [http://pki.example.test/root.crl]\n", "", 1), "", "intermediate.profile", "needs a CRL distribution point"},
		{"unknown preset", strings.Replace(exampleTop, "public-trust", "webtrust", 1), "", "profile.preset", "not a preset"},
		{"waiver under public-trust", exampleTop + "  waive:\n    - {lint: w_sub_ca_aia_missing, reason: we hand the chain out by configuration}\n", "", "profile.waive.0", "waives nothing"},
		{"unknown lint waived", strings.Replace(exampleTop, "public-trust", "private", 1) + "  waive:\n    - {lint: e_no_such_lint, reason: a reason long enough to read}\n", "", "profile.waive.0.lint", "not a zlint v3 lint"},
		{"waiver without reason", strings.Replace(exampleTop, "public-trust", "private", 1) + "  waive:\n    - {lint: w_sub_ca_aia_missing, reason: ok}\n", "", "profile.waive.0.reason", "say why"},
		{"EKU name", exampleTop, "  profile:\n    ext_key_usages: [serverauth]\n", "intermediate.profile.ext_key_usages.0", "neither an extended key usage name"},
		{"anyEKU", exampleTop, "  profile:\n    ext_key_usages: [any]\n", "intermediate.profile.ext_key_usages.0", "anyExtendedKeyUsage"},
		{"DNS constraint", exampleTop, "  profile:\n    name_constraints:\n      permitted: {dns: [\"*.example.test\"]}\n", "intermediate.profile.name_constraints.permitted.dns.0", "DNS name"},
		{"IP constraint", exampleTop, "  profile:\n    name_constraints:\n      excluded: {ip: [10.1.2.3/8]}\n", "intermediate.profile.name_constraints.excluded.ip.0", "CIDR"},
		{"email constraint", exampleTop, "  profile:\n    name_constraints:\n      permitted: {email: [\"a@b@c\"]}\n", "intermediate.profile.name_constraints.permitted.email.0", "mailbox"},
		{"directory constraint", exampleTop, "  profile:\n    name_constraints:\n      permitted: {directory: [{country: DEU}]}\n", "intermediate.profile.name_constraints.permitted.directory.0.country", "two-letter"},
		{"empty constraints", exampleTop, "  profile:\n    name_constraints: {critical: true}\n", "intermediate.profile.name_constraints", "at least one"},
		{"path length twice", exampleTop, "  profile:\n    path_length: 1\n", "intermediate.profile.path_length", "already given by intermediate.path_length"},
		{"validity twice", exampleTop, "  profile:\n    validity: {days: 30}\n", "intermediate.profile.validity", "already given by intermediate.validity_days"},
		{"validity not_after and days", exampleTop, "  profile:\n    validity: {not_after: \"2030-01-01T00:00:00Z\", days: 3}\n", "intermediate.profile.validity", "not both"},
		{"validity bad time", exampleTop, "  profile:\n    validity: {not_before: 2030-01-01, days: 3}\n", "intermediate.profile.validity.not_before", "RFC 3339"},
		{"per-certificate field at the top", exampleTop + "  path_length: 2\n", "", "profile", "belong to one certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := withProfile(t, c.top, c.section)
			_, err := ParseScript("s.yaml", src)
			var se ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("want a script error, got %v", err)
			}
			for _, f := range se {
				if f.Field == c.field && strings.Contains(f.Msg, c.want) {
					if f.Line == 0 || !strings.HasPrefix(f.Error(), "s.yaml:") {
						t.Errorf("no file:line in %q", f.Error())
					}
					return
				}
			}
			t.Fatalf("want %s: …%s…, got %v", c.field, c.want, err)
		})
	}
}

// The transcript signer and the OCSP responder have fixed usages; a root under public-trust
// carries no issuer facts; name constraints are for CAs.
func TestProfileKindRules(t *testing.T) {
	root, err := os.ReadFile(filepath.Join("..", "testdata", "root-ceremony.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, to, field, want string }{
		{"  validity_days: 3650", "  validity_days: 3650\n  profile: {ext_key_usages: [serverAuth]}", "transcript_signer.profile.ext_key_usages", "fixed extended key usage (documentSigning)"},
		{"  validity_days: 3650", "  validity_days: 3650\n  profile: {name_constraints: {permitted: {dns: [example.test]}}}", "transcript_signer.profile.name_constraints", "not a CA certificate"},
		{"  validity_days: 7300", "  validity_days: 7300\n  profile: {policies: [{oid: 2.23.140.1.2.2}]}", "certificate.profile.policies", "public-trust root certificate carries no policies"},
		{"  validity_days: 7300", "  validity_days: 7300\n  profile: {crl_distribution_points: [http://x.test/a.crl]}", "certificate.profile.crl_distribution_points", "carries no crl_distribution_points"},
	} {
		src := strings.Replace(string(root), c.from, c.to, 1)
		_, err := ParseScript("root.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want %s …%s…, got %v", c.to, c.field, c.want, err)
		}
	}
	// Under the private preset the root may carry a policy (its lint is waived, with reason).
	src := strings.Replace(string(root), "preset: public-trust", "preset: private", 1)
	src = strings.Replace(src, "  validity_days: 7300", "  validity_days: 7300\n  profile: {policies: [{oid: 1.3.6.1.4.1.99999.1}]}", 1)
	if _, err := ParseScript("root.yaml", []byte(src)); err != nil {
		t.Errorf("a private root with its own policy is refused: %v", err)
	}
}

// A profile puts what it says on the certificate, in the encoding relying parties read:
// Go's parser and openssl's agree on every field.
func TestProfileShapesTheCertificate(t *testing.T) {
	f := false
	p := Profile{Preset: PresetPrivate,
		CRLDistributionPoints: []string{"http://pki.example.test/root.crl"},
		CAIssuers:             []string{"http://pki.example.test/root.der"}, OCSP: []string{"http://ocsp.example.test"},
		Policies:     []Policy{{OID: "1.3.6.1.4.1.99999.1.2", CPS: "https://pki.example.test/cps"}, {OID: "2.23.140.1.2.2"}},
		ExtKeyUsages: []string{"serverAuth", "documentSigning", "1.3.6.1.4.1.99999.7"},
		NameConstraints: &NameConstraints{Critical: &f,
			Permitted: NameSet{DNS: []string{".example.test"}, IP: []string{"10.20.0.0/16", "fd00::/8"}, Email: []string{".example.test"}, Directory: []Subject{{Organization: "Example", Country: "DE"}}},
			Excluded:  NameSet{DNS: []string{"secret.example.test"}, Email: []string{"root@example.test"}}},
	}
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root, err := rootTemplate(CertProfile{Subject: Subject{CommonName: "Profile Root"}, ValidityDays: 3650}, Profile{}, big.NewInt(1), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rc, err := issue(root, root, rootKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	subKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	in := &IntermediateConfig{ValidityDays: 365, PathLen: 0}
	tmpl, err := intermediateTemplate(in, p, pkix.Name{CommonName: "Profile Sub"}, rc, big.NewInt(2), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := issue(tmpl, rc, subKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.CRLDistributionPoints, p.CRLDistributionPoints) || !slices.Equal(c.IssuingCertificateURL, p.CAIssuers) || !slices.Equal(c.OCSPServer, p.OCSP) {
		t.Errorf("CRL DP / AIA: %v %v %v", c.CRLDistributionPoints, c.IssuingCertificateURL, c.OCSPServer)
	}
	if len(c.Policies) != 2 || c.Policies[0].String() != "1.3.6.1.4.1.99999.1.2" || c.Policies[1].String() != "2.23.140.1.2.2" {
		t.Errorf("policies: %v", c.Policies)
	}
	if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || len(c.UnknownExtKeyUsage) != 2 || !c.UnknownExtKeyUsage[0].Equal(oidDocumentSigning) {
		t.Errorf("EKU: %v %v", c.ExtKeyUsage, c.UnknownExtKeyUsage)
	}
	if !slices.Equal(c.PermittedDNSDomains, []string{".example.test"}) || !slices.Equal(c.ExcludedDNSDomains, []string{"secret.example.test"}) ||
		len(c.PermittedIPRanges) != 2 || c.PermittedIPRanges[0].String() != "10.20.0.0/16" || c.PermittedIPRanges[1].String() != "fd00::/8" ||
		!slices.Equal(c.PermittedEmailAddresses, []string{".example.test"}) || !slices.Equal(c.ExcludedEmailAddresses, []string{"root@example.test"}) || c.PermittedDNSDomainsCritical {
		t.Errorf("name constraints: %v %v %v %v %v critical=%v", c.PermittedDNSDomains, c.ExcludedDNSDomains, c.PermittedIPRanges, c.PermittedEmailAddresses, c.ExcludedEmailAddresses, c.PermittedDNSDomainsCritical)
	}
	if c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("path length %d", c.MaxPathLen)
	}
	path := filepath.Join(t.TempDir(), "sub.pem")
	if err := os.WriteFile(path, certPEM(c), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "x509", "-in", path, "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	for _, want := range []string{"CPS: https://pki.example.test/cps", "Policy: 1.3.6.1.4.1.99999.1.2", "DirName:C = DE, O = Example", "IP:10.20.0.0/255.255.0.0",
		"email:.example.test", "DNS:secret.example.test", "URI:http://pki.example.test/root.crl", "CA Issuers - URI:http://pki.example.test/root.der",
		"OCSP - URI:http://ocsp.example.test", "1.3.6.1.5.5.7.3.36", "pathlen:0"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("openssl does not show %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "Name Constraints: critical") {
		t.Error("critical: false was not kept")
	}
}

// An explicit validity must lie within the issuer's; days are cut at the issuer's end only
// where the kind allows it.
func TestProfileValidityWithinIssuer(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	issuer := &x509.Certificate{NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)}
	p := Profile{Validity: &Validity{NotBefore: "2026-12-01T00:00:00Z", NotAfter: "2027-06-01T00:00:00Z"}}
	nb, na, err := p.window(0, issuer, now, true, "f")
	if err != nil || nb.Format(time.RFC3339) != "2026-12-01T00:00:00Z" || na.Format(time.RFC3339) != "2027-06-01T00:00:00Z" {
		t.Errorf("explicit window: %v %v %v", nb, na, err)
	}
	p.Validity.NotAfter = "2028-01-01T00:00:00Z"
	if _, _, err := p.window(0, issuer, now, true, "f"); err == nil || !strings.Contains(err.Error(), "within its issuer's") {
		t.Errorf("a window past the issuer's end: %v", err)
	}
	p.Validity = &Validity{NotBefore: "2020-01-01T00:00:00Z", Days: 10}
	if _, _, err := p.window(0, issuer, now, true, "f"); err == nil {
		t.Error("a window starting before the issuer's is accepted")
	}
	if _, na, err := (Profile{}).window(800, issuer, now, true, "f"); err != nil || !na.Equal(issuer.NotAfter) {
		t.Errorf("days past the issuer's end are not cut: %v %v", na, err)
	}
	if _, _, err := (Profile{}).window(800, issuer, now, false, "f"); err == nil {
		t.Error("days past the issuer's end are accepted where they may not be cut")
	}
}

// The private preset runs the Baseline Requirements lints it waives and records them as
// waived; the public-trust preset waives nothing.
func TestPrivatePresetRecordsWaivedLints(t *testing.T) {
	now := time.Now()
	root, err := rootTemplate(CertProfile{Subject: Subject{CommonName: "Private Root", Organization: "Example", Country: "DE"}, ValidityDays: 3650}, Profile{}, big.NewInt(1), now)
	if err != nil {
		t.Fatal(err)
	}
	_, rc, err := lintCertificate("root.pem", root, nil, hsm.ECDSAP256, nil, hsm.ECDSAP256, lintPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	bare := Profile{Preset: PresetPrivate}
	tmpl, err := intermediateTemplate(&IntermediateConfig{ValidityDays: 365}, bare, pkix.Name{CommonName: "Private Sub", Organization: []string{"Example"}, Country: []string{"DE"}}, rc, big.NewInt(2), now)
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := lintCertificate("sub.pem", tmpl, rc, hsm.ECDSAP256, nil, hsm.ECDSAP256, bare.policy())
	if err != nil {
		t.Fatal(err)
	}
	if bad := refusedLints(res); len(bad) > 0 || len(res.Findings["warn"]) > 0 {
		t.Errorf("private sub-CA without CRL DP, AIA, policies: %v", res.Findings)
	}
	for _, n := range []string{"e_sub_ca_crl_distribution_points_missing", "e_sub_ca_certificate_policies_missing", "w_sub_ca_aia_missing"} {
		if !slices.Contains(res.Waived, n) {
			t.Errorf("%s not recorded as waived: %v", n, res.Waived)
		}
	}
	pub := Profile{Preset: PresetPublicTrust}
	res, _, err = lintCertificate("sub.pem", tmpl, rc, hsm.ECDSAP256, nil, hsm.ECDSAP256, pub.policy())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Waived) > 0 || !slices.Contains(refusedLints(res), "e_sub_ca_crl_distribution_points_missing") {
		t.Errorf("public-trust waived %v, refused %v", res.Waived, refusedLints(res))
	}
}

// docs/pki.md lists every lint the private preset waives, with the reason the code records,
// and every one is a lint zlint has.
func TestDocsListPrivateWaivers(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "pki.md"))
	if err != nil {
		t.Fatal(err)
	}
	for n, why := range privateWaivers {
		if !strings.Contains(string(doc), "| `"+n+"` | "+why+" |") {
			t.Errorf("docs/pki.md does not list the waiver of %s with its reason", n)
		}
		if lint.GlobalRegistry().ByName(n) == nil {
			t.Errorf("%s is not a zlint certificate lint", n)
		}
	}
}
