package ledger

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"fmt"

	"golang.org/x/mod/sumdb/note"
)

// KeyHash is the key hash a key signs checkpoints under: the first four bytes of the SHA-256
// of its DER SubjectPublicKeyInfo, as on a transcript's seal.
func KeyHash(pub crypto.PublicKey) (uint32, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return 0, err
	}
	h := sha256.Sum256(der)
	return binary.BigEndian.Uint32(h[:4]), nil
}

// digestFor is the hash a key signs a note with: SHA-256/384/512 by ECDSA curve, none for
// Ed25519 (the same rule as the transcript's seal).
func digestFor(pub crypto.PublicKey) (crypto.Hash, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return crypto.SHA256, nil
		case elliptic.P384():
			return crypto.SHA384, nil
		case elliptic.P521():
			return crypto.SHA512, nil
		}
	case ed25519.PublicKey:
		return 0, nil
	}
	return 0, fmt.Errorf("checkpoints are signed with ECDSA or Ed25519 keys, not %T", pub)
}

// signer signs notes with a crypto.Signer, such as the transcript signer held in the HSM.
type signer struct {
	name string
	hash uint32
	s    crypto.Signer
	h    crypto.Hash
}

// NewSigner returns a note signer named name over s.
func NewSigner(name string, s crypto.Signer) (note.Signer, error) {
	h, err := digestFor(s.Public())
	if err != nil {
		return nil, err
	}
	kh, err := KeyHash(s.Public())
	if err != nil {
		return nil, err
	}
	return &signer{name: name, hash: kh, s: s, h: h}, nil
}

func (s *signer) Name() string    { return s.name }
func (s *signer) KeyHash() uint32 { return s.hash }
func (s *signer) Sign(msg []byte) ([]byte, error) {
	d := msg
	if s.h != 0 {
		w := s.h.New()
		w.Write(msg)
		d = w.Sum(nil)
	}
	return s.s.Sign(rand.Reader, d, s.h)
}

// verifier checks notes signed by a public key.
type verifier struct {
	name string
	hash uint32
	pub  crypto.PublicKey
	h    crypto.Hash
}

// NewVerifier returns a note verifier named name for pub.
func NewVerifier(name string, pub crypto.PublicKey) (note.Verifier, error) {
	h, err := digestFor(pub)
	if err != nil {
		return nil, err
	}
	kh, err := KeyHash(pub)
	if err != nil {
		return nil, err
	}
	return &verifier{name: name, hash: kh, pub: pub, h: h}, nil
}

func (v *verifier) Name() string    { return v.name }
func (v *verifier) KeyHash() uint32 { return v.hash }
func (v *verifier) Verify(msg, sig []byte) bool {
	switch k := v.pub.(type) {
	case *ecdsa.PublicKey:
		w := v.h.New()
		w.Write(msg)
		return ecdsa.VerifyASN1(k, w.Sum(nil), sig)
	case ed25519.PublicKey:
		return ed25519.Verify(k, msg, sig)
	}
	return false
}
