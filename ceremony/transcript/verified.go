package transcript

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
)

// verified holds what this process has verified successfully, by the SHA-256 of every byte
// the verification depends on. A ceremony is verified more than once in one process (before
// its report and bundle are made, then as the command's last check), and each verification
// of its signer's chain and seal is three P-384 signature checks, about 1 ms each in Go: the
// same bytes verify the same way, so they are checked once. Only a success is kept; bytes
// that differ in any way are a new key and are verified.
var verified sync.Map

// checks counts the checks once ran (a test reads it).
var checks atomic.Int64

// once runs check unless the bytes parts (their order and lengths included) passed it
// before in this process, and keeps a success.
func once(kind string, check func() error, parts ...[]byte) error {
	h := sha256.New()
	for _, p := range append([][]byte{[]byte(kind)}, parts...) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	if _, ok := verified.Load(key); ok {
		return nil
	}
	checks.Add(1)
	if err := check(); err != nil {
		return err
	}
	verified.Store(key, struct{}{})
	return nil
}

// rootSelfSigned is root.CheckSignatureFrom(root), once per certificate.
func rootSelfSigned(root *x509.Certificate) error {
	return once("self-signed", func() error { return root.CheckSignatureFrom(root) }, root.Raw)
}

// chainsTo is leaf.Verify with roots root and intermediates inter at time t for any key usage,
// once per set of certificates and time.
func chainsTo(leaf, root *x509.Certificate, inter []*x509.Certificate, t time.Time) error {
	parts := [][]byte{leaf.Raw, root.Raw, []byte(t.UTC().Format(time.RFC3339Nano))}
	for _, c := range inter {
		parts = append(parts, c.Raw)
	}
	return once("chain", func() error {
		roots, pool := x509.NewCertPool(), x509.NewCertPool()
		roots.AddCert(root)
		for _, c := range inter {
			pool.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: pool, CurrentTime: t, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		return err
	}, parts...)
}

// sealVerifies is s.Verify(pub), once per seal text and key.
func sealVerifies(s *Seal, pub crypto.PublicKey) error {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return s.Verify(pub)
	}
	return once("seal", func() error { return s.Verify(pub) }, []byte(s.Text), []byte(s.SignerName), s.KeyID[:], s.Body(), der)
}
