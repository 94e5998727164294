package ceremony

import (
	"fmt"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
)

// TypeTokenInit initialises a new token: C_InitToken on an uninitialised slot under a label it
// claims, the Security Officer PIN and the user PIN each chosen by their holder, and evidence
// of the new token: serial, label, model, manufacturer, firmware, a digest of its mechanism
// list, and its empty object list as its new user sees it.
const TypeTokenInit = "token-init"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeTokenInit, Title: "Token initialisation", Example: "token-init", Inputs: []Input{InputInitSlot},
			Description: "A new token is initialised under its label on an uninitialised slot; the Security Officer and the user each choose their PIN at a masked prompt (never recorded), and the token's identity, mechanisms and empty object list are recorded."},
		previous:    previousSealed,
		validate:    (*Script).validateTokenInit,
		steps:       tokenInitSteps,
		tokenChecks: tokenInitChecks,
	})
}

// TokenInitConfig names the token to make and the holders of its PINs.
type TokenInitConfig struct {
	Label         string `yaml:"label"`           // the new token's label, claimed
	SOPINHolder   string `yaml:"so_pin_holder"`   // a security-officer participant
	UserPINHolder string `yaml:"user_pin_holder"` // another participant
}

func (s *Script) validateTokenInit(v *validator) {
	c := s.TokenInit
	if c == nil {
		v.errorf("token_init", "name the new token's label and the holders of its PINs (token_init: label, so_pin_holder, user_pin_holder)")
		return
	}
	v.tokenLabel("token_init.label", c.Label)
	s.validateHolders(v, "token_init", c.SOPINHolder, c.UserPINHolder)
}

// validateHolders checks a token's two PIN holders: a security officer and another person.
func (s *Script) validateHolders(v *validator, section, so, user string) {
	s.holderOf(v, section+".so_pin_holder", so, "security-officer")
	s.holderOf(v, section+".user_pin_holder", user)
	if so != "" && so == user {
		v.errorf(section+".user_pin_holder", "%q holds the Security Officer PIN too; the two PINs are held by two people", user)
	}
}

func tokenInitSteps(s *Script) []step {
	root := rootSteps(s)
	c := s.TokenInit
	return []step{root[0], continueStep(),
		{id: "initialise-token", title: "Initialise the new token", actorRole: "security-officer", witness: true,
			gate: func(*Run) string {
				return fmt.Sprintf("initialise the free slot as the new token %q (C_InitToken)", c.Label)
			},
			gateOn:  func(*Run) string { return c.Label },
			explain: fmt.Sprintf("The uninitialised slot becomes token %q (C_InitToken). %s chooses the Security Officer PIN and %s the user PIN, each typed twice at a masked prompt and never recorded; then the new token's identity, mechanisms and empty object list are recorded.", c.Label, c.SOPINHolder, c.UserPINHolder),
			run:     (*Run).initialiseToken},
		root[4]}
}

// tokenInitChecks finds the slot to initialise and refuses, before anything changes, a label
// another token carries, a slot that is missing or initialised, and a token Keyrite cannot
// administer.
func tokenInitChecks(p *preflighter) {
	r, c := p.r, p.r.Script.TokenInit
	resuming := r.resuming()
	n := len(p.errs)
	m := r.binding.Module
	all, err := m.Tokens()
	if err != nil {
		p.errorf("list the module's slots: %v", err)
		return
	}
	var free []hsm.TokenInfo
	for _, t := range all {
		if t.Initialized && t.Label == c.Label {
			if resuming {
				// The pre-flight found the label free when the ceremony started: the step a
				// stop interrupted made this token. The step records it, checked empty.
				st := r.tokenState()
				st.info, st.made = t, true
				p.passed(fmt.Sprintf("token %q (serial %s) was initialised by the interrupted step", t.Label, t.Serial))
				return
			}
			p.fieldf("token_init.label", "token %q (serial %s) already carries this label; Keyrite never gives two tokens one label (choose another label)", t.Label, t.Serial)
		}
		if !t.Initialized {
			free = append(free, t)
		}
	}
	if st := r.binding.Store; st != nil && !resuming {
		if pin, err := st.PIN(c.Label, hsm.SO); err == nil {
			zeroBytes(pin)
			p.fieldf("token_init.label", "the rehearsal store %s made a token %q already (choose another label, or another rehearsal store)", st.Dir, c.Label)
		}
	}
	slot, ok := p.chooseSlot(free)
	if !ok || !p.subjectText(slot) {
		return
	}
	p.adminFlags("token_init.label", slot)
	if len(p.errs) == n {
		r.tokenState().info = slot
		p.passed(fmt.Sprintf("slot %d holds an uninitialised token (%s %s); no token carries the label %q", slot.Slot, slot.Manufacturer, slot.Model, c.Label))
	}
}

// chooseSlot is the uninitialised slot Options.InitSlot names, or else the only one there is.
func (p *preflighter) chooseSlot(free []hsm.TokenInfo) (hsm.TokenInfo, bool) {
	want := p.r.opt.InitSlot
	var slots []string
	for _, t := range free {
		if want != nil && t.Slot == *want {
			return t, true
		}
		slots = append(slots, fmt.Sprint(t.Slot))
	}
	switch {
	case want != nil:
		p.errorf("slot %d holds no uninitialised token; uninitialised slots: %s (give one with --init-slot N)", *want, orNone(slots))
	case len(free) == 0:
		p.errorf("the module %s shows no uninitialised token: connect a new token (or free a slot with the vendor's tools)", p.r.binding.Module.Path)
	case len(free) > 1:
		p.errorf("the module shows %d uninitialised tokens, in slots %v: say which to initialise (--init-slot N)", len(free), slots)
	default:
		return free[0], true
	}
	return hsm.TokenInfo{}, false
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return fmt.Sprint(s)
}

func (r *Run) initialiseToken() error {
	c := r.Script.TokenInit
	st := r.tokenState()
	if st.made { // a resumed step: the interrupted one initialised the token
		if st.info.UserPINSet {
			return r.recordNewToken(st.info, nil)
		}
		user, err := r.finishUserPIN()
		if err != nil {
			return err
		}
		defer zeroBytes(user)
		return r.recordNewToken(st.info, user)
	}
	so, user, err := r.newTokenPINs()
	if err != nil {
		return err
	}
	defer zeroBytes(so)
	defer zeroBytes(user)
	ti, err := r.binding.Module.InitToken(st.info.Slot, c.Label, cloned(so), cloned(user))
	if err != nil {
		if _, ferr := r.binding.Module.Find(hsm.Selector{Label: c.Label}); ferr != nil && r.binding.Store != nil && !interrupted(err) {
			r.binding.Store.ForgetPINs(c.Label) // refused, no token made: its PINs guard nothing
		}
		return err
	}
	return r.recordNewToken(ti, user)
}

// newTokenPINs are the new token's PINs, each chosen by its holder. A rehearsal token's are
// kept in the store first (a token whose PIN is not kept is a token nobody can use; the
// exclusive files also claim the label in the store); a resumed step takes the ones the
// interrupted step kept.
func (r *Run) newTokenPINs() (so, user []byte, err error) {
	c, slot := r.Script.TokenInit, r.tokenState().info
	store := r.binding.Store
	if store != nil && r.resuming() {
		if so, err = store.PIN(c.Label, hsm.SO); err == nil {
			if user, err = store.PIN(c.Label, hsm.User); err == nil {
				return so, user, nil
			}
			zeroBytes(so)
		}
	}
	if so, err = r.newPIN(c.Label, hsm.SO, c.SOPINHolder, slot.Flags); err != nil {
		return nil, nil, err
	}
	if user, err = r.newPIN(c.Label, hsm.User, c.UserPINHolder, slot.Flags); err == nil && store != nil {
		err = store.ClaimPINs(c.Label, so, user)
	}
	if err != nil {
		zeroBytes(so)
		zeroBytes(user)
		return nil, nil, err
	}
	return so, user, nil
}

// finishUserPIN sets the user PIN of a token whose initialisation stopped before it was set,
// and returns it (the caller zeroes it): the Security Officer types the PIN they chose, the
// user PIN's holder chooses theirs (a rehearsal token's are the store's, kept before the
// interrupted step).
func (r *Run) finishUserPIN() ([]byte, error) {
	c, st := r.Script.TokenInit, r.tokenState()
	so, err := r.currentPIN(c.Label, hsm.SO, c.SOPINHolder)
	if err != nil {
		return nil, err
	}
	var user []byte
	if r.binding.Store != nil {
		user, err = r.binding.Store.PIN(c.Label, hsm.User)
	} else {
		user, err = r.newPIN(c.Label, hsm.User, c.UserPINHolder, st.info.Flags)
	}
	if err != nil {
		zeroBytes(so)
		return nil, err
	}
	if err := r.binding.Module.SetUserPIN(st.info, so, cloned(user)); err != nil {
		zeroBytes(user)
		return nil, err
	}
	st.info.UserPINSet = true
	return user, nil
}

// recordNewToken logs in to the new token ti as its user (with user, or, for a token an
// interrupted step made, the PIN its holder types), checks it is empty, and records it.
func (r *Run) recordNewToken(ti hsm.TokenInfo, user []byte) error {
	c := r.Script.TokenInit
	if user == nil {
		var err error
		if user, err = r.currentPIN(ti.Label, hsm.User, c.UserPINHolder); err != nil {
			return err
		}
		defer zeroBytes(user)
	}
	r.tok.info = ti
	tok, err := r.openToken(ti)
	if err != nil {
		return err
	}
	r.tok.token = tok
	defer r.tok.close()
	if err := tok.Login(hsm.User, cloned(user)); err != nil {
		return fmt.Errorf("token %q was initialised, but its new user PIN does not log in: %w", c.Label, err)
	}
	objs, err := tok.Objects()
	if err != nil {
		return err
	}
	if len(objs) != 0 {
		return fmt.Errorf("the new token %q shows %d objects to its user; a new token is empty: stop and investigate", c.Label, len(objs))
	}
	n, digest, err := r.binding.Module.MechanismDigest(ti)
	if err != nil {
		return err
	}
	if _, err := r.record(transcript.EventTokenInitialised, transcript.TokenInitialised{
		Token: recordedToken(ti), Mechanisms: n, MechanismsSHA256: digest, LoginRequired: ti.Flags.LoginRequired,
		SOPINHolder: c.SOPINHolder, UserPINHolder: c.UserPINHolder, PINEntry: r.pinEntry(), Objects: []transcript.Object{},
	}); err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("Token %s initialised.\n%d mechanisms (list SHA-256 %s…); its user sees no object.\nSecurity Officer PIN set by %s, user PIN set by %s (%s); neither is recorded.", ti, n, digest[:16], c.SOPINHolder, c.UserPINHolder, r.pinEntry()))
	return nil
}

// recordedToken is a token's identity as transcripts record it.
func recordedToken(ti hsm.TokenInfo) transcript.TokenInfo {
	return transcript.TokenInfo{Label: ti.Label, Manufacturer: ti.Manufacturer, Model: ti.Model, Serial: ti.Serial,
		Firmware: ti.Firmware, Hardware: ti.Hardware, Initialized: ti.Initialized, UserPINSet: ti.UserPINSet}
}
