// Package emudhra is Keyrite's implementation of zlint v3.7.3's
// e_cert_issued_by_compromised_emudhra_ca: a certificate whose ECDSA signature verifies under
// the public key of one of the eight eMudhra intermediate CAs whose private keys were
// compromised (https://bugzilla.mozilla.org/show_bug.cgi?id=2083449) is an error.
//
// zlint verifies the signature under each of the eight P-384 keys in turn: eight ECDSA
// verifications, about 14 ms of CPU a certificate with Go's P-384. This package recovers
// instead, from the signature and the hash of the signed bytes, every public key the signature
// verifies under (at most four: the points R with x(R) ≡ r mod n give Q = r⁻¹(sR − eG)), and
// looks for the eight among them: one scalar multiplication of R and one of G, about a tenth
// of the work. A signature verifies under Q exactly when Q is among the keys recovered, so the
// verdict is zlint's.
//
// Guarantees:
//   - The lint (Lint) applies to, parses and hashes a certificate as zlint's lint and zcrypto's
//     CheckSignatureFromKey do (the same signature algorithms, hashes and ASN.1 parser; R and S
//     positive and no trailing data), and its status is zlint's.
//   - The eight keys are zlint's: the tests check each against its intermediate's certificate
//     and the SHA-1 key identifier the Bugzilla report lists, and run both lints over the
//     certificates zlint tests its lint with (eight signed with the compromised keys, from CT
//     and minted with the recovered keys; intermediates and cross-signs that must pass).
//   - Importing the package puts Lint in zlint's global registry under zlint's name, in place
//     of zlint's implementation, so every registry filtered from it runs this one.
package emudhra

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	_ "crypto/sha1" // the hashes of zcrypto's CheckSignatureFromKey for ECDSA
	_ "crypto/sha256"
	_ "crypto/sha512"
	"fmt"
	"math/big"

	"github.com/zmap/zcrypto/encoding/asn1"
	"github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3/lint"
	_ "github.com/zmap/zlint/v3/lints/community" // registers the lint replaced here

	"github.com/keyrite/keyrite/internal/lintswap"
)

// Name is the lint this package implements, under zlint's own name.
const Name = "e_cert_issued_by_compromised_emudhra_ca"

const bugURL = "https://bugzilla.mozilla.org/show_bug.cgi?id=2083449"

// compromised are the public keys of the eight compromised intermediates (zlint's list, each
// key certified by the emSign root and cross-signed by Sectigo), in zlint's order.
var compromised = []struct {
	name string
	x, y string
}{
	{"EM EV TLS CA - G3B", "25dba85a64d397da0b1052e9ea546e487befea9c9d9d68a0c5eadcfeef75a69bb5d6fc01f42bfbca6eb40bcd64c0767e", "36ffd05d97a813c5aa0c6c9530e79cf5f0866468f13806420aa5c851840b1e252540e790e4b654c3852ed64af1e8657d"},
	{"EM OV TLS CA - G3B", "73897aa0eb3cfdca8b12402ffaf0abc4e1212baf8dee778ac9ee2d6db83fac280c5e05638ae7a2acd71c322a8e361cde", "b9f69c4302b9dd8d73d1cc6caab2cc0aee4e216ce979dd518a4af4b626e5684cdd658037ed0c854e4cc12f4cf8646d0d"},
	{"EM DV TLS CA - G3B", "e79ed9c04a9773c4735e51111da85ac2bd5e64ab374b80e12cbc2038ec1e4f0e3b812fc9859e1e67afb04e2f8bc97f74", "85ba65aa911ee8a4e45b62d5cc03d56be678b3c38cb4dc937ca2460e238453c892935d29d44f91e15606b63ccedab468"},
	{"EM EV TLS CA - G3C", "2d56e829a6fb82c64a4697d960af951e9067ae91f926d34306da48a8aaeb7869b6a67e6d27426e0442aa03b36e1988df", "f636514ee1cf07f5ba4b3ff2a06645ae7d31d5866ad31aa3d246eb0b3177ee99cb7566c516ce74808a668f91f0c47fca"},
	{"EM OV TLS CA - G3C", "138251cd52ac9298c1c8aad977321deb97e709bd0b4ca0aca55dc8ad51dcfc9d1589a1597e3a5120e1efd631c63e1835", "cacae29869a62e1631e8a28181ab56616dc45d918abc09f3ab0e63cf792aa4dced7387be37bba569549f1c02b270ed67"},
	{"EM DV TLS CA - G3C", "3a7a7862c8c44d324ddd69033a6782c0efeefe4055e68a123fa0371ba3bd9194514ee172a433e3630f02bd188037d9e5", "149f9b77db94a281df987b2fea888b74bdfe8fda4c1099ee6ca19566fe3ef0e5f6b09a556ccc8ba50561df1b2a441d01"},
	{"EM OV CS CA - G3B", "aabb0fb0666acfcf01fad52bfcfd4c2bf2cb3c3497de73950e5819b61fe695098741c8c491439b34a0431caffe5bf9b4", "c1c8e8ae0001f9f4dc8ad82c59f3639e96cd6c3d4db0cefec26c3d62517b37761372743f8e8add77b10064f2abe5e050"},
	{"EM OV CS CA - G3C", "b9f0e0634702a69ca6aadd443cfd62c41b9ba4b20924697d7974e7691a126fb96afb3e34c2fd3bc5f483061f265dc2a5", "8436347323510436b28f04f3862363067980e2503e02532d6546235a7165a259a1ef496f741b5fdee7787208e4b8faef"},
}

// compromisedKey returns key i of compromised as a P-384 public key.
func compromisedKey(i int) *ecdsa.PublicKey {
	x, _ := new(big.Int).SetString(compromised[i].x, 16)
	y, _ := new(big.Int).SetString(compromised[i].y, 16)
	return &ecdsa.PublicKey{Curve: elliptic.P384(), X: x, Y: y}
}

// The replacement is made when the package is initialised, before anything can lint.
func init() { lintswap.Replace(Name, New) }

// Lint is e_cert_issued_by_compromised_emudhra_ca.
type Lint struct{}

// New returns the lint.
func New() lint.CertificateLintInterface { return &Lint{} }

// hashes are the signature algorithms the lint applies to, with zcrypto's hash for each.
var hashes = map[x509.SignatureAlgorithm]crypto.Hash{
	x509.ECDSAWithSHA1: crypto.SHA1, x509.ECDSAWithSHA256: crypto.SHA256,
	x509.ECDSAWithSHA384: crypto.SHA384, x509.ECDSAWithSHA512: crypto.SHA512,
}

// CheckApplies is zlint's: ECDSA signatures only, the only kind these keys make.
func (l *Lint) CheckApplies(c *x509.Certificate) bool {
	_, ok := hashes[c.SignatureAlgorithm]
	return ok
}

// Execute is an error when the certificate's signature verifies under a compromised key.
func (l *Lint) Execute(c *x509.Certificate) *lint.LintResult {
	if i := signedBy(c); i >= 0 {
		return &lint.LintResult{
			Status: lint.Error,
			Details: fmt.Sprintf("signed by the private key of %q, an eMudhra intermediate CA whose private key was compromised; see %s",
				compromised[i].name, bugURL),
		}
	}
	return &lint.LintResult{Status: lint.Pass}
}

// signedBy returns the index in compromised of a key c's signature verifies under, or -1.
func signedBy(c *x509.Certificate) int {
	h, ok := hashes[c.SignatureAlgorithm]
	if !ok {
		return -1
	}
	// As zcrypto's CheckSignatureFromKey: the zcrypto ASN.1 parser, nothing after the
	// sequence, R and S positive.
	var sig struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(c.Signature, &sig); err != nil || len(rest) != 0 || sig.R.Sign() <= 0 || sig.S.Sign() <= 0 {
		return -1
	}
	d := h.New()
	d.Write(c.RawTBSCertificate)
	keys := Recover(elliptic.P384(), d.Sum(nil), sig.R, sig.S)
	for i := range compromised {
		k := compromisedKey(i)
		for _, q := range keys {
			if q.X.Cmp(k.X) == 0 && q.Y.Cmp(k.Y) == 0 {
				return i
			}
		}
	}
	return -1
}

// Recover returns every public key on curve (one of the standard library's NIST curves) under
// which ecdsa.Verify(key, digest, r, s) is true: none when r or s is outside 1..n−1, else the
// keys r⁻¹(sR − eG) for each point R whose X is r or r + n (below the field prime), with e
// the digest as ECDSA reads it (its leftmost bits, the order's length, reduced mod n).
func Recover(curve elliptic.Curve, digest []byte, r, s *big.Int) []*ecdsa.PublicKey {
	p := curve.Params()
	n := p.N
	if r.Sign() <= 0 || s.Sign() <= 0 || r.Cmp(n) >= 0 || s.Cmp(n) >= 0 {
		return nil
	}
	rInv := new(big.Int).ModInverse(r, n)
	a := new(big.Int).Mul(s, rInv) // Q = a·R − b·G
	a.Mod(a, n)
	b := new(big.Int).Mul(hashToInt(digest, n), rInv)
	b.Mod(b, n)
	bx, by := curve.ScalarBaseMult(b.Bytes()) // (0, 0), the point at infinity, when b is 0
	negB := negate(p, bx, by)
	var keys []*ecdsa.PublicKey
	for _, x := range []*big.Int{r, new(big.Int).Add(r, n)} {
		if x.Cmp(p.P) >= 0 {
			continue
		}
		rx, ry := elliptic.UnmarshalCompressed(curve, append([]byte{2}, x.FillBytes(make([]byte, (p.BitSize+7)/8))...))
		if rx == nil {
			continue // no point has this X
		}
		ax, ay := curve.ScalarMult(rx, ry, a.Bytes())
		for _, y := range []*big.Int{ay, negate(p, ax, ay)[1]} {
			qx, qy := curve.Add(ax, y, negB[0], negB[1])
			if qx.Sign() != 0 || qy.Sign() != 0 {
				keys = append(keys, &ecdsa.PublicKey{Curve: curve, X: qx, Y: qy})
			}
		}
	}
	return keys
}

// negate returns −(x, y) (the point at infinity, (0, 0), stays itself).
func negate(p *elliptic.CurveParams, x, y *big.Int) [2]*big.Int {
	if y.Sign() == 0 {
		return [2]*big.Int{x, y}
	}
	return [2]*big.Int{x, new(big.Int).Sub(p.P, y)}
}

// hashToInt is the digest as ECDSA reads it for a group of order n (crypto/ecdsa's hashToNat):
// its leftmost bytes, as many as n has, shifted right to n's bit length, reduced mod n.
func hashToInt(digest []byte, n *big.Int) *big.Int {
	size := (n.BitLen() + 7) / 8
	if len(digest) > size {
		digest = digest[:size]
	}
	e := new(big.Int).SetBytes(digest)
	if excess := len(digest)*8 - n.BitLen(); excess > 0 {
		e.Rsh(e, uint(excess))
	}
	return e.Mod(e, n)
}
