package ceremony

import (
	"bytes"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/hsm/keycheck"
)

// The token ceremonies work on a token itself, not on keys: token-init initialises a new
// token (tokeninit.go), pin-change changes a user or Security Officer PIN (tokenpin.go),
// token-decommission destroys everything on a token and re-initialises it empty
// (tokendecommission.go). Each continues a key hierarchy (--previous) and is sealed by its
// transcript signer, on the ceremony's own token; the token worked on is named in the
// script by its label and reached through the same module.
//
// PINs. On a real HSM every PIN is typed by its holder, a participant the script names, at
// the UI port's masked prompt — a new PIN twice — and zeroed after its one use. No record,
// report or file holds a PIN: the transcript says who set or changed which PIN and when. A
// rehearsal token's PINs are the rehearsal store's (a new one random), as for every
// rehearsal token: a rehearsal guards no real key, and its records say so.
//
// Everything checkable without a secret is checked in the pre-flight (tokenChecks), before
// the first call that changes a token: the token or free slot exists and is (or is not)
// initialised, the label is free, the token requires a login, is not write-protected, has no
// PIN pad and no locked PIN, and — for a decommission — no key whose only recorded copy is
// on it would be lost unless the script accepts it.

// tokenRun is a token ceremony's state: the token it works on.
type tokenRun struct {
	info  hsm.TokenInfo // the token worked on (init: the free slot, then the new token)
	token *hsm.Token    // an open session on it, when one is needed
	own   bool          // it is the ceremony's own token (a PIN change only)
	made  bool          // token-init resumed: the interrupted step initialised the token
	// newUser is the new user PIN of the ceremony's own token, until it logs in again.
	newUser []byte
	// onlyCopies: keys whose only recorded copy is on the token to decommission, by identity
	// (SPKI SHA-256 or KCV) and by label.
	onlyCopies map[string]bool
	known      map[string]bool // SPKI SHA-256 of every key pair the evidence records (decommission)
	destroyed  int             // objects a decommission destroyed in this process
	soPIN      []byte          // the SO PIN a decommission checked before destroying, until it re-initialises
}

// end closes the token and zeroes the PINs the run still holds, when the ceremony stops.
func (t *tokenRun) end() {
	if t == nil {
		return
	}
	t.close()
	zeroBytes(t.soPIN)
	zeroBytes(t.newUser)
	t.soPIN, t.newUser = nil, nil
}

func (t *tokenRun) close() {
	if t != nil && t.token != nil && !t.own {
		t.token.Close()
	}
	if t != nil {
		t.token = nil
	}
}

// tokenState is the run's token state, made on first use.
func (r *Run) tokenState() *tokenRun {
	if r.tok == nil {
		r.tok = &tokenRun{}
	}
	return r.tok
}

// resuming reports whether the run continues a transcript already written (Resume).
func (r *Run) resuming() bool {
	_, err := os.Stat(filepath.Join(r.Dir, transcript.FileName))
	return err == nil
}

// pinEntry says how this run's token PINs are entered, for the record.
func (r *Run) pinEntry() string {
	if r.binding.Store != nil {
		return transcript.PINFromRehearsalStore
	}
	return transcript.PINEnteredByHolder
}

// currentPIN is the PIN role has on the token labelled label now, typed by holder (a
// rehearsal token's: from the store). The caller zeroes it.
func (r *Run) currentPIN(label string, role hsm.Role, holder string) ([]byte, error) {
	if st := r.binding.Store; st != nil {
		return st.PIN(label, role)
	}
	return r.UI.AskSecret(r.ctx, fmt.Sprintf("%s: type the current %s PIN of token %q", holder, role, label))
}

// newPIN has holder choose role's new PIN on the token labelled label, typed twice at masked
// prompts; both entries must match and fit the token's PIN lengths, or it is asked again, three
// times at most. A rehearsal token's new PIN is random. The caller zeroes it.
func (r *Run) newPIN(label string, role hsm.Role, holder string, flags hsm.TokenFlags) ([]byte, error) {
	if r.binding.Store != nil {
		return hsm.NewPIN(), nil
	}
	for try := 0; try < 3; try++ {
		first, err := r.UI.AskSecret(r.ctx, fmt.Sprintf("%s: choose the new %s PIN of token %q", holder, role, label))
		if err != nil {
			return nil, err
		}
		if err := flags.CheckPINLength(first); err != nil {
			zeroBytes(first)
			r.UI.Note(fmt.Sprintf("%s: %v. Nothing was set; choose another.", holder, err))
			continue
		}
		again, err := r.UI.AskSecret(r.ctx, fmt.Sprintf("%s: type the new %s PIN of token %q again", holder, role, label))
		if err != nil {
			zeroBytes(first)
			return nil, err
		}
		same := subtle.ConstantTimeCompare(first, again) == 1
		zeroBytes(again)
		if same {
			return first, nil
		}
		zeroBytes(first)
		r.UI.Note(fmt.Sprintf("%s: the two entries of the new %s PIN differ. Nothing was set; type it twice again.", holder, role))
	}
	return nil, fmt.Errorf("%s did not type the same new %s PIN twice in three tries; nothing was changed on token %q", holder, role, label)
}

func zeroBytes(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// holderOf checks that the participant named at path exists, with one of roles if any.
func (s *Script) holderOf(v *validator, path, name string, roles ...string) {
	for _, p := range s.Participants {
		if p.Name == name {
			if len(roles) > 0 && !contains(roles, p.Role) {
				v.errorf(path, "%q is a %s; this PIN's holder must be a %s", name, p.Role, strings.Join(roles, " or "))
			}
			return
		}
	}
	v.errorf(path, "%q is not a participant: name the person who holds this PIN", name)
}

// tokenLabel checks a token label: a usable label that fits CK_TOKEN_INFO's 32 bytes.
func (v *validator) tokenLabel(path, value string) {
	if v.label(path, value) && len(value) > 32 {
		v.errorf(path, "%q is longer than the 32 bytes a PKCS#11 token label holds", value)
	}
}

// findSubject finds the initialised token labelled label, in the pre-flight.
func (p *preflighter) findSubject(field, label string) (hsm.TokenInfo, bool) {
	ti, err := p.r.binding.Module.Find(hsm.Selector{Label: label})
	if err != nil {
		p.fieldf(field, "token %q: %v", label, err)
		return ti, false
	}
	if !p.subjectText(ti) {
		return ti, false
	}
	if ti.Serial == p.r.token.Info.Serial && ti.Label == p.r.token.Info.Label {
		return ti, true // this ceremony holds its lock already
	}
	// Another ceremony using the token now is refused here, before anything changes, not
	// when the step takes the token's lock.
	tok, err := p.r.openToken(ti)
	if err != nil {
		p.errorf("token %q: %v", label, err)
		return ti, false
	}
	tok.Close()
	return ti, true
}

// subjectText checks the strings of the token (or free slot) a token ceremony works on, which
// its records, screens and report print, as tokenText checks the ceremony's own.
func (p *preflighter) subjectText(ti hsm.TokenInfo) bool {
	ok := true
	for _, f := range []struct{ name, v string }{{"label", ti.Label}, {"manufacturer", ti.Manufacturer}, {"model", ti.Model}, {"serial", ti.Serial}, {"firmware", ti.Firmware}} {
		if err := renderable(f.v); err != nil {
			p.errorf("the token in slot %d: its %s %s cannot be printed: %v; use another token", ti.Slot, f.name, transcriptQuote(f.v), err)
			ok = false
		}
	}
	return ok
}

// adminFlags refuses, in the pre-flight, a token Keyrite cannot administer as the script
// asks: no login, write-protected, a PIN pad (Keyrite takes PINs at its own prompts), or a
// locked PIN of a role the ceremony logs in as.
func (p *preflighter) adminFlags(field string, ti hsm.TokenInfo, roles ...hsm.Role) {
	f := ti.Flags
	switch {
	case f.WriteProtected:
		p.fieldf(field, "token %q (serial %s) is write-protected: nothing on it can change", ti.Label, ti.Serial)
	case f.ProtectedAuthPath:
		p.fieldf(field, "token %q (serial %s) takes PINs on its own PIN pad (CKF_PROTECTED_AUTHENTICATION_PATH); Keyrite's token ceremonies take PINs at their masked prompts and do not support PIN pads yet: use the vendor's tools, recorded by hand", ti.Label, ti.Serial)
	}
	for _, role := range roles {
		switch {
		case role == hsm.User && !ti.UserPINSet:
			p.fieldf(field, "token %q (serial %s) has no user PIN set: nobody can log in as its user", ti.Label, ti.Serial)
		case role == hsm.User && f.UserPINLocked:
			p.fieldf(field, "token %q (serial %s): the user PIN is locked after too many wrong entries; the Security Officer must unblock it first", ti.Label, ti.Serial)
		case role == hsm.SO && f.SOPINLocked:
			p.fieldf(field, "token %q (serial %s): the Security Officer PIN is locked; the token must be reset with the vendor's procedure", ti.Label, ti.Serial)
		}
	}
}

// openToken opens a session on the token ti, holding its exclusive lock.
func (r *Run) openToken(ti hsm.TokenInfo) (*hsm.Token, error) {
	tok, err := r.binding.Module.OpenToken(hsm.Selector{Label: ti.Label, Serial: ti.Serial})
	if err != nil {
		return nil, err
	}
	if err := tok.Lock(fmt.Sprintf("ceremony %s in %s", r.Script.ID, r.Dir)); err != nil {
		tok.Close()
		return nil, err
	}
	return tok, nil
}

// describedObjects describes the objects a session sees as records name them: a key pair by its
// public key's SPKI SHA-256, a secret key by the check value the token gives.
func describedObjects(objs []hsm.ObjectInfo) []transcript.TokenObject {
	out := make([]transcript.TokenObject, 0, len(objs))
	for _, o := range objs {
		out = append(out, tokenObject(o))
	}
	return out
}

func tokenObject(o hsm.ObjectInfo) transcript.TokenObject {
	t := transcript.TokenObject{Class: o.Class, KeyType: o.KeyType, Label: o.Label, ID: o.ID, Error: o.Error}
	if o.Public != nil {
		if fp, err := fingerprint.OfPublicKey(o.Public); err == nil {
			t.SPKISHA256 = fp.Hex()
		}
	}
	if o.KCV != "" {
		t.KCV, t.KCVMethod = o.KCV, keycheck.MethodECB
	}
	return t
}

// describeObject names an object for the room.
func describeObject(o transcript.TokenObject) string {
	kind := o.Class
	if o.KeyType != "" {
		kind = o.KeyType + " " + o.Class
	}
	s := fmt.Sprintf("%q (%s, ID %s)", o.Label, kind, orDash(o.ID))
	switch {
	case o.SPKISHA256 != "":
		s += ", SPKI SHA-256 " + fingerprint.Grouped(mustHex(o.SPKISHA256))
	case o.KCV != "":
		s += fmt.Sprintf(", check value %s (%s)", o.KCV, o.KCVMethod)
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// mustHex decodes a hex string the code itself made.
func mustHex(h string) []byte {
	b, _ := hex.DecodeString(h)
	return b
}

// loginRole logs tok in as role with pin, after logging out whoever is logged in. A wrong
// PIN changes nothing on the token and says so.
func loginRole(tok *hsm.Token, role hsm.Role, pin []byte) error {
	if err := tok.Logout(); err != nil {
		zeroBytes(pin)
		return err
	}
	if err := tok.Login(role, pin); err != nil {
		if errors.Is(err, hsm.ErrPINIncorrect) {
			return fmt.Errorf("the %s PIN of token %q was not accepted (%w); nothing on the token was changed", role, tok.Info.Label, err)
		}
		return err
	}
	return nil
}

// cloned is a copy of a PIN for a second use; the caller zeroes both.
func cloned(pin []byte) []byte { return bytes.Clone(pin) }
