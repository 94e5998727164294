package hsmtest

import (
	"bytes"
	"sync"

	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/hsm/internal/seam"
	"github.com/miekg/pkcs11"
)

// Call is one PKCS#11 call a traced module made.
type Call struct {
	Name string // the PKCS#11 function, as in seam.Ctx: "GenerateKeyPair", "WrapKey", …
	// Token: the call changes what the token keeps (InitToken, InitPIN; a token object
	// generated, created, unwrapped or destroyed) or uses a key the token keeps (SignInit,
	// EncryptInit, WrapKey). Calls on session objects only (a capability trial's throwaway
	// keys) are not.
	Token bool
}

// WithTrace returns a module that tells record, before each call, about every call that
// opens a session or creates, destroys or uses a key, and whether it touches what the token
// keeps. Calls to record are serialised. Close m, not the returned module.
func WithTrace(m *hsm.Module, record func(Call)) *hsm.Module {
	return hsm.WithSeam(m, func(c seam.Ctx) seam.Ctx { return &tracer{Ctx: c, record: record} })
}

type tracer struct {
	seam.Ctx
	mu     sync.Mutex
	record func(Call)
}

func (t *tracer) note(name string, token bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.record(Call{Name: name, Token: token})
}

// onToken reports whether a template asks for a token object (CKA_TOKEN true; false is
// PKCS#11's default).
func onToken(templates ...[]*pkcs11.Attribute) bool {
	for _, tmpl := range templates {
		for _, a := range tmpl {
			if a.Type == pkcs11.CKA_TOKEN && len(a.Value) > 0 && !bytes.Equal(a.Value, []byte{0}) {
				return true
			}
		}
	}
	return false
}

// kept reports whether any of the objects is a token object; one whose attribute cannot be
// read counts as kept.
func (t *tracer) kept(sh pkcs11.SessionHandle, objects ...pkcs11.ObjectHandle) bool {
	for _, o := range objects {
		attrs, err := t.Ctx.GetAttributeValue(sh, o, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_TOKEN, nil)})
		if err != nil || onToken(attrs) {
			return true
		}
	}
	return false
}

func (t *tracer) OpenSession(slot uint, flags uint) (pkcs11.SessionHandle, error) {
	t.note("OpenSession", false)
	return t.Ctx.OpenSession(slot, flags)
}

func (t *tracer) InitToken(slot uint, pin string, label string) error {
	t.note("InitToken", true)
	return t.Ctx.InitToken(slot, pin, label)
}

func (t *tracer) InitPIN(sh pkcs11.SessionHandle, pin string) error {
	t.note("InitPIN", true)
	return t.Ctx.InitPIN(sh, pin)
}

func (t *tracer) GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, pub, priv []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	t.note("GenerateKeyPair", onToken(pub, priv))
	return t.Ctx.GenerateKeyPair(sh, m, pub, priv)
}

func (t *tracer) GenerateKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, tmpl []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	t.note("GenerateKey", onToken(tmpl))
	return t.Ctx.GenerateKey(sh, m, tmpl)
}

func (t *tracer) CreateObject(sh pkcs11.SessionHandle, tmpl []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	t.note("CreateObject", onToken(tmpl))
	return t.Ctx.CreateObject(sh, tmpl)
}

func (t *tracer) UnwrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, k pkcs11.ObjectHandle, wrapped []byte, tmpl []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	t.note("UnwrapKey", onToken(tmpl) || t.kept(sh, k))
	return t.Ctx.UnwrapKey(sh, m, k, wrapped, tmpl)
}

func (t *tracer) DestroyObject(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle) error {
	t.note("DestroyObject", t.kept(sh, o))
	return t.Ctx.DestroyObject(sh, o)
}

func (t *tracer) SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	t.note("SignInit", t.kept(sh, o))
	return t.Ctx.SignInit(sh, m, o)
}

func (t *tracer) EncryptInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	t.note("EncryptInit", t.kept(sh, o))
	return t.Ctx.EncryptInit(sh, m, o)
}

func (t *tracer) WrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, k, key pkcs11.ObjectHandle) ([]byte, error) {
	t.note("WrapKey", t.kept(sh, k, key))
	return t.Ctx.WrapKey(sh, m, k, key)
}
