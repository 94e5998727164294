package ceremony

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/keyrite/keyrite/hsm"
)

// A delegated certificate is an end-entity certificate the root issues to a key that acts for
// it on one narrow job: answering OCSP requests (ocspsigner.go) or signing CRLs
// (crlsigner.go). Its key is either generated in the HSM during the ceremony (the script's
// key section) or certified from a certificate signing request (--csr), whose own signature
// is checked first. Both kinds share this file: the script section, the steps, the pre-flight
// lint of the real shape and the signing.

// DelegatedConfig is the script section of a delegated certificate.
type DelegatedConfig struct {
	RootKey string `yaml:"root_key"` // the root key's label on the token
	// Key, if given, is generated in the HSM; without it the key comes from the CSR (--csr).
	Key *DelegatedKey `yaml:"key,omitempty"`
	// Subject names the certificate's holder; with a CSR, an empty subject takes the CSR's.
	Subject      Subject `yaml:"subject,omitempty"`
	ValidityDays int     `yaml:"validity_days,omitempty"` // 0: the kind's default
	// Profile is the certificate's own profile fields (profile.go); the script's top-level
	// profile gives the issuer's facts (AIA, and for a CRL signer CRL DP and policies).
	Profile *Profile `yaml:"profile,omitempty"`
}

// DelegatedKey is a key the HSM generates for a delegated certificate.
type DelegatedKey struct {
	Label     string `yaml:"label"`
	Algorithm string `yaml:"algorithm"`
}

// delegation is one kind of delegated certificate.
type delegation struct {
	typ, section string // the ceremony type and its script section
	what         string // "OCSP responder", for people
	purpose      string // the key's recorded purpose
	file         string // its outputs: file+".pem", file+".der", file+".csr"
	defaultDays  int
	maxDays      int
	config       func(s *Script) *DelegatedConfig
	kind         certKind // its profile kind (profile.go)
	// template builds the certificate for subject under root, with profile p's extensions.
	template func(subject pkix.Name, root *x509.Certificate, days int, p Profile, serial *big.Int, now time.Time) (*x509.Certificate, error)
	// webPKI: the certificate has a Baseline Requirements profile, so every zlint source
	// judges it; otherwise only the RFC lint sources do (signerLintSources).
	webPKI bool
}

func (d *delegation) days(s *Script) int {
	if n := d.config(s).ValidityDays; n != 0 {
		return n
	}
	return d.defaultDays
}

// register adds the delegation's ceremony type.
func (d *delegation) register(title, description string) {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: d.typ, Title: title, Example: d.typ, Inputs: []Input{InputCSR}, Description: description},
		previous: previousSealed,
		validate: d.validate,
		steps:    d.steps,
		labels: func(s *Script) []string {
			if k := d.config(s).Key; k != nil {
				return []string{k.Label}
			}
			return nil
		},
		inputs: func(r *Run) error {
			if d.config(r.Script).Key == nil && r.opt.CSR == "" {
				return fmt.Errorf("the %s's key comes from its certificate signing request when the script's %s section has no key: give it (--csr FILE)", d.what, d.section)
			}
			return nil
		},
		needs: func(r *Run) []Need {
			if k := d.config(r.Script).Key; k != nil {
				return keyPairNeed(k.Algorithm, "the "+d.what+" key")
			}
			return nil
		},
		keyStates: func(k keyStateCheck) {
			k.refuse(d.section+".root_key", d.config(k.p.r.Script).RootKey, k.rootSPKI, false, "sign certificates")
		},
		lints:    d.lints,
		profiles: func(s *Script) []profileSite { return []profileSite{d.site(s)} },
		supports: func() []supportCase {
			var out []supportCase
			for _, a := range hsm.Algorithms {
				s := &Script{Type: d.typ}
				d.set(s, &DelegatedConfig{Key: &DelegatedKey{Algorithm: string(a)}})
				out = append(out, supportCase{fmt.Sprintf("%s, key %s generated in the HSM", d.typ, a), &Run{Script: s}})
			}
			return out
		},
	})
}

// set puts c in s's section of this kind (for the capability cases).
func (d *delegation) set(s *Script, c *DelegatedConfig) {
	if d.section == "ocsp_responder" {
		s.OCSPResponder = c
	} else {
		s.CRLSigner = c
	}
}

func (d *delegation) validate(s *Script, v *validator) {
	c := d.config(s)
	if c == nil {
		v.errorf(d.section, "a %s ceremony needs a %s section", d.typ, d.section)
		return
	}
	if !labelRE.MatchString(c.RootKey) {
		v.errorf(d.section+".root_key", "%q must be the root key's label on the token", c.RootKey)
	}
	if k := c.Key; k != nil {
		if v.label(d.section+".key.label", k.Label) && (k.Label == c.RootKey || k.Label == s.Signer.Label) {
			v.errorf(d.section+".key.label", "%q is taken: the %s key needs a label of its own", k.Label, d.what)
		}
		v.algorithm(d.section+".key.algorithm", k.Algorithm)
		if strings.TrimSpace(c.Subject.CommonName) == "" {
			v.errorf(d.section+".subject.common_name", "a key generated in the HSM needs the certificate's subject common name")
		}
	}
	if !d.webPKI && s.effective(d.site(s)).Preset != PresetPrivate {
		v.errorf(d.section, "a %s belongs to a private PKI: the Baseline Requirements have no such certificate and forbid a cRLIssuer in CRL distribution points (7.1.2.11.2), so no publicly-trusted relying party would use its CRLs; set profile.preset: private", d.what)
	}
	if c.ValidityDays < 0 || c.ValidityDays > d.maxDays {
		v.errorf(d.section+".validity_days", "%d must be between 1 and %d (omit it for %d days)", c.ValidityDays, d.maxDays, d.defaultDays)
	}
}

func (d *delegation) steps(s *Script) []step {
	root := rootSteps(s)
	c := d.config(s)
	var key step
	if c.Key != nil {
		key = step{id: "generate-" + d.file + "-key", title: "Generate the " + d.what + " key", actorRole: "administrator", witness: true,
			labels: []string{c.Key.Label},
			gate: func(*Run) string {
				return fmt.Sprintf("generate the %s key %q of the %s", c.Key.Algorithm, c.Key.Label, d.what)
			},
			explain: fmt.Sprintf("The HSM generates the %s key %q of the %s inside the token.", c.Key.Algorithm, c.Key.Label, d.what),
			run: func(r *Run) error {
				_, err := r.generateKey(c.Key.Label, hsm.Algorithm(c.Key.Algorithm), false, d.purpose)
				return err
			}}
	} else {
		key = step{id: "check-csr", title: "Check the certificate request", actorRole: "administrator",
			explain: "The " + d.what + "'s certificate signing request is checked: its own signature, its key type and size, its subject.",
			run:     func(r *Run) error { return r.checkCSRFile(d.file + ".csr") }}
	}
	return []step{root[0], continueStep(), key,
		{id: "sign-" + d.file, title: "Sign the " + d.what + " certificate", actorRole: "administrator", witness: true,
			outputs: []string{d.file + ".der", d.file + ".pem"},
			gate: func(*Run) string {
				return fmt.Sprintf("sign the %s certificate with the root key %q, valid %d days", d.what, c.RootKey, d.days(s))
			},
			explain: fmt.Sprintf("The certificate is linted in its real shape; then the root key %q signs the %s certificate, valid %d days.", c.RootKey, d.what, d.days(s)),
			run:     d.sign},
		root[4]}
}

// subjectKey is the delegated key's subject and public key: the HSM key's, or the CSR's
// (read from the ceremony's checked copy once the check-csr step wrote it, else from --csr).
func (d *delegation) subjectKey(r *Run, recorded bool) (pkix.Name, crypto.PublicKey, error) {
	c := d.config(r.Script)
	if c.Key != nil {
		k, err := r.token.FindKeyPair(c.Key.Label)
		if err != nil {
			return pkix.Name{}, nil, err
		}
		return c.Subject.name(), k.Public(), nil
	}
	var b []byte
	var err error
	if recorded {
		b, err = r.readOutput(r.readEntries(), d.file+".csr")
	} else {
		b, err = os.ReadFile(r.opt.CSR)
	}
	if err != nil {
		return pkix.Name{}, nil, err
	}
	csr, err := readCSR(b)
	if err != nil {
		return pkix.Name{}, nil, fmt.Errorf("certificate request %s: %w", r.opt.CSR, err)
	}
	if c.Subject.CommonName != "" {
		return c.Subject.name(), csr.PublicKey, nil
	}
	return csr.Subject, csr.PublicKey, nil
}

func (d *delegation) sign(r *Run) error {
	c := d.config(r.Script)
	subject, pub, err := d.subjectKey(r, true)
	if err != nil {
		return err
	}
	cert, err := r.signUnderRoot(c.RootKey, d.site(r.Script), d.file+".pem", pub, func(p Profile, serial *big.Int) (*x509.Certificate, error) {
		return d.template(subject, r.rootCert, d.days(r.Script), p, serial, r.Clock())
	}, d.lintPolicy)
	if err != nil {
		return err
	}
	if err := r.recordCertificate(d.file+".pem", cert); err != nil {
		return err
	}
	if err := r.writeOutput(d.file+".der", cert.Raw); err != nil {
		return err
	}
	if err := r.writeOutput(d.file+".pem", certPEM(cert)); err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("%s certificate %q signed; serial %x, valid to %s.", capitalFirst(d.what), cert.Subject.CommonName, cert.SerialNumber, cert.NotAfter.Format(time.DateOnly)))
	return nil
}

// lints builds the delegated certificate in its real shape in the pre-flight and lints it.
func (d *delegation) lints(l lintRun) {
	s := l.p.r.Script
	c := d.config(s)
	if l.root == nil {
		return
	}
	var pub crypto.PublicKey
	var subjectAlg hsm.Algorithm
	subject := c.Subject.name()
	if c.Key != nil {
		subjectAlg = hsm.Algorithm(c.Key.Algorithm)
	} else {
		csr, err := l.p.csr()
		if err != nil {
			return
		}
		pub = csr.PublicKey
		if c.Subject.CommonName == "" {
			subject = csr.Subject
		}
	}
	prof := s.effective(d.site(s))
	tmpl, err := d.template(subject, l.root, d.days(s), prof, l.serial(), l.now)
	if err != nil {
		l.p.fieldf(d.section+".validity_days", "%v", err)
		return
	}
	l.lint(d.section, d.file+".pem", tmpl, l.root, l.rootAlg, pub, subjectAlg, d.lintPolicy(prof))
}

// lintPolicy is how the delegated certificate of profile p is linted: every source if it has
// a Baseline Requirements profile, else the RFC sources only; p's waivers either way.
func (d *delegation) lintPolicy(p Profile) lintPolicy {
	pol := p.policy()
	if !d.webPKI {
		pol.sources = signerLintSources
	}
	return pol
}

// site is where the script writes the certificate's profile.
func (d *delegation) site(s *Script) profileSite {
	c := d.config(s)
	site := profileSite{path: d.section + ".profile", kind: d.kind, daysField: d.section + ".validity_days"}
	if c != nil {
		site.profile, site.days = c.Profile, c.ValidityDays // 0: the kind's default, which a profile's validity may replace
	}
	return site
}

// validity is the window of a delegated certificate issued now for days, or as its profile p
// sets it: within the root's, and no longer than the kind's maximum.
func (d *delegation) validity(p Profile, root *x509.Certificate, days int, now time.Time) (time.Time, time.Time, error) {
	nb, na, err := p.window(days, root, now, false, d.section+".validity_days")
	if err == nil && na.Sub(nb) > time.Duration(d.maxDays)*24*time.Hour {
		err = fmt.Errorf("%s.profile.validity: the %s certificate would be valid %s to %s, longer than %d days", d.section, d.what, nb.Format(time.DateOnly), na.Format(time.DateOnly), d.maxDays)
	}
	return nb, na, err
}

// name is the subject as a distinguished name.
func (s Subject) name() pkix.Name {
	n := pkix.Name{CommonName: s.CommonName}
	if s.Organization != "" {
		n.Organization = []string{s.Organization}
	}
	if s.Country != "" {
		n.Country = []string{s.Country}
	}
	return n
}

func capitalFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
