package smallkey

import (
	"crypto/ecdsa"
	"fmt"

	"github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3/lint"
	"github.com/zmap/zlint/v3/lints/community"

	"github.com/keyrite/keyrite/internal/lintswap"
)

// Name is the lint this package implements, under zlint's own name.
const Name = "e_ecdsa_small_private_key"

// The replacement is made once, when the package is initialised: after zlint's lints have
// registered themselves (this package imports them) and before anything can lint.
func init() { lintswap.Replace(Name, New) }

// Lint is e_ecdsa_small_private_key: Error when the certificate's ECDSA key has a private key
// d with d or n − d in 1..2^Bits. Bits is configurable as zlint's is (the same field, in the
// lint's section of a zlint configuration); with any value but the default, or on a curve
// with no table, the lint is zlint's own.
type Lint struct {
	Bits int `comment:"The lint reports any ECDSA public key whose private scalar d satisfies 0 < d <= 2^Bits (or the negation of such a d). With the default 16, keys on P-224, P-256, P-384 and P-521 are searched with tables compiled into Keyrite; any other value, or another curve, runs zlint's own implementation."`
}

// New returns the lint with zlint's default configuration.
func New() lint.CertificateLintInterface { return &Lint{Bits: Bits} }

// Configure returns what a zlint configuration is read into.
func (l *Lint) Configure() interface{} { return l }

// CheckApplies is zlint's: every certificate with a well-formed ECDSA key on its curve.
func (l *Lint) CheckApplies(c *x509.Certificate) bool {
	key := ecdsaKey(c)
	return key != nil && key.Curve != nil && key.X != nil && key.Y != nil && key.Curve.IsOnCurve(key.X, key.Y)
}

// Execute judges the key as zlint's lint does, with the same status and details.
func (l *Lint) Execute(c *x509.Certificate) *lint.LintResult {
	key := ecdsaKey(c)
	if l.Bits != Bits || !Tabulated(key.Curve) {
		return zlintJudges(l.Bits, c)
	}
	d, _ := Search(key)
	if d == nil {
		return &lint.LintResult{Status: lint.Pass}
	}
	return &lint.LintResult{
		Status:  lint.Error,
		Details: fmt.Sprintf("the ECDSA private key is %s, or its negation modulo the group order, and so can be trivially recovered by anyone", d),
	}
}

// zlintJudges runs zlint's own implementation with Bits set to bits, through zlint's
// configuration reader as a registry would.
func zlintJudges(bits int, c *x509.Certificate) *lint.LintResult {
	z := community.NewEcdsaSmallPrivateKey()
	cfg, err := lint.NewConfigFromString(fmt.Sprintf("[%s]\nBits = %d\n", Name, bits))
	if err == nil {
		err = cfg.MaybeConfigure(z, Name)
	}
	if err != nil {
		return &lint.LintResult{Status: lint.Fatal, Details: err.Error()}
	}
	if !z.CheckApplies(c) {
		return &lint.LintResult{Status: lint.NA}
	}
	return z.Execute(c)
}

// ecdsaKey is the certificate's ECDSA public key, or nil (zlint's reading).
func ecdsaKey(c *x509.Certificate) *ecdsa.PublicKey {
	if c.PublicKeyAlgorithm != x509.ECDSA {
		return nil
	}
	switch k := c.PublicKey.(type) {
	case *x509.AugmentedECDSA:
		return k.Pub
	case *ecdsa.PublicKey:
		return k
	}
	return nil
}
