package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"reflect"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
)

// lintStatuses is each lint's status in a result set.
func lintStatuses(rs *zlint.ResultSet) map[string]lint.LintStatus {
	out := map[string]lint.LintStatus{}
	for name, r := range rs.Results {
		out[name] = r.Status
	}
	return out
}

// The lints run in two goroutines give what zlint gives in one, on real certificates (a root
// and a transcript signer of a compatibility fixture) with every lint, the slow ones among
// them; and a finding of a lint run apart reaches the result.
func TestSplitLintsGiveZlintsResult(t *testing.T) {
	for _, file := range []string{"../testdata/compat/v2/root/root.der", "../testdata/compat/v2/root/transcript-signer.pem"} {
		c := readFixtureCert(t, file)
		registry := lint.GlobalRegistry()
		want, got := zlint.LintCertificateEx(c, registry), lintCertificateEx(c, registry)
		if !reflect.DeepEqual(lintStatuses(want), lintStatuses(got)) {
			t.Fatalf("%s: split lints differ from zlint's:\n%v\n%v", file, lintStatuses(want), lintStatuses(got))
		}
		if got.Results[slowLints[0]] == nil || got.Results[slowLints[0]].Status != lint.Pass {
			t.Fatalf("%s: %s did not run apart: %v", file, slowLints[0], got.Results[slowLints[0]])
		}
		if want.NoticesPresent != got.NoticesPresent || want.WarningsPresent != got.WarningsPresent || want.ErrorsPresent != got.ErrorsPresent || want.FatalsPresent != got.FatalsPresent {
			t.Fatalf("%s: split lints' summary differs", file)
		}
	}
	// A server certificate, whose DNS names and common name lints parse (zcrypto caches the
	// parse in the certificate): the halves agree with one run, under the race detector too.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "www.example-test.com"},
		DNSNames:  []string{"www.example-test.com", "a_b.example-test.com", "-x.example-test.com", "xn--bcher-kva.example"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(90 * 24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, leaf, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	for _, split := range []bool{false, true} {
		zc, err := zx509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := zx509.ParseCertificate(der)
		got := zlint.LintCertificateEx(zc, lint.GlobalRegistry())
		if split {
			got = lintCertificateEx(zc, lint.GlobalRegistry())
		}
		if w := zlint.LintCertificateEx(want, lint.GlobalRegistry()); !reflect.DeepEqual(lintStatuses(w), lintStatuses(got)) {
			t.Fatalf("server certificate: split lints differ from zlint's")
		}
	}
	// The halves hold every lint once, about half each, the slow ones apart.
	all := lint.GlobalRegistry().CertificateLints().Lints()
	rest, apart, ok := splitLints(lint.GlobalRegistry())
	if !ok {
		t.Fatal("zlint's registry was not split")
	}
	nr, na := len(rest.CertificateLints().Lints()), len(apart.CertificateLints().Lints())
	if nr+na != len(all) || nr < len(all)/3 || na < len(all)/3 || apart.CertificateLints().ByName(slowLints[0]) == nil {
		t.Fatalf("split %d lints into %d and %d", len(all), nr, na)
	}
	// The root draws a notice from n_ca_digital_signature_not_set: run apart, it is still found.
	c := readFixtureCert(t, "../testdata/compat/v2/root/root.der")
	defer func(old []string) { slowLints = old }(slowLints)
	slowLints = []string{"n_ca_digital_signature_not_set"}
	got := lintCertificateEx(c, lint.GlobalRegistry())
	if r := got.Results["n_ca_digital_signature_not_set"]; r == nil || r.Status != lint.Notice || !got.NoticesPresent {
		t.Fatalf("a notice of a lint run apart was lost: %v", r)
	}
}

func readFixtureCert(t *testing.T, file string) *zx509.Certificate {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	c, err := zx509.ParseCertificate(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// filter makes a registry once for each set of options and gives the same lints as zlint's
// Filter; a new configuration of the registry it filters makes it filter again.
func TestFilteredRegistriesAreKept(t *testing.T) {
	global := lint.GlobalRegistry()
	opts := lint.FilterOptions{IncludeSources: lint.SourceList{lint.RFC5280, lint.CABFBaselineRequirements}, ExcludeNames: []string{"e_cert_issued_by_compromised_emudhra_ca"}}
	a, err := filter(global, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := filter(global, opts)
	if a != b {
		t.Fatal("the same options filtered the registry twice")
	}
	want, _ := global.Filter(opts)
	if !reflect.DeepEqual(a.Names(), want.Names()) || len(a.Names()) == 0 {
		t.Fatalf("filter kept %d lints, zlint's Filter %d", len(a.Names()), len(want.Names()))
	}
	other, _ := filter(global, lint.FilterOptions{IncludeSources: lint.SourceList{lint.RFC5280}})
	if other == a || len(other.Names()) >= len(a.Names()) {
		t.Fatal("other options gave the same registry")
	}
	old := global.GetConfiguration()
	defer global.SetConfiguration(old)
	cfg, err := lint.NewConfigFromString("[e_crl_next_update_invalid]\nSubscriberCRL = false\n")
	if err != nil {
		t.Fatal(err)
	}
	global.SetConfiguration(cfg)
	c, _ := filter(global, opts)
	if c == a || c.GetConfiguration() != cfg {
		t.Fatal("a registry filtered under the old configuration was given after it changed")
	}
}
