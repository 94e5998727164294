package ceremony

import (
	"fmt"
	"strings"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// TypeKeyState records a change of a key's state (NIST SP 800-57 part 1, 5.3): compromised,
// suspended, reactivated (back to active from suspended) or deactivated, with the reason,
// confirmed by the Security Officer under witness. Nothing on the HSM changes: the state is
// enforced by the pre-flight of every later ceremony of the hierarchy, which refuses a key
// whose state forbids the use and names the state and this ceremony.
const TypeKeyState = "key-state"

// The changes a key-state ceremony makes. "reactivated" records the state "active".
const (
	changeCompromised = keyCompromised
	changeSuspended   = keySuspended
	changeDeactivated = keyDeactivated
	changeReactivated = "reactivated"
)

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeKeyState, Title: "Key state change", Example: "key-state",
			Description: "A key is declared compromised, suspended, reactivated or deactivated, with the reason, confirmed by the Security Officer under witness; every later ceremony refuses the uses its state forbids."},
		previous:  previousSealed,
		validate:  (*Script).validateKeyState,
		steps:     keyStateSteps,
		keyStates: keyStateChangeStates,
		supports:  onTokenCases(TypeKeyState),
	})
}

// KeyStateConfig names the key whose state changes, the new state and why.
type KeyStateConfig struct {
	Key    string `yaml:"key"`
	State  string `yaml:"state"` // compromised, suspended, reactivated or deactivated
	Reason string `yaml:"reason"`
}

func (s *Script) validateKeyState(v *validator) {
	c := s.KeyState
	if c == nil || !labelRE.MatchString(c.Key) {
		v.errorf("key_state.key", "name the label of the key whose state changes")
		return
	}
	switch c.State {
	case changeCompromised, changeSuspended, changeReactivated, changeDeactivated:
	default:
		v.errorf("key_state.state", "%q is not a state change: use compromised, suspended, reactivated or deactivated", c.State)
	}
	if strings.TrimSpace(c.Reason) == "" {
		v.errorf("key_state.reason", "say why the state changes (it is recorded)")
	}
	if len(s.People("security-officer")) == 0 {
		v.errorf("participants", "a key state change is confirmed by a security-officer: name one")
	}
}

func keyStateSteps(s *Script) []step {
	root := rootSteps(s)
	c := s.KeyState
	return []step{root[0], continueStep(),
		{id: "identify-key", title: "Identify the key", actorRole: "administrator", witness: true,
			explain: fmt.Sprintf("The key %q is read from the HSM: its fingerprint or check value is recorded, so the transcript proves which key changes state.", c.Key),
			run:     func(r *Run) error { return r.identify(c.Key) }},
		{id: "change-state", title: "Change the key's state", actorRole: "security-officer", witness: true,
			explain: fmt.Sprintf("The key %q becomes %s (reason: %s). Every later ceremony of this hierarchy refuses what a %s key may not do.", c.Key, c.State, c.Reason, c.State),
			run:     (*Run).changeKeyState},
		root[4]}
}

func (r *Run) changeKeyState() error {
	c := r.Script.KeyState
	so := r.Script.People("security-officer")[0]
	if err := r.UI.Confirm(r.ctx, so.Name, fmt.Sprintf("%s: record key %q as %s (reason: %s)?", so.Name, c.Key, c.State, c.Reason)); err != nil {
		return fmt.Errorf("%s did not confirm the state change: %w", so.Name, err)
	}
	spki := ""
	if k, err := r.token.FindKeyPair(c.Key); err == nil {
		fp, _ := fingerprint.OfPublicKey(k.Public())
		spki = fp.Hex()
	}
	state := c.State
	if state == changeReactivated {
		state = keyActive
	}
	since := r.Clock().UTC().Format("2006-01-02T15:04:05Z07:00")
	if _, err := r.record(transcript.EventKeyState, transcript.KeyState{Label: c.Key, SPKISHA256: spki, State: state, Since: since, Reason: c.Reason}); err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("Key %q is %s since %s, confirmed by %s.", c.Key, state, since, so.Name))
	return nil
}

// keyStateChangeStates refuses, in the pre-flight, a change its key's recorded state does not
// allow: a destroyed key has no state to change; a compromised or deactivated key never
// becomes active again (NIST SP 800-57: only a suspended key is reactivated); a key is not
// moved to the state it is in.
func keyStateChangeStates(k keyStateCheck) {
	c := k.p.r.Script.KeyState
	cur := k.st.key(c.Key, "")
	state, since, by := keyActive, "", ""
	if cur != nil {
		state, since, by = cur.State, cur.Since, cur.Ceremony
	}
	refuse := func(msg string) {
		k.p.fieldf("key_state.state", "key %q is %s since %s (ceremony %s): %s", c.Key, state, since, by, msg)
	}
	switch {
	case state == keyDestroyed:
		refuse("a destroyed key has no state to change")
	case c.State == changeReactivated && state != keySuspended:
		if cur == nil || state == keyActive {
			k.p.fieldf("key_state.state", "key %q is active: only a suspended key is reactivated", c.Key)
		} else {
			refuse("only a suspended key is reactivated; a " + state + " key never becomes active again")
		}
	case c.State == state:
		refuse("it is in that state already")
	case c.State == changeSuspended && state != keyActive:
		refuse("only an active key is suspended")
	case c.State == changeDeactivated && state == keyCompromised:
		refuse("a compromised key stays compromised")
	}
}
