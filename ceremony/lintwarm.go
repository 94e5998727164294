package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"math/big"
	"sync"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3/lint"
)

// warmKeyLints makes, in the background, what zlint's e_ecdsa_small_private_key needs before
// it can judge a P-384 key: a table of 4,096 multiples of the curve's base point (about 95 ms
// of CPU, built once per process and kept by zlint). The lint runs on the real keys once the
// HSM has signed (relint.go), the root's and the transcript signer's among them; without
// this the first of them waits for the table after the seal of its step. Start calls it with
// the pre-flight, whose HSM and disk waits leave a core free.
func warmKeyLints() { warmKeyLintsOnce.Do(func() { go runSmallKeyLint(elliptic.P384()) }) }

var warmKeyLintsOnce sync.Once

// runSmallKeyLint runs e_ecdsa_small_private_key on a certificate holding the base point of
// curve (private key 1, the smallest there is) and reports whether it was found small: the
// lint's own table for curve is built on the way.
func runSmallKeyLint(curve elliptic.Curve) bool {
	l := lint.GlobalRegistry().ByName("e_ecdsa_small_private_key")
	if l == nil {
		return false
	}
	p := curve.Params()
	c := &zx509.Certificate{PublicKeyAlgorithm: zx509.ECDSA, PublicKey: &ecdsa.PublicKey{Curve: curve, X: new(big.Int).Set(p.Gx), Y: new(big.Int).Set(p.Gy)}}
	r := l.Execute(c, lint.NewEmptyConfig())
	return r != nil && r.Status == lint.Error
}
