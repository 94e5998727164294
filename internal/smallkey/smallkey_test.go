package smallkey

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3/lint"
	"github.com/zmap/zlint/v3/lints/community"
)

var curves = []elliptic.Curve{elliptic.P224(), elliptic.P256(), elliptic.P384(), elliptic.P521()}

// certWithKey is a certificate, as zlint sees one, holding d·G on curve.
func certWithKey(curve elliptic.Curve, d *big.Int) *x509.Certificate {
	x, y := curve.ScalarBaseMult(new(big.Int).Mod(d, curve.Params().N).Bytes())
	return &x509.Certificate{PublicKeyAlgorithm: x509.ECDSA, PublicKey: &ecdsa.PublicKey{Curve: curve, X: x, Y: y}}
}

// judge runs a lint as zlint's framework does (configure, applies, execute).
func judge(t *testing.T, l lint.CertificateLintInterface, c *x509.Certificate) *lint.LintResult {
	t.Helper()
	if !l.CheckApplies(c) {
		return &lint.LintResult{Status: lint.NA}
	}
	return l.Execute(c)
}

// same fails unless both lints give d·G one status and the same details, and that status is
// want.
func same(t *testing.T, curve elliptic.Curve, d *big.Int, want lint.LintStatus) {
	t.Helper()
	c := certWithKey(curve, d)
	ours, theirs := judge(t, New(), c), judge(t, community.NewEcdsaSmallPrivateKey(), c)
	if ours.Status != theirs.Status || ours.Details != theirs.Details {
		t.Errorf("%s, d = %s: Keyrite says %s %q, zlint %s %q", curve.Params().Name, d, ours.Status, ours.Details, theirs.Status, theirs.Details)
	}
	if ours.Status != want {
		t.Errorf("%s, d = %s: %s, want %s", curve.Params().Name, d, ours.Status, want)
	}
}

// small reports whether d or n − d is in 1..2^Bits: the lint's definition.
func small(curve elliptic.Curve, d *big.Int) bool {
	limit := big.NewInt(1 << Bits)
	n := curve.Params().N
	d = new(big.Int).Mod(d, n)
	neg := new(big.Int).Sub(n, d)
	in := func(v *big.Int) bool { return v.Sign() > 0 && v.Cmp(limit) <= 0 }
	return in(d) || in(neg)
}

// The keys of the issue: d = 1, 2, 255, 2^16 and their negations are small on every curve;
// random keys are not; both lints agree on each, details included.
func TestKnownAnswersAgreeWithZlint(t *testing.T) {
	for _, curve := range curves {
		n := curve.Params().N
		for _, v := range []int64{1, 2, 255, 1 << 16} {
			d := big.NewInt(v)
			same(t, curve, d, lint.Error)
			same(t, curve, new(big.Int).Sub(n, d), lint.Error)
		}
		for i := 0; i < 3; i++ {
			k, err := ecdsa.GenerateKey(curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			c := &x509.Certificate{PublicKeyAlgorithm: x509.ECDSA, PublicKey: &k.PublicKey}
			ours, theirs := judge(t, New(), c), judge(t, community.NewEcdsaSmallPrivateKey(), c)
			if ours.Status != lint.Pass || theirs.Status != lint.Pass {
				t.Errorf("%s: a random key: Keyrite %s, zlint %s, want pass", curve.Params().Name, ours.Status, theirs.Status)
			}
		}
	}
}

// The range's ends and every edge of the walk's windows, on both signs: 2^16 is small and
// 2^16+1 is not, d = i(2m+1) hits the point at infinity, i(2m+1) ± m are a window's last
// entries, ± (m+1) the next window's first. Each verdict is the definition's and zlint's.
func TestBoundariesMatchZlintsRange(t *testing.T) {
	const stride = 2*tableM + 1
	var ds []int64
	for _, v := range []int64{(1 << Bits) - 1, 1 << Bits, (1 << Bits) + 1, (1 << Bits) + 2, 1<<Bits + tableM, tableM, tableM + 1} {
		ds = append(ds, v)
	}
	for i := int64(0); i <= (1<<Bits)/stride+2; i++ {
		for _, off := range []int64{0, 1, -1, tableM, -tableM, tableM + 1, -tableM - 1} {
			if d := i*stride + off; d > 0 {
				ds = append(ds, d)
			}
		}
	}
	for _, curve := range curves {
		n := curve.Params().N
		for _, v := range ds {
			for _, d := range []*big.Int{big.NewInt(v), new(big.Int).Sub(n, big.NewInt(v))} {
				want := lint.Pass
				if small(curve, d) {
					want = lint.Error
				}
				same(t, curve, d, want)
			}
		}
	}
}

// zlint's registry makes this package's lint under zlint's name: every registry Keyrite filters
// from the global one runs it, and zlint's own run gives its verdict.
func TestZlintsRegistryRunsThisLint(t *testing.T) {
	l := lint.GlobalRegistry().CertificateLints().ByName(Name)
	if l == nil {
		t.Fatalf("zlint has no lint %s any more", Name)
	}
	if _, ok := l.Lint().(*Lint); !ok {
		t.Fatalf("zlint's registry makes %T for %s, not Keyrite's *smallkey.Lint", l.Lint(), Name)
	}
	filtered, err := lint.GlobalRegistry().Filter(lint.FilterOptions{IncludeSources: lint.SourceList{lint.Community}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := filtered.CertificateLints().ByName(Name).Lint().(*Lint); !ok {
		t.Fatalf("a filtered registry makes %T for %s", filtered.CertificateLints().ByName(Name).Lint(), Name)
	}
	r := l.Execute(certWithKey(elliptic.P384(), big.NewInt(2)), lint.NewEmptyConfig())
	if r.Status != lint.Error {
		t.Fatalf("the registered lint gives private key 2 %s", r.Status)
	}
}

// A configured Bits other than the tables' is zlint's own lint with that Bits, read from the
// same configuration section: 5,000 is small under 16 bits, not under 12; 40 is refused.
func TestOtherBitsAreZlints(t *testing.T) {
	c := certWithKey(elliptic.P256(), big.NewInt(5000))
	for _, tc := range []struct {
		bits int
		want lint.LintStatus
	}{{16, lint.Error}, {12, lint.Pass}, {13, lint.Error}, {40, lint.Fatal}} {
		cfg, err := lint.NewConfigFromString(fmt.Sprintf("[%s]\nBits = %d\n", Name, tc.bits))
		if err != nil {
			t.Fatal(err)
		}
		l := lint.GlobalRegistry().CertificateLints().ByName(Name)
		if got := l.Execute(c, cfg); got.Status != tc.want {
			t.Errorf("Bits = %d: %s (%s), want %s", tc.bits, got.Status, got.Details, tc.want)
		}
	}
}

// A curve with no table (here P-256's parameters as a generic curve, a different object) is
// judged by zlint's implementation, with its verdict.
func TestUntabulatedCurveIsZlints(t *testing.T) {
	generic := elliptic.P256().Params()
	if Tabulated(generic) {
		t.Fatal("a look-alike curve object has a table")
	}
	for _, d := range []int64{3, 1<<Bits + 1} {
		x, y := elliptic.P256().ScalarBaseMult(big.NewInt(d).Bytes())
		c := &x509.Certificate{PublicKeyAlgorithm: x509.ECDSA, PublicKey: &ecdsa.PublicKey{Curve: generic, X: x, Y: y}}
		ours, theirs := judge(t, New(), c), judge(t, community.NewEcdsaSmallPrivateKey(), c)
		if ours.Status != theirs.Status || ours.Details != theirs.Details {
			t.Errorf("d = %d on a generic curve: Keyrite %s %q, zlint %s %q", d, ours.Status, ours.Details, theirs.Status, theirs.Details)
		}
	}
}

// tables.go is what gen_tables.go writes today.
func TestTablesAreGenerated(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to regenerate the tables: %v", err)
	}
	out := filepath.Join(t.TempDir(), "tables.go")
	cmd := exec.Command(goTool, "run", "gen_tables.go", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen_tables.go: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("tables.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("tables.go differs from what gen_tables.go writes: run go generate ./internal/smallkey")
	}
}

// Each table entry is j·G as the standard library computes it directly (a check independent of
// gen_tables.go's repeated additions), for a sample of j.
func TestTableEntriesAreMultiplesOfG(t *testing.T) {
	for _, curve := range curves {
		tab := tableFor(curve)
		if len(tab.keys) != tableM || len(tab.logs) != tableM {
			t.Fatalf("%s: %d keys, %d logs, want %d", curve.Params().Name, len(tab.keys), len(tab.logs), tableM)
		}
		for i := 0; i < tableM; i += 97 {
			x, _ := curve.ScalarBaseMult(big.NewInt(int64(tab.logs[i])).Bytes())
			if x.Uint64() != tab.keys[i] {
				t.Errorf("%s: entry %d says X(%d·G) ends %x, it ends %x", curve.Params().Name, i, tab.logs[i], tab.keys[i], x.Uint64())
			}
		}
		gx, gnegY := tab.giant()
		sx, sy := curve.ScalarBaseMult(big.NewInt(2*tableM + 1).Bytes())
		if sx.Cmp(gx) != 0 || new(big.Int).Sub(curve.Params().P, sy).Cmp(gnegY) != 0 {
			t.Errorf("%s: the giant step is not -(2m+1)·G", curve.Params().Name)
		}
	}
}

func BenchmarkSearchP384(b *testing.B) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if d, _ := Search(&k.PublicKey); d != nil {
			b.Fatal("a random key found small")
		}
	}
}
