package ceremony

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
)

// TypeRoot generates a root key, its self-signed certificate and the transcript signer; with
// a backup section, also the quorum backup of the root key.
const TypeRoot = "root"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeRoot, Title: "Root key ceremony", Example: "root", Inputs: []Input{InputSharesDir},
			Description: "The HSM generates a root key; the root self-signs its certificate and certifies the transcript signer. With a backup section the root key is also backed up M-of-N among the custodians."},
		validate: (*Script).validateRoot,
		steps:    rootCeremonySteps,
		labels:   func(s *Script) []string { return []string{s.Key.Label, s.Signer.Label} },
		needs:    rootNeeds,
		lints:    rootLints,
		supports: rootSupports,
		profiles: func(s *Script) []profileSite {
			return []profileSite{rootSite(s), signerSite(s, "transcript_signer.validity_days", s.Signer.ValidityDays, false)}
		},
	})
}

// rootCeremonySteps are a root ceremony's steps: with a backup, the backup steps run after
// the transcript signer exists and before the close.
func rootCeremonySteps(s *Script) []step {
	steps := rootSteps(s)
	if s.Backup != nil {
		closing := steps[len(steps)-1]
		steps = append(append(steps[:len(steps)-1], backupSteps(s)...), closing)
	}
	return steps
}

const (
	stepOpen  = "open"
	stepClose = "close"
	rootPEM   = "root.pem"
	rootDER   = "root.der"
	signerPEM = "transcript-signer.pem"
	signerAlg = hsm.ECDSAP384 // the transcript signer; the seal is ECDSA P-384 with SHA-384
	clockSkew = time.Minute   // certificates start this much before the ceremony clock
)

func rootSteps(s *Script) []step {
	return []step{
		{id: stepOpen, title: "Open the ceremony", actorRole: "administrator",
			explain: "Roll call of every participant, confirmation of the wall clock, and a record of the HSM's identity and contents.",
			run:     (*Run).open, restore: func(*Run, []transcript.Entry) error { return nil }},
		{id: "generate-root-key", title: "Generate the root key", actorRole: "administrator", witness: true,
			labels:  []string{s.Key.Label},
			gate:    func(*Run) string { return fmt.Sprintf("generate the %s root key %q", s.Key.Algorithm, s.Key.Label) },
			explain: fmt.Sprintf("The HSM generates the %s root key %q inside the token. It never leaves the HSM in the clear.", s.Key.Algorithm, s.Key.Label),
			run:     (*Run).generateRoot,
			restore: func(r *Run, e []transcript.Entry) (err error) { r.root, err = r.reloadKey(e, s.Key.Label); return }},
		{id: "sign-root-certificate", title: "Self-sign the root certificate", actorRole: "administrator", witness: true,
			outputs: []string{rootDER, rootPEM},
			gate: func(*Run) string {
				return fmt.Sprintf("sign the root certificate %q with the root key %q", s.Certificate.Subject.CommonName, s.Key.Label)
			},
			explain: fmt.Sprintf("The certificate profile for %q is linted, then the root key signs its own certificate, valid for %d days.", s.Certificate.Subject.CommonName, s.Certificate.ValidityDays),
			run:     (*Run).signRoot,
			restore: (*Run).reloadRootCert},
		{id: "create-transcript-signer", title: "Create the transcript-signing key", actorRole: "administrator", witness: true,
			labels: []string{s.Signer.Label}, outputs: []string{signerPEM},
			gate: func(r *Run) string {
				return fmt.Sprintf("generate the ECDSA P-384 transcript-signing key %q and sign its certificate with the root key %q", s.Signer.Label, r.rootLabel())
			},
			explain: fmt.Sprintf("The HSM generates the ECDSA P-384 key %q that seals this and later transcripts; the root certifies it.", s.Signer.Label),
			run:     (*Run).createSigner,
			restore: func(r *Run, e []transcript.Entry) (err error) {
				if r.signer, err = r.reloadKey(e, s.Signer.Label); err != nil {
					return err
				}
				b, err := r.readOutput(e, signerPEM)
				if err == nil {
					blk, _ := pem.Decode(b)
					if blk == nil {
						return errors.New("transcript-signer.pem holds no certificate")
					}
					r.signerCert, err = x509.ParseCertificate(blk.Bytes)
				}
				return err
			}},
		{id: stepClose, title: "Close and seal", actorRole: "administrator", witness: false,
			explain: "The HSM's contents are recorded again, the tamper-evident bags are confirmed, the transcript is sealed with the transcript-signing key and the token is logged out.",
			run:     (*Run).close},
	}
}

func (r *Run) open() error {
	s := r.Script
	// Start wrote the script's copy before the transcript; a resumed open step has it
	// recorded already.
	if !recordedOutputs(r.resumed)[ScriptFileName] {
		if err := r.recordOutput(ScriptFileName, s.Source); err != nil {
			return err
		}
	}
	if _, err := r.record(transcript.EventScriptLoaded, map[string]any{
		"title": s.Title, "participants": s.Participants, "equipment": s.Equipment,
		"key": map[string]any{"label": s.Key.Label, "algorithm": s.Key.Algorithm, "backup": s.Key.Backup},
	}); err != nil {
		return err
	}
	for _, e := range r.early {
		if _, err := r.record(e.event, e.data); err != nil {
			return err
		}
	}
	r.early = nil
	m := r.binding.Module
	if _, err := r.record(transcript.EventHSMIdentified, map[string]any{
		"module": m.Info, "module_path": m.Path, "module_sha256": hex.EncodeToString(m.SHA256[:]),
		"token": r.token.Info, "rehearsal": r.binding.Rehearsal,
	}); err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("HSM: %s", r.token.Info))
	if r.target != nil {
		if _, err := r.record(transcript.EventHSMIdentified, map[string]any{"role": "target", "token": r.target.Info, "rehearsal": r.opt.Target.Rehearsal}); err != nil {
			return err
		}
		r.UI.Note(fmt.Sprintf("Target HSM: %s", r.target.Info))
	}
	if _, err := r.record(transcript.EventHSMLogin, map[string]string{"role": hsm.User.String(), "token_serial": r.token.Info.Serial}); err != nil {
		return err
	}
	return r.inventory("before")
}

func (r *Run) inventory(when string) error {
	if r.target != nil {
		objs, err := r.target.Objects()
		if err != nil {
			return err
		}
		unreadable := 0
		for _, o := range objs {
			if o.Error != "" {
				unreadable++
			}
		}
		if _, err := r.record(transcript.EventTokenInventory, map[string]any{"when": when, "token_serial": r.target.Info.Serial, "role": "target", "objects": len(objs), "unreadable": unreadable}); err != nil {
			return err
		}
	}
	objs, err := r.token.Objects()
	if err != nil {
		return err
	}
	if objs == nil {
		objs = []hsm.Object{}
	}
	_, err = r.record(transcript.EventTokenInventory, map[string]any{"when": when, "token_serial": r.token.Info.Serial, "objects": objs})
	r.UI.Note(fmt.Sprintf("Token %q holds %d object(s).", r.token.Info.Label, len(objs)))
	for _, o := range objs {
		if o.Error != "" {
			r.UI.Note(fmt.Sprintf("Token %q holds an object it cannot read back: %s. It is recorded; inspect the token.", r.token.Info.Label, o.Error))
		}
	}
	return err
}

func (r *Run) generateKey(label string, alg hsm.Algorithm, extractable bool, purpose string) (*hsm.KeyPair, error) {
	return r.generate(hsm.KeySpec{Label: label, Algorithm: alg, Extractable: extractable}, purpose)
}

// generate has the HSM generate a key pair and records it with its public key, fingerprint,
// attributes and the self-test it passed.
func (r *Run) generate(spec hsm.KeySpec, purpose string) (*hsm.KeyPair, error) {
	label := spec.Label
	// What the room sees while the HSM works: which key, which algorithm, which token.
	what := fmt.Sprintf("Generating %s key %q in token %q", spec.Algorithm, label, r.token.Info.Label)
	r.UI.Progress(what, 0, 0)
	done := make(chan struct{})
	var ticking sync.WaitGroup
	ticking.Go(func() { // generation can take seconds (RSA-4096); keep the room informed
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				r.UI.Progress(what, 0, 0)
			}
		}
	})
	k, err := r.token.GenerateKeyPair(spec)
	close(done)
	ticking.Wait() // no Progress after this: the UI is the ceremony goroutine's again
	if err != nil {
		return nil, err
	}
	fp, err := fingerprint.OfPublicKey(k.Public())
	if err != nil {
		return nil, err
	}
	selfTest := "passed: pairwise sign/verify"
	if spec.Use == hsm.UseUnwrap {
		selfTest = fmt.Sprintf("passed: pairwise unwrap with RSA-OAEP %v", k.UnwrapHashes)
	}
	if err := r.recordKey(transcript.EventKeyGenerated, k, fp, selfTest, purpose); err != nil {
		return nil, err
	}
	r.UI.Note(fmt.Sprintf("Key %q generated.\nSPKI SHA-256: %s\nRead aloud: %s", label, fp.Grouped(), fp.Words()))
	return k, nil
}

// recordKey records a key pair now on the token (event key.generated, key.restored or
// key.imported) as a keyRecord: label, public key and fingerprint fp, the attributes read
// back, the self-test it passed and its purpose. reloadKey finds it again on a resume.
func (r *Run) recordKey(event string, k *hsm.KeyPair, fp fingerprint.SPKI, selfTest, purpose string) error {
	_, err := r.record(event, keyRecord{Label: k.Label, ID: hex.EncodeToString(k.ID), Algorithm: string(k.Algorithm), SPKISHA256: fp.Hex(), Words: fp.Words(),
		PublicKey: string(publicKeyPEM(k)), Attributes: k.Attributes, SelfTest: selfTest, Token: r.token.Info.Serial, Purpose: purpose,
		CryptoperiodEnd: r.cryptoperiodOf(k.Label)})
	return err
}

// publicKeyPEM is k's public key as a PEM "PUBLIC KEY" (SubjectPublicKeyInfo).
func publicKeyPEM(k *hsm.KeyPair) []byte {
	der, _ := x509.MarshalPKIXPublicKey(k.Public())
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func (r *Run) generateRoot() (err error) {
	r.root, err = r.generateKey(r.Script.Key.Label, hsm.Algorithm(r.Script.Key.Algorithm), r.Script.Key.Backup, "root")
	return err
}

// serial is a positive 127-bit serial number from the HSM's random number generator.
func (r *Run) serial() (*big.Int, error) {
	b, err := r.token.Random(16)
	if err != nil {
		return nil, err
	}
	b[0] &= 0x7f
	b[0] |= 0x40 // never shorter than 16 bytes in DER, never negative
	return new(big.Int).SetBytes(b), nil
}

func (r *Run) rootTemplate() (*x509.Certificate, error) {
	serial, err := r.serial()
	if err != nil {
		return nil, err
	}
	return rootTemplate(r.Script.Certificate, r.Script.effective(rootSite(r.Script)), serial, r.Clock())
}

// lintProfile builds tmpl in its real shape — under issuer (nil: self-signed), signed with a
// throwaway key of the issuer's key type, for the subject key pub — and runs zlint over it as
// pol says, before the real key signs anything (as letsencrypt/boulder does). Errors and
// fatal findings stop the ceremony; warnings and notices are recorded. The pre-flight has
// linted the same shape already; this is the record of the certificate as it is about to be
// signed, and what its lint after signing must equal (relint.go).
func (r *Run) lintProfile(name string, tmpl, issuer *x509.Certificate, pub crypto.PublicKey, pol lintPolicy) (lintResult, error) {
	issuerPub := pub
	if issuer != nil {
		issuerPub = issuer.PublicKey
	}
	issuerAlg, err := algorithmOf(issuerPub)
	if err != nil {
		return lintResult{}, err
	}
	res, _, err := lintCertificate(name, tmpl, issuer, issuerAlg, pub, "", pol)
	if err != nil {
		return lintResult{}, err
	}
	rec := transcript.CertificateLinted{Linter: certLinter, LintsRun: res.LintsRun, Findings: res.Findings}
	for _, n := range res.Waived {
		if rec.Waived == nil {
			rec.Waived = map[string]string{}
		}
		rec.Waived[n] = pol.waived[n]
	}
	if _, err := r.record(transcript.EventCertificateLinted, rec); err != nil {
		return lintResult{}, err
	}
	if bad := refusedLints(res); len(bad) > 0 {
		return lintResult{}, fmt.Errorf("%s (%s) fails lints %s; fix the script's certificate profile", name, res.Shape, strings.Join(bad, ", "))
	}
	r.UI.Note(fmt.Sprintf("Certificate profile of %s passed %d lints (%d warnings, %d notices).", name, res.LintsRun, len(res.Findings["warn"]), len(res.Findings["notice"])))
	return res, nil
}

func (r *Run) recordCertificate(name string, c *x509.Certificate) error {
	spki, _ := fingerprint.OfPublicKey(c.PublicKey)
	sum := sha256.Sum256(c.Raw)
	_, err := r.record(transcript.EventCertificateIssued, map[string]any{
		"name": name, "subject": c.Subject.String(), "issuer": c.Issuer.String(), "serial": fmt.Sprintf("%x", c.SerialNumber),
		"not_before": c.NotBefore.UTC().Format(time.RFC3339), "not_after": c.NotAfter.UTC().Format(time.RFC3339),
		"sha256": hex.EncodeToString(sum[:]), "spki_sha256": spki.Hex(), "signature_algorithm": c.SignatureAlgorithm.String(),
	})
	return err
}

// reloadRootCert reads, on a resume, the root certificate a completed step wrote.
func (r *Run) reloadRootCert(e []transcript.Entry) error {
	der, err := r.readOutput(e, rootDER)
	if err == nil {
		r.rootCert, err = x509.ParseCertificate(der)
	}
	return err
}

// certPEM encodes certificates as concatenated PEM "CERTIFICATE" blocks.
func certPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// issue has signer sign tmpl under parent (tmpl itself for a self-signed certificate) and
// returns the certificate only once its signature verifies under parent.
func issue(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	self := parent == tmpl
	tmpl, err := withKeyID(tmpl, pub)
	if err != nil {
		return nil, err
	}
	if self {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	issuer := parent
	if self {
		issuer = c
	}
	if err := issuedBy(c, issuer, signer.Public()); err != nil {
		return nil, fmt.Errorf("the new certificate's signature does not verify: %w", err)
	}
	return c, nil
}

// issuedBy checks, as c.CheckSignatureFrom(issuer) does, that issuer may sign certificates
// and that c's signature verifies under issuer's key, for a certificate x509.CreateCertificate
// has just made with a signer whose public key is signed: CreateCertificate verified the
// signature over c's to-be-signed bytes under signed already (a P-384 verification is about
// 1 ms in Go), so where issuer's key is that key it is not verified a second time. Any other
// issuer key, and SHA-1, get CheckSignatureFrom's own verification.
func issuedBy(c, issuer *x509.Certificate, signed crypto.PublicKey) error {
	k, ok := issuer.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	sha1 := c.SignatureAlgorithm == x509.SHA1WithRSA || c.SignatureAlgorithm == x509.ECDSAWithSHA1
	if !ok || !k.Equal(signed) || sha1 {
		return c.CheckSignatureFrom(issuer)
	}
	// CheckSignatureFrom's constraints (RFC 5280, 4.2.1.9 and 4.2.1.3).
	if issuer.Version == 3 && !issuer.BasicConstraintsValid || issuer.BasicConstraintsValid && !issuer.IsCA {
		return x509.ConstraintViolationError{}
	}
	if issuer.KeyUsage != 0 && issuer.KeyUsage&x509.KeyUsageCertSign == 0 {
		return x509.ConstraintViolationError{}
	}
	return nil
}

// selfSignRoot lints the script's root profile for key, has key sign its own certificate, and
// writes it as derName and pemName.
func (r *Run) selfSignRoot(key *hsm.KeyPair, derName, pemName string) (*x509.Certificate, error) {
	tmpl, err := r.rootTemplate()
	if err != nil {
		return nil, err
	}
	c, err := r.issueLinted(pemName, tmpl, nil, key.Public(), key, r.Script.effective(rootSite(r.Script)).policy())
	if err != nil {
		return nil, fmt.Errorf("self-sign the root certificate with key %q: %w", key.Label, err)
	}
	if err := r.recordCertificate(derName, c); err != nil {
		return nil, err
	}
	if err := r.writeOutput(derName, c.Raw); err != nil {
		return nil, err
	}
	return c, r.writeOutput(pemName, certPEM(c))
}

// certifySigner has root, through rootKey, certify the transcript-signing key k for the
// script's site (its days, never past the root's own end, and its profile), and writes the
// certificate as name.
func (r *Run) certifySigner(k *hsm.KeyPair, site profileSite, root *x509.Certificate, rootKey crypto.Signer, name string) (*x509.Certificate, error) {
	serial, err := r.serial()
	if err != nil {
		return nil, err
	}
	p := r.Script.effective(site)
	tmpl, err := signerTemplate(root, site.days, p, serial, r.Clock())
	if err != nil {
		return nil, err
	}
	c, err := r.issueLinted(name, tmpl, root, k.Public(), rootKey, p.policy())
	if err != nil {
		return nil, fmt.Errorf("certify transcript signer %q under root %q: %w", k.Label, root.Subject.CommonName, err)
	}
	if err := r.recordCertificate(name, c); err != nil {
		return nil, err
	}
	return c, r.writeOutput(name, certPEM(c))
}

func (r *Run) signRoot() (err error) {
	r.rootCert, err = r.selfSignRoot(r.root, rootDER, rootPEM)
	return err
}

func (r *Run) createSigner() error {
	s := r.Script
	k, err := r.generateKey(s.Signer.Label, signerAlg, false, "transcript-signer")
	if err != nil {
		return err
	}
	r.signer = k
	if r.signerCert, err = r.certifySigner(k, signerSite(s, "transcript_signer.validity_days", s.Signer.ValidityDays, false), r.rootCert, r.root, signerPEM); err != nil {
		return err
	}
	_, err = r.record(transcript.EventSigner, transcript.Signer{Name: k.Label, Certificate: string(certPEM(r.signerCert, r.rootCert)), Issuer: spkiHex(r.rootCert)})
	return err
}

func (r *Run) close() error {
	if err := r.inventory("after"); err != nil {
		return err
	}
	if bags := r.Script.Equipment.Bags; len(bags) > 0 {
		w := r.Script.People("witness")[0]
		if err := r.UI.Confirm(r.ctx, w.Name, fmt.Sprintf("Witness %s: are the tamper-evident bags %s sealed, with these numbers?", w.Name, strings.Join(bags, ", "))); err != nil {
			r.record(transcript.EventBagsDisputed, map[string]any{"bags": bags, "witness": w.Name, "reason": reasonOf(err)})
			return fmt.Errorf("tamper-evident bags not confirmed: %w", err)
		}
		if _, err := r.record(transcript.EventBagsSealed, map[string]any{"bags": bags, "witness": w.Name}); err != nil {
			return err
		}
	}
	if err := r.askGate(stepClose, gateSeal, nil); err != nil {
		return err
	}
	if _, err := r.record(transcript.EventStepCompleted, nil); err != nil {
		return err
	}
	return r.closeAndSeal()
}

// closeAndSeal writes ceremony.closed, the last record, and seals the transcript.
func (r *Run) closeAndSeal() error {
	if _, err := r.record(transcript.EventClosed, map[string]string{"result": "completed"}); err != nil {
		return err
	}
	return r.seal()
}

// seal signs the closed transcript's checkpoint with the transcript signer, writes the seal
// atomically, and then has AfterSeal make the derived evidence (report, bundle). Nothing is
// recorded from here on: a failure leaves a closed transcript (sealed again by a resume: the
// checkpoint is the same) or a sealed ceremony whose derived evidence a resume makes again.
func (r *Run) seal() error {
	return r.sealWith(&sealKey{name: r.signer.Label, key: r.signer})
}

// afterSeal makes the derived evidence of a sealed ceremony. Its failure is an AfterSealError.
func (r *Run) afterSeal(signer crypto.Signer) error {
	if err := logSealed(r.Dir, signer); err != nil {
		return &AfterSealError{Dir: r.Dir, Err: err}
	}
	if r.opt.AfterSeal == nil {
		return nil
	}
	if err := r.opt.AfterSeal(r.Dir, signer); err != nil {
		return &AfterSealError{Dir: r.Dir, Err: err}
	}
	return nil
}

// AfterSealError says a ceremony is sealed and its transcript safe, but what is derived from it
// (the report, the bundle) could not be made; `keyrite resume DIR` makes it again.
type AfterSealError struct {
	Dir string
	Err error
}

func (e *AfterSealError) Error() string {
	return fmt.Sprintf("the ceremony is sealed and its transcript is safe, but its report and bundle were not made: %v; fix the cause and run `keyrite resume %s` to make them", e.Err, e.Dir)
}

func (e *AfterSealError) Unwrap() error { return e.Err }

// KeyConfig is the root key to generate.
type KeyConfig struct {
	Label     string `yaml:"label"`
	Algorithm string `yaml:"algorithm"`
	Backup    bool   `yaml:"backup"` // extractable, only under a trusted wrapping key
	// Cryptoperiod is optional: "10y", "18m", "90d" (cryptoperiod.go).
	Cryptoperiod string `yaml:"cryptoperiod,omitempty"`
}

// CertProfile is the root certificate's profile.
type CertProfile struct {
	Subject      Subject  `yaml:"subject"`
	ValidityDays int      `yaml:"validity_days"`
	PathLen      *int     `yaml:"path_length"`
	Profile      *Profile `yaml:"profile,omitempty"` // the root certificate's own profile fields
}

// Subject is an X.509 distinguished name.
type Subject struct {
	CommonName   string `yaml:"common_name"`
	Organization string `yaml:"organization"`
	Country      string `yaml:"country"`
}

func (s *Script) validateRoot(v *validator) {
	v.label("key.label", s.Key.Label)
	v.algorithm("key.algorithm", s.Key.Algorithm)
	s.validateCryptoperiod(v)
	s.validateSignerDays(v, true)
	c := s.Certificate
	if strings.TrimSpace(c.Subject.CommonName) == "" {
		v.errorf("certificate.subject.common_name", "is required")
	}
	if c.Subject.Country != "" && (len(c.Subject.Country) != 2 || strings.ToUpper(c.Subject.Country) != c.Subject.Country) {
		v.errorf("certificate.subject.country", "%q must be a two-letter upper-case ISO 3166 code", c.Subject.Country)
	}
	if !c.Profile.windowed() && (c.ValidityDays < 1 || c.ValidityDays > 25*366) {
		v.errorf("certificate.validity_days", "%d must be between 1 and %d", c.ValidityDays, 25*366)
	}
	if c.PathLen != nil && (*c.PathLen < 0 || *c.PathLen > 8) {
		v.errorf("certificate.path_length", "%d must be between 0 and 8", *c.PathLen)
	}
	if s.Restore != nil || s.Reshare != nil {
		v.errorf("type", "a root ceremony has no restore or reshare section")
	}
	if s.Backup != nil || s.Key.Backup {
		if !s.Key.Backup {
			v.errorf("key.backup", "must be true when the script has a backup section")
		}
		if s.Backup == nil {
			v.errorf("key.backup", "a key generated for backup needs a backup section with its threshold")
		} else {
			s.validateQuorum(v, "backup.threshold", s.Backup.Threshold)
			validateLossContact(v, "backup.loss_contact", s.Backup.LossContact)
		}
	}
}

// rootNeeds lists the token capabilities a root ceremony needs (the pre-flight checks them).
func rootNeeds(r *Run) []Need {
	s := r.Script
	var out []Need
	out = append(out, keyPairNeed(s.Key.Algorithm, "the root key")...)
	out = append(out, keyPairNeed(string(signerAlg), "the transcript-signing key")...)
	if s.Key.Backup || s.Backup != nil {
		out = append(out,
			need(hsm.CapRandom, "the backup's key-encryption key, from the token's random number generator"),
			need(hsm.CapTrusted, "the backup's key-encryption key, which the Security Officer installs as a trusted wrapping key"),
			need(hsm.CapWrapWithTrusted, "the root key, which may leave the token only under a trusted key"),
			need(hsm.CapAESKWPWrap, "the backup's RFC 5649 wrap"),
			need(hsm.CapWrapPrivate(hsm.Algorithm(s.Key.Algorithm)), "the backup of the "+s.Key.Algorithm+" root key"))
	}
	return out
}

// rootLints builds every certificate and CRL a root ceremony issues, in its real shape, and lints it.
func rootLints(l lintRun) {
	s := l.p.r.Script
	alg := hsm.Algorithm(s.Key.Algorithm)
	if rc := l.lintSite(rootSite(s), rootPEM, nil, alg, nil, alg, func(p Profile) (*x509.Certificate, error) {
		return rootTemplate(s.Certificate, p, l.serial(), l.now)
	}); rc != nil {
		site := signerSite(s, "transcript_signer.validity_days", s.Signer.ValidityDays, false)
		l.lintSite(site, signerPEM, rc, alg, nil, signerAlg, func(p Profile) (*x509.Certificate, error) {
			return signerTemplate(rc, site.days, p, l.serial(), l.now)
		})
	}
}

// rootSupports are the root ceremony's capability cases: each algorithm, without and with a
// quorum backup.
func rootSupports() []supportCase {
	var out []supportCase
	for _, backup := range []bool{false, true} {
		for _, a := range hsm.Algorithms {
			s := supportScript(TypeRoot)
			s.Key = KeyConfig{Algorithm: string(a), Backup: backup}
			name := "root, " + string(a)
			if backup {
				name = "root with quorum backup, " + string(a)
			}
			out = append(out, supportCase{name, &Run{Script: s}})
		}
	}
	return out
}
