package ceremony

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/keyrite/keyrite/ceremony/transcript"
	keyevidence "github.com/keyrite/keyrite/evidence"
	"github.com/keyrite/keyrite/hsm"
)

// TypeDecommission retires a token: every object on it is listed (class, key type, label, ID,
// and the public key's fingerprint or the secret key's check value, where the token gives
// them without a secret), each is destroyed with the Security Officer's confirmation, the
// token is re-initialised in place with its Security Officer PIN (C_InitToken) and a new user
// PIN is set, and the token is shown empty: no object to a public session, none to its user.
//
// The pre-flight reads the evidence (Options.Evidence, by default the folder holding the
// ceremony continued) and refuses while a key that is not compromised or destroyed has its
// only recorded copy on the token — no other token holds it and no backup or export wrapped
// it — unless the script names it under accept_loss_of, with the reason.
const TypeDecommission = "token-decommission"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeDecommission, Title: "Token decommission", Example: "token-decommission", Inputs: []Input{InputEvidence},
			Description: "Every object on a token is listed and destroyed, the token is re-initialised with its Security Officer PIN and shown empty; refused while a key's only recorded copy is on it, unless the script accepts its loss with a reason."},
		previous:    previousSealed,
		validate:    (*Script).validateDecommission,
		steps:       decommissionSteps,
		tokenChecks: decommissionChecks,
	})
}

// DecommissionConfig names the token to decommission, why, and the holders of its PINs.
type DecommissionConfig struct {
	Token         string `yaml:"token"` // the label of the token to decommission
	Reason        string `yaml:"reason"`
	SOPINHolder   string `yaml:"so_pin_holder"`
	UserPINHolder string `yaml:"user_pin_holder"` // types the current user PIN and sets the new one
	// AcceptLossOf names keys whose only recorded copy is on the token and that are destroyed
	// with it on purpose; AcceptLossReason says why (both are recorded).
	AcceptLossOf     []string `yaml:"accept_loss_of,omitempty"`
	AcceptLossReason string   `yaml:"accept_loss_reason,omitempty"`
}

func (s *Script) validateDecommission(v *validator) {
	c := s.Decommission
	if c == nil {
		v.errorf("decommission", "name the token to decommission, why, and the holders of its PINs (decommission: token, reason, so_pin_holder, user_pin_holder)")
		return
	}
	v.tokenLabel("decommission.token", c.Token)
	if strings.TrimSpace(c.Reason) == "" {
		v.errorf("decommission.reason", "say why the token is decommissioned (it is recorded)")
	}
	s.validateHolders(v, "decommission", c.SOPINHolder, c.UserPINHolder)
	for i, l := range c.AcceptLossOf {
		v.label(fmt.Sprintf("decommission.accept_loss_of.%d", i), l)
	}
	if len(c.AcceptLossOf) > 0 && strings.TrimSpace(c.AcceptLossReason) == "" {
		v.errorf("decommission.accept_loss_reason", "say why losing %s for good is accepted (it is recorded)", strings.Join(c.AcceptLossOf, ", "))
	}
}

func decommissionSteps(s *Script) []step {
	root := rootSteps(s)
	c := s.Decommission
	return []step{root[0], continueStep(),
		{id: "list-token-objects", title: "List every object on the token", actorRole: "administrator", witness: true,
			explain: fmt.Sprintf("%s logs in to token %q as its user; every object on it is listed and recorded: class, key type, label, ID, and the public key's fingerprint or the secret key's check value.", c.UserPINHolder, c.Token),
			run:     (*Run).listTokenObjects},
		{id: "destroy-token-objects", title: "Destroy every object on the token", actorRole: "security-officer", witness: true,
			gate: func(*Run) string {
				return fmt.Sprintf("destroy every object on token %q, one by one (reason: %s); this cannot be undone", c.Token, c.Reason)
			},
			gateOn:  func(*Run) string { return c.Token },
			explain: fmt.Sprintf("With %s's confirmation every object on token %q is destroyed, one by one, and recorded (reason: %s). This cannot be undone.", c.SOPINHolder, c.Token, c.Reason),
			run:     (*Run).destroyTokenObjects},
		{id: "reinitialise-token", title: "Re-initialise the token and show it empty", actorRole: "security-officer", witness: true,
			gate: func(*Run) string {
				return fmt.Sprintf("re-initialise token %q (C_InitToken) and set a new user PIN", c.Token)
			},
			gateOn:  func(*Run) string { return c.Token },
			explain: fmt.Sprintf("%s re-initialises token %q with the Security Officer PIN (C_InitToken), %s sets a new user PIN, and the token is shown empty: no object in a public session, none to its user.", c.SOPINHolder, c.Token, c.UserPINHolder),
			run:     (*Run).reinitialiseToken},
		root[4]}
}

// decommissionChecks finds the token and refuses, before anything changes, the ceremony's own
// token, a token Keyrite cannot administer, and the loss of a key whose only recorded copy is
// on it.
func decommissionChecks(p *preflighter) {
	r, c := p.r, p.r.Script.Decommission
	ti, ok := p.findSubject("decommission.token", c.Token)
	if !ok {
		return
	}
	r.tokenState().info = ti
	if r.resuming() {
		return // the rest was checked when it started; objects may be gone by now
	}
	n := len(p.errs)
	if ti.Serial == r.token.Info.Serial && ti.Label == r.token.Info.Label {
		p.fieldf("decommission.token", "token %q (serial %s) is this ceremony's own token: it holds the transcript signer that seals the ceremony. Decommission it from a ceremony of another token's hierarchy", ti.Label, ti.Serial)
	}
	p.adminFlags("decommission.token", ti, hsm.User, hsm.SO)
	p.onlyCopies(ti)
	if len(p.errs) == n {
		p.passed(fmt.Sprintf("token %q (serial %s) can be decommissioned: not this ceremony's token, no locked PIN, and no key's only recorded copy is lost unless the script accepts it", ti.Label, ti.Serial))
	}
}

// evidenceDir is the folder tree a decommission reads keys and copies from.
func (r *Run) evidenceDir() string {
	if r.opt.Evidence != "" {
		return r.opt.Evidence
	}
	return filepath.Dir(filepath.Clean(r.opt.Previous))
}

// onlyCopies reads the evidence and refuses the loss of every key, not compromised or
// destroyed, whose only recorded copy is on token ti, unless the script accepts it; it refuses
// an accept_loss_of that names no such key (a typo must not pass for a decision).
func (p *preflighter) onlyCopies(ti hsm.TokenInfo) {
	r, c := p.r, p.r.Script.Decommission
	dir := r.evidenceDir()
	inv, err := keyevidence.InventoryTree(dir, r.Clock())
	if err != nil {
		p.errorf("read the evidence in %s to find the keys on token %q: %v (name the evidence folder tree with --evidence DIR)", dir, ti.Label, err)
		return
	}
	accepted := map[string]bool{}
	only := map[string]bool{}
	known := map[string]bool{}
	for _, k := range inv.Keys {
		if k.Kind == "key pair" {
			if spki, ok := strings.CutPrefix(k.Identity, "SPKI SHA-256 "); ok {
				known[spki] = true
			}
		}
	}
	for _, k := range inv.Keys {
		if !onlyCopyOn(k, ti.Serial) {
			continue
		}
		if !contains(c.AcceptLossOf, k.Label) {
			p.fieldf("decommission.token", "key %q (%s) is %s and its only recorded copy is on token %q (serial %s): no other token holds it and no backup or export wrapped it, so decommissioning the token loses it for good. Move or back it up first, or, if its loss is intended, name it under decommission.accept_loss_of with accept_loss_reason", k.Label, k.Identity, k.State, ti.Label, ti.Serial)
			continue
		}
		accepted[k.Label] = true
		only[k.Label] = true
		if spki, ok := strings.CutPrefix(k.Identity, "SPKI SHA-256 "); ok {
			only[spki] = true
		}
	}
	for i, l := range c.AcceptLossOf {
		if !accepted[l] {
			p.fieldf(fmt.Sprintf("decommission.accept_loss_of.%d", i), "%q names no key whose only recorded copy is on token %q in the evidence %s; remove it (a loss is accepted only for a key the evidence shows)", l, ti.Label, dir)
		}
	}
	r.tokenState().onlyCopies, r.tokenState().known = only, known
	p.passed(fmt.Sprintf("evidence in %s read: %d keys, %d ceremonies not verified", dir, len(inv.Keys), len(inv.Unverified)))
}

// onlyCopyOn reports whether key k, in a state that may still be used, has its only recorded
// copy on the token with serial.
func onlyCopyOn(k *keyevidence.KeyHistory, serial string) bool {
	if k.State == keyevidence.StateDestroyed || k.State == keyevidence.StateCompromised || len(k.WrappedBy) > 0 {
		return false
	}
	here := false
	for _, cp := range k.Copies {
		if cp.State == keyevidence.StateDestroyed {
			continue
		}
		if cp.Token != serial {
			return false
		}
		here = true
	}
	return here
}

// subjectToken opens the token to decommission and logs in as its user, once per step. With
// checkSO, the Security Officer's PIN is checked first by a login, and kept for the
// re-initialisation: a wrong one stops the ceremony before anything is destroyed, never
// between the destruction and the re-initialisation.
func (r *Run) subjectToken(checkSO bool) (*hsm.Token, error) {
	st := r.tokenState()
	c := r.Script.Decommission
	tok, err := r.openToken(st.info)
	if err != nil {
		return nil, err
	}
	st.token = tok
	if checkSO {
		so, err := r.currentPIN(tok.Info.Label, hsm.SO, c.SOPINHolder)
		if err != nil {
			return nil, err
		}
		if err := loginRole(tok, hsm.SO, cloned(so)); err != nil {
			zeroBytes(so)
			return nil, err
		}
		zeroBytes(st.soPIN)
		st.soPIN = so
	}
	pin, err := r.currentPIN(tok.Info.Label, hsm.User, c.UserPINHolder)
	if err != nil {
		return nil, err
	}
	if err := loginRole(tok, hsm.User, pin); err != nil {
		return nil, err
	}
	return tok, nil
}

func (r *Run) listTokenObjects() error {
	c := r.Script.Decommission
	tok, err := r.subjectToken(false)
	if err != nil {
		return err
	}
	defer r.tok.close()
	objs, err := tok.Describe()
	if err != nil {
		return err
	}
	rec := transcript.TokenObjects{TokenLabel: tok.Info.Label, TokenSerial: tok.Info.Serial, Objects: describedObjects(objs)}
	if len(c.AcceptLossOf) > 0 {
		rec.AcceptedLoss, rec.AcceptedLossReason = c.AcceptLossOf, c.AcceptLossReason
	}
	if known := r.tok.known; known != nil {
		// Key pairs no ceremony in the evidence recorded: made outside Keyrite, or by a
		// ceremony whose evidence is elsewhere. The room sees them before confirming.
		for _, o := range rec.Objects {
			if o.Class == "private key" && o.SPKISHA256 != "" && !known[o.SPKISHA256] {
				rec.NotInEvidence = append(rec.NotInEvidence, o.Label)
			}
		}
	}
	if _, err := r.record(transcript.EventTokenObjectsListed, rec); err != nil {
		return err
	}
	lines := []string{fmt.Sprintf("Token %s holds %d object(s):", tok.Info, len(objs))}
	for _, o := range rec.Objects {
		lines = append(lines, "  "+describeObject(o))
	}
	if len(rec.NotInEvidence) > 0 {
		lines = append(lines, fmt.Sprintf("No ceremony in the evidence %s recorded the key pair(s) %s: they were made outside Keyrite, or their evidence is elsewhere. Check before the destruction is confirmed.", r.evidenceDir(), strings.Join(rec.NotInEvidence, ", ")))
	}
	r.UI.Note(strings.Join(lines, "\n"))
	return nil
}

func (r *Run) destroyTokenObjects() error {
	c := r.Script.Decommission
	tok, err := r.subjectToken(true)
	if err != nil {
		return err
	}
	defer r.tok.close()
	n, err := tok.Count()
	if err != nil {
		return err
	}
	if err := r.UI.Confirm(r.ctx, c.SOPINHolder, fmt.Sprintf("%s: destroy all %d objects on token %q (serial %s) now? This cannot be undone.", c.SOPINHolder, n, tok.Info.Label, tok.Info.Serial)); err != nil {
		r.record(transcript.EventDestructionDeclined, transcript.Refusal{By: c.SOPINHolder, Reason: reasonOf(err)})
		return fmt.Errorf("%s did not confirm the destruction: %w", c.SOPINHolder, err)
	}
	only := r.tok.onlyCopies
	destroyed := &r.tok.destroyed
	err = tok.DestroyEvery(func(o hsm.ObjectInfo) error {
		obj := tokenObject(o)
		last := only[obj.Label] && (obj.SPKISHA256 == "" || only[obj.SPKISHA256])
		*destroyed++
		_, err := r.record(transcript.EventTokenObjectDestroyed, transcript.TokenObjectDestroyed{TokenObject: obj, TokenSerial: tok.Info.Serial,
			Reason: c.Reason, ConfirmedBy: c.SOPINHolder, LastCopy: last})
		return err
	})
	if err != nil {
		return err
	}
	if left, err := tok.Count(); err != nil || left != 0 {
		return fmt.Errorf("token %q still shows %d objects after each was destroyed (%v): stop and investigate", tok.Info.Label, left, err)
	}
	r.UI.Note(fmt.Sprintf("%d object(s) destroyed on token %q; its user sees none.", *destroyed, tok.Info.Label))
	return nil
}

func (r *Run) reinitialiseToken() error {
	c := r.Script.Decommission
	st := r.tokenState()
	r.tok.close() // C_InitToken needs every session on the token closed
	ti := st.info
	so := st.soPIN // checked by a login before the destruction; asked again after a resume
	st.soPIN = nil
	if so == nil {
		var err error
		if so, err = r.currentPIN(ti.Label, hsm.SO, c.SOPINHolder); err != nil {
			return err
		}
	}
	defer zeroBytes(so)
	user, err := r.newPIN(ti.Label, hsm.User, c.UserPINHolder, ti.Flags)
	if err != nil {
		return err
	}
	defer zeroBytes(user)
	now, err := r.binding.Module.ReinitToken(ti, cloned(so), cloned(user))
	if err != nil {
		return err
	}
	if s := r.binding.Store; s != nil {
		if err := s.ReplacePIN(ti.Label, hsm.User, user); err != nil {
			return fmt.Errorf("rehearsal token %q was re-initialised, but the store could not keep its new user PIN: %w", ti.Label, err)
		}
	}
	st.info = now
	tok, err := r.openToken(now)
	if err != nil {
		return err
	}
	st.token = tok
	defer r.tok.close()
	public, err := tok.Count()
	if err != nil {
		return err
	}
	if err := loginRole(tok, hsm.User, cloned(user)); err != nil {
		return fmt.Errorf("token %q was re-initialised, but its new user PIN does not log in: %w", ti.Label, err)
	}
	private, err := tok.Count()
	if err != nil {
		return err
	}
	destroyed := st.destroyed
	for _, e := range r.resumed {
		if e.Event == transcript.EventTokenObjectDestroyed {
			destroyed++
		}
	}
	if _, err := r.record(transcript.EventTokenDecommissioned, transcript.TokenDecommissioned{Token: recordedToken(now), Reason: c.Reason,
		ObjectsDestroyed: destroyed, UserObjects: private, PublicObjects: public,
		SOPINHolder: c.SOPINHolder, UserPINHolder: c.UserPINHolder, PINEntry: r.pinEntry()}); err != nil {
		return err
	}
	if public != 0 || private != 0 {
		return fmt.Errorf("token %q was re-initialised but is not empty: %d objects in a public session, %d to its user; stop and investigate", ti.Label, public, private)
	}
	r.UI.Note(fmt.Sprintf("Token %s re-initialised: a public session sees 0 objects, its user 0. New user PIN set by %s; no PIN is recorded.", now, c.UserPINHolder))
	return nil
}
