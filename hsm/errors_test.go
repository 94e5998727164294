package hsm

import (
	"errors"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"
)

// Every CKR code a caller branches on matches its sentinel and keeps its code, so a message
// can be specific and a caller can still test the exact code.
func TestSentinelsKeepTheCode(t *testing.T) {
	for code, want := range map[uint]error{
		pkcs11.CKR_PIN_INCORRECT:          ErrPINIncorrect,
		pkcs11.CKR_PIN_LOCKED:             ErrPINLocked,
		pkcs11.CKR_TOKEN_NOT_PRESENT:      ErrTokenNotPresent,
		pkcs11.CKR_DEVICE_REMOVED:         ErrTokenNotPresent,
		pkcs11.CKR_SESSION_HANDLE_INVALID: ErrTokenNotPresent,
		pkcs11.CKR_MECHANISM_INVALID:      ErrMechanismNotSupported,
	} {
		err := wrap("log in as user to token", "t", pkcs11.Error(code))
		if !errors.Is(err, want) || !errors.Is(err, pkcs11.Error(code)) || !Is(err, code) {
			t.Errorf("0x%x: errors.Is(%v, %v) is false, or the code is lost", code, err, want)
		}
		for _, other := range []error{ErrPINIncorrect, ErrPINLocked, ErrTokenNotPresent, ErrLabelTaken, ErrNotFound, ErrMechanismNotSupported, ErrTokenInUse} {
			if other != want && errors.Is(err, other) {
				t.Errorf("0x%x also matches %v", code, other)
			}
		}
		if !strings.Contains(err.Error(), `token "t"`) || !strings.Contains(err.Error(), "CKR_") {
			t.Errorf("0x%x: message %q lacks the object or the code", code, err)
		}
	}
	if err := wrap("sign", "k", pkcs11.Error(pkcs11.CKR_FUNCTION_FAILED)); errors.Is(err, ErrTokenNotPresent) || errors.Is(err, ErrPINIncorrect) {
		t.Errorf("an unmapped code matched a sentinel: %v", err)
	}
	cause := errors.New("cause")
	if err := errorf(ErrNotFound, "find %q: %w", "x", cause); !errors.Is(err, ErrNotFound) || !errors.Is(err, cause) || err.Error() != `find "x": cause` {
		t.Errorf("errorf: %v", err)
	}
}

// The sentinels come out of real calls on SoftHSM.
func TestSentinelsFromTheToken(t *testing.T) {
	m, _ := module(t)
	if _, err := m.Find(Selector{Label: "no-such-token"}); !errors.Is(err, ErrTokenNotPresent) {
		t.Errorf("missing token: %v", err)
	}
	tok := loggedIn(t, "sentinel-test")
	if _, err := tok.FindKeyPair("no-such-key"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	if _, err := tok.FindSecretKey("no-such-key"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing secret key: %v", err)
	}
	if _, err := tok.GenerateKeyPair(KeySpec{Label: "taken", Algorithm: ECDSAP256}); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.GenerateKeyPair(KeySpec{Label: "taken", Algorithm: ECDSAP256}); !errors.Is(err, ErrLabelTaken) {
		t.Errorf("taken label: %v", err)
	}
}

func TestOAEPHashErrorIsMechanismNotSupported(t *testing.T) {
	err := error(&OAEPHashError{Hash: OAEPSHA256, Token: "t", Err: pkcs11.Error(pkcs11.CKR_ARGUMENTS_BAD)})
	if !errors.Is(err, ErrMechanismNotSupported) || !Is(err, pkcs11.CKR_ARGUMENTS_BAD) {
		t.Fatalf("%v", err)
	}
}
