package ceremony

import (
	"fmt"
	"slices"
	"sync"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
)

// slowLints are the certificate lints that cost the most on Keyrite's certificates: each is
// put in the half of a split registry that holds fewer of the others (splitLints).
// e_cert_issued_by_compromised_emudhra_ca verified the signature under each of eight P-384
// keys in zlint's implementation (about 1 ms each in Go); Keyrite's (internal/emudhra)
// recovers the signer's possible keys instead, about 0.7 ms a certificate.
var slowLints = []string{"e_cert_issued_by_compromised_emudhra_ca"}

// lintCertificateEx runs registry's certificate lints over c, as zlint.LintCertificateEx does,
// in two halves at once, one on another goroutine (a certificate's ~430 lints take 2-3 ms of
// CPU, and the pre-flight, the lint before signing and the one after each wait for them).
// Every lint of registry runs once, with registry's configuration; each reads the
// certificate (zcrypto's two caches in it are filled first) and returns its own result, so
// the results are those of one run in one goroutine (TestSplitLintsGiveZlintsResult, which
// the race detector runs too).
func lintCertificateEx(c *zx509.Certificate, registry lint.Registry) *zlint.ResultSet {
	rest, apart, ok := splitLints(registry)
	if !ok {
		return zlint.LintCertificateEx(c, registry)
	}
	// zcrypto parses a certificate's DNS names and common name on first use and keeps the
	// result in the certificate: done here, before the halves start, every lint then only
	// reads it.
	c.GetParsedDNSNames(false)
	c.GetParsedSubjectCommonName(false)
	var other *zlint.ResultSet
	var wg sync.WaitGroup
	wg.Go(func() { other = zlint.LintCertificateEx(c, apart) })
	res := zlint.LintCertificateEx(c, rest)
	wg.Wait()
	for name, r := range other.Results {
		res.Results[name] = r
	}
	res.NoticesPresent = res.NoticesPresent || other.NoticesPresent
	res.WarningsPresent = res.WarningsPresent || other.WarningsPresent
	res.ErrorsPresent = res.ErrorsPresent || other.ErrorsPresent
	res.FatalsPresent = res.FatalsPresent || other.FatalsPresent
	return res
}

// splitLints divides registry's certificate lints in two: apart holds the slowLints it has
// and every second one of the others, rest the others. ok is false for fewer than two lints.
// The halves are filtered once (filter) and kept.
func splitLints(registry lint.Registry) (rest, apart lint.Registry, ok bool) {
	all := registry.CertificateLints().Lints()
	if len(all) < 2 {
		return nil, nil, false
	}
	var half []string
	for _, name := range slowLints {
		if registry.CertificateLints().ByName(name) != nil {
			half = append(half, name)
		}
	}
	i := len(half) // the slow ones count as taken turns
	for _, l := range all {
		if !slices.Contains(slowLints, l.Name) {
			if i%2 == 1 {
				half = append(half, l.Name)
			}
			i++
		}
	}
	rest, err := filter(registry, lint.FilterOptions{ExcludeNames: half})
	if err != nil {
		return nil, nil, false
	}
	apart, err = filter(registry, lint.FilterOptions{IncludeNames: half})
	return rest, apart, err == nil
}

// filtered keeps the registries filter made: filtering zlint's ~430 lints builds a new
// registry, about 1 ms of CPU each time, and every certificate linted after signing is split
// the same way (certificateLints keeps the registries it splits).
var filtered struct {
	sync.Mutex
	m map[string]filteredRegistry
}

type filteredRegistry struct {
	from lint.Registry // kept, so that its address in the key names no other registry
	cfg  lint.Configuration
	reg  lint.Registry
}

// filter returns from.Filter(opts), made once for each registry, configuration and set of
// options: the registry it returns is only read (lints run; nobody registers or configures
// in it), so it is shared. from is zlint's global registry or one filter returned.
func filter(from lint.Registry, opts lint.FilterOptions) (lint.Registry, error) {
	if opts.NameFilter != nil {
		return from.Filter(opts)
	}
	key := fmt.Sprintf("%p %q %q %q %q", from, opts.IncludeSources, opts.ExcludeSources, opts.IncludeNames, opts.ExcludeNames)
	cfg := from.GetConfiguration()
	filtered.Lock()
	e, ok := filtered.m[key]
	filtered.Unlock()
	if ok && e.cfg == cfg {
		return e.reg, nil
	}
	reg, err := from.Filter(opts)
	if err != nil {
		return nil, err
	}
	filtered.Lock()
	defer filtered.Unlock()
	if filtered.m == nil {
		filtered.m = map[string]filteredRegistry{}
	}
	filtered.m[key] = filteredRegistry{from, cfg, reg}
	return reg, nil
}
