package ceremony

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"math/big"
	"sort"
	"strings"

	zx509 "github.com/zmap/zcrypto/x509"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// Lint after signing. Before the HSM signs, a certificate or CRL is linted in its real shape
// under a throwaway key (shapes.go); once signed, the issued bytes are linted again, with
// every lint (the keys are the real ones now, so the lints that judge a key run too), and the
// findings must be those found before signing. The comparison is recorded
// (certificate.relinted, crl.relinted); a difference means what was signed is not what was
// linted, and the ceremony stops: the certificate or CRL is not written, and the refusal
// closes the ceremony as aborted (abort.go).

// lintIssued lints a signed certificate's DER with every lint of pol's sources. A variable
// so a test can stand in for a linter that finds something new after signing.
var lintIssued = func(name, shape string, der []byte, pol lintPolicy) (lintResult, error) {
	zc, err := zx509.ParseCertificate(der)
	if err != nil {
		return lintResult{}, fmt.Errorf("%s: parse the signed certificate: %w", name, err)
	}
	registry, err := certificateLints(pol, nil)
	if err != nil {
		return lintResult{}, err
	}
	return judge(name, shape, lintCertificateEx(zc, registry), pol.waived), nil
}

// lintIssuedCRL lints a signed CRL's DER; a variable for the same reason as lintIssued.
var lintIssuedCRL = lintCRLBytes

// issueLinted lints tmpl in its real shape (lintProfile), has signer sign it under issuer
// (nil: self-signed) for pub, lints the issued bytes again and refuses them unless the two
// lints agree.
func (r *Run) issueLinted(name string, tmpl, issuer *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer, pol lintPolicy) (*x509.Certificate, error) {
	pre, err := r.lintProfile(name, tmpl, issuer, pub, pol)
	if err != nil {
		return nil, err
	}
	parent := issuer
	if issuer == nil {
		parent = tmpl
	}
	c, err := issue(tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", name, err)
	}
	post, err := lintIssued(name, pre.Shape, c.Raw, pol)
	if err != nil {
		return nil, err
	}
	if err := r.compareLints(transcript.EventCertificateRelinted, name, c.Raw, pre, post); err != nil {
		return nil, err
	}
	return c, nil
}

// signUnderRoot has the root key labelled rootLabel sign, for pub, the certificate build
// makes from the site's effective profile and a fresh serial, linted before and after signing
// (issueLinted) as policy says for that profile; name is its output.
func (r *Run) signUnderRoot(rootLabel string, site profileSite, name string, pub crypto.PublicKey,
	build func(p Profile, serial *big.Int) (*x509.Certificate, error), policy func(Profile) lintPolicy) (*x509.Certificate, error) {
	rootKey, err := r.rootKey(rootLabel)
	if err != nil {
		return nil, err
	}
	serial, err := r.serial()
	if err != nil {
		return nil, err
	}
	p := r.Script.effective(site)
	tmpl, err := build(p, serial)
	if err != nil {
		return nil, err
	}
	c, err := r.issueLinted(name, tmpl, r.rootCert, pub, rootKey, policy(p))
	if err != nil {
		return nil, fmt.Errorf("sign %s with root key %q: %w", name, rootLabel, err)
	}
	return c, nil
}

// compareLints records the lint of the issued bytes beside the lint before signing and
// refuses a difference.
func (r *Run) compareLints(event, name string, der []byte, pre, post lintResult) error {
	diff := lintDifferences(pre, post)
	linter := "zlint v3"
	if event == transcript.EventCertificateRelinted {
		linter = certLinter
	}
	if _, err := r.record(event, transcript.Relinted{Name: name, SHA256: sha256Hex(der), Linter: linter, LintsRun: post.LintsRun,
		Findings: post.Findings, Waived: post.Waived, Same: len(diff) == 0, Differences: diff}); err != nil {
		return err
	}
	if len(diff) > 0 {
		return fmt.Errorf("%s as signed lints differently from the shape linted before signing (%s): what the HSM signed is not what was linted; it was not written", name, strings.Join(diff, ", "))
	}
	r.UI.Note(fmt.Sprintf("%s, as signed, passed %d lints: the same result as before signing.", name, post.LintsRun))
	return nil
}

// lintDifferences names each finding (status and lint, or "waived" and lint) seen on one side
// only: "+" after signing, "-" before.
func lintDifferences(pre, post lintResult) []string {
	set := func(l lintResult) map[string]bool {
		m := map[string]bool{}
		for status, names := range l.Findings {
			for _, n := range names {
				m[status+" "+n] = true
			}
		}
		for _, n := range l.Waived {
			m["waived "+n] = true
		}
		return m
	}
	before, after := set(pre), set(post)
	var out []string
	for k := range after {
		if !before[k] {
			out = append(out, "+"+k)
		}
	}
	for k := range before {
		if !after[k] {
			out = append(out, "-"+k)
		}
	}
	sort.Strings(out)
	return out
}
