package hsmtest

import (
	"fmt"
	"strings"

	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/hsm/internal/seam"
	"github.com/miekg/pkcs11"
)

// Bare is a PKCS#11 session with nothing of Keyrite's between its caller and the module: the
// calls a bulk move of AES keys needs, made as a short script would make them (no label
// claims, no attributes read back, no records). Benchmarks measure Keyrite against it.
type Bare struct {
	ctx seam.Ctx
	sh  pkcs11.SessionHandle
}

// BareKey is a secret key a Bare session found or made.
type BareKey struct {
	Label string
	ID    []byte
	h     pkcs11.ObjectHandle
}

// OpenBare opens a read-write session on the token s selects and logs the user in with pin
// (a login the application already holds on the token is kept). Close ends the session.
func OpenBare(m *hsm.Module, s hsm.Selector, pin []byte) (*Bare, error) {
	var ctx seam.Ctx
	m = hsm.WithSeam(m, func(c seam.Ctx) seam.Ctx { ctx = c; return c })
	ti, err := m.Find(s)
	if err != nil {
		return nil, err
	}
	sh, err := ctx.OpenSession(ti.Slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return nil, err
	}
	b := &Bare{ctx: ctx, sh: sh}
	if err := ctx.Login(sh, pkcs11.CKU_USER, string(pin)); err != nil && !hsm.Is(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Close closes the session.
func (b *Bare) Close() error { return b.ctx.CloseSession(b.sh) }

// SecretKeys lists the AES keys whose label starts with prefix: one search, then each key's
// label and ID.
func (b *Bare) SecretKeys(prefix string) ([]BareKey, error) {
	if err := b.ctx.FindObjectsInit(b.sh, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES)}); err != nil {
		return nil, err
	}
	var hs []pkcs11.ObjectHandle
	for {
		more, _, err := b.ctx.FindObjects(b.sh, 1000)
		if err != nil {
			b.ctx.FindObjectsFinal(b.sh)
			return nil, err
		}
		hs = append(hs, more...)
		if len(more) == 0 {
			break
		}
	}
	if err := b.ctx.FindObjectsFinal(b.sh); err != nil {
		return nil, err
	}
	var out []BareKey
	for _, h := range hs {
		a, err := b.ctx.GetAttributeValue(b.sh, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil), pkcs11.NewAttribute(pkcs11.CKA_ID, nil)})
		if err != nil {
			return nil, err
		}
		if l := string(a[0].Value); strings.HasPrefix(l, prefix) {
			out = append(out, BareKey{Label: l, ID: a[1].Value, h: h})
		}
	}
	return out, nil
}

// SessionKEK makes an AES key-encryption key from value as a session object that wraps (or,
// with unwrap, unwraps) and does nothing else.
func (b *Bare) SessionKEK(value []byte, unwrap bool) (BareKey, error) {
	h, err := b.ctx.CreateObject(b.sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, value), pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true), pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, !unwrap), pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, unwrap),
	})
	return BareKey{Label: "kek", h: h}, err
}

// Wrap wraps k under kek with AES key wrap with padding (RFC 5649).
func (b *Bare) Wrap(kek, k BareKey) ([]byte, error) {
	return b.ctx.WrapKey(b.sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil)}, kek.h, k.h)
}

// Unwrap unwraps wrapped under kek as a token AES key labelled label: private, sensitive,
// non-extractable, for encryption and decryption only (the attributes Keyrite gives a moved
// key).
func (b *Bare) Unwrap(kek BareKey, wrapped []byte, label string, id []byte) (BareKey, error) {
	h, err := b.ctx.UnwrapKey(b.sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil)}, kek.h, wrapped, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label), pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true), pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true), pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false), pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, false), pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
	})
	return BareKey{Label: label, ID: id, h: h}, err
}

// CheckValue is k's AES check value, as hsm.SecretKey.CheckValueECB computes it: the first
// three bytes of AES-ECB of a zero block, in uppercase hex.
func (b *Bare) CheckValue(k BareKey) (string, error) {
	if err := b.ctx.EncryptInit(b.sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_ECB, nil)}, k.h); err != nil {
		return "", err
	}
	out, err := b.ctx.Encrypt(b.sh, make([]byte, 16))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%X", out[:3]), nil
}
