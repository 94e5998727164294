package ceremony

import (
	"fmt"
	"strings"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm/keycheck"
)

// TypeDestroy destroys a key on the HSM, provably.
const TypeDestroy = "destroy"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeDestroy, Title: "Key destruction", Example: "destroy",
			Description: "The key is identified by its fingerprint or check value, destroyed with the Security Officer's confirmation, and the HSM is checked to hold it no longer."},
		previous:  previousSealed,
		validate:  (*Script).validateDestroy,
		steps:     destroySteps,
		keyStates: destroyKeyStates,
		supports:  onTokenCases(TypeDestroy),
	})
}

func (s *Script) validateDestroy(v *validator) {
	if s.Destroy == nil || !labelRE.MatchString(s.Destroy.Key) {
		v.errorf("destroy.key", "name the label of the key to destroy")
	} else if s.Destroy.Key == s.Signer.Label {
		v.errorf("destroy.key", "%q is the transcript signer that seals this ceremony; it cannot destroy itself", s.Destroy.Key)
	}
	if s.Destroy != nil && strings.TrimSpace(s.Destroy.Reason) == "" {
		v.errorf("destroy.reason", "say why the key is destroyed (it is recorded)")
	}
}

func destroySteps(s *Script) []step {
	root := rootSteps(s)
	d := s.Destroy
	return []step{root[0], continueStep(),
		{id: "identify-key", title: "Identify the key to destroy", actorRole: "administrator", witness: true,
			explain: fmt.Sprintf("The key %q is read from the HSM: its fingerprint or check value is recorded, so the transcript proves which key was destroyed.", d.Key),
			run:     func(r *Run) error { return r.identify(d.Key) }},
		{id: "destroy-key", title: "Destroy the key", actorRole: "security-officer", witness: true,
			gate: func(*Run) string {
				return fmt.Sprintf("destroy the key %q (reason: %s); this cannot be undone", d.Key, d.Reason)
			},
			explain: fmt.Sprintf("The key %q is destroyed on the HSM (reason: %s), and the HSM is checked to hold it no longer. This cannot be undone.", d.Key, d.Reason),
			run:     (*Run).destroyKey},
		root[4]}
}

// identify records the key labelled label on the token by its fingerprint or check value.
func (r *Run) identify(label string) error {
	data := map[string]any{"label": label}
	if k, err := r.token.FindKeyPair(label); err == nil {
		fp, _ := fingerprint.OfPublicKey(k.Public())
		data["kind"], data["algorithm"], data["spki_sha256"], data["spki_sha256_words"] = "key pair", k.Algorithm, fp.Hex(), fp.Words()
		r.UI.Note(fmt.Sprintf("Key %q, %s.\nSPKI SHA-256: %s\nRead aloud: %s", label, k.Algorithm, fp.Grouped(), fp.Words()))
	} else if sk, serr := r.token.FindSecretKey(label); serr == nil {
		kcv, kerr := sk.CheckValueECB()
		if kerr != nil {
			kcv = "unavailable (" + kerr.Error() + ")"
		}
		data["kind"], data["kcv"], data["kcv_method"] = "secret key", kcv, keycheck.MethodECB
		r.UI.Note(fmt.Sprintf("Secret key %q, check value %s (%s).", label, kcv, keycheck.MethodECB))
	} else {
		return fmt.Errorf("no key labelled %q on token %q: %v; nothing was destroyed", label, r.token.Info.Label, err)
	}
	_, err := r.record(transcript.EventKeyIdentified, data)
	return err
}

func (r *Run) destroyKey() error {
	d := r.Script.Destroy
	so := r.Script.People("security-officer")
	who := r.actor("administrator")
	if len(so) > 0 {
		if err := r.UI.Confirm(r.ctx, so[0].Name, fmt.Sprintf("%s: destroy key %q now? This cannot be undone.", so[0].Name, d.Key)); err != nil {
			r.record(transcript.EventDestructionDeclined, map[string]string{"by": so[0].Name, "reason": reasonOf(err)})
			return fmt.Errorf("%s did not confirm the destruction: %w", so[0].Name, err)
		}
		who = so[0].Name
	}
	n, err := r.token.DestroyLabel(d.Key)
	if err != nil {
		return err
	}
	if has, err := r.token.HasLabel(d.Key); err != nil || has {
		return fmt.Errorf("key %q is still on the token after destruction (%v): stop and investigate", d.Key, err)
	}
	_, err = r.record(transcript.EventKeyDestroyed, map[string]any{"label": d.Key, "objects": n, "reason": d.Reason, "confirmed_by": who,
		"token_serial": r.token.Info.Serial, "verified_absent": true})
	r.UI.Note(fmt.Sprintf("Key %q destroyed (%d objects); the HSM no longer holds it.", d.Key, n))
	return err
}

// DestroyConfig names the key a destruction ceremony destroys, and why.
type DestroyConfig struct {
	Key    string `yaml:"key"`
	Reason string `yaml:"reason"`
}

// destroyKeyStates refuses, in the pre-flight, keys whose recorded state forbids what a destroy ceremony does with them.
func destroyKeyStates(c keyStateCheck) {
	s := c.p.r.Script
	if k := c.st.key(s.Destroy.Key, ""); k != nil && k.State == keyDestroyed {
		c.p.fieldf("destroy.key", "key %q was destroyed already (ceremony %s, %s)", k.Label, k.Ceremony, k.Since)
	}
}
