package ceremony

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sort"
	"sync"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/internal/emudhra"
	"github.com/keyrite/keyrite/internal/smallkey"
)

// signerLintSources are the lint sources for the transcript signer: it signs transcripts, not
// web traffic, so the CA/Browser Forum's TLS lints (which read a certificate without an
// extended key usage as a TLS server's) do not apply to it.
var signerLintSources = lint.SourceList{lint.RFC5280, lint.RFC3279, lint.RFC5480, lint.RFC8813}

// The certificates and CRLs a ceremony issues are built by the functions in this file, once
// in the pre-flight (with a throwaway serial and a throwaway issuer key of the real issuer's
// key type, to be linted before the HSM is touched) and once for the HSM to sign: the shape
// linted is the shape issued.

// rootTemplate is the self-signed root certificate of section c under profile p (the
// script's effective root profile), valid from now.
func rootTemplate(c CertProfile, p Profile, serial *big.Int, now time.Time) (*x509.Certificate, error) {
	nb, na, err := p.window(c.ValidityDays, nil, now, false, "certificate.profile.validity")
	if err != nil {
		return nil, err
	}
	subject := c.Subject.name()
	t := &x509.Certificate{
		SerialNumber: serial, Subject: subject, Issuer: subject, NotBefore: nb, NotAfter: na,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true, MaxPathLen: -1,
	}
	if c.PathLen != nil {
		t.MaxPathLen, t.MaxPathLenZero = *c.PathLen, *c.PathLen == 0
	}
	return t, p.apply(t)
}

// signerTemplate is the transcript signer's certificate under root with profile p, valid days
// from now but never past the root's end.
func signerTemplate(root *x509.Certificate, days int, p Profile, serial *big.Int, now time.Time) (*x509.Certificate, error) {
	nb, na, err := p.window(days, root, now, true, "transcript_signer.profile.validity")
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: root.Subject.CommonName + " Transcript Signer", Organization: root.Subject.Organization, Country: root.Subject.Country},
		NotBefore:    nb, NotAfter: na,
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true,
	}
	if err := p.apply(t); err != nil {
		return nil, err
	}
	// RFC 9336: the key signs documents (seals, manifests, checkpoints), nothing else.
	t.ExtKeyUsage, t.UnknownExtKeyUsage = nil, []asn1.ObjectIdentifier{oidDocumentSigning}
	return t, nil
}

// oidDocumentSigning is id-kp-documentSigning (RFC 9336).
var oidDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}

// withKeyID returns tmpl with a subject key identifier for pub where it has none: RFC 7093
// method 1, the leftmost 160 bits of the SHA-256 of the subjectPublicKey bits. Go derives one
// itself for CA certificates only; end-entity certificates (the transcript signer) need it too.
func withKeyID(tmpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	if len(tmpl.SubjectKeyId) > 0 || tmpl.IsCA {
		return tmpl, nil
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	t := *tmpl
	t.SubjectKeyId = sum[:20]
	return &t, nil
}

// intermediateTemplate is the intermediate CA certificate for subject under root with profile
// p; it may not outlive the root.
func intermediateTemplate(in *IntermediateConfig, p Profile, subject pkix.Name, root *x509.Certificate, serial *big.Int, now time.Time) (*x509.Certificate, error) {
	nb, na, err := p.window(in.ValidityDays, root, now, false, "intermediate.validity_days")
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{
		SerialNumber: serial, Subject: subject, NotBefore: nb, NotAfter: na,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		MaxPathLen: in.PathLen, MaxPathLenZero: in.PathLen == 0,
	}
	return t, p.apply(t)
}

// crossTemplate is a cross-certificate for subject (with its key identifier ski) under an
// issuer with profile p, valid days from now but never past the issuer's end.
func crossTemplate(subject pkix.Name, ski []byte, issuer *x509.Certificate, days int, p Profile, serial *big.Int, now time.Time) (*x509.Certificate, error) {
	nb, na, err := p.window(days, issuer, now, true, "rotate.cross_certificate_validity_days")
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{SerialNumber: serial, Subject: subject, NotBefore: nb, NotAfter: na, SubjectKeyId: ski,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true, MaxPathLen: -1}
	return t, p.apply(t)
}

// crlTemplate is CRL number c.Number listing revoked, issued now, with an issuing
// distribution point if c names one.
func crlTemplate(c *CRLConfig, revoked []x509.RevocationListEntry, now time.Time) (*x509.RevocationList, error) {
	now = now.UTC().Truncate(time.Second)
	t := &x509.RevocationList{Number: big.NewInt(c.Number), ThisUpdate: now, NextUpdate: now.Add(time.Duration(c.NextUpdateDays) * 24 * time.Hour),
		RevokedCertificateEntries: revoked}
	if c.DistributionPoint != "" {
		idp, err := idpExtension(c.DistributionPoint, c.OnlyCACertificates)
		if err != nil {
			return nil, err
		}
		t.ExtraExtensions = append(t.ExtraExtensions, idp)
	}
	return t, nil
}

// throwawayFor is the process's throwaway software key of algorithm alg for an issuer, for a
// lint; never used to sign anything that is kept. It is made on first use and used for every
// shape after (a shape's lints do not depend on which throwaway key signed it, and the lints
// that judge the key itself are left out of throwaway shapes): an RSA 4096 key takes about a
// second to make, a P-384 key a millisecond.
func throwawayFor(alg hsm.Algorithm) (crypto.Signer, error) { return throwaway(alg, false) }

// throwawaySubjectFor is the throwaway key of algorithm alg for a subject whose key is not
// made yet: another key than the issuer's of the same algorithm, as the real ones are.
func throwawaySubjectFor(alg hsm.Algorithm) (crypto.Signer, error) { return throwaway(alg, true) }

// throwaways holds the process's throwaway keys by throwawayRole.
var throwaways sync.Map

type throwawayRole struct {
	alg     hsm.Algorithm
	subject bool
}

type throwawayKey struct {
	once sync.Once
	key  crypto.Signer
	err  error
}

func throwaway(alg hsm.Algorithm, subject bool) (crypto.Signer, error) {
	v, _ := throwaways.LoadOrStore(throwawayRole{alg, subject}, &throwawayKey{})
	t := v.(*throwawayKey)
	t.once.Do(func() { t.key, t.err = newThrowaway(alg) })
	return t.key, t.err
}

// newThrowaway makes a software key of algorithm alg.
func newThrowaway(alg hsm.Algorithm) (crypto.Signer, error) {
	switch alg {
	case hsm.ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case hsm.ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case hsm.RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case hsm.RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	case hsm.Ed25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("lint: no throwaway key for algorithm %q", alg)
}

// algorithmOf is the hsm.Algorithm of a public key, for a throwaway key of its type.
func algorithmOf(pub crypto.PublicKey) (hsm.Algorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return hsm.ECDSAP256, nil
		case elliptic.P384():
			return hsm.ECDSAP384, nil
		}
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 3072:
			return hsm.RSA3072, nil
		case 4096:
			return hsm.RSA4096, nil
		}
	case ed25519.PublicKey:
		return hsm.Ed25519, nil
	}
	return "", fmt.Errorf("lint: key type %T is not one Keyrite issues under", pub)
}

// stand-in returns a certificate with issuer's name, key identifier and usage, holding the
// public half of key: the real issuer as x509.Create* sees it, for a throwaway signature.
func standIn(issuer *x509.Certificate, key crypto.Signer) *x509.Certificate {
	c := *issuer
	c.PublicKey = key.Public()
	return &c
}

// throwawayOnly are the lints that judge the subject key itself. Where that key is a throwaway
// Keyrite just made (a self-signed shape, or a subject key not made yet) they would check
// nothing, so they are left out there; on a real subject key (the transcript signer's, an
// intermediate's from its CSR) they run, and after signing they run on every real key.
var throwawayOnly = []string{smallkey.Name}

// throwawayIssuer are the lints that judge the key that signed the certificate. Every
// certificate linted here is signed by a throwaway key made for it (the real key signs only
// after its lints pass), so they would check nothing: e_cert_issued_by_compromised_emudhra_ca
// asks whether one of eight compromised P-384 keys made the signature. Once the HSM has signed,
// they run.
var throwawayIssuer = []string{emudhra.Name}

// throwawayExcluded is what a shape signed by a throwaway key leaves out: throwawayIssuer, and
// throwawayOnly too where the subject key is a throwaway (subject). lintCertificate and the
// warm-up (WarmLints) filter zlint's registry by these same lists.
func throwawayExcluded(subject bool) []string {
	if !subject {
		return throwawayIssuer
	}
	return append(throwawayIssuer[:len(throwawayIssuer):len(throwawayIssuer)], throwawayOnly...)
}

// certLinter names, in certificate.linted and certificate.relinted, what lints a certificate:
// zlint, the version go.mod requires, with two of its lints run by Keyrite's implementations of
// the same checks (internal/smallkey: the baby-step tables precomputed; internal/emudhra: the
// signer's possible keys recovered from the signature instead of eight verifications), which
// those packages put in zlint's registry under zlint's names when imported.
const certLinter = "zlint v3.7.3 with Keyrite's " + smallkey.Name + " and " + emudhra.Name

// lintResult is what zlint said of one certificate or CRL.
type lintResult = transcript.LintResult

// lintPolicy is how one certificate or CRL is linted: the zlint sources (nil: every source
// zlint has) and the lints waived, each with its reason (run and recorded as waived, never
// hidden; profile_x509.go's privateWaivers and a private profile's own). Every other error or
// fatal finding refuses the ceremony.
type lintPolicy struct {
	sources lint.SourceList
	waived  map[string]string
}

// policy is how a certificate of profile p is linted: every source, p's waivers.
func (p Profile) policy() lintPolicy { return lintPolicy{waived: p.waivers()} }

// lintCertificate builds tmpl exactly as it will be issued, under issuer (nil: self-signed)
// whose key is of type issuerAlg, for the subject key pub (nil: a throwaway of subjectAlg),
// signs it with a throwaway key of the issuer's type and runs zlint over it. A self-signed
// certificate gets the throwaway key as its subject key too.
// pol says which sources run and which lints are waived.
func lintCertificate(name string, tmpl, issuer *x509.Certificate, issuerAlg hsm.Algorithm, pub crypto.PublicKey, subjectAlg hsm.Algorithm, pol lintPolicy) (lintResult, *x509.Certificate, error) {
	key, err := throwawayFor(issuerAlg)
	if err != nil {
		return lintResult{}, nil, err
	}
	t := *tmpl
	parent, shape := &t, "self-signed"
	exclude := throwawayExcluded(issuer == nil || pub == nil)
	if issuer == nil {
		pub = key.Public() // self-signed: one key on both sides, as the real key will be
	} else {
		parent, shape = standIn(issuer, key), "issued by "+issuer.Subject.String()
		if pub == nil {
			sub, err := throwawaySubjectFor(subjectAlg)
			if err != nil {
				return lintResult{}, nil, err
			}
			pub = sub.Public()
		}
	}
	tk, err := withKeyID(&t, pub)
	if err != nil {
		return lintResult{}, nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tk, parent, pub, key)
	if err != nil {
		return lintResult{}, nil, fmt.Errorf("%s cannot be built: %w", name, err)
	}
	zc, err := zx509.ParseCertificate(der)
	if err != nil {
		return lintResult{}, nil, fmt.Errorf("%s: parse the test certificate: %w", name, err)
	}
	c, _ := x509.ParseCertificate(der)
	registry, err := certificateLints(pol, exclude)
	if err != nil {
		return lintResult{}, nil, err
	}
	return judge(name, shape, lintCertificateEx(zc, registry), pol.waived), c, nil
}

// certificateLints is the registry every certificate lint runs with: zlint's lints of pol's
// sources but those named in exclude, e_ecdsa_small_private_key and
// e_cert_issued_by_compromised_emudhra_ca being Keyrite's implementations of them
// (internal/smallkey, internal/emudhra, which put them in zlint's global registry in place of
// zlint's). Each selection is filtered once (filter, lintsplit.go).
func certificateLints(pol lintPolicy, exclude []string) (lint.Registry, error) {
	return filter(lint.GlobalRegistry(), lint.FilterOptions{IncludeSources: pol.sources, ExcludeNames: exclude})
}

// lintCRL builds the CRL tmpl exactly as issuer (of key type issuerAlg) will sign it, with a
// throwaway key of that type, and runs zlint's CRL lints over it. A root's CRL covers CA
// certificates: the Baseline Requirements allow it 12 months (zlint's default is 10 days).
func lintCRL(name string, tmpl *x509.RevocationList, issuer *x509.Certificate, issuerAlg hsm.Algorithm, waived map[string]string) (lintResult, error) {
	key, err := throwawayFor(issuerAlg)
	if err != nil {
		return lintResult{}, err
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, standIn(issuer, key), key)
	if err != nil {
		return lintResult{}, fmt.Errorf("%s cannot be built: %w", name, err)
	}
	return lintCRLBytes(name, "issued by "+issuer.Subject.String(), der, waived)
}

// lintCRLBytes runs zlint's CRL lints over a DER CRL.
func lintCRLBytes(name, shape string, der []byte, waived map[string]string) (lintResult, error) {
	zc, err := zx509.ParseRevocationList(der)
	if err != nil {
		return lintResult{}, fmt.Errorf("%s: parse the CRL: %w", name, err)
	}
	registry, err := crlRegistry()
	if err != nil {
		return lintResult{}, err
	}
	return judge(name, shape, zlint.LintRevocationListEx(zc, registry), waived), nil
}

// crlRegistry is the registry CRLs are linted with: every lint zlint has, configured for a CA's
// CRL (e_crl_next_update_invalid's SubscriberCRL off), made once per process. It is a copy:
// configuring zlint's global registry itself, as this once did, configured every lint of the
// process after the first CRL.
var crlRegistry = sync.OnceValues(func() (lint.Registry, error) {
	cfg, err := lint.NewConfigFromString("[e_crl_next_update_invalid]\nSubscriberCRL = false\n")
	if err != nil {
		return nil, err
	}
	all := lint.GlobalRegistry()
	r, err := all.Filter(lint.FilterOptions{IncludeSources: all.Sources()})
	if err != nil {
		return nil, err
	}
	r.SetConfiguration(cfg)
	return r, nil
})

// judge sorts zlint's findings by status, moving the waived ones aside.
func judge(name, shape string, res *zlint.ResultSet, waived map[string]string) lintResult {
	out := lintResult{Name: name, Shape: shape, LintsRun: len(res.Results), Findings: map[string][]string{}}
	for n, lr := range res.Results {
		switch lr.Status {
		case lint.Notice, lint.Warn, lint.Error, lint.Fatal:
			if _, ok := waived[n]; ok {
				out.Waived = append(out.Waived, n)
				continue
			}
			out.Findings[lr.Status.String()] = append(out.Findings[lr.Status.String()], n)
		}
	}
	for _, v := range out.Findings {
		sort.Strings(v)
	}
	sort.Strings(out.Waived)
	return out
}

// refusedLints returns the error and fatal findings of a lint, or nil.
func refusedLints(l lintResult) []string {
	return append(append([]string(nil), l.Findings["error"]...), l.Findings["fatal"]...)
}
