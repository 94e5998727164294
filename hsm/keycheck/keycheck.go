// Package keycheck computes key check values of AES keys in pure Go, with the standard library
// only: AES-CMAC (NIST SP 800-38B, RFC 4493) and the AES-ECB check value PKCS#11 tokens report.
// A KCV identifies a key without revealing it; every KCV carries its method's name, because
// the two methods give different values for the same key. The package is a leaf: hsm, quorum
// and ceremony use it, and it imports nothing of Keyrite. Known-answer tests: RFC 4493 and
// SP 800-38B vectors in testdata, and check values computed independently with OpenSSL.
package keycheck

import (
	"crypto/aes"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// KCV methods. Every KCV Keyrite shows or prints carries its method's name: the two differ for
// the same key.
const (
	// MethodCMAC is the leftmost 3 bytes of AES-CMAC over a zero block (PCI PIN, ANSI X9.24-1).
	MethodCMAC = "AES-CMAC"
	// MethodECB is the leftmost 3 bytes of AES-ECB encryption of a zero block: what PKCS#11
	// tokens report as CKA_CHECK_VALUE for AES keys.
	MethodECB = "AES-ECB"
)

// KCV is a key check value with the name of its method.
type KCV struct {
	Method string `json:"method"`
	Value  string `json:"value"` // 6 uppercase hex digits
}

func (k KCV) String() string { return fmt.Sprintf("%s (%s of a zero block)", k.Value, k.Method) }

// Equal compares two KCVs in constant time; KCVs of different methods never match.
func (k KCV) Equal(o KCV) bool {
	return k.Method == o.Method && subtle.ConstantTimeCompare([]byte(strings.ToUpper(k.Value)), []byte(strings.ToUpper(o.Value))) == 1
}

// Compute computes key's KCV by method.
func Compute(key []byte, method string) (KCV, error) {
	var out []byte
	var err error
	switch method {
	case MethodCMAC:
		out, err = CMAC(key, make([]byte, aes.BlockSize))
	case MethodECB:
		var b interface{ Encrypt(dst, src []byte) }
		b, err = aes.NewCipher(key)
		if err == nil {
			out = make([]byte, aes.BlockSize)
			b.Encrypt(out, make([]byte, aes.BlockSize))
		}
	default:
		return KCV{}, fmt.Errorf("unknown KCV method %q", method)
	}
	if err != nil {
		return KCV{}, fmt.Errorf("compute KCV: %w", err)
	}
	return KCV{Method: method, Value: strings.ToUpper(hex.EncodeToString(out[:3]))}, nil
}

// CMAC is AES-CMAC (NIST SP 800-38B, RFC 4493) of msg under key.
func CMAC(key, msg []byte) ([]byte, error) {
	c, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	const bs = aes.BlockSize
	l := make([]byte, bs)
	c.Encrypt(l, l)
	k1 := shiftXor(l)
	k2 := shiftXor(k1)
	n := (len(msg) + bs - 1) / bs
	last := make([]byte, bs)
	if n == 0 || len(msg)%bs != 0 {
		if n == 0 {
			n = 1
		}
		rest := msg[(n-1)*bs:]
		copy(last, rest)
		last[len(rest)] = 0x80
		xor(last, k2)
	} else {
		copy(last, msg[(n-1)*bs:])
		xor(last, k1)
	}
	x := make([]byte, bs)
	for i := 0; i < n-1; i++ {
		xor(x, msg[i*bs:(i+1)*bs])
		c.Encrypt(x, x)
	}
	xor(x, last)
	c.Encrypt(x, x)
	return x, nil
}

// shiftXor doubles a block in GF(2^128), as CMAC's subkey generation does.
func shiftXor(in []byte) []byte {
	out := make([]byte, len(in))
	var carry byte
	for i := len(in) - 1; i >= 0; i-- {
		out[i] = in[i]<<1 | carry
		carry = in[i] >> 7
	}
	if carry != 0 {
		out[len(out)-1] ^= 0x87
	}
	return out
}

func xor(dst, src []byte) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}
