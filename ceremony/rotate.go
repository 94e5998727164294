package ceremony

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
)

// TypeRotate replaces the root by a new one, cross-certified both ways.
const TypeRotate = "rotate"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeRotate, Title: "Root key rotation", Example: "rotate",
			Description: "A new root key and transcript signer replace the old; the two roots cross-certify each other, and later ceremonies belong to the new hierarchy."},
		previous:  previousSealed,
		validate:  (*Script).validateRotate,
		steps:     rotateSteps,
		labels:    func(s *Script) []string { return []string{s.Rotate.NewKey, s.Rotate.NewSigner} },
		needs:     rotateNeeds,
		keyStates: rotateKeyStates,
		lints:     rotateLints,
		supports:  rotateSupports,
		profiles: func(s *Script) []profileSite {
			return []profileSite{rootSite(s), crossSite(s, false), crossSite(s, true), signerSite(s, "rotate.new_signer_validity_days", s.Rotate.SignerDays, true)}
		},
	})
}

func (s *Script) validateRotate(v *validator) {
	r := s.Rotate
	if r == nil {
		v.errorf("rotate", "a rotate ceremony needs a rotate section")
		return
	}
	v.label("rotate.old_key", r.OldKey)
	v.label("rotate.new_key", r.NewKey)
	v.label("rotate.new_transcript_signer", r.NewSigner)
	v.algorithm("rotate.algorithm", r.Algorithm)
	if r.NewKey == r.OldKey || r.NewSigner == s.Signer.Label {
		v.errorf("rotate", "the new root key and transcript signer need labels of their own")
	}
	if !s.Signer.Profile.windowed() && (r.SignerDays < 1 || (!s.Certificate.Profile.windowed() && r.SignerDays > s.Certificate.ValidityDays)) {
		v.errorf("rotate.new_signer_validity_days", "%d must be between 1 and the new root's validity (%d)", r.SignerDays, s.Certificate.ValidityDays)
	}
	if !(r.CrossFromOld.windowed() && r.CrossFromNew.windowed()) && (r.CrossDays < 1 || r.CrossDays > 10*366) {
		v.errorf("rotate.cross_certificate_validity_days", "%d must be between 1 and %d", r.CrossDays, 10*366)
	}
	if strings.TrimSpace(s.Certificate.Subject.CommonName) == "" || (s.Certificate.ValidityDays < 1 && !s.Certificate.Profile.windowed()) {
		v.errorf("certificate", "the new root's profile needs a subject common name and validity_days")
	}
}

// EventRootRotated records that a ceremony introduced a new root and its transcript signer;
// its data is a Rotation. Ceremonies that continue it belong to the new hierarchy.
const EventRootRotated = transcript.EventRootRotated

// Rotation is the data of an EventRootRotated record.
type Rotation = transcript.Rotation

const (
	newRootDER   = "new-root.der"
	newRootPEM   = "new-root.pem"
	crossOldNew  = "cross-old-certifies-new.pem"
	crossNewOld  = "cross-new-certifies-old.pem"
	newSignerPEM = "new-transcript-signer.pem"
)

// rotation is a rotate ceremony's own state: the new root, as its steps make it.
type rotation struct {
	newRoot     *hsm.KeyPair
	newRootCert *x509.Certificate
}

func rotateSteps(s *Script) []step {
	root := rootSteps(s)
	rt := s.Rotate
	st := &rotation{}
	return []step{root[0], continueStep(),
		{id: "generate-new-root", title: "Generate the new root key", actorRole: "administrator", witness: true, labels: []string{rt.NewKey},
			gate: func(*Run) string {
				return fmt.Sprintf("generate the %s root key %q that replaces the root %q", rt.Algorithm, rt.NewKey, rt.OldKey)
			},
			explain: fmt.Sprintf("The HSM generates the %s key %q that will replace the root %q.", rt.Algorithm, rt.NewKey, rt.OldKey),
			run: func(r *Run) (err error) {
				st.newRoot, err = r.generateKey(rt.NewKey, hsm.Algorithm(rt.Algorithm), false, "root")
				return err
			},
			restore: func(r *Run, e []transcript.Entry) (err error) { st.newRoot, err = r.reloadKey(e, rt.NewKey); return }},
		{id: "sign-new-root", title: "Self-sign the new root and cross-certify", actorRole: "administrator", witness: true,
			outputs: []string{newRootDER, newRootPEM, crossOldNew, crossNewOld},
			gate: func(*Run) string {
				return fmt.Sprintf("sign the new root certificate with the new root key %q and cross-certify it with the old root key %q", rt.NewKey, rt.OldKey)
			},
			explain: "The new root signs its own certificate (linted first). The old root certifies the new root's key, and the new root the old one's, so certificates of either hierarchy verify through the other while both are trusted.",
			run:     st.signNewRoot},
		{id: "create-new-signer", title: "Create the new transcript-signing key", actorRole: "administrator", witness: true,
			labels: []string{rt.NewSigner}, outputs: []string{newSignerPEM},
			gate: func(*Run) string {
				return fmt.Sprintf("generate the ECDSA P-384 transcript-signing key %q and sign its certificate with the new root key %q", rt.NewSigner, rt.NewKey)
			},
			explain: fmt.Sprintf("The HSM generates %q, certified by the new root, to seal the new hierarchy's ceremonies. This ceremony is still sealed by the old one.", rt.NewSigner),
			run:     st.createNewSigner},
		root[4]}
}

func (st *rotation) signNewRoot(r *Run) error {
	if st.newRoot == nil {
		k, err := r.token.FindKeyPair(r.Script.Rotate.NewKey)
		if err != nil {
			return err
		}
		st.newRoot = k
	}
	old, err := r.rootKey(r.Script.Rotate.OldKey)
	if err != nil {
		return err
	}
	nc, err := r.selfSignRoot(st.newRoot, newRootDER, newRootPEM)
	if err != nil {
		return err
	}
	st.newRootCert = nc
	for _, c := range []struct {
		name    string
		subject pkix.Name
		pub     crypto.PublicKey
		issuer  *x509.Certificate
		signer  crypto.Signer
		ski     []byte
		site    profileSite
	}{
		{crossOldNew, nc.Subject, nc.PublicKey, r.rootCert, old, nc.SubjectKeyId, crossSite(r.Script, false)},
		{crossNewOld, r.rootCert.Subject, r.rootCert.PublicKey, nc, st.newRoot, r.rootCert.SubjectKeyId, crossSite(r.Script, true)},
	} {
		serial, err := r.serial()
		if err != nil {
			return err
		}
		p := r.Script.effective(c.site)
		t, err := crossTemplate(c.subject, c.ski, c.issuer, c.site.days, p, serial, r.Clock())
		if err != nil {
			return err
		}
		cc, err := r.issueLinted(c.name, t, c.issuer, c.pub, c.signer, p.policy())
		if err != nil {
			return fmt.Errorf("cross-certificate %s: %w", c.name, err)
		}
		if err := r.recordCertificate(c.name, cc); err != nil {
			return err
		}
		if err := r.writeOutput(c.name, certPEM(cc)); err != nil {
			return err
		}
	}
	return nil
}

func (st *rotation) createNewSigner(r *Run) error {
	rt := r.Script.Rotate
	if st.newRootCert == nil {
		return errors.New("the new root certificate is missing; resume from the previous step")
	}
	k, err := r.generateKey(rt.NewSigner, signerAlg, false, "transcript-signer")
	if err != nil {
		return err
	}
	c, err := r.certifySigner(k, signerSite(r.Script, "rotate.new_signer_validity_days", rt.SignerDays, true), st.newRootCert, st.newRoot, newSignerPEM)
	if err != nil {
		return err
	}
	oldFP, _ := fingerprint.OfPublicKey(r.rootCert.PublicKey)
	newFP, _ := fingerprint.OfPublicKey(st.newRootCert.PublicKey)
	since := r.Clock().UTC().Format(time.RFC3339)
	if _, err := r.record(transcript.EventKeyState, map[string]string{"label": rt.OldKey, "spki_sha256": oldFP.Hex(), "state": "deactivated",
		"since": since, "reason": "superseded by root " + rt.NewKey + "; it verifies what it signed, and signs nothing new"}); err != nil {
		return err
	}
	if _, err := r.record(transcript.EventKeyState, map[string]string{"label": rt.NewKey, "spki_sha256": newFP.Hex(), "state": "active", "since": since}); err != nil {
		return err
	}
	_, err = r.record(EventRootRotated, Rotation{OldRootSPKI: oldFP.Hex(), NewRootSPKI: newFP.Hex(), NewRootKey: rt.NewKey,
		NewSigner: rt.NewSigner, NewSignerChain: string(certPEM(c, st.newRootCert))})
	r.UI.Note(fmt.Sprintf("Root %q deactivated; root %q active.\nNew root SPKI SHA-256: %s\nRead aloud: %s", rt.OldKey, rt.NewKey, newFP.Grouped(), newFP.Words()))
	return err
}

// rotationOf is the rotation a sealed ceremony recorded, if any.
func rotationOf(res *transcript.Result) *Rotation {
	for _, e := range res.Entries {
		if e.Event == EventRootRotated {
			var rt Rotation
			if json.Unmarshal(e.Data, &rt) == nil {
				return &rt
			}
		}
	}
	return nil
}

// RotateConfig replaces the root: the old root key (on this token, signing) and the new one.
type RotateConfig struct {
	OldKey     string `yaml:"old_key"`
	NewKey     string `yaml:"new_key"`
	Algorithm  string `yaml:"algorithm"`
	NewSigner  string `yaml:"new_transcript_signer"` // the new hierarchy's transcript signer
	SignerDays int    `yaml:"new_signer_validity_days"`
	CrossDays  int    `yaml:"cross_certificate_validity_days"`
	// CrossFromOld is the profile of the cross-certificate the old root issues for the new
	// root's key; CrossFromNew of the one the new root issues for the old root's key. The
	// script's top-level profile describes the old root's issuing, so CrossFromNew takes only
	// its preset and waivers.
	CrossFromOld *Profile `yaml:"cross_from_old_profile,omitempty"`
	CrossFromNew *Profile `yaml:"cross_from_new_profile,omitempty"`
}

// rotateNeeds lists the token capabilities a rotate ceremony needs (the pre-flight checks them).
func rotateNeeds(r *Run) []Need {
	s := r.Script
	var out []Need
	out = append(out, keyPairNeed(s.Rotate.Algorithm, "the new root key")...)
	out = append(out, keyPairNeed(string(signerAlg), "the new transcript-signing key")...)
	return out
}

// rotateKeyStates refuses, in the pre-flight, keys whose recorded state forbids what a rotate ceremony does with them.
func rotateKeyStates(k keyStateCheck) {
	s := k.p.r.Script
	k.refuse("rotate.old_key", s.Rotate.OldKey, k.rootSPKI, false, "certify a new root")
}

// rotateLints builds every certificate and CRL a rotate ceremony issues, in its real shape, and lints it.
func rotateLints(l lintRun) {
	s := l.p.r.Script
	if l.root == nil {
		return
	}
	rt := s.Rotate
	alg := hsm.Algorithm(rt.Algorithm)
	nrc := l.lintSite(rootSite(s), newRootPEM, nil, alg, nil, alg, func(p Profile) (*x509.Certificate, error) {
		return rootTemplate(s.Certificate, p, l.serial(), l.now)
	})
	if nrc == nil {
		return
	}
	l.lintSite(crossSite(s, false), crossOldNew, l.root, l.rootAlg, nil, alg, func(p Profile) (*x509.Certificate, error) {
		return crossTemplate(nrc.Subject, nrc.SubjectKeyId, l.root, rt.CrossDays, p, l.serial(), l.now)
	})
	l.lintSite(crossSite(s, true), crossNewOld, nrc, alg, l.root.PublicKey, "", func(p Profile) (*x509.Certificate, error) {
		return crossTemplate(l.root.Subject, l.root.SubjectKeyId, nrc, rt.CrossDays, p, l.serial(), l.now)
	})
	site := signerSite(s, "rotate.new_signer_validity_days", rt.SignerDays, true)
	l.lintSite(site, newSignerPEM, nrc, alg, nil, signerAlg, func(p Profile) (*x509.Certificate, error) {
		return signerTemplate(nrc, site.days, p, l.serial(), l.now)
	})
}

// crossSite is the profile of a rotation's cross-certificate: the one the old root issues
// for the new root's key, or (fromNew) the one the new root issues for the old root's key.
func crossSite(s *Script, fromNew bool) profileSite {
	rt := s.Rotate
	site := profileSite{path: "rotate.cross_from_old_profile", profile: rt.CrossFromOld, kind: kindCross,
		daysField: "rotate.cross_certificate_validity_days", days: rt.CrossDays}
	if fromNew {
		site.path, site.profile, site.foreign = "rotate.cross_from_new_profile", rt.CrossFromNew, true
	}
	return site
}

// rotateSupports are a rotation's capability cases: each algorithm of the new root.
func rotateSupports() []supportCase {
	var out []supportCase
	for _, a := range hsm.Algorithms {
		s := supportScript(TypeRotate)
		s.Rotate.Algorithm = string(a)
		out = append(out, supportCase{"rotate, new root " + string(a), &Run{Script: s}})
	}
	return out
}
