package ceremony

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
)

// TypeIntermediate has the root sign an intermediate CA from its certificate request.
const TypeIntermediate = "sign-intermediate"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeIntermediate, Title: "Intermediate CA signing from a CSR", Example: "sign-intermediate", Inputs: []Input{InputCSR},
			Description: "The intermediate CA's certificate request is checked, its profile linted, and the root signs it; the certificate must chain to the root."},
		previous:  previousSealed,
		validate:  (*Script).validateIntermediate,
		steps:     intermediateSteps,
		inputs:    (*Run).intermediateInputs,
		keyStates: intermediateKeyStates,
		lints:     intermediateLints,
		supports:  onTokenCases(TypeIntermediate),
		profiles:  func(s *Script) []profileSite { return []profileSite{intermediateSite(s)} },
	})
}

// intermediateInputs reads and checks the certificate request before the HSM is touched.
func (r *Run) intermediateInputs() error {
	if r.opt.CSR == "" {
		return errors.New("the root signs an intermediate CA from its certificate signing request: give it (--csr FILE)")
	}
	b, err := os.ReadFile(r.opt.CSR)
	if err != nil {
		return fmt.Errorf("read the certificate request: %w", err)
	}
	if _, err := readCSR(b); err != nil {
		return fmt.Errorf("certificate request %s: %w; nothing was done", r.opt.CSR, err)
	}
	return nil
}

const (
	csrFile          = "intermediate.csr"
	intermediatePEM  = "intermediate.pem"
	intermediateDER  = "intermediate.der"
	intermediateFull = "chain.pem"
)

// rootKey finds the key pair labelled label on the token and checks that it is the key of
// the root certificate this ceremony signs under, so a mislabelled key never signs.
func (r *Run) rootKey(label string) (*hsm.KeyPair, error) {
	return r.keyPairOf(label, r.rootCert.PublicKey, fmt.Sprintf("the key of root certificate %q", r.rootCert.Subject.CommonName))
}

func intermediateSteps(s *Script) []step {
	root := rootSteps(s)
	in := s.Intermediate
	return []step{root[0], continueStep(),
		{id: "check-csr", title: "Check the certificate request", actorRole: "administrator",
			explain: "The intermediate CA's certificate signing request is checked: its own signature, its key type and size, its subject.",
			run:     (*Run).checkCSR},
		{id: "sign-intermediate", title: "Sign the intermediate CA certificate", actorRole: "administrator", witness: true,
			outputs: []string{intermediateDER, intermediatePEM, intermediateFull},
			gate: func(*Run) string {
				return fmt.Sprintf("sign the intermediate CA certificate of the checked request with the root key %q, valid %d days, path length %d", in.RootKey, in.ValidityDays, in.PathLen)
			},
			explain: fmt.Sprintf("The profile is linted on a throwaway key first; then the root key %q signs the intermediate CA certificate, valid %d days, path length %d.", in.RootKey, in.ValidityDays, in.PathLen),
			run:     (*Run).signIntermediate},
		root[4]}
}

// readCSR parses and checks a certificate signing request.
func readCSR(b []byte) (*x509.CertificateRequest, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "CERTIFICATE REQUEST" && blk.Type != "NEW CERTIFICATE REQUEST" {
			return nil, fmt.Errorf("the PEM block is %q, not a CERTIFICATE REQUEST", blk.Type)
		}
		b = blk.Bytes
	}
	csr, err := x509.ParseCertificateRequest(b)
	if err != nil {
		return nil, fmt.Errorf("not a certificate signing request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the request's own signature does not verify (it was altered, or not signed by its key): %w", err)
	}
	switch k := csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return nil, fmt.Errorf("the request's key is on %s; use P-256 or P-384", k.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < 3072 {
			return nil, fmt.Errorf("the request's key is RSA-%d; a CA key needs 3072 bits or more", k.N.BitLen())
		}
	case ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("the request's key type %T is not accepted", k)
	}
	if csr.Subject.CommonName == "" {
		return nil, errors.New("the request has no subject common name")
	}
	return csr, nil
}

func (r *Run) checkCSR() error { return r.checkCSRFile(csrFile) }

// checkCSRFile checks the certificate request (--csr), keeps its checked copy as name and
// records it, with its key's fingerprint read aloud.
func (r *Run) checkCSRFile(name string) error {
	b, err := os.ReadFile(r.opt.CSR)
	if err != nil {
		return fmt.Errorf("read the certificate request: %w", err)
	}
	csr, err := readCSR(b)
	if err != nil {
		return fmt.Errorf("certificate request %s: %w; nothing was signed", r.opt.CSR, err)
	}
	fp, _ := fingerprint.OfPublicKey(csr.PublicKey)
	sum := sha256.Sum256(csr.Raw)
	if err := r.writeOutput(name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})); err != nil {
		return err
	}
	_, err = r.record(transcript.EventCSRChecked, map[string]any{"subject": csr.Subject.String(), "sha256": hex.EncodeToString(sum[:]),
		"spki_sha256": fp.Hex(), "spki_sha256_words": fp.Words(), "signature": "verifies", "signature_algorithm": csr.SignatureAlgorithm.String()})
	r.UI.Note(fmt.Sprintf("Request for %q checked. Its key's SHA-256:\n%s\nRead aloud: %s", csr.Subject.CommonName, fp.Grouped(), fp.Words()))
	return err
}

func (r *Run) signIntermediate() error {
	in := r.Script.Intermediate
	entries := r.readEntries()
	csrPEM, err := r.readOutput(entries, csrFile)
	if err != nil {
		return err
	}
	csr, err := readCSR(csrPEM)
	if err != nil {
		return err
	}
	c, err := r.signUnderRoot(in.RootKey, intermediateSite(r.Script), intermediatePEM, csr.PublicKey, func(p Profile, serial *big.Int) (*x509.Certificate, error) {
		return intermediateTemplate(in, p, csr.Subject, r.rootCert, serial, r.Clock())
	}, Profile.policy)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(r.rootCert)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: c.NotBefore.Add(2 * clockSkew), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("the new intermediate does not chain to the root: %w", err)
	}
	if err := r.recordCertificate(intermediatePEM, c); err != nil {
		return err
	}
	for _, o := range []struct {
		name string
		data []byte
	}{{intermediateDER, c.Raw}, {intermediatePEM, certPEM(c)}, {intermediateFull, certPEM(c, r.rootCert)}} {
		if err := r.writeOutput(o.name, o.data); err != nil {
			return err
		}
	}
	r.UI.Note(fmt.Sprintf("Intermediate %q signed; serial %x, valid to %s.", c.Subject.CommonName, c.SerialNumber, c.NotAfter.Format(time.DateOnly)))
	return nil
}

// readEntries reads this ceremony's transcript as written so far.
func (r *Run) readEntries() []transcript.Entry {
	data, _ := os.ReadFile(r.w.Path())
	entries, _ := transcript.Parse(data)
	return entries
}

// IntermediateConfig is the profile the root signs an intermediate (issuing) CA with; the
// subject and key come from the CSR.
type IntermediateConfig struct {
	RootKey      string `yaml:"root_key"` // the root key's label on the token
	ValidityDays int    `yaml:"validity_days"`
	PathLen      int    `yaml:"path_length"`
	// Profile is the intermediate certificate's own profile fields (profile.go).
	Profile *Profile `yaml:"profile,omitempty"`
}

func (s *Script) validateIntermediate(v *validator) {
	in := s.Intermediate
	if in == nil {
		v.errorf("intermediate", "a sign-intermediate ceremony needs an intermediate section")
		return
	}
	if s.Key.Label != "" || s.Backup != nil || s.Restore != nil || s.Reshare != nil || s.ImportJob != nil || s.Export != nil || s.Import != nil || s.Migrate != nil {
		v.errorf("type", "a sign-intermediate ceremony has only an intermediate section")
	}
	if !labelRE.MatchString(in.RootKey) {
		v.errorf("intermediate.root_key", "%q must be the root key's label on the token", in.RootKey)
	}
	if !in.Profile.windowed() && (in.ValidityDays < 1 || in.ValidityDays > 15*366) {
		v.errorf("intermediate.validity_days", "%d must be between 1 and %d", in.ValidityDays, 15*366)
	}
	if in.PathLen < 0 || in.PathLen > 4 {
		v.errorf("intermediate.path_length", "%d must be between 0 and 4", in.PathLen)
	}
}

// intermediateKeyStates refuses, in the pre-flight, keys whose recorded state forbids what a sign-intermediate ceremony does with them.
func intermediateKeyStates(k keyStateCheck) {
	s := k.p.r.Script
	k.refuse("intermediate.root_key", s.Intermediate.RootKey, k.rootSPKI, false, "sign certificates")
}

// intermediateLints builds every certificate and CRL a sign-intermediate ceremony issues, in its real shape, and lints it.
func intermediateLints(l lintRun) {
	s := l.p.r.Script
	csr, err := l.p.csr()
	if err != nil || l.root == nil {
		return
	}
	l.lintSite(intermediateSite(s), intermediatePEM, l.root, l.rootAlg, csr.PublicKey, "", func(p Profile) (*x509.Certificate, error) {
		return intermediateTemplate(s.Intermediate, p, csr.Subject, l.root, l.serial(), l.now)
	})
}

// intermediateSite is the intermediate certificate's profile.
func intermediateSite(s *Script) profileSite {
	in := s.Intermediate
	return profileSite{path: "intermediate.profile", profile: in.Profile, kind: kindSubCA, daysField: "intermediate.validity_days", days: in.ValidityDays,
		pathLenField: "intermediate.path_length", pathLenSet: true}
}
