package ceremony

import (
	"errors"
	"fmt"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
)

// TypePINChange changes a token's user PIN or Security Officer PIN (C_SetPIN, logged in as
// that role with the old PIN), by the PIN's holder: old and new at masked prompts. The
// transcript records who changed which PIN on which token, when, and that a login with the new
// PIN succeeded — never a PIN. A wrong old PIN changes nothing: the ceremony closes as aborted
// and sealed, and says so.
const TypePINChange = "token-pin-change"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypePINChange, Title: "PIN change", Example: "token-pin-change",
			Description: "A token's user or Security Officer PIN is changed by its holder, old and new PIN typed at masked prompts; the transcript records who changed which PIN and when, never the PIN."},
		previous:    previousSealed,
		validate:    (*Script).validatePINChange,
		steps:       pinChangeSteps,
		tokenChecks: pinChangeChecks,
	})
}

// PINChangeConfig names the token, the role whose PIN changes and its holder.
type PINChangeConfig struct {
	// Token is the label of the token whose PIN changes; empty: the ceremony's own token.
	Token  string `yaml:"token,omitempty"`
	Role   string `yaml:"role"`   // "user" or "security-officer"
	Holder string `yaml:"holder"` // the participant who holds the PIN
}

// role is the PKCS#11 role whose PIN changes.
func (c *PINChangeConfig) role() hsm.Role {
	if c.Role == "security-officer" {
		return hsm.SO
	}
	return hsm.User
}

func (s *Script) validatePINChange(v *validator) {
	c := s.PINChange
	if c == nil {
		v.errorf("pin_change", "name the PIN to change and its holder (pin_change: role, holder; token: the token's label if not this ceremony's own)")
		return
	}
	if c.Token != "" {
		v.tokenLabel("pin_change.token", c.Token)
	}
	switch c.Role {
	case "user":
		s.holderOf(v, "pin_change.holder", c.Holder)
	case "security-officer":
		s.holderOf(v, "pin_change.holder", c.Holder, "security-officer")
	default:
		v.errorf("pin_change.role", "%q is not a PIN's role: use user or security-officer", c.Role)
	}
}

func pinChangeSteps(s *Script) []step {
	root := rootSteps(s)
	c := s.PINChange
	token := "this ceremony's token"
	if c.Token != "" {
		token = fmt.Sprintf("token %q", c.Token)
	}
	return []step{root[0], continueStep(),
		{id: "change-pin", title: "Change the " + c.role().String() + " PIN", actorRole: roleOfHolder(s, c.Holder), witness: true,
			explain: fmt.Sprintf("%s types the current %s PIN of %s and then the new one twice, at masked prompts. The token checks the old PIN; a wrong one changes nothing. The new PIN is proved by a login; no PIN is recorded.", c.Holder, c.role(), token),
			run:     (*Run).changePIN},
		root[4]}
}

// roleOfHolder is the script role of the participant named name.
func roleOfHolder(s *Script, name string) string {
	for _, p := range s.Participants {
		if p.Name == name {
			return p.Role
		}
	}
	return "administrator"
}

// pinChangeChecks finds the token and refuses, before anything changes, one without a login,
// write-protected, with a PIN pad, or whose PIN for the role is locked or unset.
func pinChangeChecks(p *preflighter) {
	r, c := p.r, p.r.Script.PINChange
	n := len(p.errs)
	ti := r.token.Info
	own := c.Token == "" || (c.Token == ti.Label)
	if !own {
		var ok bool
		if ti, ok = p.findSubject("pin_change.token", c.Token); !ok {
			return
		}
	}
	if !ti.Flags.LoginRequired {
		p.fieldf("pin_change.token", "token %q (serial %s) requires no login (CKF_LOGIN_REQUIRED is clear): it has no PIN to change", ti.Label, ti.Serial)
	}
	p.adminFlags("pin_change.token", ti, c.role())
	if len(p.errs) == n {
		st := r.tokenState()
		st.info, st.own = ti, own
		p.passed(fmt.Sprintf("token %q (serial %s) requires a login and its %s PIN is set and not locked", ti.Label, ti.Serial, c.role()))
	}
}

func (r *Run) changePIN() (err error) {
	c := r.Script.PINChange
	st := r.tokenState()
	role := c.role()
	tok := r.token
	if !st.own {
		if tok, err = r.openToken(st.info); err != nil {
			return err
		}
		st.token = tok
		defer st.close()
	} else {
		// The ceremony's own token: its user is logged in again afterwards, whatever happens,
		// so that the transcript signer can seal (or, after a refusal, seal it aborted).
		defer func() { err = errors.Join(err, r.reloginOwn(role)) }()
	}
	old, err := r.currentPIN(tok.Info.Label, role, c.Holder)
	if err != nil {
		return err
	}
	defer zeroBytes(old)
	pin, err := r.newPIN(tok.Info.Label, role, c.Holder, st.info.Flags)
	if err != nil {
		return err
	}
	defer zeroBytes(pin)
	// A fresh login as the role checks the old PIN before anything changes.
	if err := loginRole(tok, role, cloned(old)); err != nil {
		return err
	}
	if err := tok.SetPIN(cloned(old), cloned(pin)); err != nil {
		return fmt.Errorf("%w; the token refused the change, so its %s PIN is unchanged", err, role)
	}
	if s := r.binding.Store; s != nil {
		if err := s.ReplacePIN(tok.Info.Label, role, pin); err != nil {
			return fmt.Errorf("the %s PIN of rehearsal token %q changed, but the store could not keep it: %w", role, tok.Info.Label, err)
		}
	}
	verified := loginRole(tok, role, cloned(pin)) == nil
	tok.Logout()
	if st.own && role == hsm.User {
		st.newUser = cloned(pin)
	}
	if _, err := r.record(transcript.EventPINChanged, transcript.PINChanged{TokenLabel: tok.Info.Label, TokenSerial: tok.Info.Serial,
		Role: role.String(), Holder: c.Holder, PINEntry: r.pinEntry(), Verified: verified}); err != nil {
		return err
	}
	if !verified {
		return fmt.Errorf("the %s PIN of token %q was changed, but a login with the new PIN failed: stop and investigate", role, tok.Info.Label)
	}
	r.UI.Note(fmt.Sprintf("The %s PIN of token %q was changed by %s; a login with the new PIN succeeded. No PIN is recorded.", role, tok.Info.Label, c.Holder))
	return nil
}

// reloginOwn logs the ceremony's own token in as its user again after a PIN change on it:
// with the new user PIN if that is what changed, else with the binding's.
func (r *Run) reloginOwn(role hsm.Role) error {
	if who := r.token.Role(); who != nil && *who == hsm.User {
		return nil
	}
	pin := r.tok.newUser
	r.tok.newUser = nil
	if pin == nil {
		var err error
		if pin, err = r.binding.PIN(); err != nil {
			return fmt.Errorf("log in to token %q again after the %s PIN change: %w", r.token.Info.Label, role, err)
		}
	}
	return loginRole(r.token, hsm.User, pin)
}
