package hsm

import (
	"sync"

	"github.com/miekg/pkcs11"
)

// Faults decides, for each PKCS#11 call by name ("GenerateKeyPair", "WrapKey", ...), whether
// it fails and with what; nil lets the call through to the real module.
type Faults func(call string) error

// WithFaults returns a module whose calls pass through faults first: the real token behind a
// seam that can fail any one call, as tests of removed tokens and failing devices need.
func WithFaults(m *Module, faults Faults) *Module {
	c := *m
	c.ctx = &faulty{p11: m.ctx, faults: faults}
	c.raw = nil // the wrapped module is not finalised through this copy
	c.closed = true
	return &c
}

type faulty struct {
	p11
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
	return f.p11.OpenSession(slot, flags)
}

func (f *faulty) Login(sh pkcs11.SessionHandle, userType uint, pin string) error {
	if err := f.fail("Login"); err != nil {
		return err
	}
	return f.p11.Login(sh, userType, pin)
}

func (f *faulty) GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, pub, priv []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	if err := f.fail("GenerateKeyPair"); err != nil {
		return 0, 0, err
	}
	return f.p11.GenerateKeyPair(sh, m, pub, priv)
}

func (f *faulty) CreateObject(sh pkcs11.SessionHandle, t []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	if err := f.fail("CreateObject"); err != nil {
		return 0, err
	}
	return f.p11.CreateObject(sh, t)
}

func (f *faulty) Sign(sh pkcs11.SessionHandle, msg []byte) ([]byte, error) {
	if err := f.fail("Sign"); err != nil {
		return nil, err
	}
	return f.p11.Sign(sh, msg)
}

func (f *faulty) WrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, k, key pkcs11.ObjectHandle) ([]byte, error) {
	if err := f.fail("WrapKey"); err != nil {
		return nil, err
	}
	return f.p11.WrapKey(sh, m, k, key)
}

func (f *faulty) GenerateRandom(sh pkcs11.SessionHandle, n int) ([]byte, error) {
	if err := f.fail("GenerateRandom"); err != nil {
		return nil, err
	}
	return f.p11.GenerateRandom(sh, n)
}

func (f *faulty) FindObjectsInit(sh pkcs11.SessionHandle, t []*pkcs11.Attribute) error {
	if err := f.fail("FindObjectsInit"); err != nil {
		return err
	}
	return f.p11.FindObjectsInit(sh, t)
}
