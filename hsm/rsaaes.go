package hsm

import (
	"crypto/rsa"
	"fmt"

	"github.com/miekg/pkcs11"
)

// The two forms of the CKM_RSA_AES_KEY_WRAP layout, as exports record them.
const (
	RSAAESNative   = "CKM_RSA_AES_KEY_WRAP (native)"
	RSAAESComposed = "CKM_RSA_AES_KEY_WRAP, composed from CKM_RSA_PKCS_OAEP and CKM_AES_KEY_WRAP_PAD in the HSM"
)

// Wrappable is a key on a token that can be wrapped: a *KeyPair's private key or a *SecretKey.
type Wrappable interface {
	handle() (pkcs11.ObjectHandle, error)
}

// RSAAESWrapper wraps keys for one RSA public key (a provider's or another HSM's import job)
// in the CKM_RSA_AES_KEY_WRAP layout: an ephemeral AES-256 key wrapped with RSA-OAEP, then the
// target wrapped under it with RFC 5649. Where the token lists CKM_RSA_AES_KEY_WRAP for
// wrapping, the token does it in one call (the mechanism's parameters,
// CK_RSA_AES_KEY_WRAP_PARAMS with a pointer to CK_RSA_PKCS_OAEP_PARAMS, are laid out in C
// memory by miekg/pkcs11 and freed after the call); otherwise, or if the token refuses the
// parameters, it is composed inside the token from CKM_RSA_PKCS_OAEP and
// CKM_AES_KEY_WRAP_PAD. The bytes are the same layout either way.
type RSAAESWrapper struct {
	t      *Token
	wk     *PublicWrappingKey // CKA_TRUSTED: the native form wraps the target under it directly
	tk     *SecretKey         // the trusted ephemeral AES key of the composed form
	native bool
}

// PrepareRSAAESWrap must run as the Security Officer: it loads pub as a trusted, wrap-only
// session key and makes the trusted ephemeral AES-256 transport key of the composed form, so
// that keys marked CKA_WRAP_WITH_TRUSTED can be wrapped by either form. The user wraps
// afterwards; Destroy removes both session keys.
func (t *Token) PrepareRSAAESWrap(pub *rsa.PublicKey, label string) (*RSAAESWrapper, error) {
	if t.role == nil || *t.role != SO {
		return nil, fmt.Errorf("prepare the export to %q: trusted wrapping keys are made by the Security Officer; log in as SO first", label)
	}
	w := &RSAAESWrapper{t: t}
	if mi, err := t.m.ctx.GetMechanismInfo(t.Info.Slot, []*pkcs11.Mechanism{pkcs11.NewMechanism(ckmRSAAESKeyWrap, nil)}); err == nil {
		w.native = mi.Flags&pkcs11.CKF_WRAP != 0
	}
	var err error
	if w.tk, err = t.GenerateTransportKey(label + "-transport"); err != nil {
		return nil, err
	}
	if w.wk, err = t.importWrappingKey(pub, label, true); err != nil {
		w.tk.Destroy()
		return nil, err
	}
	return w, nil
}

// Native reports whether the token lists CKM_RSA_AES_KEY_WRAP for wrapping.
func (w *RSAAESWrapper) Native() bool { return w.native }

// Wrap wraps k with RSA-OAEP hash h and returns the blob and which form made it
// (RSAAESNative or RSAAESComposed). A token that can do neither form with h gives an
// *OAEPHashError.
func (w *RSAAESWrapper) Wrap(k Wrappable, h OAEPHash) ([]byte, string, error) {
	params, err := h.params()
	if err != nil {
		return nil, "", err
	}
	if w.native {
		t := w.t
		t.mu.Lock()
		kh, err := k.handle()
		var b []byte
		if err == nil {
			mech := pkcs11.NewMechanism(ckmRSAAESKeyWrap, &pkcs11.RSAAESKeyWrapParams{AESKeyBits: 256, OAEPParams: *params})
			b, err = t.m.ctx.WrapKey(t.session, []*pkcs11.Mechanism{mech}, w.wk.h, kh)
		}
		t.mu.Unlock()
		if err == nil {
			return b, RSAAESNative, nil
		}
		if !oaepRefused(err) && !Is(err, pkcs11.CKR_MECHANISM_INVALID) {
			return nil, "", wrap("wrap with CKM_RSA_AES_KEY_WRAP for", w.wk.Label, err)
		}
		// The token refused these parameters: compose it instead.
	}
	head, err := w.t.WrapUnderRSA(w.wk, w.tk, h)
	if err != nil {
		return nil, "", err
	}
	var tail []byte
	switch key := k.(type) {
	case *SecretKey:
		tail, err = w.t.WrapSecretKey(w.tk, key)
	case *KeyPair:
		tail, err = w.t.WrapPrivateKey(w.tk, key)
	default:
		err = fmt.Errorf("wrap: unsupported key type %T", k)
	}
	if err != nil {
		return nil, "", err
	}
	return append(head, tail...), RSAAESComposed, nil
}

// Destroy removes the wrapper's session keys.
func (w *RSAAESWrapper) Destroy() {
	w.tk.Destroy()
	w.wk.Destroy()
}
