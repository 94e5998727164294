package hsm

import (
	"bytes"
	"errors"
	"testing"
)

// A token initialised on a free slot takes both PINs; a wrong old PIN changes nothing; every
// object listed is destroyed; a re-initialisation in place keeps the serial and leaves the
// token empty under its new user PIN.
func TestTokenAdministration(t *testing.T) {
	m, _ := module(t)
	free, err := m.Uninitialised()
	if err != nil || len(free) == 0 {
		t.Fatalf("SoftHSM offers no free slot: %v %v", free, err)
	}
	so, user := []byte("so-pin-0001"), []byte("user-pin-0001")
	ti, err := m.InitToken(free[0].Slot, "admin-test", bytes.Clone(so), bytes.Clone(user))
	if err != nil {
		t.Fatal(err)
	}
	if !ti.Initialized || !ti.UserPINSet || !ti.Flags.LoginRequired {
		t.Fatalf("after InitToken: %+v", ti)
	}
	if _, err := m.InitToken(free[0].Slot, "admin-test", bytes.Clone(so), bytes.Clone(user)); !errors.Is(err, ErrLabelTaken) {
		t.Fatalf("a second token with the label: %v, want ErrLabelTaken", err)
	}
	if n, digest, err := m.MechanismDigest(ti); err != nil || n == 0 || len(digest) != 64 {
		t.Fatalf("mechanism digest: %d %q %v", n, digest, err)
	}

	tok, err := m.OpenToken(Selector{Serial: ti.Serial})
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Login(User, bytes.Clone(user)); err != nil {
		t.Fatal(err)
	}
	if err := tok.SetPIN([]byte("wrong"), []byte("user-pin-0002")); !errors.Is(err, ErrPINIncorrect) {
		t.Fatalf("SetPIN with a wrong old PIN: %v, want ErrPINIncorrect", err)
	}
	if _, err := tok.GenerateKeyPair(KeySpec{Label: "doomed", Algorithm: ECDSAP256}); err != nil {
		t.Fatal(err)
	}
	objs, err := tok.Describe()
	if err != nil || len(objs) != 2 {
		t.Fatalf("Describe: %v %v", objs, err)
	}
	for _, o := range objs {
		if o.Public == nil {
			t.Errorf("%s %q: no public key read", o.Class, o.Label)
		}
	}
	var gone []ObjectInfo
	if err := tok.DestroyEvery(func(o ObjectInfo) error { gone = append(gone, o); return nil }); err != nil || len(gone) != 2 {
		t.Fatalf("DestroyEvery: %v %v", gone, err)
	}
	if n, err := tok.Count(); err != nil || n != 0 {
		t.Fatalf("after DestroyEvery: %d objects, %v", n, err)
	}
	tok.Close()

	again, err := m.ReinitToken(ti, bytes.Clone(so), []byte("user-pin-0003"))
	if err != nil {
		t.Fatal(err)
	}
	if again.Serial != ti.Serial {
		t.Fatalf("re-initialisation changed the serial %s to %s", ti.Serial, again.Serial)
	}
	tok, err = m.OpenToken(Selector{Serial: ti.Serial})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	if err := tok.Login(User, bytes.Clone(user)); !errors.Is(err, ErrPINIncorrect) {
		t.Fatalf("the old user PIN after re-initialisation: %v, want ErrPINIncorrect", err)
	}
	if err := tok.Login(User, []byte("user-pin-0003")); err != nil {
		t.Fatal(err)
	}
	if err := tok.SetPIN([]byte("user-pin-0003"), []byte("user-pin-0004")); err != nil {
		t.Fatal(err)
	}
	tok.Logout()
	if err := tok.Login(User, []byte("user-pin-0004")); err != nil {
		t.Fatalf("the changed user PIN: %v", err)
	}
}
