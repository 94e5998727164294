package hsm

import (
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"
)

// Sentinel errors: what callers branch on, whatever the module or the call. Every *Error whose
// CKR code means one of these matches it with errors.Is, and still matches the pkcs11.Error
// code itself, so the detail is never lost.
var (
	// ErrPINIncorrect: the token refused the PIN (CKR_PIN_INCORRECT, CKR_PIN_INVALID).
	ErrPINIncorrect = errors.New("the PIN is incorrect")
	// ErrPINLocked: too many wrong PINs (CKR_PIN_LOCKED); the Security Officer must unblock it.
	ErrPINLocked = errors.New("the PIN is locked")
	// ErrTokenNotPresent: no token answers: it was removed, never inserted, or the session to
	// it was lost (CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_REMOVED, CKR_SESSION_HANDLE_INVALID, ...),
	// or no token in the module matches the selector.
	ErrTokenNotPresent = errors.New("the token is not present")
	// ErrLabelTaken: an object with the label already exists on the token.
	ErrLabelTaken = errors.New("the label is taken")
	// ErrNotFound: no object (or not exactly one) matches what was asked for.
	ErrNotFound = errors.New("not found")
	// ErrMechanismNotSupported: the token lacks the mechanism or refuses its parameters
	// (CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID).
	ErrMechanismNotSupported = errors.New("the token does not support the mechanism")
	// ErrTokenInUse: another ceremony holds the token's exclusive lock.
	ErrTokenInUse = errors.New("the token is in use by another ceremony")
)

// sentinels maps CKR codes to the sentinel they mean.
var sentinels = map[pkcs11.Error]error{
	pkcs11.CKR_PIN_INCORRECT:           ErrPINIncorrect,
	pkcs11.CKR_PIN_INVALID:             ErrPINIncorrect,
	pkcs11.CKR_PIN_LOCKED:              ErrPINLocked,
	pkcs11.CKR_TOKEN_NOT_PRESENT:       ErrTokenNotPresent,
	pkcs11.CKR_TOKEN_NOT_RECOGNIZED:    ErrTokenNotPresent,
	pkcs11.CKR_DEVICE_REMOVED:          ErrTokenNotPresent,
	pkcs11.CKR_SLOT_ID_INVALID:         ErrTokenNotPresent,
	pkcs11.CKR_SESSION_HANDLE_INVALID:  ErrTokenNotPresent,
	pkcs11.CKR_SESSION_CLOSED:          ErrTokenNotPresent,
	pkcs11.CKR_MECHANISM_INVALID:       ErrMechanismNotSupported,
	pkcs11.CKR_MECHANISM_PARAM_INVALID: ErrMechanismNotSupported,
}

// kindError is an error Keyrite found itself (not a CKR code) that means one of the sentinels;
// it also keeps any cause its message wrapped with %w.
type kindError struct {
	msg  string
	errs []error
}

func (e *kindError) Error() string   { return e.msg }
func (e *kindError) Unwrap() []error { return e.errs }

// errorf formats a message that matches kind with errors.Is.
func errorf(kind error, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	errs := []error{kind}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		errs = append(errs, u.Unwrap())
	case interface{ Unwrap() []error }:
		errs = append(errs, u.Unwrap()...)
	}
	return &kindError{err.Error(), errs}
}

// Error is a failed PKCS#11 call, named by what Keyrite was doing and on which object, with a
// message a custodian can act on.
type Error struct {
	Op     string // what Keyrite was doing: "log in", "generate key", ...
	Object string // the token or key label, if any
	Code   pkcs11.Error
}

func (e *Error) Error() string {
	what := e.Op
	if e.Object != "" {
		what = fmt.Sprintf("%s %q", e.Op, e.Object)
	}
	if m, ok := explanations[e.Code]; ok {
		return fmt.Sprintf("%s: %s (%s)", what, m, codeName(e.Code))
	}
	return fmt.Sprintf("%s: %s", what, codeName(e.Code))
}

func (e *Error) Unwrap() error { return e.Code }

// Is matches the sentinel the code means (ErrPINIncorrect for CKR_PIN_INCORRECT, ...).
func (e *Error) Is(target error) bool {
	s, ok := sentinels[e.Code]
	return ok && s == target
}

// Is reports whether err is a PKCS#11 failure with the given CKR_ code. Outside this package,
// prefer errors.Is with a sentinel (ErrPINIncorrect, ...): it holds for every module.
func Is(err error, code uint) bool {
	var p pkcs11.Error
	return errors.As(err, &p) && uint(p) == code
}

func codeName(c pkcs11.Error) string {
	// pkcs11.Error prints as "pkcs11: 0xA0: CKR_PIN_INCORRECT"; keep the name.
	s := c.Error()
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ' ' {
			return s[i+1:]
		}
	}
	return s
}

var explanations = map[pkcs11.Error]string{
	pkcs11.CKR_PIN_INCORRECT:                  "wrong PIN; check it and try again (the token locks the PIN after too many failures)",
	pkcs11.CKR_PIN_LOCKED:                     "the PIN is locked after too many wrong attempts; the Security Officer must unblock it",
	pkcs11.CKR_PIN_INVALID:                    "the PIN holds characters this token does not accept; check it and try again",
	pkcs11.CKR_PIN_LEN_RANGE:                  "the PIN is too short or too long for this token",
	pkcs11.CKR_PIN_EXPIRED:                    "the PIN has expired; the Security Officer must set a new one",
	pkcs11.CKR_USER_NOT_LOGGED_IN:             "nobody is logged in to the token; log in first",
	pkcs11.CKR_USER_ALREADY_LOGGED_IN:         "someone is already logged in to the token",
	pkcs11.CKR_USER_ANOTHER_ALREADY_LOGGED_IN: "another role is already logged in to the token; log it out first",
	pkcs11.CKR_TOKEN_NOT_PRESENT:              "the token is not present; insert or connect it and try again",
	pkcs11.CKR_TOKEN_NOT_RECOGNIZED:           "the module does not recognise the token in the slot; check it is the right HSM",
	pkcs11.CKR_DEVICE_REMOVED:                 "the token was removed; reconnect it and resume the ceremony",
	pkcs11.CKR_DEVICE_ERROR:                   "the HSM reported a device error; check its status before going on",
	pkcs11.CKR_DEVICE_MEMORY:                  "the token is out of memory for new objects",
	pkcs11.CKR_SESSION_HANDLE_INVALID:         "the session with the token was lost (removed or reset); reconnect and resume",
	pkcs11.CKR_SESSION_CLOSED:                 "the session with the token was closed; reconnect and resume",
	pkcs11.CKR_MECHANISM_INVALID:              "this token does not support the mechanism; choose another algorithm or HSM",
	pkcs11.CKR_MECHANISM_PARAM_INVALID:        "this token rejected the mechanism's parameters",
	pkcs11.CKR_TEMPLATE_INCONSISTENT:          "the token refused the key's attributes as inconsistent",
	pkcs11.CKR_TEMPLATE_INCOMPLETE:            "the token needs attributes the template lacks",
	pkcs11.CKR_ATTRIBUTE_READ_ONLY:            "the token does not let this role set that attribute (trusted keys need the Security Officer)",
	pkcs11.CKR_ATTRIBUTE_VALUE_INVALID:        "the token rejected an attribute value",
	pkcs11.CKR_KEY_NOT_WRAPPABLE:              "the key may only be wrapped by a trusted wrapping key",
	pkcs11.CKR_KEY_UNEXTRACTABLE:              "the key was created non-extractable and can never leave the token",
	pkcs11.CKR_WRAPPED_KEY_INVALID:            "the wrapped key is corrupt or was wrapped under a different key",
	pkcs11.CKR_WRAPPED_KEY_LEN_RANGE:          "the wrapped key has the wrong length (truncated or corrupt)",
	pkcs11.CKR_TOKEN_WRITE_PROTECTED:          "the token is write-protected",
	pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED:       "the PKCS#11 module is not initialised",
	pkcs11.CKR_SLOT_ID_INVALID:                "the slot does not exist (the token may have been removed)",
}

// wrap turns an error from a PKCS#11 call into an *Error; other errors are wrapped as is.
func wrap(op, object string, err error) error {
	if err == nil {
		return nil
	}
	var p pkcs11.Error
	if errors.As(err, &p) {
		return &Error{Op: op, Object: object, Code: p}
	}
	if object != "" {
		return fmt.Errorf("%s %q: %w", op, object, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
