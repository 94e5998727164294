package lintswap

import (
	"testing"

	"github.com/zmap/zcrypto/x509"
	_ "github.com/zmap/zlint/v3" // registers zlint's lints
	"github.com/zmap/zlint/v3/lint"
)

type stand struct{}

func (stand) CheckApplies(*x509.Certificate) bool { return true }
func (stand) Execute(*x509.Certificate) *lint.LintResult {
	return &lint.LintResult{Status: lint.Notice}
}

// A replaced lint is the replacement in the global registry and in registries filtered from it
// before and after; a name zlint does not have changes nothing.
func TestReplaceReachesEveryRegistry(t *testing.T) {
	const name = "e_ecdsa_small_private_key"
	opts := lint.FilterOptions{IncludeSources: lint.SourceList{lint.Community}}
	before, err := lint.GlobalRegistry().Filter(opts)
	if err != nil {
		t.Fatal(err)
	}
	if Replace("e_no_such_lint", func() lint.CertificateLintInterface { return stand{} }) {
		t.Fatal("a lint zlint does not have was replaced")
	}
	if !Replace(name, func() lint.CertificateLintInterface { return stand{} }) {
		t.Fatalf("zlint has no %s", name)
	}
	after, err := lint.GlobalRegistry().Filter(opts)
	if err != nil {
		t.Fatal(err)
	}
	for what, r := range map[string]lint.Registry{"global": lint.GlobalRegistry(), "filtered before": before, "filtered after": after} {
		if _, ok := r.CertificateLints().ByName(name).Lint().(stand); !ok {
			t.Errorf("the %s registry makes zlint's lint", what)
		}
	}
}
