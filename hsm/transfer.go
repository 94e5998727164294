package hsm

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/keyrite/keyrite/hsm/keycheck"
	"github.com/miekg/pkcs11"
)

// KeyUse is what a key pair is for. A key pair does one thing.
type KeyUse int

const (
	// UseSign keys sign (the default).
	UseSign KeyUse = iota
	// UseUnwrap keys import keys wrapped to their public key (an import job's wrapping key):
	// RSA only, CKA_UNWRAP without CKA_DECRYPT, so nothing unwrapped can be read back.
	UseUnwrap
)

// CheckKeyPolicy refuses attribute combinations that let a key leak others: a key that can
// wrap and decrypt (or unwrap and encrypt) lets anyone with a session wrap a sensitive key and
// decrypt the result (Clulow, 2003). Tokens do not all enforce this; Keyrite does, for every
// key it creates.
func CheckKeyPolicy(a Attributes) error {
	if a["CKA_WRAP"] && a["CKA_DECRYPT"] {
		return errors.New("key policy: a key may not both wrap and decrypt (wrap-then-decrypt would extract sensitive keys)")
	}
	if a["CKA_UNWRAP"] && a["CKA_ENCRYPT"] {
		return errors.New("key policy: a key may not both unwrap and encrypt (encrypt-then-unwrap would import chosen keys)")
	}
	return nil
}

// templatePolicy applies CheckKeyPolicy to a template before it reaches the token.
func templatePolicy(tmpl []*pkcs11.Attribute) error {
	a := Attributes{}
	names := map[uint]string{pkcs11.CKA_WRAP: "CKA_WRAP", pkcs11.CKA_DECRYPT: "CKA_DECRYPT", pkcs11.CKA_UNWRAP: "CKA_UNWRAP", pkcs11.CKA_ENCRYPT: "CKA_ENCRYPT"}
	for _, at := range tmpl {
		if n, ok := names[at.Type]; ok {
			a[n] = len(at.Value) == 1 && at.Value[0] != 0
		}
	}
	return CheckKeyPolicy(a)
}

// policed checks every template that creates an object against the key policy before the
// token sees it, whatever path creates it: the policy lives at the seam, not at call sites.
type policed struct{ p11 }

func (p policed) CreateObject(sh pkcs11.SessionHandle, t []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	if err := templatePolicy(t); err != nil {
		return 0, err
	}
	return p.p11.CreateObject(sh, t)
}

func (p policed) GenerateKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, t []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	if err := templatePolicy(t); err != nil {
		return 0, err
	}
	return p.p11.GenerateKey(sh, m, t)
}

func (p policed) GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, pub, priv []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	if err := templatePolicy(pub); err != nil {
		return 0, 0, err
	}
	if err := templatePolicy(priv); err != nil {
		return 0, 0, err
	}
	return p.p11.GenerateKeyPair(sh, m, pub, priv)
}

func (p policed) UnwrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, k pkcs11.ObjectHandle, w []byte, t []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	if err := templatePolicy(t); err != nil {
		return 0, err
	}
	return p.p11.UnwrapKey(sh, m, k, w, t)
}

// createObject creates an object (the seam applies the key policy).
func (t *Token) createObject(tmpl []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m.ctx.CreateObject(t.session, tmpl)
}

// OAEPHash is the hash of RSA-OAEP (and its MGF1) used to wrap an ephemeral AES key.
type OAEPHash string

const (
	OAEPSHA1   OAEPHash = "SHA-1"
	OAEPSHA256 OAEPHash = "SHA-256"
)

func (h OAEPHash) mechanism() (*pkcs11.Mechanism, error) {
	p, err := h.params()
	if err != nil {
		return nil, err
	}
	return pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_OAEP, p), nil
}

// params are the CK_RSA_PKCS_OAEP_PARAMS for h: the hash, MGF1 with the same hash, no label.
func (h OAEPHash) params() (*pkcs11.OAEPParams, error) {
	switch h {
	case OAEPSHA256:
		return pkcs11.NewOAEPParams(pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256, pkcs11.CKZ_DATA_SPECIFIED, nil), nil
	case OAEPSHA1:
		return pkcs11.NewOAEPParams(pkcs11.CKM_SHA_1, pkcs11.CKG_MGF1_SHA1, pkcs11.CKZ_DATA_SPECIFIED, nil), nil
	}
	return nil, fmt.Errorf("unknown OAEP hash %q", h)
}

// encrypt is RSA-OAEP with h (and MGF1 with h) in Go, as a provider wraps a key to a token.
func (h OAEPHash) encrypt(pub *rsa.PublicKey, secret []byte) ([]byte, error) {
	newHash := sha256.New
	if h == OAEPSHA1 {
		newHash = sha1.New
	}
	return rsa.EncryptOAEP(newHash(), rand.Reader, pub, secret, nil)
}

// Hash is the Go hash for h.
func (h OAEPHash) Hash() crypto.Hash {
	if h == OAEPSHA1 {
		return crypto.SHA1
	}
	return crypto.SHA256
}

// PublicWrappingKey is someone else's RSA public key loaded as a session object that can only
// wrap.
type PublicWrappingKey struct {
	Label string
	t     *Token
	h     pkcs11.ObjectHandle
}

// ImportWrappingKey loads an RSA public key (a provider's, or another HSM's import job) as a
// session object with CKA_WRAP only.
func (t *Token) ImportWrappingKey(pub *rsa.PublicKey, label string) (*PublicWrappingKey, error) {
	return t.importWrappingKey(pub, label, false)
}

// importWrappingKey loads pub as a wrap-only session key, CKA_TRUSTED if trusted (which only
// the Security Officer may set).
func (t *Token) importWrappingKey(pub *rsa.PublicKey, label string, trusted bool) (*PublicWrappingKey, error) {
	if pub.N.BitLen() < 2048 {
		return nil, fmt.Errorf("wrapping key %q: RSA-%d is too small; need 2048 bits or more", label, pub.N.BitLen())
	}
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false), pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_MODULUS, pub.N.Bytes()), pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, big.NewInt(int64(pub.E)).Bytes()),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, true), pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false), pkcs11.NewAttribute(pkcs11.CKA_VERIFY, false),
	}
	if trusted { // stated only when set: a user may not name the attribute at all on some tokens
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_TRUSTED, true))
	}
	h, err := t.createObject(tmpl)
	if err != nil {
		return nil, wrap("load wrapping key", label, err)
	}
	return &PublicWrappingKey{Label: label, t: t, h: h}, nil
}

// Destroy removes the session object.
func (k *PublicWrappingKey) Destroy() error {
	k.t.mu.Lock()
	defer k.t.mu.Unlock()
	return wrap("destroy key", k.Label, k.t.m.ctx.DestroyObject(k.t.session, k.h))
}

// GenerateTransportKey makes an ephemeral AES-256 session key that can only wrap, and may
// itself leave the token only wrapped (to travel under an RSA wrapping key). It is
// CKA_TRUSTED, so it can wrap keys that only trusted keys may wrap: the Security Officer must
// be logged in.
func (t *Token) GenerateTransportKey(label string) (*SecretKey, error) {
	if t.role == nil || *t.role != SO {
		return nil, fmt.Errorf("transport key %q: a trusted wrapping key is made by the Security Officer; log in as SO first", label)
	}
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32), pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true), pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true),
		pkcs11.NewAttribute(pkcs11.CKA_TRUSTED, true), pkcs11.NewAttribute(pkcs11.CKA_WRAP, true), pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false), pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, false), pkcs11.NewAttribute(pkcs11.CKA_VERIFY, false), pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
	}
	t.mu.Lock()
	h, err := t.m.ctx.GenerateKey(t.session, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)}, tmpl)
	t.mu.Unlock()
	if err != nil {
		return nil, wrap("generate transport key", label, err)
	}
	return t.checkedSecretKey(t.newSecretKey(label, nil, h, false), "transport key",
		Attributes{"CKA_TOKEN": false, "CKA_SENSITIVE": true, "CKA_TRUSTED": true, "CKA_WRAP": true, "CKA_UNWRAP": false, "CKA_ENCRYPT": false, "CKA_DECRYPT": false})
}

// WrapUnderRSA wraps an AES key with RSA-OAEP under the wrapping key.
func (t *Token) WrapUnderRSA(wk *PublicWrappingKey, k *SecretKey, h OAEPHash) ([]byte, error) {
	mech, err := h.mechanism()
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	kh, err := k.handle()
	if err != nil {
		return nil, err
	}
	b, err := t.m.ctx.WrapKey(t.session, []*pkcs11.Mechanism{mech}, wk.h, kh)
	if oaepRefused(err) {
		return nil, &OAEPHashError{Hash: h, Token: t.Info.Label, Err: err}
	}
	return b, wrap(fmt.Sprintf("wrap %q under RSA-OAEP (%s) key", k.Label, h), wk.Label, err)
}

// OAEPHashError says the token cannot do RSA-OAEP with this hash (SoftHSM 2.6 does SHA-1 only).
type OAEPHashError struct {
	Hash  OAEPHash
	Token string
	Err   error
}

func (e *OAEPHashError) Error() string {
	return fmt.Sprintf("token %q cannot wrap or unwrap with RSA-OAEP using %s (%v)", e.Token, e.Hash, e.Err)
}

func (e *OAEPHashError) Unwrap() error { return e.Err }

// Is matches ErrMechanismNotSupported.
func (e *OAEPHashError) Is(target error) bool { return target == ErrMechanismNotSupported }

// unwrapWithRSA unwraps with the private key of k; a token that cannot do the OAEP hash gives
// an *OAEPHashError.
func (t *Token) unwrapWithRSA(k *KeyPair, mech *pkcs11.Mechanism, h OAEPHash, wrapped []byte, tmpl []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	priv, err := k.handle()
	if err != nil {
		return 0, err
	}
	hnd, err := t.m.ctx.UnwrapKey(t.session, []*pkcs11.Mechanism{mech}, priv, wrapped, tmpl)
	if oaepRefused(err) {
		return 0, &OAEPHashError{Hash: h, Token: t.Info.Label, Err: err}
	}
	return hnd, err
}

func oaepRefused(err error) bool {
	return Is(err, pkcs11.CKR_ARGUMENTS_BAD) || Is(err, pkcs11.CKR_MECHANISM_PARAM_INVALID)
}

// UnwrapFromRSA imports an AES key wrapped with RSA-OAEP under the unwrap-only key pair k as
// a session key that can only unwrap.
func (t *Token) UnwrapFromRSA(k *KeyPair, wrapped []byte, h OAEPHash, label string) (*SecretKey, error) {
	mech, err := h.mechanism()
	if err != nil {
		return nil, err
	}
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label), pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true), pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, true), pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false), pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
	}
	hnd, err := t.unwrapWithRSA(k, mech, h, wrapped, tmpl)
	var he *OAEPHashError
	if errors.As(err, &he) {
		return nil, err
	}
	if err != nil {
		return nil, wrap(fmt.Sprintf("unwrap the transport key with %q:", k.Label), label, err)
	}
	return t.newSecretKey(label, nil, hnd, true), nil
}

// DEKSpec describes a data-encryption key: an AES key that encrypts and decrypts, and never
// wraps.
type DEKSpec struct {
	Label string
	ID    []byte
	Bits  int
	// Extractable lets the key leave wrapped (for migration); never in the clear.
	Extractable bool
}

func dekTemplate(s DEKSpec) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, s.Label), pkcs11.NewAttribute(pkcs11.CKA_ID, s.ID),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true), pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, s.Extractable),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true), pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false), pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, false), pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
	}
}

// GenerateDEK generates a data-encryption key on the token, under a label no other object
// carries (checked before and after).
func (t *Token) GenerateDEK(s DEKSpec) (*SecretKey, error) {
	return t.claimed("generate key", s.Label, func() (*SecretKey, error) { return t.generateDEK(s) })
}

// claimed makes a key with create under label, claimed as Keyrite claims every label it creates:
// checked free before (claimLabel) and carried by the new key alone after (recheckLabel).
func (t *Token) claimed(what, label string, create func() (*SecretKey, error)) (*SecretKey, error) {
	if err := t.claimLabel(what, label); err != nil {
		return nil, err
	}
	k, err := create()
	if err != nil {
		return nil, err
	}
	if err := t.recheckLabel(label, k.h); err != nil {
		return nil, err
	}
	return k, nil
}

// generateDEK generates the key; the caller claims its label.
func (t *Token) generateDEK(s DEKSpec) (*SecretKey, error) {
	if s.Bits == 0 {
		s.Bits = 256
	}
	tmpl := append(dekTemplate(s), pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, s.Bits/8))
	t.mu.Lock()
	h, err := t.m.ctx.GenerateKey(t.session, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)}, tmpl)
	t.mu.Unlock()
	if err != nil {
		return nil, wrap("generate key", s.Label, err)
	}
	return t.newSecretKey(s.Label, s.ID, h, true), nil
}

// WrapSecretKey wraps an AES key under kek with RFC 5649.
func (t *Token) WrapSecretKey(kek, k *SecretKey) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	kh, err := kek.handle()
	var h pkcs11.ObjectHandle
	if err == nil {
		h, err = k.handle()
	}
	if err != nil {
		return nil, err
	}
	b, err := t.m.ctx.WrapKey(t.session, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil)}, kh, h)
	return b, wrap(fmt.Sprintf("wrap key under %q:", kek.Label), k.Label, err)
}

// UnwrapDEK imports a wrapped data-encryption key as s describes, sensitive and
// non-extractable, under a label no other object carries (checked before and after).
func (t *Token) UnwrapDEK(kek *SecretKey, wrapped []byte, s DEKSpec) (*SecretKey, error) {
	return t.claimed("unwrap key", s.Label, func() (*SecretKey, error) { return t.unwrapDEK(kek, wrapped, s) })
}

// unwrapDEK unwraps the key; the caller claims its label.
func (t *Token) unwrapDEK(kek *SecretKey, wrapped []byte, s DEKSpec) (*SecretKey, error) {
	s.Extractable = false
	tmpl := dekTemplate(s)
	t.mu.Lock()
	kh, err := kek.handle()
	var h pkcs11.ObjectHandle
	if err == nil {
		h, err = t.m.ctx.UnwrapKey(t.session, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil)}, kh, wrapped, tmpl)
	}
	t.mu.Unlock()
	if err != nil {
		return nil, wrap(fmt.Sprintf("unwrap key under %q:", kek.Label), s.Label, err)
	}
	return t.newSecretKey(s.Label, s.ID, h, true), nil
}

// CheckValueECB is the key's check value as PKCS#11 tokens define CKA_CHECK_VALUE for AES:
// the leftmost 3 bytes of AES-ECB of a zero block, computed inside the token (the key needs
// CKA_ENCRYPT). Uppercase hex.
func (k *SecretKey) CheckValueECB() (string, error) {
	t := k.t
	t.mu.Lock()
	defer t.mu.Unlock()
	h, err := k.handle()
	if err == nil {
		err = t.m.ctx.EncryptInit(t.session, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_ECB, nil)}, h)
	}
	var out []byte
	if err == nil {
		out, err = t.m.ctx.Encrypt(t.session, make([]byte, 16))
	}
	if err != nil {
		return "", wrap("compute the check value of key", k.Label, err)
	}
	return strings.ToUpper(fmt.Sprintf("%x", out[:3])), nil
}

// SecretKeyInfo describes an AES key on a token.
type SecretKeyInfo struct {
	Label string
	ID    []byte
	key   *SecretKey
}

// Key is the key itself.
func (s SecretKeyInfo) Key() *SecretKey { return s.key }

// SecretKeys lists the AES secret keys whose label starts with prefix.
func (t *Token) SecretKeys(prefix string) ([]SecretKeyInfo, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hs, err := t.find([]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES)})
	if err != nil {
		return nil, wrap("list secret keys on token", t.Info.Label, err)
	}
	var out []SecretKeyInfo
	for _, h := range hs {
		a, err := t.m.ctx.GetAttributeValue(t.session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil), pkcs11.NewAttribute(pkcs11.CKA_ID, nil)})
		if err != nil {
			continue // not a usable key; the inventory lists it as unreadable
		}
		label := string(a[0].Value)
		if strings.HasPrefix(label, prefix) {
			out = append(out, SecretKeyInfo{Label: label, ID: a[1].Value, key: t.newSecretKey(label, a[1].Value, h, true)})
		}
	}
	return out, nil
}

// unwrapSelfTest proves an unwrap-only RSA key pair works, with each OAEP hash the token can
// do (recorded in k.UnwrapHashes, preferred first): Go wraps a random AES key to its public
// key, the token unwraps it, and the check values inside and outside agree.
func unwrapSelfTest(t *Token, k *KeyPair) error {
	for _, h := range []OAEPHash{OAEPSHA256, OAEPSHA1} {
		err := unwrapSelfTestWith(t, k, h)
		var he *OAEPHashError
		if errors.As(err, &he) {
			continue
		}
		if err != nil {
			return err
		}
		k.UnwrapHashes = append(k.UnwrapHashes, h)
	}
	if len(k.UnwrapHashes) == 0 {
		return errorf(ErrMechanismNotSupported, "pairwise unwrap test: token %q can unwrap with neither RSA-OAEP SHA-256 nor SHA-1; use an HSM that does RSA-OAEP unwrapping", t.Info.Label)
	}
	return nil
}

func unwrapSelfTestWith(t *Token, k *KeyPair, oaep OAEPHash) error {
	pub, ok := k.Public().(*rsa.PublicKey)
	if !ok {
		return errors.New("unwrap keys are RSA")
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	defer zero(secret)
	wrapped, err := oaep.encrypt(pub, secret)
	if err != nil {
		return err
	}
	mech, _ := oaep.mechanism()
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false), pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true), pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
	}
	h, err := t.unwrapWithRSA(k, mech, oaep, wrapped, tmpl)
	var he *OAEPHashError
	if errors.As(err, &he) {
		return err
	}
	if err != nil {
		return fmt.Errorf("pairwise unwrap test: %w", err)
	}
	test := t.newSecretKey("self-test", nil, h, false)
	defer test.Destroy()
	inside, err := test.CheckValueECB()
	if err != nil {
		return err
	}
	outside, _ := keycheck.Compute(secret, keycheck.MethodECB)
	if inside != outside.Value {
		return errors.New("pairwise unwrap test: the token unwrapped a different key")
	}
	return nil
}

// FindSecretKey finds the AES key labelled label, with its attributes read back.
func (t *Token) FindSecretKey(label string) (*SecretKey, error) {
	ks, err := t.SecretKeys(label)
	if err != nil {
		return nil, err
	}
	var match []SecretKeyInfo
	for _, k := range ks {
		if k.Label == label {
			match = append(match, k)
		}
	}
	if len(match) != 1 {
		return nil, errorf(ErrNotFound, "find key %q on token %q: found %d secret keys, want exactly one", label, t.Info.Label, len(match))
	}
	k := match[0].key
	t.mu.Lock()
	h, err := k.handle()
	t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if k.Attributes, err = t.readAttrs(h, secretAttrs); err != nil {
		return nil, wrap("read attributes of key", label, err)
	}
	return k, nil
}
