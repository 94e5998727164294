// Package smallkey is Keyrite's implementation of zlint v3.7.3's e_ecdsa_small_private_key:
// an ECDSA public key pub is refused when its private key d, or n − d, is at most 2^16
// (d·G = ±pub for some 0 < d ≤ 2^16), since anyone can then compute it from pub.
//
// It finds the same keys as zlint's lint, by the same baby-step giant-step search with the
// same table, but the table (4,096 multiples of the base point, keyed by the low 64 bits of
// their X coordinate) is computed once at build time for every curve zcrypto parses (P-224,
// P-256, P-384, P-521) and compiled in (tables.go, written by gen_tables.go from
// crypto/elliptic, exactly as zlint builds it on a curve's first use: about 90 ms of CPU for
// P-384). A key on such a curve then costs at most 18 point additions, plus one scalar
// multiplication to confirm a hit.
//
// Guarantees:
//   - For a key on a tabulated curve with the default Bits (16), Search finds d exactly when
//     zlint's lint would, and the lint (Lint) gives zlint's status and details (the tests
//     compare both on known answers: d = 1, 2, 255, 2^16, n − 1, n − 2^16, every window edge of
//     the walk, the range's ends and random keys).
//   - Anything else (another curve, a configured Bits other than 16) is judged by zlint's own
//     lint, community.NewEcdsaSmallPrivateKey, configured the same way.
//   - Importing the package puts Lint in zlint's global registry under zlint's name, in place
//     of zlint's implementation (lint.go), so every registry Keyrite filters from it runs this
//     one; a test fails if it does not.
//
// Limits: the tables hold 64-bit keys, as zlint's does; gen_tables.go refuses a table in
// which two multiples share one (none does), so no small key is hidden by a collision.
package smallkey

//go:generate go run gen_tables.go -o tables.go

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"math/big"
	"slices"
	"sync"
)

// Bits is the size bound the tables are made for: zlint's default.
const Bits = 16

// table is the baby-step table of one curve: keys[i] is the low 64 bits of X(logs[i]·G),
// sorted, for logs[i] = 1..tableM; giantX, giantNegY (hex) are the point −(2·tableM+1)·G.
type table struct {
	giantX, giantNegY string
	keys              []uint64
	logs              []uint16

	once      sync.Once
	gx, gnegY *big.Int
}

// giant returns the giant step −S as big integers.
func (t *table) giant() (x, negY *big.Int) {
	t.once.Do(func() {
		t.gx, _ = new(big.Int).SetString(t.giantX, 16)
		t.gnegY, _ = new(big.Int).SetString(t.giantNegY, 16)
	})
	return t.gx, t.gnegY
}

// lookup returns j (1..tableM) whose multiple j·G has the X whose low 64 bits are key.
func (t *table) lookup(key uint64) (int64, bool) {
	i, ok := slices.BinarySearch(t.keys, key)
	if !ok {
		return 0, false
	}
	return int64(t.logs[i]), true
}

// tableFor returns the table of curve, or nil when there is none. The curve must be the
// standard library's own object (what zcrypto's parser returns), not a look-alike.
func tableFor(curve elliptic.Curve) *table {
	switch curve {
	case elliptic.P224():
		return &p224
	case elliptic.P256():
		return &p256
	case elliptic.P384():
		return &p384
	case elliptic.P521():
		return &p521
	}
	return nil
}

// Tabulated reports whether keys on curve are searched with a compiled-in table.
func Tabulated(curve elliptic.Curve) bool { return tableFor(curve) != nil }

// Search returns d with 0 < d ≤ 2^Bits and d·G = pub or d·G = −pub, or nil when there is none;
// ok is false (and d nil) when pub's curve has no table (Tabulated). pub must be a point on its
// curve. When both a d and n − d qualify the one returned is the one zlint reports.
func Search(pub *ecdsa.PublicKey) (d *big.Int, ok bool) {
	t := tableFor(pub.Curve)
	if t == nil {
		return nil, false
	}
	// As zlint: walk from pub (finds pub = d·G, and pub = −d·G for d ≤ m), then from −pub.
	if d := t.walk(pub, pub.Y); d != nil {
		return d, true
	}
	return t.walk(pub, new(big.Int).Sub(pub.Curve.Params().P, pub.Y)), true
}

// walk takes giant steps from (pub.X, y): P_i = start − i·S, S = (2m+1)·G. If start = d·G then
// P_i = (d − i(2m+1))·G, which the table recognises (up to sign) when |d − i(2m+1)| ≤ m; the
// windows of successive i tile the number line, so i up to 2^Bits/(2m+1)+1 covers 1..2^Bits.
// A hit is confirmed by computing d·G, which weeds out the wrong sign and 64-bit false hits.
func (t *table) walk(pub *ecdsa.PublicKey, y *big.Int) *big.Int {
	const m = tableM
	const stride = int64(2*m + 1)
	const limit = int64(1) << Bits
	gx, gnegY := t.giant()
	x := pub.X
	for i := int64(0); i <= limit/stride+1; i++ {
		if x.Sign() == 0 && y.Sign() == 0 { // the point at infinity: d = i·stride
			if d := i * stride; d > 0 && d <= limit {
				return big.NewInt(d)
			}
			return nil
		}
		if j, ok := t.lookup(x.Uint64()); ok {
			if d := confirm(pub, i*stride, j, limit); d != nil {
				return d
			}
		}
		x, y = pub.Curve.Add(x, y, gx, gnegY)
	}
	return nil
}

// confirm returns base+j or base−j, the first in (0, limit] whose multiple of G has pub's X.
func confirm(pub *ecdsa.PublicKey, base, j, limit int64) *big.Int {
	for _, d := range [...]int64{base + j, base - j} {
		if d <= 0 || d > limit {
			continue
		}
		if gx, _ := pub.Curve.ScalarBaseMult(big.NewInt(d).Bytes()); gx.Cmp(pub.X) == 0 {
			return big.NewInt(d)
		}
	}
	return nil
}
