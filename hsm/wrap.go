package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sort"

	"github.com/miekg/pkcs11"
)

// SecretKey is an AES key object on a token, known to Keyrite only by label.
type SecretKey struct {
	Label      string
	ID         []byte
	Attributes Attributes
	t          *Token
	h          pkcs11.ObjectHandle
	login      int  // t.logins when h was found
	private    bool // a private object: its handle may change when the login changes
}

// handle returns the key's object handle, finding a private key again by label and ID if the
// login changed since (tokens may renumber private objects). Call with t.mu held.
func (k *SecretKey) handle() (pkcs11.ObjectHandle, error) {
	if !k.private || k.login == k.t.logins {
		return k.h, nil
	}
	tmpl := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_LABEL, k.Label)}
	if len(k.ID) > 0 {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, k.ID))
	}
	h, err := k.t.findOne(tmpl, k.Label)
	if err != nil {
		return 0, err
	}
	k.h, k.login = h, k.t.logins
	return k.h, nil
}

func (t *Token) newSecretKey(label string, id []byte, h pkcs11.ObjectHandle, private bool) *SecretKey {
	return &SecretKey{Label: label, ID: id, t: t, h: h, login: t.logins, private: private}
}

// KEKUse is the one thing a key-encryption key may do. A KEK never also encrypts or decrypts
// data: a key that can both wrap and decrypt lets anyone with a session extract every key it
// wraps (Clulow's wrap-then-decrypt attack).
type KEKUse int

const (
	// WrapOnly is a trusted wrapping key; only the Security Officer may create it.
	WrapOnly KEKUse = iota
	// UnwrapOnly imports keys wrapped elsewhere.
	UnwrapOnly
)

var secretAttrs = attrList{
	{"CKA_TOKEN", pkcs11.CKA_TOKEN}, {"CKA_LOCAL", pkcs11.CKA_LOCAL}, {"CKA_ALWAYS_SENSITIVE", pkcs11.CKA_ALWAYS_SENSITIVE}, {"CKA_NEVER_EXTRACTABLE", pkcs11.CKA_NEVER_EXTRACTABLE}, {"CKA_PRIVATE", pkcs11.CKA_PRIVATE}, {"CKA_SENSITIVE", pkcs11.CKA_SENSITIVE},
	{"CKA_EXTRACTABLE", pkcs11.CKA_EXTRACTABLE}, {"CKA_TRUSTED", pkcs11.CKA_TRUSTED}, {"CKA_WRAP", pkcs11.CKA_WRAP},
	{"CKA_UNWRAP", pkcs11.CKA_UNWRAP}, {"CKA_ENCRYPT", pkcs11.CKA_ENCRYPT}, {"CKA_DECRYPT", pkcs11.CKA_DECRYPT},
	{"CKA_SIGN", pkcs11.CKA_SIGN}, {"CKA_VERIFY", pkcs11.CKA_VERIFY}, {"CKA_DERIVE", pkcs11.CKA_DERIVE},
}

// ImportKEK loads an AES key-encryption key as a session object that lives only as long as
// this session, is sensitive and non-extractable, and can do exactly one thing (use). A
// WrapOnly key is CKA_TRUSTED and needs the Security Officer to be logged in; as PKCS#11 lets
// the SO create only public objects, it is CKA_PRIVATE=false (its value still cannot be read).
// The caller zeroes value.
func (t *Token) ImportKEK(value []byte, label string, use KEKUse) (*SecretKey, error) {
	if len(value) != 16 && len(value) != 24 && len(value) != 32 {
		return nil, fmt.Errorf("import key-encryption key %q: %d bytes is not an AES key length", label, len(value))
	}
	trusted := use == WrapOnly
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, value), pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, !trusted),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true), pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_TRUSTED, trusted), pkcs11.NewAttribute(pkcs11.CKA_WRAP, trusted), pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, !trusted),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false), pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, false), pkcs11.NewAttribute(pkcs11.CKA_VERIFY, false), pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
	}
	if trusted && (t.role == nil || *t.role != SO) {
		return nil, fmt.Errorf("import key-encryption key %q: a trusted wrapping key is installed by the Security Officer; log in as SO first", label)
	}
	t.mu.Lock()
	h, err := t.m.ctx.CreateObject(t.session, tmpl)
	t.mu.Unlock()
	if err != nil {
		return nil, wrap("import key-encryption key", label, err)
	}
	return t.checkedSecretKey(t.newSecretKey(label, nil, h, !trusted), "import key-encryption key", Attributes{"CKA_TOKEN": false, "CKA_SENSITIVE": true,
		"CKA_EXTRACTABLE": false, "CKA_TRUSTED": trusted, "CKA_WRAP": trusted, "CKA_UNWRAP": !trusted, "CKA_ENCRYPT": false, "CKA_DECRYPT": false, "CKA_SIGN": false, "CKA_DERIVE": false})
}

// checkedSecretKey reads back the attributes of a key just made and returns it if the token
// honoured want; otherwise it destroys the key. what names the operation, for the error.
func (t *Token) checkedSecretKey(k *SecretKey, what string, want Attributes) (*SecretKey, error) {
	var err error
	if k.Attributes, err = t.readAttrs(k.h, secretAttrs); err == nil {
		err = compareAttrs(want, k.Attributes)
	}
	if err != nil {
		k.Destroy()
		return nil, fmt.Errorf("%s %q: %w (the key was destroyed)", what, k.Label, err)
	}
	return k, nil
}

// Destroy removes the key from the token.
func (k *SecretKey) Destroy() error {
	k.t.mu.Lock()
	defer k.t.mu.Unlock()
	h, err := k.handle()
	if err != nil {
		return err
	}
	return wrap("destroy key", k.Label, k.t.m.ctx.DestroyObject(k.t.session, h))
}

// WrapPrivateKey exports k encrypted under kek with AES key wrap with padding (RFC 5649,
// CKM_AES_KEY_WRAP_PAD). The token encodes the private key as PKCS #8 before wrapping.
func (t *Token) WrapPrivateKey(kek *SecretKey, k *KeyPair) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	priv, err := k.handle()
	if err != nil {
		return nil, err
	}
	kh, err := kek.handle()
	if err != nil {
		return nil, err
	}
	b, err := t.m.ctx.WrapKey(t.session, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil)}, kh, priv)
	if Is(err, pkcs11.CKR_KEY_NOT_WRAPPABLE) && kek.Attributes["CKA_TRUSTED"] {
		return nil, fmt.Errorf("wrap key %q under trusted key %q: token %q refuses to wrap %s private keys even under a trusted key (CKR_KEY_NOT_WRAPPABLE); back up a key of another algorithm on this token, or use an HSM that supports it", k.Label, kek.Label, t.Info.Label, k.Algorithm)
	}
	if err != nil {
		return nil, wrap(fmt.Sprintf("wrap key under %q:", kek.Label), k.Label, err)
	}
	return b, nil
}

// UnwrapPrivateKey imports a private key wrapped under kek (RFC 5649) as a new token key
// labelled label, forced sensitive and non-extractable by the unwrap template, and adds its
// public key object from pub. The pair must pass the pairwise self-test against pub, which
// proves the unwrapped private key is the one whose public key was recorded; otherwise both
// objects are destroyed.
func (t *Token) UnwrapPrivateKey(kek *SecretKey, blob []byte, label string, pub crypto.PublicKey) (*KeyPair, error) {
	if has, err := t.HasLabel(label); err != nil {
		return nil, err
	} else if has {
		return nil, errorf(ErrLabelTaken, "unwrap key %q: token %q already holds an object with this label; nothing was imported (choose another label, or destroy the old key in a ceremony first)", label, t.Info.Label)
	}
	keyType, pubTmpl, err := publicTemplate(pub)
	if err != nil {
		return nil, fmt.Errorf("unwrap key %q: %w", label, err)
	}
	id, err := t.Random(16)
	if err != nil {
		return nil, err
	}
	privTmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, keyType),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label), pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true), pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true), pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false), pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
	}
	t.mu.Lock()
	kh, err := kek.handle()
	var privH pkcs11.ObjectHandle
	if err == nil {
		privH, err = t.m.ctx.UnwrapKey(t.session, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil)}, kh, blob, privTmpl)
	}
	t.mu.Unlock()
	if err != nil {
		return nil, wrap(fmt.Sprintf("unwrap key under %q:", kek.Label), label, err)
	}
	pubTmpl = append(pubTmpl,
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, keyType),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label), pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true), pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false), pkcs11.NewAttribute(pkcs11.CKA_WRAP, false))
	t.mu.Lock()
	pubH, err := t.m.ctx.CreateObject(t.session, pubTmpl)
	if err != nil {
		t.m.ctx.DestroyObject(t.session, privH)
	}
	t.mu.Unlock()
	if err != nil {
		return nil, wrap("create public key", label, err)
	}
	if err := t.recheckLabel(label, privH, pubH); err != nil {
		return nil, err
	}
	k, err := t.loadKeyPair(label, id, "", pubH, privH)
	if err == nil {
		err = compareAttrs(Attributes{"CKA_SENSITIVE": true, "CKA_EXTRACTABLE": false, "CKA_SIGN": true, "CKA_DECRYPT": false, "CKA_UNWRAP": false, "CKA_DERIVE": false}, k.Attributes)
	}
	if err == nil {
		err = SelfTest(k)
	}
	if err != nil {
		t.discard(privH, pubH)
		return nil, fmt.Errorf("unwrap key %q: %w (the imported objects were destroyed)", label, err)
	}
	return k, nil
}

// publicTemplate gives the key type and the attributes that describe pub on a token.
func publicTemplate(pub crypto.PublicKey) (uint, []*pkcs11.Attribute, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		oid := oidP256
		if k.Curve.Params().BitSize == 384 {
			oid = oidP384
		} else if k.Curve.Params().BitSize != 256 {
			return 0, nil, fmt.Errorf("unsupported curve %s", k.Curve.Params().Name)
		}
		params, _ := asn1.Marshal(oid)
		raw, err := k.Bytes()
		if err != nil {
			return 0, nil, err
		}
		point, _ := asn1.Marshal(raw)
		return pkcs11.CKK_EC, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params), pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, point)}, nil
	case *rsa.PublicKey:
		return pkcs11.CKK_RSA, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_MODULUS, k.N.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, big.NewInt(int64(k.E)).Bytes())}, nil
	case ed25519.PublicKey:
		params, _ := asn1.Marshal(oidEd25519)
		point, _ := asn1.Marshal([]byte(k))
		return ckkEdwards, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params), pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, point)}, nil
	}
	return 0, nil, fmt.Errorf("unsupported public key type %T", pub)
}

// attrList names the boolean attributes Keyrite reads back and records.
type attrList []struct {
	name string
	typ  uint
}

// readAttrs must be called without t.mu held.
func (t *Token) readAttrs(h pkcs11.ObjectHandle, list attrList) (Attributes, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := make([]*pkcs11.Attribute, len(list))
	for i, a := range list {
		q[i] = pkcs11.NewAttribute(a.typ, nil)
	}
	got, err := t.m.ctx.GetAttributeValue(t.session, h, q)
	if err != nil {
		return nil, err
	}
	out := Attributes{}
	for i, a := range list {
		out[a.name] = len(got[i].Value) == 1 && got[i].Value[0] != 0
	}
	return out, nil
}

// compareAttrs reports every attribute whose value differs from want.
func compareAttrs(want, got Attributes) error {
	var bad []string
	for name, w := range want {
		if g, ok := got[name]; !ok || g != w {
			bad = append(bad, fmt.Sprintf("%s is %v, want %v", name, g, w))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("the token did not honour the key template: %v", bad)
	}
	return nil
}
