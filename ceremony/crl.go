package ceremony

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// TypeCRL has the root sign a certificate revocation list.
const TypeCRL = "sign-crl"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeCRL, Title: "CRL signing by the root", Example: "sign-crl", Inputs: []Input{InputRevoked},
			Description: "The root signs a certificate revocation list of the revoked serials, linted before it is written."},
		previous:  previousSealed,
		validate:  (*Script).validateCRL,
		steps:     crlSteps,
		keyStates: crlKeyStates,
		lints:     crlLints,
		supports:  onTokenCases(TypeCRL),
	})
}

func (s *Script) validateCRL(v *validator) {
	c := s.CRL
	if c == nil {
		v.errorf("crl", "a sign-crl ceremony needs a crl section")
		return
	}
	if !labelRE.MatchString(c.RootKey) {
		v.errorf("crl.root_key", "%q must be the root key's label on the token", c.RootKey)
	}
	if c.Number < 1 {
		v.errorf("crl.number", "%d: the CRL number must be positive and higher than the last CRL's", c.Number)
	}
	if c.NextUpdateDays < 1 || c.NextUpdateDays > 365 {
		v.errorf("crl.next_update_days", "%d must be between 1 and 365 (12 months for a CRL of CA certificates)", c.NextUpdateDays)
	}
	seen := map[string]bool{}
	for i, e := range c.Revoked {
		path := fmt.Sprintf("crl.revoked.%d", i)
		if _, err := e.entry(); err != nil {
			v.errorf(path, "%v", err)
		} else if k := strings.ToLower(strings.TrimLeft(strings.TrimPrefix(strings.ToLower(e.Serial), "0x"), "0")); seen[k] {
			v.errorf(path+".serial", "serial %s is listed twice", e.Serial)
		} else {
			seen[k] = true
		}
	}
	if c.DistributionPoint != "" && !httpURL(c.DistributionPoint) {
		v.errorf("crl.distribution_point", "%q must be an http:// URL, as in the certificates' CRL distribution point (RFC 5280 4.2.1.13; the Baseline Requirements allow only HTTP)", c.DistributionPoint)
	}
	if p := s.Profile; p != nil && c.DistributionPoint != "" && len(p.CRLDistributionPoints) > 0 && !contains(p.CRLDistributionPoints, c.DistributionPoint) {
		v.errorf("crl.distribution_point", "%q is not among the CRL distribution points of the root's profile (%s): the issuing distribution point names the CRL the certificates point to", c.DistributionPoint, strings.Join(p.CRLDistributionPoints, ", "))
	}
	if c.OnlyCACertificates && c.DistributionPoint == "" {
		v.errorf("crl.only_ca_certificates", "needs crl.distribution_point: the issuing distribution point names the CRL's scope")
	}
}

// httpURL reports whether s is an absolute http:// URL with a host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "http" && u.Host != "" && !strings.ContainsAny(s, " \t\n")
}

func crlSteps(s *Script) []step {
	root := rootSteps(s)
	c := s.CRL
	return []step{root[0], continueStep(),
		{id: "sign-crl", title: "Sign the revocation list", actorRole: "administrator", witness: true,
			outputs: []string{"root.crl", "root.crl.pem"},
			gate:    func(*Run) string { return fmt.Sprintf("sign CRL number %d with the root key %q", c.Number, c.RootKey) },
			explain: fmt.Sprintf("The root key %q signs CRL number %d, valid %d days, listing the revoked certificates; it is linted first.", c.RootKey, c.Number, c.NextUpdateDays),
			run:     (*Run).signCRL},
		root[4]}
}

// reasonCodes are RFC 5280 CRLReason names. docs/pki.md lists them and which the Baseline
// Requirements allow (7.2.2: keyCompromise, affiliationChanged, superseded,
// cessationOfOperation, privilegeWithdrawn, or no reason); zlint refuses the others in the
// pre-flight under the public-trust lints.
var reasonCodes = map[string]int{"unspecified": 0, "keyCompromise": 1, "cACompromise": 2, "affiliationChanged": 3,
	"superseded": 4, "cessationOfOperation": 5, "certificateHold": 6, "removeFromCRL": 8, "privilegeWithdrawn": 9, "aACompromise": 10}

// reasonCode is the RFC 5280 CRLReason code of a name or number.
func reasonCode(s string) (int, error) {
	if code, ok := reasonCodes[s]; ok {
		return code, nil
	}
	if c, err := strconv.Atoi(s); err == nil && c >= 0 && c <= 10 && c != 7 {
		return c, nil
	}
	return 0, fmt.Errorf("%q is neither an RFC 5280 revocation reason nor an RFC 3339 time (2026-11-20T09:30:00Z)", s)
}

// readRevoked parses "serial-hex [reason] [revoked-at]" lines (revoked-at in RFC 3339; when
// it is missing, the entry is revoked at when); # starts a comment.
func readRevoked(path string, when time.Time) ([]x509.RevocationListEntry, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the revoked list: %w", err)
	}
	var out []x509.RevocationListEntry
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.SplitN(sc.Text(), "#", 2)[0])
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		serial, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(f[0]), "0x"), 16)
		if !ok || serial.Sign() <= 0 {
			return nil, fmt.Errorf("%s:%d: %q is not a serial number in hex", path, n, f[0])
		}
		if seen[serial.String()] {
			return nil, fmt.Errorf("%s:%d: serial %s is listed twice", path, n, f[0])
		}
		seen[serial.String()] = true
		e := x509.RevocationListEntry{SerialNumber: serial, RevocationTime: when}
		for _, field := range f[1:] {
			if t, err := time.Parse(time.RFC3339, field); err == nil {
				e.RevocationTime = t.UTC()
				continue
			}
			code, err := reasonCode(field)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			e.ReasonCode = code
		}
		out = append(out, e)
	}
	return out, nil
}

// crlEntries are the CRL's entries: the script's, then the revoked list's (--revoked), each
// serial once, none revoked after now (the CRL's thisUpdate).
func crlEntries(c *CRLConfig, file string, now time.Time) ([]x509.RevocationListEntry, error) {
	now = now.UTC().Truncate(time.Second)
	var out []x509.RevocationListEntry
	for _, e := range c.Revoked {
		x, err := e.entry()
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	listed, err := readRevoked(file, now)
	if err != nil {
		return nil, err
	}
	out = append(out, listed...)
	seen := map[string]bool{}
	for _, e := range out {
		if seen[e.SerialNumber.String()] {
			return nil, fmt.Errorf("serial %x is listed in the script and in the revoked list %s: list it once", e.SerialNumber, file)
		}
		seen[e.SerialNumber.String()] = true
		if e.RevocationTime.After(now) {
			return nil, fmt.Errorf("serial %x is revoked at %s, after this CRL's thisUpdate %s (the ceremony's clock): a CRL lists only revocations that happened", e.SerialNumber, e.RevocationTime.Format(time.RFC3339), now.Format(time.RFC3339))
		}
	}
	return out, nil
}

func (r *Run) signCRL() error {
	c := r.Script.CRL
	now := r.Clock().UTC().Truncate(time.Second)
	revoked, err := crlEntries(c, r.opt.Revoked, now)
	if err != nil {
		return err
	}
	rootKey, err := r.rootKey(c.RootKey)
	if err != nil {
		return err
	}
	tmpl, err := crlTemplate(c, revoked, now)
	if err != nil {
		return err
	}
	pre, err := r.lintCRLShape(tmpl)
	if err != nil {
		return err
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, r.rootCert, rootKey)
	if err != nil {
		return fmt.Errorf("sign the CRL with root key %q: %w", c.RootKey, err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err == nil {
		err = crl.CheckSignatureFrom(r.rootCert)
	}
	if err != nil {
		return fmt.Errorf("the new CRL does not verify under the root: %w", err)
	}
	post, err := lintIssuedCRL("root.crl", pre.Shape, der, r.Script.issuerProfile().waivers())
	if err != nil {
		return err
	}
	if err := r.compareLints(transcript.EventCRLRelinted, "root.crl", der, pre, post); err != nil {
		return err
	}
	if _, err := r.record(transcript.EventCRLIssued, crlIssued(c, tmpl, r.rootCert, der)); err != nil {
		return err
	}
	if err := r.writeOutput("root.crl", der); err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("CRL number %d signed: %d revoked, next update %s.", c.Number, len(revoked), tmpl.NextUpdate.Format(time.DateOnly)))
	return r.writeOutput("root.crl.pem", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
}

// lintCRLShape lints the CRL tmpl in its real shape, under a throwaway key of the root's key
// type, records the lint and refuses errors, before the root key signs it.
func (r *Run) lintCRLShape(tmpl *x509.RevocationList) (lintResult, error) {
	alg, err := algorithmOf(r.rootCert.PublicKey)
	if err != nil {
		return lintResult{}, err
	}
	res, err := lintCRL("root.crl", tmpl, r.rootCert, alg, r.Script.issuerProfile().waivers())
	if err != nil {
		return lintResult{}, err
	}
	bad := refusedLints(res)
	if _, err := r.record(transcript.EventCRLLinted, transcript.CRLLinted{Linter: "zlint v3", LintsRun: res.LintsRun, Errors: bad, Warnings: res.Findings["warn"]}); err != nil {
		return lintResult{}, err
	}
	if len(bad) > 0 {
		return lintResult{}, fmt.Errorf("the CRL fails lints %v; nothing was signed", bad)
	}
	return res, nil
}

// crlIssued is the record of CRL der, signed from tmpl by issuer.
func crlIssued(c *CRLConfig, tmpl *x509.RevocationList, issuer *x509.Certificate, der []byte) transcript.CRLIssued {
	rec := transcript.CRLIssued{Number: c.Number, ThisUpdate: tmpl.ThisUpdate.Format(time.RFC3339), NextUpdate: tmpl.NextUpdate.Format(time.RFC3339),
		Revoked: len(tmpl.RevokedCertificateEntries), Issuer: issuer.Subject.String(), SHA256: sha256Hex(der), DistributionPoint: c.DistributionPoint}
	for _, e := range tmpl.RevokedCertificateEntries {
		x := transcript.CRLEntry{Serial: fmt.Sprintf("%x", e.SerialNumber), RevokedAt: e.RevocationTime.UTC().Format(time.RFC3339)}
		if e.ReasonCode != 0 {
			x.Reason = reasonName(e.ReasonCode)
		}
		rec.Entries = append(rec.Entries, x)
	}
	return rec
}

// reasonName is the RFC 5280 name of a CRLReason code.
func reasonName(code int) string {
	for n, c := range reasonCodes {
		if c == code {
			return n
		}
	}
	return strconv.Itoa(code)
}

// CRLConfig is the certificate revocation list the root signs.
type CRLConfig struct {
	RootKey        string `yaml:"root_key"`
	Number         int64  `yaml:"number"` // the CRL number; each CRL's is higher than the last
	NextUpdateDays int    `yaml:"next_update_days"`
	// Revoked lists revoked certificates with their revocation times and reasons; the
	// revoked list (--revoked) may add more.
	Revoked []CRLEntry `yaml:"revoked,omitempty"`
	// DistributionPoint is the CRL distribution point URL of the certificates this CRL
	// covers: the CRL carries it in a critical issuing distribution point extension (RFC
	// 5280 5.2.5), and OnlyCACertificates limits its scope to CA certificates.
	DistributionPoint  string `yaml:"distribution_point,omitempty"`
	OnlyCACertificates bool   `yaml:"only_ca_certificates,omitempty"`
}

// CRLEntry is one revoked certificate of a CRL.
type CRLEntry struct {
	Serial    string `yaml:"serial"`     // hex
	RevokedAt string `yaml:"revoked_at"` // RFC 3339: when the certificate was revoked
	Reason    string `yaml:"reason,omitempty"`
}

// entry is e as a CRL entry.
func (e CRLEntry) entry() (x509.RevocationListEntry, error) {
	serial, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(e.Serial), "0x"), 16)
	if !ok || serial.Sign() <= 0 {
		return x509.RevocationListEntry{}, fmt.Errorf("serial %q is not a serial number in hex", e.Serial)
	}
	at, err := time.Parse(time.RFC3339, e.RevokedAt)
	if err != nil {
		return x509.RevocationListEntry{}, fmt.Errorf("revoked_at %q: give the revocation time in RFC 3339 (2026-11-20T09:30:00Z)", e.RevokedAt)
	}
	x := x509.RevocationListEntry{SerialNumber: serial, RevocationTime: at.UTC()}
	if e.Reason != "" {
		code, ok := reasonCodes[e.Reason]
		if !ok {
			return x, fmt.Errorf("reason %q is not an RFC 5280 revocation reason (one of %s)", e.Reason, strings.Join(reasonNames(), ", "))
		}
		x.ReasonCode = code
	}
	return x, nil
}

// reasonNames are the RFC 5280 reason names, sorted by code.
func reasonNames() []string {
	out := make([]string, 0, len(reasonCodes))
	for n := range reasonCodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return reasonCodes[out[i]] < reasonCodes[out[j]] })
	return out
}

// crlKeyStates refuses, in the pre-flight, keys whose recorded state forbids what a sign-crl ceremony does with them.
func crlKeyStates(k keyStateCheck) {
	s := k.p.r.Script
	// A deactivated root still signs CRLs for what it issued (NIST SP 800-57: it may
	// "process" but not "apply protection" to new subjects; revocation is processing).
	k.refuse("crl.root_key", s.CRL.RootKey, k.rootSPKI, true, "sign CRLs")
	if k.root != nil {
		if last, ok := k.st.lastCRL(k.root.Subject.String()); ok && s.CRL.Number <= last.Number {
			k.p.fieldf("crl.number", "%d does not exceed CRL number %d, which ceremony %s recorded for %s; CRL numbers only grow: use %d or higher", s.CRL.Number, last.Number, last.Ceremony, last.Issuer, last.Number+1)
		}
	}
}

// crlLints builds every certificate and CRL a sign-crl ceremony issues, in its real shape, and lints it.
func crlLints(l lintRun) {
	s := l.p.r.Script
	if l.root == nil {
		return
	}
	revoked, err := crlEntries(s.CRL, l.p.r.opt.Revoked, l.now)
	if err != nil {
		l.p.fieldf("crl.revoked", "%v; nothing was signed", err)
		return
	}
	tmpl, err := crlTemplate(s.CRL, revoked, l.now)
	if err == nil {
		l.p.crlScope(s.CRL)
	}
	var res lintResult
	if err == nil {
		res, err = lintCRL("root.crl", tmpl, l.root, l.rootAlg, s.issuerProfile().waivers())
	}
	if err != nil {
		l.p.fieldf("crl", "%v", err)
		return
	}
	if bad := refusedLints(res); len(bad) > 0 {
		l.p.fieldf("crl", "the CRL (%s, with the revoked list %s) fails lints %s; fix the revoked list or the script's crl section", res.Shape, l.p.r.opt.Revoked, strings.Join(bad, ", "))
		return
	}
	l.p.rec.Lints = append(l.p.rec.Lints, res)
}
