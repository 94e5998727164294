package ceremony

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// TypeCrossCertify has the root cross-certify an outside CA: it signs a CA certificate for the
// outside CA's subject and public key, taken from its own certificate or its certificate
// signing request, under the root's profile. Certificates the outside CA issues then verify
// up to this root.
const TypeCrossCertify = "cross-certify"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeCrossCertify, Title: "Cross-certification of an outside CA", Example: TypeCrossCertify, Inputs: []Input{InputOutside},
			Description: "The root certifies an outside CA's subject and key, from its certificate or CSR (its own signature checked, a weak key or a name that collides with this hierarchy's refused), under the script's profile; linted before the root signs."},
		previous: previousSealed,
		validate: (*Script).validateCross,
		steps:    crossSteps,
		inputs:   func(r *Run) error { _, err := r.outsideCA(); return err },
		keyStates: func(k keyStateCheck) {
			k.refuse("cross_certify.root_key", k.p.r.Script.Cross.RootKey, k.rootSPKI, false, "sign certificates")
		},
		lints:    crossLints,
		supports: onTokenCases(TypeCrossCertify),
		profiles: func(s *Script) []profileSite { return []profileSite{crossCertSite(s)} },
	})
}

// CrossConfig is the profile the root cross-certifies an outside CA with; the subject and key
// come from the outside CA's certificate or CSR (--outside).
type CrossConfig struct {
	RootKey      string `yaml:"root_key"`
	ValidityDays int    `yaml:"validity_days"`
	PathLen      int    `yaml:"path_length"` // how many CAs may follow the outside CA
	// Profile is the cross-certificate's own profile fields (profile.go).
	Profile *Profile `yaml:"profile,omitempty"`
}

// crossCertSite is the cross-certificate's profile.
func crossCertSite(s *Script) profileSite {
	c := s.Cross
	return profileSite{path: "cross_certify.profile", profile: c.Profile, kind: kindCross, daysField: "cross_certify.validity_days", days: c.ValidityDays,
		pathLenField: "cross_certify.path_length", pathLenSet: true}
}

func (s *Script) validateCross(v *validator) {
	c := s.Cross
	if c == nil {
		v.errorf("cross_certify", "a cross-certify ceremony needs a cross_certify section")
		return
	}
	if !labelRE.MatchString(c.RootKey) {
		v.errorf("cross_certify.root_key", "%q must be the root key's label on the token", c.RootKey)
	}
	if !c.Profile.windowed() && (c.ValidityDays < 1 || c.ValidityDays > 10*366) {
		v.errorf("cross_certify.validity_days", "%d must be between 1 and %d", c.ValidityDays, 10*366)
	}
	if c.PathLen < 0 || c.PathLen > 4 {
		v.errorf("cross_certify.path_length", "%d must be between 0 and 4", c.PathLen)
	}
}

const (
	outsideCertFile = "outside-ca.pem"
	outsideCSRFile  = "outside-ca.csr"
	crossPEM        = "cross-certificate.pem"
	crossDER        = "cross-certificate.der"
)

func crossSteps(s *Script) []step {
	root := rootSteps(s)
	c := s.Cross
	return []step{root[0], continueStep(),
		{id: "check-outside-ca", title: "Check the outside CA", actorRole: "administrator", witness: true,
			explain: "The outside CA's certificate or certificate request is checked: its own signature, its key type and size, and that its name and key are not this hierarchy's. Its key's fingerprint is read aloud to compare with what the outside CA says.",
			run:     (*Run).checkOutsideCA},
		{id: "sign-cross-certificate", title: "Sign the cross-certificate", actorRole: "administrator", witness: true,
			gate: func(*Run) string {
				return fmt.Sprintf("sign the cross-certificate of the outside CA with the root key %q, valid %d days, path length %d", c.RootKey, c.ValidityDays, c.PathLen)
			},
			outputs: []string{crossDER, crossPEM},
			explain: fmt.Sprintf("The cross-certificate is linted in its real shape; then the root key %q signs it, valid %d days, path length %d.", c.RootKey, c.ValidityDays, c.PathLen),
			run:     (*Run).signCrossCertificate},
		root[4]}
}

// outside is an outside CA as its certificate or request presents it.
type outside struct {
	kind       string // "certificate" or "certificate request"
	raw        []byte // its DER
	subject    pkix.Name
	rawSubject []byte
	pub        crypto.PublicKey
	ski        []byte
	signature  string // what the check of its own signature found
	sigAlg     x509.SignatureAlgorithm
}

// readOutside reads an outside CA's certificate or CSR (PEM or DER) and checks its own
// signature and its key.
func readOutside(b []byte) (*outside, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	var o *outside
	if c, err := x509.ParseCertificate(b); err == nil {
		if !c.BasicConstraintsValid || !c.IsCA {
			return nil, fmt.Errorf("certificate %q is not a CA certificate (basic constraints CA:TRUE): only a CA is cross-certified", c.Subject.String())
		}
		o = &outside{kind: "certificate", raw: c.Raw, subject: c.Subject, rawSubject: c.RawSubject, pub: c.PublicKey, ski: c.SubjectKeyId, sigAlg: c.SignatureAlgorithm}
		if bytes.Equal(c.RawIssuer, c.RawSubject) {
			if err := c.CheckSignatureFrom(c); err != nil {
				return nil, fmt.Errorf("the outside CA's self-signed certificate does not verify under its own key (altered, or not self-signed): %w", err)
			}
			o.signature = "self-signed; verifies"
		} else {
			o.signature = "issued by " + c.Issuer.String() + "; not checked here (its issuer is not given)"
		}
	} else if csr, cerr := x509.ParseCertificateRequest(b); cerr == nil {
		if err := csr.CheckSignature(); err != nil {
			return nil, fmt.Errorf("the request's own signature does not verify (it was altered, or not signed by its key): %w", err)
		}
		o = &outside{kind: "certificate request", raw: csr.Raw, subject: csr.Subject, rawSubject: csr.RawSubject, pub: csr.PublicKey, signature: "self-signed request; verifies", sigAlg: csr.SignatureAlgorithm}
	} else {
		return nil, errors.New("neither a certificate nor a certificate signing request (PEM or DER)")
	}
	if err := strongCAKey(o.pub); err != nil {
		return nil, err
	}
	if o.subject.CommonName == "" && len(o.subject.Organization) == 0 {
		return nil, errors.New("the outside CA's subject names no common name or organization")
	}
	return o, nil
}

// strongCAKey refuses a CA key too weak to certify: RSA below 2048 bits or with a modulus not
// a multiple of 8 bits, or an exponent other than 65537 (Baseline Requirements 6.1.5, 6.1.6),
// elliptic curves other than P-256, P-384 and P-521.
func strongCAKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 || n%8 != 0 {
			return fmt.Errorf("the outside CA's key is RSA-%d: too weak to cross-certify (2048 bits or more, a multiple of 8)", n)
		}
		if k.E != 65537 {
			return fmt.Errorf("the outside CA's RSA public exponent is %d: only 65537 is accepted", k.E)
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() && k.Curve != elliptic.P521() {
			return fmt.Errorf("the outside CA's key is on %s: use P-256, P-384 or P-521", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return fmt.Errorf("the outside CA's key type %T is not accepted", pub)
	}
	return nil
}

// outsideCA reads the outside CA given (--outside) and checks it against this hierarchy.
func (r *Run) outsideCA() (*outside, error) {
	if r.opt.Outside == "" {
		return nil, errors.New("the root cross-certifies an outside CA from its certificate or certificate request: give it (--outside FILE)")
	}
	b, err := os.ReadFile(r.opt.Outside)
	if err != nil {
		return nil, fmt.Errorf("read the outside CA: %w", err)
	}
	o, err := readOutside(b)
	if err != nil {
		return nil, fmt.Errorf("outside CA %s: %w; nothing was done", r.opt.Outside, err)
	}
	return o, nil
}

// collides refuses an outside CA whose name or key is one of this hierarchy's: the root's, or
// a certificate's the root issued that the continued ceremony holds. A second CA of the same
// name would make path building ambiguous; the same key would be this root itself.
func (o *outside) collides(root *x509.Certificate, issued []*x509.Certificate) error {
	for _, c := range append([]*x509.Certificate{root}, issued...) {
		if bytes.Equal(c.RawSubject, o.rawSubject) || strings.EqualFold(c.Subject.String(), o.subject.String()) {
			return fmt.Errorf("the outside CA's name %q is the name of this hierarchy's certificate (serial %x): cross-certifying it would make two CAs of one name", o.subject.String(), c.SerialNumber)
		}
		if k, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && k.Equal(o.pub) {
			return fmt.Errorf("the outside CA's key is the key of this hierarchy's certificate %q", c.Subject.String())
		}
	}
	return nil
}

func (r *Run) checkOutsideCA() error {
	o, err := r.outsideCA()
	if err != nil {
		return err
	}
	issued, _ := r.issuedBy(r.rootCert, "")
	if err := o.collides(r.rootCert, issued); err != nil {
		return err
	}
	name, block := outsideCertFile, "CERTIFICATE"
	if o.kind != "certificate" {
		name, block = outsideCSRFile, "CERTIFICATE REQUEST"
	}
	if err := r.writeOutput(name, pem.EncodeToMemory(&pem.Block{Type: block, Bytes: o.raw})); err != nil {
		return err
	}
	fp, _ := fingerprint.OfPublicKey(o.pub)
	sum := sha256.Sum256(o.raw)
	nc := nameConstraintsSummary(r.Script.effective(crossCertSite(r.Script)).NameConstraints)
	if _, err := r.record(transcript.EventOutsideCAChecked, transcript.OutsideCAChecked{Kind: o.kind, File: name, Subject: o.subject.String(), SHA256: hex.EncodeToString(sum[:]),
		SPKISHA256: fp.Hex(), Words: fp.Words(), Signature: o.signature, SignatureAlgorithm: o.sigAlg.String(), NameConstraints: nc}); err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("Outside CA %q (%s) checked. Its key's SHA-256:\n%s\nRead aloud: %s\nCompare it with what the outside CA's officer reads.\nName constraints: %s.", o.subject.CommonName, o.kind, fp.Grouped(), fp.Words(), nc))
	return nil
}

// noNameConstraints is what the record and the room are told of a cross-certificate without
// name constraints.
const noNameConstraints = "none: the outside CA may certify any name under this root; name constraints (cross_certify.profile.name_constraints) are recommended"

// nameConstraintsSummary says in one line what a cross-certificate's name constraints allow.
func nameConstraintsSummary(nc *NameConstraints) string {
	if nc == nil {
		return noNameConstraints
	}
	side := func(what string, n NameSet) string {
		var parts []string
		for _, l := range []struct {
			kind  string
			names []string
		}{{"DNS", n.DNS}, {"IP", n.IP}, {"email", n.Email}} {
			if len(l.names) > 0 {
				parts = append(parts, l.kind+" "+strings.Join(l.names, ", "))
			}
		}
		if len(n.Directory) > 0 {
			parts = append(parts, fmt.Sprintf("%d directory %s", len(n.Directory), plural(len(n.Directory), "name", "names")))
		}
		if len(parts) == 0 {
			return ""
		}
		return what + " " + strings.Join(parts, "; ")
	}
	var out []string
	for _, s := range []string{side("permitted", nc.Permitted), side("excluded", nc.Excluded)} {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, "; ")
}

// recordedOutside reads back the outside CA this ceremony checked and kept.
func (r *Run) recordedOutside() (*outside, error) {
	entries := r.readEntries()
	b, err := r.readOutput(entries, outsideCertFile)
	if err != nil {
		if b, err = r.readOutput(entries, outsideCSRFile); err != nil {
			return nil, err
		}
	}
	return readOutside(b)
}

// crossCATemplate is the cross-certificate for o under root: the outside CA's exact subject
// and key identifier (so what it issued chains through), CA with the script's path length,
// certSign and cRLSign, never past the root, with the profile p's extensions.
func crossCATemplate(c *CrossConfig, p Profile, o *outside, root *x509.Certificate, serial *big.Int, now time.Time) (*x509.Certificate, error) {
	notBefore, notAfter, err := p.window(c.ValidityDays, root, now, false, "cross_certify.validity_days")
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{SerialNumber: serial, Subject: o.subject, RawSubject: o.rawSubject, SubjectKeyId: o.ski, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		MaxPathLen: c.PathLen, MaxPathLenZero: c.PathLen == 0}
	return t, p.apply(t)
}

func (r *Run) signCrossCertificate() error {
	c := r.Script.Cross
	o, err := r.recordedOutside()
	if err != nil {
		return err
	}
	cert, err := r.signUnderRoot(c.RootKey, crossCertSite(r.Script), crossPEM, o.pub, func(p Profile, serial *big.Int) (*x509.Certificate, error) {
		return crossCATemplate(c, p, o, r.rootCert, serial, r.Clock())
	}, Profile.policy)
	if err != nil {
		return err
	}
	if err := r.recordCertificate(crossPEM, cert); err != nil {
		return err
	}
	if err := r.writeOutput(crossDER, cert.Raw); err != nil {
		return err
	}
	if err := r.writeOutput(crossPEM, certPEM(cert)); err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("Cross-certificate for %q signed; serial %x, valid to %s.", cert.Subject.CommonName, cert.SerialNumber, cert.NotAfter.Format(time.DateOnly)))
	return nil
}

// crossLints checks the outside CA against the hierarchy and lints the cross-certificate in
// its real shape, before the HSM is touched.
func crossLints(l lintRun) {
	s := l.p.r.Script
	if l.root == nil {
		return
	}
	o, err := l.p.r.outsideCA()
	if err != nil {
		l.p.errorf("%v", err)
		return
	}
	issued, _ := l.p.r.issuedBy(l.root, "")
	if err := o.collides(l.root, issued); err != nil {
		l.p.errorf("outside CA %s: %v; nothing was signed", l.p.r.opt.Outside, err)
		return
	}
	for _, a := range o.subject.Names {
		if v, ok := a.Value.(string); ok {
			if err := renderable(v); err != nil {
				l.p.errorf("outside CA %s: subject attribute %v %s: %v; nothing was signed", l.p.r.opt.Outside, a.Type, transcriptQuote(v), err)
				return
			}
		}
	}
	l.lintSite(crossCertSite(s), crossPEM, l.root, l.rootAlg, o.pub, "", func(p Profile) (*x509.Certificate, error) {
		return crossCATemplate(s.Cross, p, o, l.root, l.serial(), l.now)
	})
}
