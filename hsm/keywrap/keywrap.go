// Package keywrap implements AES key wrap (RFC 3394), AES key wrap with padding (RFC 5649,
// NIST SP 800-38F KWP) and the CKM_RSA_AES_KEY_WRAP layout in pure Go. Keyrite wraps keys
// inside the HSM; this package exists to check what the HSM produced against the standard, and
// to unwrap a transfer file in tests and offline tools without trusting the token that wrote
// it. The keyrite binary does not link it (a test in hsm/hsmtest checks).
package keywrap

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // the OAEP hashes providers document
	_ "crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

var (
	defaultIV = []byte{0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6}
	kwpPrefix = []byte{0xa6, 0x59, 0x59, 0xa6}
	// ErrIntegrity means the wrapped key is corrupt, truncated or was wrapped under another KEK.
	ErrIntegrity = errors.New("keywrap: integrity check failed (wrong key-encryption key, or the wrapped key is corrupt)")
)

// Wrap is RFC 3394 AES key wrap; plaintext is a multiple of 8 bytes, at least 16.
func Wrap(kek, plaintext []byte) ([]byte, error) {
	if len(plaintext) < 16 || len(plaintext)%8 != 0 {
		return nil, errors.New("keywrap: plaintext must be a multiple of 8 bytes and at least 16")
	}
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return wrapCore(b, defaultIV, plaintext), nil
}

// Unwrap is RFC 3394 AES key unwrap.
func Unwrap(kek, wrapped []byte) ([]byte, error) {
	if len(wrapped) < 24 || len(wrapped)%8 != 0 {
		return nil, errors.New("keywrap: wrapped key must be a multiple of 8 bytes and at least 24")
	}
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	a, p := unwrapCore(b, wrapped)
	if subtle.ConstantTimeCompare(a, defaultIV) != 1 {
		clear(p)
		return nil, ErrIntegrity
	}
	return p, nil
}

// WrapPad is RFC 5649 AES key wrap with padding (CKM_AES_KEY_WRAP_PAD, OpenSSL id-aes*-wrap-pad).
func WrapPad(kek, plaintext []byte) ([]byte, error) {
	if len(plaintext) == 0 || uint64(len(plaintext)) > 1<<32-1 {
		return nil, errors.New("keywrap: plaintext must be 1 to 2^32-1 bytes")
	}
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	aiv := make([]byte, 8)
	copy(aiv, kwpPrefix)
	binary.BigEndian.PutUint32(aiv[4:], uint32(len(plaintext)))
	padded := make([]byte, (len(plaintext)+7)/8*8)
	copy(padded, plaintext)
	defer clear(padded)
	if len(padded) == 8 {
		out := make([]byte, 16)
		copy(out, aiv)
		copy(out[8:], padded)
		b.Encrypt(out, out)
		return out, nil
	}
	return wrapCore(b, aiv, padded), nil
}

// UnwrapPad is RFC 5649 AES key unwrap with padding.
func UnwrapPad(kek, wrapped []byte) ([]byte, error) {
	if len(wrapped) < 16 || len(wrapped)%8 != 0 {
		return nil, errors.New("keywrap: wrapped key must be a multiple of 8 bytes and at least 16 (truncated?)")
	}
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	var a, p []byte
	if len(wrapped) == 16 {
		out := make([]byte, 16)
		b.Decrypt(out, wrapped)
		a, p = out[:8], out[8:]
	} else {
		a, p = unwrapCore(b, wrapped)
	}
	n := int(binary.BigEndian.Uint32(a[4:]))
	ok := subtle.ConstantTimeCompare(a[:4], kwpPrefix) == 1 && n <= len(p) && n > len(p)-8
	if ok {
		for _, c := range p[n:] {
			ok = ok && c == 0
		}
	}
	if !ok {
		clear(p)
		return nil, ErrIntegrity
	}
	return p[:n], nil
}

func wrapCore(b cipher.Block, iv, plaintext []byte) []byte {
	n := len(plaintext) / 8
	out := make([]byte, 8+len(plaintext))
	copy(out, iv)
	copy(out[8:], plaintext)
	buf := make([]byte, 16)
	for j := 0; j < 6; j++ {
		for i := 1; i <= n; i++ {
			copy(buf, out[:8])
			copy(buf[8:], out[i*8:i*8+8])
			b.Encrypt(buf, buf)
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(out[:8], binary.BigEndian.Uint64(buf[:8])^t)
			copy(out[i*8:], buf[8:])
		}
	}
	clear(buf)
	return out
}

func unwrapCore(b cipher.Block, wrapped []byte) (a, p []byte) {
	n := len(wrapped)/8 - 1
	r := make([]byte, len(wrapped))
	copy(r, wrapped)
	buf := make([]byte, 16)
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(buf[:8], binary.BigEndian.Uint64(r[:8])^t)
			copy(buf[8:], r[i*8:i*8+8])
			b.Decrypt(buf, buf)
			copy(r[:8], buf[:8])
			copy(r[i*8:], buf[8:])
		}
	}
	clear(buf)
	return r[:8], r[8:]
}

// UnwrapRSAAES opens a CKM_RSA_AES_KEY_WRAP blob (an AES-256 key wrapped with RSA-OAEP using
// oaepHash for the hash and MGF1, then the payload wrapped under it with RFC 5649) with priv.
func UnwrapRSAAES(priv *rsa.PrivateKey, oaepHash crypto.Hash, blob []byte) ([]byte, error) {
	k := priv.Size()
	if len(blob) < k+16 {
		return nil, fmt.Errorf("transfer blob is %d bytes; it must hold a %d-byte RSA block and a wrapped key (truncated?)", len(blob), k)
	}
	aesKey, err := rsa.DecryptOAEP(oaepHash.New(), nil, priv, blob[:k], nil)
	if err != nil {
		return nil, fmt.Errorf("RSA-OAEP (%v): %w (another wrapping key, another hash, or a damaged blob)", oaepHash, err)
	}
	defer clear(aesKey)
	return UnwrapPad(aesKey, blob[k:])
}

// WrapRSAAES builds a CKM_RSA_AES_KEY_WRAP blob for pub: tests use it to check an HSM's import.
func WrapRSAAES(pub *rsa.PublicKey, oaepHash crypto.Hash, payload []byte) ([]byte, error) {
	aesKey := make([]byte, 32)
	if _, err := rand.Read(aesKey); err != nil {
		return nil, err
	}
	defer clear(aesKey)
	head, err := rsa.EncryptOAEP(oaepHash.New(), rand.Reader, pub, aesKey, nil)
	if err != nil {
		return nil, err
	}
	tail, err := WrapPad(aesKey, payload)
	if err != nil {
		return nil, err
	}
	return append(head, tail...), nil
}
