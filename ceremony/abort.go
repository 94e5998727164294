package ceremony

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"time"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
)

// A ceremony that a refusal stops after it opened — one the pre-flight could not foresee: a
// lint of the issued bytes, a self-test, a certificate that does not chain, a key the token
// no longer holds — is closed, not left half done: the reason is recorded (ceremony.aborted),
// the keys it created are destroyed if the administrator and a witness consent, or recorded as
// left on the token (key.left-on-token), and the transcript closes with result "aborted" and
// is sealed. No unsealed folder is left behind; nothing can continue an aborted ceremony, and
// the verifier says it was aborted.
//
// Interruptions are not refusals and leave the ceremony open for `keyrite resume`: a person
// declined (the room decides), the token went away, the run was cancelled, or the ceremony
// folder could not be written (then nothing more can be recorded anyway). A killed process
// cannot close anything: resume continues it.

// interrupted reports whether err pauses the ceremony for a resume rather than ending it.
func interrupted(err error) bool {
	var pathErr interface{ Timeout() bool } // *fs.PathError and friends: the folder, not a refusal
	return errors.Is(err, ErrDeclined) || errors.Is(err, hsm.ErrTokenNotPresent) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, transcript.ErrStopped) || errors.As(err, &pathErr)
}

// AbortedError is what Start and Resume return for a ceremony closed as aborted.
type AbortedError struct {
	Dir, Step string
	Err       error // the refusal that stopped it
	Sealed    error // nil if the aborted transcript was sealed
}

func (e *AbortedError) Error() string {
	if e.Sealed != nil {
		return fmt.Sprintf("step %q: %v; the ceremony was closed as aborted, but could not be sealed: %v", e.Step, e.Err, e.Sealed)
	}
	return fmt.Sprintf("step %q: %v; the ceremony was closed as aborted and its transcript sealed (`keyrite verify %s` shows it); it cannot be resumed: correct the cause and run a new ceremony in a new folder", e.Step, e.Err, e.Dir)
}

func (e *AbortedError) Unwrap() error { return e.Err }

// abort closes the ceremony that cause stopped at step s; see the comment above.
func (r *Run) abort(s step, cause error) error {
	r.current = "abort"
	ae := &AbortedError{Dir: r.Dir, Step: s.id, Err: cause}
	fail := func(err error) error { ae.Sealed = err; return ae }
	rec := transcript.Aborted{Step: s.id, Reason: cause.Error()}
	if ar, ok := abortRequested(cause); ok {
		rec.Reason, rec.Witness = "the room aborted the ceremony: "+ar.Reason, ar.Witness
	}
	if _, err := r.record(transcript.EventAborted, rec); err != nil {
		return fail(err)
	}
	r.UI.Note(fmt.Sprintf("The ceremony stops at %q: %v.\nIt will be closed as aborted and sealed; nothing more happens in it.", s.title, cause))
	destroyed, err := r.abortKeys(s)
	if err != nil {
		return fail(err)
	}
	if err := r.inventory("after"); err != nil {
		return fail(err)
	}
	signer, err := r.abortSigner(destroyed)
	if err != nil {
		return fail(err)
	}
	if _, err := r.record(transcript.EventClosed, transcript.Closing{Result: transcript.ResultAborted, Reason: fmt.Sprintf("step %q: %v", s.id, cause)}); err != nil {
		return fail(err)
	}
	if err := r.sealWith(signer); err != nil {
		var as *AfterSealError
		if errors.As(err, &as) { // sealed; only the report or bundle is missing
			return errors.Join(ae, err)
		}
		return fail(err)
	}
	return ae
}

// abortKeys offers to destroy the keys this ceremony created (the labels of the steps up to
// and including s that are on the token now): destroyed with the administrator's and a
// witness's consent, else recorded as left on the token. It returns the labels destroyed.
func (r *Run) abortKeys(s step) (map[string]bool, error) {
	var labels []string
	for _, st := range r.steps {
		for _, l := range st.labels {
			if has, err := r.token.HasLabel(l); err != nil {
				return nil, err
			} else if has {
				labels = append(labels, l)
			}
		}
		if st.id == s.id {
			break
		}
	}
	destroyed := map[string]bool{}
	if len(labels) == 0 {
		return destroyed, nil
	}
	question := fmt.Sprintf("The ceremony was aborted. It created the keys %v on token %q. Destroy them now? (No leaves them on the token, recorded.)", labels, r.token.Info.Label)
	what := map[string]any{"labels": labels}
	confirmedBy, err := r.confirmCleanup(question, what)
	if err != nil {
		objs, oerr := r.token.Objects()
		if oerr != nil {
			return nil, oerr
		}
		for _, l := range labels {
			n := 0
			for _, o := range objs {
				if o.Label == l {
					n++
				}
			}
			if _, rerr := r.record(transcript.EventKeyLeft, transcript.KeyLeft{Label: l, Objects: n, TokenSerial: r.token.Info.Serial,
				DeclinedBy: fmt.Sprint(what["by"]), Reason: fmt.Sprint(what["reason"])}); rerr != nil {
				return nil, rerr
			}
		}
		r.UI.Note(fmt.Sprintf("Keys %v stay on token %q, recorded as left there by an aborted ceremony.", labels, r.token.Info.Label))
		return destroyed, nil
	}
	for _, l := range labels {
		n, err := r.token.DestroyLabel(l)
		if err != nil {
			return nil, err
		}
		if _, err := r.record(transcript.EventCleanupDestroyed, transcript.CleanupDestroyed{Label: l, Objects: n, ConfirmedBy: confirmedBy,
			TokenSerial: r.token.Info.Serial, Reason: "created by a ceremony that was aborted"}); err != nil {
			return nil, err
		}
		destroyed[l] = true
	}
	return destroyed, nil
}

// abortSigner is the key that seals the aborted transcript: the ceremony's transcript signer
// if the transcript already names it and it was not destroyed, else a one-time key made for
// this close (a software ECDSA P-384 key, certified by itself, recorded as a transcript.signer
// with one_time, its fingerprint read aloud; it is forgotten after the seal).
func (r *Run) abortSigner(destroyed map[string]bool) (*sealKey, error) {
	if r.signer != nil && !destroyed[r.signer.Label] && r.transcriptNames(r.signer.Label) {
		return &sealKey{name: r.signer.Label, key: r.signer}, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := r.Clock().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "One-time seal of aborted ceremony " + r.Script.ID},
		NotBefore: now.Add(-clockSkew), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	c, _ := x509.ParseCertificate(der)
	fp, err := fingerprint.OfPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	const name = "one-time-seal"
	if _, err := r.record(transcript.EventSigner, transcript.Signer{Name: name, Certificate: string(certPEM(c, c)), Issuer: fp.Hex(), OneTime: true}); err != nil {
		return nil, err
	}
	r.UI.Note(fmt.Sprintf("No transcript signer exists to seal this aborted ceremony: a one-time key seals it.\nIts SHA-256: %s\nRead aloud and write down: %s", fp.Grouped(), fp.Words()))
	return &sealKey{name: name, key: key}, nil
}

// transcriptNames reports whether the transcript's last signer record names label.
func (r *Run) transcriptNames(label string) bool {
	entries := r.readEntries()
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Event == transcript.EventSigner {
			s, err := transcript.Data[transcript.Signer](&entries[i].Record)
			return err == nil && s.Name == label && !s.OneTime
		}
	}
	return false
}

// sealKey is a key that seals a transcript, and the name on the seal.
type sealKey struct {
	name string
	key  crypto.Signer
}

// sealWith signs the closed transcript's checkpoint with k, writes the seal, and then has
// AfterSeal make the derived evidence (report, bundle); see seal.
func (r *Run) sealWith(k *sealKey) error {
	n, head := r.w.Head()
	seal, err := transcript.SealCheckpoint(transcript.Checkpoint{CeremonyID: r.Script.ID, Count: n, Head: head}, k.name, k.key)
	if err != nil {
		return err
	}
	if err := transcript.WriteFileExclusive(filepath.Join(r.Dir, transcript.SealFileName), seal, 0o644); err != nil {
		return fmt.Errorf("the ceremony is closed, but its seal could not be written: %w; fix the cause and run `keyrite resume %s` to seal it", err, r.Dir)
	}
	r.UI.Note("Transcript sealed:\n" + string(bytes.TrimSpace(seal)))
	if err := r.afterSeal(k.key); err != nil {
		r.token.Logout()
		return err
	}
	return r.token.Logout()
}
