package ceremony

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
	"golang.org/x/crypto/ocsp"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// TypeOCSPResponses has the root, or a delegated OCSP responder on the same token, sign OCSP
// responses about the certificates the root issued, ahead of time: an in-region responder
// serves these pre-signed responses until their nextUpdate, and the root stays offline.
//
// Responses are built with golang.org/x/crypto/ocsp (the Go team's RFC 6960 implementation,
// maintained beside the standard library; zlint reads responses with it too), each checked
// after signing by parsing it and verifying its signature against the root, and linted with
// zlint's OCSP lints before the HSM signs (a throwaway key of the responder's key type) and
// again once signed.
const TypeOCSPResponses = "sign-ocsp-responses"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeOCSPResponses, Title: "OCSP responses signed ahead", Example: TypeOCSPResponses, Inputs: []Input{InputIssued},
			Description: "The root or its delegated OCSP responder signs an OCSP response (good, or revoked with its time and reason) for each certificate of the root the script names; the responses are evidence files for the in-region responder to serve."},
		previous:  previousSealed,
		validate:  (*Script).validateOCSP,
		steps:     ocspSteps,
		keyStates: ocspKeyStates,
		lints:     ocspLints,
		supports:  onTokenCases(TypeOCSPResponses),
	})
}

// OCSPConfig is the script section of a sign-ocsp-responses ceremony.
type OCSPConfig struct {
	RootKey string `yaml:"root_key"` // the root key's label on the token
	// Responder signs the responses: "root", or the label of a delegated responder's key on
	// this token, whose certificate (sign-ocsp-responder) the continued ceremony holds or
	// --issued gives.
	Responder string `yaml:"responder"`
	// ThisUpdate is the responses' thisUpdate (RFC 3339); empty: the ceremony's clock, to the
	// minute. It may not be later than when they are signed.
	ThisUpdate     string       `yaml:"this_update,omitempty"`
	NextUpdateDays int          `yaml:"next_update_days"`
	Responses      []OCSPStatus `yaml:"responses"`
}

// OCSPStatus is the status one response gives for one certificate of the root.
type OCSPStatus struct {
	// The certificate is named by its serial (hex) or by its subject's common name, which
	// must then name exactly one certificate of the root.
	Serial     string `yaml:"serial,omitempty"`
	CommonName string `yaml:"common_name,omitempty"`
	Status     string `yaml:"status"` // good or revoked
	RevokedAt  string `yaml:"revoked_at,omitempty"`
	Reason     string `yaml:"reason,omitempty"` // RFC 5280 name; none: no reason in the response
}

// responderRoot names the root as its own OCSP responder.
const responderRoot = "root"

// maxOCSPDays is the longest nextUpdate: the Baseline Requirements (4.9.10) have the status of
// a subordinate CA certificate updated at least every 12 months.
const maxOCSPDays = 366

func (s *Script) validateOCSP(v *validator) {
	c := s.OCSP
	if c == nil {
		v.errorf("ocsp", "a sign-ocsp-responses ceremony needs an ocsp section")
		return
	}
	if !labelRE.MatchString(c.RootKey) {
		v.errorf("ocsp.root_key", "%q must be the root key's label on the token", c.RootKey)
	}
	if c.Responder != responderRoot && (!v.label("ocsp.responder", c.Responder) || c.Responder == c.RootKey) {
		v.errorf("ocsp.responder", "%q: write root for the root key itself, or the label of a delegated responder's key", c.Responder)
	}
	if c.ThisUpdate != "" {
		if _, err := time.Parse(time.RFC3339, c.ThisUpdate); err != nil {
			v.errorf("ocsp.this_update", "%q: write it in RFC 3339 (2026-11-25T09:00:00Z), or leave it out for the ceremony's clock", c.ThisUpdate)
		}
	}
	if c.NextUpdateDays < 1 || c.NextUpdateDays > maxOCSPDays {
		v.errorf("ocsp.next_update_days", "%d must be between 1 and %d (the Baseline Requirements update a CA certificate's status at least every 12 months)", c.NextUpdateDays, maxOCSPDays)
	}
	if len(c.Responses) == 0 {
		v.errorf("ocsp.responses", "list the certificates to answer for, each with its status")
	}
	seen := map[string]bool{}
	for i, st := range c.Responses {
		path := fmt.Sprintf("ocsp.responses.%d", i)
		tmpl, err := st.template()
		if err != nil {
			v.errorf(path, "%v", err)
			continue
		}
		key := "cn:" + st.CommonName
		if tmpl.SerialNumber != nil {
			key = tmpl.SerialNumber.String()
		}
		if seen[key] {
			v.errorf(path, "%s is listed twice", st.name())
		}
		seen[key] = true
	}
}

// name is how the script names the certificate.
func (st OCSPStatus) name() string {
	if st.Serial != "" {
		return "serial " + st.Serial
	}
	return fmt.Sprintf("certificate %q", st.CommonName)
}

// template is the response's status part, and its serial if the script gives it.
func (st OCSPStatus) template() (ocsp.Response, error) {
	t := ocsp.Response{}
	switch {
	case (st.Serial == "") == (st.CommonName == ""):
		return t, fmt.Errorf("name the certificate by its serial or by its common_name (one of them)")
	case st.Serial != "":
		serial, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(st.Serial), "0x"), 16)
		if !ok || serial.Sign() <= 0 {
			return t, fmt.Errorf("serial %q is not a serial number in hex", st.Serial)
		}
		t.SerialNumber = serial
	}
	switch st.Status {
	case "good":
		t.Status = ocsp.Good
		if st.RevokedAt != "" || st.Reason != "" {
			return t, fmt.Errorf("%s is good: it has no revoked_at or reason", st.name())
		}
	case "revoked":
		t.Status = ocsp.Revoked
		at, err := time.Parse(time.RFC3339, st.RevokedAt)
		if err != nil {
			return t, fmt.Errorf("%s is revoked: give revoked_at in RFC 3339 (2026-11-20T09:30:00Z)", st.name())
		}
		t.RevokedAt = at.UTC()
		if st.Reason != "" {
			code, ok := reasonCodes[st.Reason]
			if !ok || code == 0 {
				return t, fmt.Errorf("reason %q is not an RFC 5280 revocation reason other than unspecified (leave it out instead): one of %s", st.Reason, strings.Join(reasonNames()[1:], ", "))
			}
			t.RevocationReason = code
		}
	default:
		return t, fmt.Errorf("status %q must be good or revoked", st.Status)
	}
	return t, nil
}

func ocspSteps(s *Script) []step {
	root := rootSteps(s)
	c := s.OCSP
	by := "the root key " + c.RootKey
	if c.Responder != responderRoot {
		by = "the delegated responder " + c.Responder
	}
	return []step{root[0], continueStep(),
		{id: "sign-ocsp-responses", title: "Sign the OCSP responses", actorRole: "administrator", witness: true,
			gate: func(*Run) string {
				return fmt.Sprintf("sign %d OCSP %s with %s, valid %d days", len(c.Responses), plural(len(c.Responses), "response", "responses"), by, c.NextUpdateDays)
			},
			explain: fmt.Sprintf("%s signs %d OCSP %s, valid %d days; each is linted first and verified against the root once signed.", capitalFirst(by), len(c.Responses), plural(len(c.Responses), "response", "responses"), c.NextUpdateDays),
			run:     (*Run).signOCSPResponses},
		root[4]}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ocspPlan is what the responses are built from: the responder's certificate (the root's, or
// the delegated responder's), the window, and one template per response.
type ocspPlan struct {
	responder  *x509.Certificate
	delegated  bool
	thisUpdate time.Time
	nextUpdate time.Time
	templates  []ocsp.Response
	subjects   []string // the certificate each response is about
}

// ocspPlan builds the responses' plan under root at now, checking every serial is a
// certificate root issued and the responder's certificate covers the window.
func (r *Run) ocspPlan(root *x509.Certificate, now time.Time) (*ocspPlan, error) {
	c := r.Script.OCSP
	p := &ocspPlan{responder: root, thisUpdate: now.UTC().Truncate(time.Minute)}
	if c.ThisUpdate != "" {
		t, _ := time.Parse(time.RFC3339, c.ThisUpdate)
		if t.After(now) {
			return nil, fmt.Errorf("this_update %s is after the ceremony's clock %s: a response is valid from when it is signed at the latest", c.ThisUpdate, now.UTC().Format(time.RFC3339))
		}
		p.thisUpdate = t.UTC()
	}
	p.nextUpdate = p.thisUpdate.Add(time.Duration(c.NextUpdateDays) * 24 * time.Hour)
	issued, err := r.issuedBy(root, r.opt.Issued)
	if err != nil {
		return nil, err
	}
	if c.Responder != responderRoot {
		if p.responder, err = r.delegatedResponder(c.Responder, issued); err != nil {
			return nil, err
		}
		p.delegated = true
	}
	if p.responder.NotBefore.After(p.thisUpdate) || p.responder.NotAfter.Before(p.nextUpdate) {
		return nil, fmt.Errorf("the responder's certificate %q is valid %s to %s, which does not cover the responses' %s to %s: shorten next_update_days or certify a new responder",
			p.responder.Subject.String(), p.responder.NotBefore.UTC().Format(time.RFC3339), p.responder.NotAfter.UTC().Format(time.RFC3339), p.thisUpdate.Format(time.RFC3339), p.nextUpdate.Format(time.RFC3339))
	}
	seen := map[string]bool{}
	for _, st := range c.Responses {
		t, err := st.template()
		if err != nil {
			return nil, err
		}
		cert, err := st.find(issued, root)
		if err != nil {
			return nil, err
		}
		t.SerialNumber = cert.SerialNumber
		if seen[cert.SerialNumber.String()] {
			return nil, fmt.Errorf("%s names serial %x, which another response names too", st.name(), cert.SerialNumber)
		}
		seen[cert.SerialNumber.String()] = true
		if t.Status == ocsp.Revoked && t.RevokedAt.After(p.thisUpdate) {
			return nil, fmt.Errorf("%s is revoked at %s, after the responses' thisUpdate %s", st.name(), st.RevokedAt, p.thisUpdate.Format(time.RFC3339))
		}
		t.ThisUpdate, t.NextUpdate = p.thisUpdate, p.nextUpdate
		if p.delegated {
			t.Certificate = p.responder // the client needs it to check the delegation
		}
		p.templates = append(p.templates, t)
		p.subjects = append(p.subjects, cert.Subject.String())
	}
	return p, nil
}

// find is the certificate of root that st names, among issued.
func (st OCSPStatus) find(issued []*x509.Certificate, root *x509.Certificate) (*x509.Certificate, error) {
	t, _ := st.template()
	var found []*x509.Certificate
	for _, c := range issued {
		if (t.SerialNumber != nil && c.SerialNumber.Cmp(t.SerialNumber) == 0) || (t.SerialNumber == nil && c.Subject.CommonName == st.CommonName) {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%s is not a certificate of %q that the continued ceremony holds or --issued gives: give that certificate with --issued FILE", st.name(), root.Subject.String())
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("%s names %d certificates of the root: name it by its serial", st.name(), len(found))
}

// delegatedResponder is the certificate of the delegated OCSP responder whose key is labelled
// label on the token, among the certificates the root issued.
func (r *Run) delegatedResponder(label string, issued []*x509.Certificate) (*x509.Certificate, error) {
	k, err := r.token.FindKeyPair(label)
	if err != nil {
		return nil, fmt.Errorf("the delegated OCSP responder's key %q: %w", label, err)
	}
	pub := k.Public().(interface{ Equal(crypto.PublicKey) bool })
	var found *x509.Certificate // the latest to expire, if the key was certified again
	for _, c := range issued {
		for _, u := range c.ExtKeyUsage {
			if u == x509.ExtKeyUsageOCSPSigning && pub.Equal(c.PublicKey) && (found == nil || c.NotAfter.After(found.NotAfter)) {
				found = c
			}
		}
	}
	if found != nil {
		return found, nil
	}
	return nil, fmt.Errorf("no OCSP responder certificate of the root certifies key %q: continue its sign-ocsp-responder ceremony (--previous) or give its certificate (--issued FILE)", label)
}

// ocspFile is the evidence file of the response about serial.
func ocspFile(serial *big.Int) string { return fmt.Sprintf("ocsp-%x.der", serial) }

// lintOCSP runs zlint's OCSP response lints over a DER response.
func lintOCSP(name, shape string, der []byte, issuer *x509.Certificate) (lintResult, *ocsp.Response, error) {
	resp, err := ocsp.ParseResponse(der, issuer)
	if err != nil {
		return lintResult{}, nil, fmt.Errorf("%s does not parse or verify against %q: %w", name, issuer.Subject.String(), err)
	}
	registry, err := lint.GlobalRegistry().Filter(lint.FilterOptions{})
	if err != nil {
		return lintResult{}, nil, err
	}
	return judge(name, shape, zlint.LintOcspResponseEx(resp, registry), nil), resp, nil
}

func (r *Run) signOCSPResponses() error {
	c := r.Script.OCSP
	plan, err := r.ocspPlan(r.rootCert, r.Clock())
	if err != nil {
		return err
	}
	var signer crypto.Signer
	if plan.delegated {
		signer, err = r.keyPairOf(c.Responder, plan.responder.PublicKey, "the key of the responder certificate "+plan.responder.Subject.String())
		if err == nil {
			err = r.writeOutput("ocsp-responder.pem", certPEM(plan.responder))
		}
	} else {
		signer, err = r.rootKey(c.RootKey)
	}
	if err != nil {
		return err
	}
	for i, t := range plan.templates {
		if err := r.signOCSPResponse(plan, t, plan.subjects[i], signer); err != nil {
			return err
		}
	}
	r.UI.Note(fmt.Sprintf("%d OCSP %s signed by %q, valid to %s.", len(plan.templates), plural(len(plan.templates), "response", "responses"), plan.responder.Subject.CommonName, plan.nextUpdate.Format(time.DateOnly)))
	return nil
}

// signOCSPResponse signs one response, checks and lints it, records and writes it.
func (r *Run) signOCSPResponse(plan *ocspPlan, t ocsp.Response, subject string, signer crypto.Signer) error {
	name := ocspFile(t.SerialNumber)
	pre, err := r.lintOCSPBeforeSigning(name, t, plan.responder)
	if err != nil {
		return err
	}
	der, err := ocsp.CreateResponse(r.rootCert, plan.responder, t, signer)
	if err != nil {
		return fmt.Errorf("sign the OCSP response about serial %x: %w", t.SerialNumber, err)
	}
	res, resp, err := lintOCSP(name, "signed by "+plan.responder.Subject.String(), der, r.rootCert)
	if err != nil {
		return err
	}
	if resp.SerialNumber.Cmp(t.SerialNumber) != 0 || resp.Status != t.Status || !resp.ThisUpdate.Equal(t.ThisUpdate) || !resp.NextUpdate.Equal(t.NextUpdate) {
		return fmt.Errorf("the signed response %s does not say what was asked (serial %x, status %d)", name, resp.SerialNumber, resp.Status)
	}
	bad := refusedLints(res)
	diff := lintDifferences(pre, res)
	if _, err := r.record(transcript.EventOCSPLinted, transcript.OCSPLinted{Name: name, Linter: "zlint v3", LintsRun: res.LintsRun, Findings: res.Findings,
		Same: len(diff) == 0, Differences: diff}); err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("the OCSP response %s fails lints %v; nothing was written", name, bad)
	}
	if len(diff) > 0 {
		return fmt.Errorf("the OCSP response %s as signed lints differently from its shape before signing (%s); nothing was written", name, strings.Join(diff, ", "))
	}
	rec := transcript.OCSPSigned{File: name, Serial: fmt.Sprintf("%x", t.SerialNumber), Subject: subject, Status: ocspStatusName(t.Status),
		ThisUpdate: t.ThisUpdate.Format(time.RFC3339), NextUpdate: t.NextUpdate.Format(time.RFC3339), Responder: plan.responder.Subject.String(),
		ResponderSPKI: spkiHex(plan.responder), SHA256: sha256Hex(der)}
	if t.Status == ocsp.Revoked {
		rec.RevokedAt = t.RevokedAt.Format(time.RFC3339)
		if t.RevocationReason != 0 {
			rec.Reason = reasonName(t.RevocationReason)
		}
	}
	if _, err := r.record(transcript.EventOCSPSigned, rec); err != nil {
		return err
	}
	return r.writeOutput(name, der)
}

func ocspStatusName(s int) string {
	if s == ocsp.Revoked {
		return "revoked"
	}
	return "good"
}

// lintOCSPBeforeSigning lints the response's shape, signed by a throwaway key of the
// responder's key type, as the pre-flight did: the signed response must lint the same.
func (r *Run) lintOCSPBeforeSigning(name string, t ocsp.Response, responder *x509.Certificate) (lintResult, error) {
	alg, err := algorithmOf(responder.PublicKey)
	if err != nil {
		return lintResult{}, err
	}
	key, err := throwawayFor(alg)
	if err != nil {
		return lintResult{}, err
	}
	return lintOCSPShape(name, t, r.rootCert, responder, key)
}

// ocspKeyStates refuses, in the pre-flight, keys whose state forbids signing responses. Like a
// CRL, a response about what a key issued is processing, which a deactivated key still does.
func ocspKeyStates(k keyStateCheck) {
	c := k.p.r.Script.OCSP
	k.refuse("ocsp.root_key", c.RootKey, k.rootSPKI, true, "sign OCSP responses")
	if c.Responder != responderRoot {
		k.refuse("ocsp.responder", c.Responder, "", false, "sign OCSP responses")
	}
}

// ocspLints builds every response in its real shape, signed by a throwaway key of the
// responder's key type, and lints it, before the HSM is touched.
func ocspLints(l lintRun) {
	if l.root == nil {
		return
	}
	plan, err := l.p.r.ocspPlan(l.root, l.now)
	if err != nil {
		l.p.fieldf("ocsp", "%v; nothing was signed", err)
		return
	}
	alg, err := algorithmOf(plan.responder.PublicKey)
	if err != nil {
		l.p.fieldf("ocsp.responder", "%v", err)
		return
	}
	key, err := throwawayFor(alg)
	if err != nil {
		l.p.errorf("%v", err)
		return
	}
	for _, t := range plan.templates {
		name := ocspFile(t.SerialNumber)
		res, err := lintOCSPShape(name, t, l.root, plan.responder, key)
		if err != nil {
			l.p.fieldf("ocsp.responder", "%v", err)
			return
		}
		if bad := refusedLints(res); len(bad) > 0 {
			l.p.fieldf("ocsp.responses", "the OCSP response %s (%s) fails lints %s", name, res.Shape, strings.Join(bad, ", "))
			return
		}
		l.p.rec.Lints = append(l.p.rec.Lints, res)
	}
}

// lintOCSPShape signs t as responder would, with key, a throwaway of the responder's key
// type, and lints it.
func lintOCSPShape(name string, t ocsp.Response, root, responder *x509.Certificate, key crypto.Signer) (lintResult, error) {
	issuer := root
	if responder == root {
		issuer = standIn(root, key)
		responder = issuer
	} else {
		// The response carries the responder's certificate, which must verify it: a stand-in
		// of it for the throwaway key, signed by that key in the root's name.
		tmpl := *responder
		tmpl.ExtraExtensions = responder.Extensions
		der, err := x509.CreateCertificate(rand.Reader, &tmpl, standIn(root, key), key.Public(), key)
		if err != nil {
			return lintResult{}, fmt.Errorf("%s: a stand-in of the responder's certificate: %w", name, err)
		}
		if responder, err = x509.ParseCertificate(der); err != nil {
			return lintResult{}, err
		}
		t.Certificate = responder
	}
	der, err := ocsp.CreateResponse(issuer, responder, t, key)
	if err != nil {
		return lintResult{}, fmt.Errorf("the OCSP response %s cannot be built for a %s responder: %w", name, responder.PublicKeyAlgorithm, err)
	}
	resp, err := ocsp.ParseResponse(der, nil)
	if err != nil {
		return lintResult{}, fmt.Errorf("%s: parse the test response: %w", name, err)
	}
	registry, err := lint.GlobalRegistry().Filter(lint.FilterOptions{})
	if err != nil {
		return lintResult{}, err
	}
	return judge(name, "signed by "+responder.Subject.String(), zlint.LintOcspResponseEx(resp, registry), nil), nil
}
