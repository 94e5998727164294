package hsm

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/miekg/pkcs11"
)

// PKCS#11 3.0 values miekg/pkcs11 v1.1.2 does not name.
const (
	ckkEdwards       = 0x40   // CKK_EC_EDWARDS
	ckmEdwardsKeyGen = 0x1055 // CKM_EC_EDWARDS_KEY_PAIR_GEN
	ckmEdDSA         = 0x1057 // CKM_EDDSA
)

// Algorithm is a key pair algorithm as written in ceremony scripts.
type Algorithm string

const (
	ECDSAP256 Algorithm = "ecdsa-p256"
	ECDSAP384 Algorithm = "ecdsa-p384"
	RSA3072   Algorithm = "rsa-3072"
	RSA4096   Algorithm = "rsa-4096"
	Ed25519   Algorithm = "ed25519"
)

// Algorithms lists every supported key pair algorithm.
var Algorithms = []Algorithm{ECDSAP256, ECDSAP384, RSA3072, RSA4096, Ed25519}

var (
	oidP256    = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384    = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}
)

// KeySpec says what key pair to generate. The zero value of each flag is the safe one.
type KeySpec struct {
	Label     string
	Algorithm Algorithm
	// Extractable allows the private key to leave the token wrapped, and then only under a
	// trusted wrapping key (CKA_WRAP_WITH_TRUSTED is always set with it).
	Extractable bool
	// Use is what the key pair does: sign (default) or unwrap (RSA import-job keys).
	Use KeyUse
}

// Attributes are the security attributes of a private key as the token reports them.
type Attributes map[string]bool

var privateAttrs = attrList{
	{"CKA_TOKEN", pkcs11.CKA_TOKEN}, {"CKA_PRIVATE", pkcs11.CKA_PRIVATE}, {"CKA_SENSITIVE", pkcs11.CKA_SENSITIVE},
	{"CKA_EXTRACTABLE", pkcs11.CKA_EXTRACTABLE}, {"CKA_WRAP_WITH_TRUSTED", pkcs11.CKA_WRAP_WITH_TRUSTED},
	{"CKA_SIGN", pkcs11.CKA_SIGN}, {"CKA_DECRYPT", pkcs11.CKA_DECRYPT}, {"CKA_UNWRAP", pkcs11.CKA_UNWRAP},
	{"CKA_DERIVE", pkcs11.CKA_DERIVE}, {"CKA_LOCAL", pkcs11.CKA_LOCAL},
	{"CKA_ALWAYS_SENSITIVE", pkcs11.CKA_ALWAYS_SENSITIVE}, {"CKA_NEVER_EXTRACTABLE", pkcs11.CKA_NEVER_EXTRACTABLE},
}

// KeyPair is a private key on a token with its public key. It is a crypto.Signer.
type KeyPair struct {
	Label      string
	ID         []byte
	Algorithm  Algorithm
	Attributes Attributes
	// UnwrapHashes are the RSA-OAEP hashes an unwrap key passed its self-test with.
	UnwrapHashes []OAEPHash
	public       crypto.PublicKey
	t            *Token
	priv         pkcs11.ObjectHandle
	login        int // t.logins when priv was found
}

// handle returns the private key's object handle, finding it again by CKA_ID and label if
// the token's login changed since it was found. It must be called with t.mu held.
func (k *KeyPair) handle() (pkcs11.ObjectHandle, error) {
	if k.login == k.t.logins {
		return k.priv, nil
	}
	h, err := k.t.findOne([]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_ID, k.ID), pkcs11.NewAttribute(pkcs11.CKA_LABEL, k.Label)}, k.Label)
	if err != nil {
		return 0, err
	}
	k.priv, k.login = h, k.t.logins
	return k.priv, nil
}

// Public returns the public key: *ecdsa.PublicKey, *rsa.PublicKey or ed25519.PublicKey.
func (k *KeyPair) Public() crypto.PublicKey { return k.public }

// GenerateKeyPair generates spec on the token. It refuses a label already in use, reads every
// attribute back and fails if the token did not honour the template, and runs a pairwise
// sign/verify self-test. On any failure after creation the new objects are destroyed.
func (t *Token) GenerateKeyPair(spec KeySpec) (*KeyPair, error) {
	if spec.Label == "" {
		return nil, errors.New("generate key: the key needs a label")
	}
	if exists, err := t.HasLabel(spec.Label); err != nil {
		return nil, err
	} else if exists {
		return nil, errorf(ErrLabelTaken, "generate key %q: token %q already holds an object with this label; Keyrite never generates over an existing key (choose another label)", spec.Label, t.Info.Label)
	}
	id, err := t.Random(16)
	if err != nil {
		return nil, err
	}
	mech, pub, priv, err := templates(spec, id)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	pubH, privH, err := t.m.ctx.GenerateKeyPair(t.session, []*pkcs11.Mechanism{mech}, pub, priv)
	t.mu.Unlock()
	if err != nil {
		return nil, wrap("generate key", spec.Label, err)
	}
	if err := t.recheckLabel(spec.Label, pubH, privH); err != nil {
		return nil, err
	}
	k, err := t.loadKeyPair(spec.Label, id, spec.Algorithm, pubH, privH)
	if err == nil {
		err = checkHonoured(spec, k.Attributes)
	}
	if err == nil && spec.Use == UseUnwrap {
		err = unwrapSelfTest(t, k)
	} else if err == nil {
		err = SelfTest(k)
	}
	if err != nil {
		t.discard(privH, pubH)
		return nil, fmt.Errorf("generate key %q: %w (the new key was destroyed)", spec.Label, err)
	}
	return k, nil
}

func templates(spec KeySpec, id []byte) (*pkcs11.Mechanism, []*pkcs11.Attribute, []*pkcs11.Attribute, error) {
	common := func(private bool) []*pkcs11.Attribute {
		return []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, private),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, spec.Label), pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		}
	}
	unwrap := spec.Use == UseUnwrap
	if unwrap && spec.Algorithm != RSA3072 && spec.Algorithm != RSA4096 {
		return nil, nil, nil, fmt.Errorf("generate key %q: an unwrap key is RSA-3072 or RSA-4096, not %s", spec.Label, spec.Algorithm)
	}
	// A signing key's public object says nothing about CKA_VERIFY or CKA_ENCRYPT: Keyrite
	// verifies in Go, anyone may encrypt to a public key anyway, and some tokens derive both
	// from the private key's usage and refuse a template that states them (tpm2-pkcs11 1.9
	// fails CKA_VERIFY=true beside a private CKA_DECRYPT=false with CKR_GENERAL_ERROR).
	pub := append(common(false), pkcs11.NewAttribute(pkcs11.CKA_WRAP, unwrap))
	if unwrap {
		pub = append(pub, pkcs11.NewAttribute(pkcs11.CKA_VERIFY, false), pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false))
	}
	priv := append(common(true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, spec.Extractable),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP_WITH_TRUSTED, spec.Extractable),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, !unwrap),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, unwrap),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
	)
	var mech *pkcs11.Mechanism
	switch spec.Algorithm {
	case ECDSAP256, ECDSAP384:
		oid := oidP256
		if spec.Algorithm == ECDSAP384 {
			oid = oidP384
		}
		params, _ := asn1.Marshal(oid)
		mech = pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)
		pub = append(pub, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC), pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params))
		priv = append(priv, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC))
	case RSA3072, RSA4096:
		bits := 3072
		if spec.Algorithm == RSA4096 {
			bits = 4096
		}
		mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)
		pub = append(pub, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA), pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, bits),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
		priv = append(priv, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA))
	case Ed25519:
		params, _ := asn1.Marshal(oidEd25519)
		mech = pkcs11.NewMechanism(ckmEdwardsKeyGen, nil)
		pub = append(pub, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, ckkEdwards), pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params))
		priv = append(priv, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, ckkEdwards))
	default:
		return nil, nil, nil, fmt.Errorf("generate key %q: unknown algorithm %q (want one of %v)", spec.Label, spec.Algorithm, Algorithms)
	}
	return mech, pub, priv, nil
}

// checkHonoured compares what the token reports with what the template asked for.
func checkHonoured(spec KeySpec, a Attributes) error {
	unwrap := spec.Use == UseUnwrap
	want := map[string]bool{
		"CKA_TOKEN": true, "CKA_PRIVATE": true, "CKA_SENSITIVE": true, "CKA_EXTRACTABLE": spec.Extractable,
		"CKA_WRAP_WITH_TRUSTED": spec.Extractable, "CKA_SIGN": !unwrap, "CKA_DECRYPT": false, "CKA_UNWRAP": unwrap,
		"CKA_DERIVE": false, "CKA_LOCAL": true, "CKA_ALWAYS_SENSITIVE": true, "CKA_NEVER_EXTRACTABLE": !spec.Extractable,
	}
	return compareAttrs(want, a)
}

// FindKeyPair finds the private and public key objects labelled label.
func (t *Token) FindKeyPair(label string) (*KeyPair, error) {
	t.mu.Lock()
	privs, err := t.find([]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY), pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)})
	var pubs []pkcs11.ObjectHandle
	if err == nil {
		pubs, err = t.find([]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY), pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)})
	}
	t.mu.Unlock()
	if err != nil {
		return nil, wrap("find key", label, err)
	}
	if len(privs) != 1 || len(pubs) != 1 {
		return nil, errorf(ErrNotFound, "find key %q on token %q: found %d private and %d public keys, want exactly one of each", label, t.Info.Label, len(privs), len(pubs))
	}
	t.mu.Lock()
	a, err := t.m.ctx.GetAttributeValue(t.session, privs[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, nil), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil)})
	t.mu.Unlock()
	if err != nil {
		return nil, wrap("read key", label, err)
	}
	return t.loadKeyPair(label, a[0].Value, "", pubs[0], privs[0])
}

func (t *Token) loadKeyPair(label string, id []byte, alg Algorithm, pubH, privH pkcs11.ObjectHandle) (*KeyPair, error) {
	attrs, err := t.readAttrs(privH, privateAttrs)
	if err != nil {
		return nil, wrap("read attributes of key", label, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := &KeyPair{Label: label, ID: id, Algorithm: alg, t: t, priv: privH, login: t.logins, Attributes: attrs}
	pub, a, err := t.publicKey(pubH)
	if err != nil {
		return nil, wrap("read public key", label, err)
	}
	k.public = pub
	if k.Algorithm == "" {
		k.Algorithm = a
	}
	return k, nil
}

// publicKey must be called with t.mu held.
func (t *Token) publicKey(h pkcs11.ObjectHandle) (crypto.PublicKey, Algorithm, error) {
	kt, err := t.m.ctx.GetAttributeValue(t.session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil)})
	if err != nil {
		return nil, "", err
	}
	switch ulong(kt[0].Value) {
	case pkcs11.CKK_RSA:
		a, err := t.m.ctx.GetAttributeValue(t.session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_MODULUS, nil), pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, nil)})
		if err != nil {
			return nil, "", err
		}
		n := new(big.Int).SetBytes(a[0].Value)
		e := new(big.Int).SetBytes(a[1].Value)
		if !e.IsInt64() || e.Int64() > 1<<31-1 {
			return nil, "", errors.New("RSA public exponent is too large")
		}
		alg := Algorithm(fmt.Sprintf("rsa-%d", n.BitLen()))
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, alg, nil
	case pkcs11.CKK_EC, ckkEdwards:
		a, err := t.m.ctx.GetAttributeValue(t.session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, nil), pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil)})
		if err != nil {
			return nil, "", err
		}
		return decodeECPoint(a[0].Value, a[1].Value)
	}
	return nil, "", fmt.Errorf("unsupported key type 0x%x", ulong(kt[0].Value))
}

// decodeECPoint reads CKA_EC_PARAMS and CKA_EC_POINT. The point is a DER OCTET STRING per
// PKCS#11; some tokens return it raw, which is accepted when unambiguous.
func decodeECPoint(params, point []byte) (crypto.PublicKey, Algorithm, error) {
	var raw []byte
	if _, err := asn1.Unmarshal(point, &raw); err != nil {
		raw = point
	}
	var oid asn1.ObjectIdentifier
	var printable string
	if _, err := asn1.Unmarshal(params, &oid); err != nil {
		if _, err := asn1.UnmarshalWithParams(params, &printable, "printable"); err != nil || printable != "edwards25519" {
			return nil, "", errors.New("unsupported CKA_EC_PARAMS")
		}
		oid = oidEd25519
	}
	switch {
	case oid.Equal(oidEd25519):
		if len(raw) != ed25519.PublicKeySize {
			return nil, "", errors.New("Ed25519 public key has the wrong length")
		}
		return ed25519.PublicKey(bytes.Clone(raw)), Ed25519, nil
	case oid.Equal(oidP256), oid.Equal(oidP384):
		curve, alg := elliptic.P256(), ECDSAP256
		if oid.Equal(oidP384) {
			curve, alg = elliptic.P384(), ECDSAP384
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
		if err != nil {
			return nil, "", fmt.Errorf("EC point: %w", err)
		}
		return pub, alg, nil
	}
	return nil, "", fmt.Errorf("unsupported curve %v", oid)
}

// SelfTest signs a fresh random message with k and verifies it with k's public key in Go.
func SelfTest(k crypto.Signer) error { return SelfTestAgainst(k, k.Public()) }

// SelfTestAgainst signs a fresh random message with k and verifies the signature in Go with
// pub, proving that k is the private half of pub (a certificate's key, say).
func SelfTestAgainst(k crypto.Signer, pub crypto.PublicKey) error {
	msg := make([]byte, 32)
	rand.Read(msg)
	var err error
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		d := sha256.Sum256(msg)
		var sig []byte
		if sig, err = k.Sign(rand.Reader, d[:], crypto.SHA256); err == nil && !ecdsa.VerifyASN1(pub, d[:], sig) {
			err = errors.New("ECDSA signature does not verify")
		}
	case *rsa.PublicKey:
		d := sha256.Sum256(msg)
		var sig []byte
		if sig, err = k.Sign(rand.Reader, d[:], crypto.SHA256); err == nil {
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig)
		}
	case ed25519.PublicKey:
		var sig []byte
		if sig, err = k.Sign(rand.Reader, msg, crypto.Hash(0)); err == nil && !ed25519.Verify(pub, msg, sig) {
			err = errors.New("Ed25519 signature does not verify")
		}
	default:
		err = fmt.Errorf("no self-test for %T", pub)
	}
	if err != nil {
		return fmt.Errorf("pairwise self-test failed: %w", err)
	}
	return nil
}

// DigestInfo prefixes for PKCS #1 v1.5 (RFC 8017, section 9.2, note 1).
var digestInfo = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

var pssHash = map[crypto.Hash][2]uint{
	crypto.SHA256: {pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256},
	crypto.SHA384: {pkcs11.CKM_SHA384, pkcs11.CKG_MGF1_SHA384},
	crypto.SHA512: {pkcs11.CKM_SHA512, pkcs11.CKG_MGF1_SHA512},
}

// Sign signs digest (or, for Ed25519, the whole message) inside the token. ECDSA signatures are
// returned in ASN.1 DER, as crypto.Signer requires.
func (k *KeyPair) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	var mech *pkcs11.Mechanism
	input := digest
	h := opts.HashFunc()
	switch k.public.(type) {
	case *ecdsa.PublicKey:
		mech = pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			p, ok := pssHash[h]
			if !ok {
				return nil, fmt.Errorf("sign with key %q: unsupported PSS hash %v", k.Label, h)
			}
			salt := pss.SaltLength
			if salt == rsa.PSSSaltLengthAuto || salt == rsa.PSSSaltLengthEqualsHash {
				salt = h.Size()
			}
			mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, pkcs11.NewPSSParams(p[0], p[1], uint(salt)))
		} else {
			prefix, ok := digestInfo[h]
			if !ok {
				return nil, fmt.Errorf("sign with key %q: unsupported hash %v", k.Label, h)
			}
			mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)
			input = append(bytes.Clone(prefix), digest...)
		}
	case ed25519.PublicKey:
		if h != 0 {
			return nil, fmt.Errorf("sign with key %q: Ed25519 signs the message itself, not a %v digest", k.Label, h)
		}
		mech = pkcs11.NewMechanism(ckmEdDSA, nil)
	}
	if h != 0 && len(digest) != h.Size() {
		return nil, fmt.Errorf("sign with key %q: digest is %d bytes, want %d for %v", k.Label, len(digest), h.Size(), h)
	}
	t := k.t
	t.mu.Lock()
	priv, err := k.handle()
	if err == nil {
		err = t.m.ctx.SignInit(t.session, []*pkcs11.Mechanism{mech}, priv)
	}
	var sig []byte
	if err == nil {
		sig, err = t.m.ctx.Sign(t.session, input)
	}
	t.mu.Unlock()
	if err != nil {
		return nil, wrap("sign with key", k.Label, err)
	}
	if _, ok := k.public.(*ecdsa.PublicKey); ok {
		if len(sig)%2 != 0 {
			return nil, fmt.Errorf("sign with key %q: token returned a malformed ECDSA signature", k.Label)
		}
		r := new(big.Int).SetBytes(sig[:len(sig)/2])
		s := new(big.Int).SetBytes(sig[len(sig)/2:])
		return asn1.Marshal(struct{ R, S *big.Int }{r, s})
	}
	return sig, nil
}
