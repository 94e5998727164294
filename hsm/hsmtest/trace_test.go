package hsmtest

import (
	"testing"

	"github.com/keyrite/keyrite/hsm"
)

// The trace tells calls on what the token keeps from calls on session objects: a capability
// trial's throwaway keys are not token calls; a key pair generated on the token, its
// self-test signature and its destruction are.
func TestTraceTellsTokenCalls(t *testing.T) {
	store, err := hsm.PrepareRehearsal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := hsm.Open(hsm.SoftHSMModule)
	if err != nil {
		t.Fatalf("SoftHSM2 is needed (apt-get install softhsm2): %v", err)
	}
	defer m.Close()
	ti, err := store.NewToken(m, "trace")
	if err != nil {
		t.Fatal(err)
	}
	var calls []Call
	tok, err := WithTrace(m, func(c Call) { calls = append(calls, c) }).OpenToken(hsm.Selector{Label: ti.Label})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	pin, _ := store.PIN(ti.Label, hsm.User)
	if err := tok.Login(hsm.User, pin); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.Capabilities(); err != nil {
		t.Fatal(err)
	}
	trial := calls
	calls = nil
	for _, c := range trial {
		if c.Token {
			t.Errorf("the capability trials' %s is traced as a token call", c.Name)
		}
	}
	if len(trial) < 3 {
		t.Fatalf("the capability trials made %d traced calls: %v", len(trial), trial)
	}
	if _, err := tok.GenerateKeyPair(hsm.KeySpec{Label: "kept", Algorithm: hsm.ECDSAP256}); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.DestroyLabel("kept"); err != nil {
		t.Fatal(err)
	}
	token := map[string]bool{}
	for _, c := range calls {
		token[c.Name] = token[c.Name] || c.Token
	}
	for _, want := range []string{"GenerateKeyPair", "SignInit", "DestroyObject"} {
		if !token[want] {
			t.Errorf("%s on a token key is not traced as a token call: %v", want, calls)
		}
	}
}
