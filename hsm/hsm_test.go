package hsm

import (
	"crypto/x509"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"
)

// The tests run against real SoftHSM2 in a rehearsal store of their own.
var (
	testOnce   sync.Once
	testModule *Module
	testStore  *Rehearsal
	testErr    error
)

func module(t *testing.T) (*Module, *Rehearsal) {
	t.Helper()
	testOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keyrite-hsm-test-")
		if err != nil {
			testErr = err
			return
		}
		if testStore, testErr = PrepareRehearsal(dir); testErr == nil {
			testModule, testErr = Open(SoftHSMModule)
		}
	})
	if testErr != nil {
		t.Fatalf("SoftHSM2 is needed for this test (apt-get install softhsm2): %v", testErr)
	}
	return testModule, testStore
}

func loggedIn(t *testing.T, label string) *Token {
	t.Helper()
	m, r := module(t)
	if _, err := r.EnsureToken(m, label); err != nil {
		t.Fatal(err)
	}
	tok, err := m.OpenToken(Selector{Label: label})
	if err != nil {
		t.Fatal(err)
	}
	pin, err := r.PIN(label, User)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Login(User, pin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tok.Close() })
	return tok
}

func TestGenerateEveryAlgorithm(t *testing.T) {
	tok := loggedIn(t, "gen-test")
	for _, alg := range Algorithms {
		for _, extractable := range []bool{false, true} {
			name := string(alg)
			if extractable {
				name += "-backup"
			}
			t.Run(name, func(t *testing.T) {
				k, err := tok.GenerateKeyPair(KeySpec{Label: "k-" + name, Algorithm: alg, Extractable: extractable})
				if err != nil {
					t.Fatal(err)
				}
				if k.Algorithm != alg {
					t.Fatalf("algorithm %s, want %s", k.Algorithm, alg)
				}
				if !k.Attributes["CKA_SENSITIVE"] || k.Attributes["CKA_EXTRACTABLE"] != extractable || k.Attributes["CKA_WRAP_WITH_TRUSTED"] != extractable || !k.Attributes["CKA_LOCAL"] {
					t.Fatalf("attributes %v", k.Attributes)
				}
				if _, err := x509.MarshalPKIXPublicKey(k.Public()); err != nil {
					t.Fatal(err)
				}
				found, err := tok.FindKeyPair(k.Label)
				if err != nil {
					t.Fatal(err)
				}
				if err := SelfTest(found); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// SelfTestAgainst accepts a key only against its own public key: not another key of the same
// algorithm, nor one of another algorithm.
func TestSelfTestAgainstOtherKeyFails(t *testing.T) {
	tok := loggedIn(t, "selftest-test")
	keys := map[Algorithm]*KeyPair{}
	for _, alg := range []Algorithm{ECDSAP256, RSA3072, Ed25519} {
		for _, n := range []string{"a", "b"} {
			k, err := tok.GenerateKeyPair(KeySpec{Label: string(alg) + "-" + n, Algorithm: alg})
			if err != nil {
				t.Fatal(err)
			}
			if n == "a" {
				keys[alg] = k
			} else if err := SelfTestAgainst(keys[alg], k.Public()); err == nil {
				t.Errorf("%s: a key passed against another %s key", alg, alg)
			}
		}
	}
	for alg, k := range keys {
		if err := SelfTestAgainst(k, k.Public()); err != nil {
			t.Errorf("%s: against its own public key: %v", alg, err)
		}
		for other, o := range keys {
			if other != alg {
				if err := SelfTestAgainst(k, o.Public()); err == nil {
					t.Errorf("%s key passed against a %s public key", alg, other)
				}
			}
		}
	}
}

func TestGenerateRefusesExistingLabel(t *testing.T) {
	tok := loggedIn(t, "label-test")
	if _, err := tok.GenerateKeyPair(KeySpec{Label: "root", Algorithm: ECDSAP256}); err != nil {
		t.Fatal(err)
	}
	before, _ := tok.Objects()
	_, err := tok.GenerateKeyPair(KeySpec{Label: "root", Algorithm: ECDSAP384})
	if err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Fatalf("second generation: %v", err)
	}
	after, _ := tok.Objects()
	if len(before) != len(after) {
		t.Fatalf("objects %d -> %d", len(before), len(after))
	}
}

func TestWrongPINSaysSo(t *testing.T) {
	m, r := module(t)
	if _, err := r.EnsureToken(m, "pin-test"); err != nil {
		t.Fatal(err)
	}
	tok, err := m.OpenToken(Selector{Label: "pin-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	err = tok.Login(User, []byte("not-the-pin"))
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrPINIncorrect) || !Is(err, pkcs11.CKR_PIN_INCORRECT) || !strings.Contains(err.Error(), "wrong PIN") {
		t.Fatalf("err = %v", err)
	}
}

func TestFindTokenErrors(t *testing.T) {
	m, _ := module(t)
	if _, err := m.Find(Selector{Label: "no-such-token"}); err == nil || !strings.Contains(err.Error(), "tokens present") {
		t.Fatalf("err = %v", err)
	}
	if _, err := m.Find(Selector{}); err == nil {
		t.Fatal("empty selector accepted")
	}
}

func TestParseURI(t *testing.T) {
	u, err := ParseURI("pkcs11:token=Root%20CA;serial=abc;type=private?module-path=/usr/lib/x.so&pin-source=file:/run/pin")
	if err != nil {
		t.Fatal(err)
	}
	if u.Token != "Root CA" || u.Serial != "abc" || u.ModulePath != "/usr/lib/x.so" || u.PinSource != "file:/run/pin" {
		t.Fatalf("%+v", u)
	}
	for _, bad := range []string{"pkcs11:token=a?pin-value=1234", "http://x", "pkcs11:token=a;token=b", "pkcs11:novalue"} {
		if _, err := ParseURI(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseURI(f *testing.F) {
	f.Add("pkcs11:token=Root%20CA;serial=abc?module-path=/usr/lib/x.so")
	f.Add("pkcs11:")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err == nil && u == nil {
			t.Fatal("nil URI without error")
		}
	})
}
