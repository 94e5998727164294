// Package hsmtest makes PKCS#11 calls fail on purpose, for tests of removed tokens and failing
// devices: the real token behind a seam that can fail any one call. Only tests import it; a
// test proves the keyrite binary links neither it nor hsm/keywrap.
package hsmtest

import (
	"sync"

	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/hsm/internal/seam"
	"github.com/miekg/pkcs11"
)

// ErrDeviceRemoved is what a module returns when the token is pulled out mid-call.
var ErrDeviceRemoved error = pkcs11.Error(pkcs11.CKR_DEVICE_REMOVED)

// Faults decides, for each PKCS#11 call by name ("GenerateKeyPair", "WrapKey", ...), whether
// it fails and with what; nil lets the call through to the real module.
type Faults func(call string) error

// WithFaults returns a module whose calls pass through faults first. Calls to faults are
// serialised. Close m, not the returned module.
func WithFaults(m *hsm.Module, faults Faults) *hsm.Module {
	return hsm.WithSeam(m, func(c seam.Ctx) seam.Ctx { return &faulty{Ctx: c, faults: faults} })
}

type faulty struct {
	seam.Ctx
	mu     sync.Mutex
	faults Faults
}

func (f *faulty) fail(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.faults(call)
}

func (f *faulty) OpenSession(slot uint, flags uint) (pkcs11.SessionHandle, error) {
	if err := f.fail("OpenSession"); err != nil {
		return 0, err
	}
	return f.Ctx.OpenSession(slot, flags)
}

func (f *faulty) Login(sh pkcs11.SessionHandle, userType uint, pin string) error {
	if err := f.fail("Login"); err != nil {
		return err
	}
	return f.Ctx.Login(sh, userType, pin)
}

func (f *faulty) SetPIN(sh pkcs11.SessionHandle, oldPIN, newPIN string) error {
	if err := f.fail("SetPIN"); err != nil {
		return err
	}
	return f.Ctx.SetPIN(sh, oldPIN, newPIN)
}

func (f *faulty) InitPIN(sh pkcs11.SessionHandle, pin string) error {
	if err := f.fail("InitPIN"); err != nil {
		return err
	}
	return f.Ctx.InitPIN(sh, pin)
}

func (f *faulty) InitToken(slot uint, pin, label string) error {
	if err := f.fail("InitToken"); err != nil {
		return err
	}
	return f.Ctx.InitToken(slot, pin, label)
}

func (f *faulty) DestroyObject(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle) error {
	if err := f.fail("DestroyObject"); err != nil {
		return err
	}
	return f.Ctx.DestroyObject(sh, o)
}

func (f *faulty) GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, pub, priv []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	if err := f.fail("GenerateKeyPair"); err != nil {
		return 0, 0, err
	}
	return f.Ctx.GenerateKeyPair(sh, m, pub, priv)
}

func (f *faulty) CreateObject(sh pkcs11.SessionHandle, t []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	if err := f.fail("CreateObject"); err != nil {
		return 0, err
	}
	return f.Ctx.CreateObject(sh, t)
}

func (f *faulty) Sign(sh pkcs11.SessionHandle, msg []byte) ([]byte, error) {
	if err := f.fail("Sign"); err != nil {
		return nil, err
	}
	return f.Ctx.Sign(sh, msg)
}

func (f *faulty) WrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, k, key pkcs11.ObjectHandle) ([]byte, error) {
	if err := f.fail("WrapKey"); err != nil {
		return nil, err
	}
	return f.Ctx.WrapKey(sh, m, k, key)
}

func (f *faulty) GenerateRandom(sh pkcs11.SessionHandle, n int) ([]byte, error) {
	if err := f.fail("GenerateRandom"); err != nil {
		return nil, err
	}
	return f.Ctx.GenerateRandom(sh, n)
}

func (f *faulty) FindObjectsInit(sh pkcs11.SessionHandle, t []*pkcs11.Attribute) error {
	if err := f.fail("FindObjectsInit"); err != nil {
		return err
	}
	return f.Ctx.FindObjectsInit(sh, t)
}

func (f *faulty) EncryptInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	if err := f.fail("EncryptInit"); err != nil {
		return err
	}
	return f.Ctx.EncryptInit(sh, m, o)
}
