package emudhra

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3/lint"
	"github.com/zmap/zlint/v3/lints/community"
)

func readCert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

func judge(l lint.CertificateLintInterface, c *x509.Certificate) *lint.LintResult {
	if !l.CheckApplies(c) {
		return &lint.LintResult{Status: lint.NA}
	}
	return l.Execute(c)
}

// The certificates zlint v3.7.3 tests its lint with (testdata/README.md): those signed with the
// compromised keys are errors, the others pass or do not apply, and zlint's lint says the same,
// details included.
func TestKnownAnswersAgreeWithZlint(t *testing.T) {
	for name, want := range map[string]lint.LintStatus{
		"emudhraEvG3BSubscriber.pem":          lint.Error,
		"emudhraOvG3BSubscriber.pem":          lint.Error,
		"emudhraEvG3CSubscriber.pem":          lint.Error,
		"emudhraOvG3CMinted.pem":              lint.Error,
		"emudhraDvG3CMinted.pem":              lint.Error,
		"emudhraCsG3BMinted.pem":              lint.Error,
		"emudhraDvG3BMintedNoAKI.pem":         lint.Error,
		"emudhraCsG3CMintedWrongAKI.pem":      lint.Error,
		"aiaWithValidNames.pem":               lint.Pass,
		"sub1_val10_iat0_cdp0_ocsp0_eff1.pem": lint.NA,
		"emudhraEvG3BIntermediate.pem":        lint.Pass,
		"emudhraSectigoCrossEvG3B.pem":        lint.NA, // RSA-signed by Sectigo
		"emudhraIntermediateOvG3C.pem":        lint.Pass,
		"emudhraIntermediateCsG3B.pem":        lint.Pass,
	} {
		c := readCert(t, name)
		ours, theirs := judge(New(), c), judge(community.NewCertIssuedByCompromisedEmudhraCA(), c)
		if ours.Status != want || theirs.Status != want || ours.Details != theirs.Details {
			t.Errorf("%s: Keyrite %s %q, zlint %s %q, want %s", name, ours.Status, ours.Details, theirs.Status, theirs.Details, want)
		}
	}
}

// The eight keys are those of the eight intermediates' certificates, each with the SHA-1 key
// identifier the Bugzilla report lists (zlint's own check of its list).
func TestKeysAreTheIntermediates(t *testing.T) {
	skis := map[string]string{
		"EM EV TLS CA - G3B": "3edc20d9894698877b873fd88147b25c15d84706",
		"EM OV TLS CA - G3B": "9bd86551afe7e72c37ad08ee6919d9bf3784ae0a",
		"EM DV TLS CA - G3B": "e21e2fe71c19390e554b62c120245735248a2514",
		"EM EV TLS CA - G3C": "a6255e80a94db7f3967c1bc791df92bcee4beb5f",
		"EM OV TLS CA - G3C": "34eaea0cebc90adaf9d0c5e2ed9b78c9879e1b6c",
		"EM DV TLS CA - G3C": "ae7e105c3c2996c1a847270559f1e03dd4e50af3",
		"EM OV CS CA - G3B":  "79fae8eccfdb0d758da458d69fb6eddc7c49dee6",
		"EM OV CS CA - G3C":  "ee6f73298d6fbfa7b31bc39534f61556447866b7",
	}
	if len(compromised) != len(skis) {
		t.Fatalf("%d keys, want %d", len(compromised), len(skis))
	}
	byName := map[string]*ecdsa.PublicKey{}
	for i, k := range compromised {
		pub := compromisedKey(i)
		if !pub.Curve.IsOnCurve(pub.X, pub.Y) {
			t.Errorf("%s: not a P-384 point", k.name)
		}
		sum := sha1.Sum(elliptic.Marshal(pub.Curve, pub.X, pub.Y))
		if got := hex.EncodeToString(sum[:]); got != skis[k.name] {
			t.Errorf("%s: key identifier %s, want %s", k.name, got, skis[k.name])
		}
		byName[k.name] = pub
	}
	for _, f := range []string{"emudhraEvG3BIntermediate.pem", "emudhraIntermediateCsG3B.pem", "emudhraIntermediateCsG3C.pem",
		"emudhraIntermediateDvG3B.pem", "emudhraIntermediateDvG3C.pem", "emudhraIntermediateEvG3C.pem",
		"emudhraIntermediateOvG3B.pem", "emudhraIntermediateOvG3C.pem"} {
		c := readCert(t, f)
		var pub *ecdsa.PublicKey
		switch k := c.PublicKey.(type) {
		case *x509.AugmentedECDSA:
			pub = k.Pub
		case *ecdsa.PublicKey:
			pub = k
		}
		if k := byName[c.Subject.CommonName]; k == nil || pub == nil || !k.Equal(pub) {
			t.Errorf("%s: the key of %q is not the one listed", f, c.Subject.CommonName)
		}
		delete(byName, c.Subject.CommonName)
	}
	if len(byName) != 0 {
		t.Errorf("no intermediate certificate for %d listed keys", len(byName))
	}
}

// forge makes, without its private key, a digest and signature that verify under pub: R = uG +
// vQ, r = x(R) mod n, s = r/v, e = u·s (the existential forgery a raw digest allows).
func forge(t *testing.T, pub *ecdsa.PublicKey, u int64) (digest []byte, r, s *big.Int) {
	t.Helper()
	c, n := pub.Curve, pub.Curve.Params().N
	v, err := rand.Int(rand.Reader, new(big.Int).Sub(n, big.NewInt(1)))
	if err != nil {
		t.Fatal(err)
	}
	v.Add(v, big.NewInt(1))
	uu := big.NewInt(u)
	if u < 0 {
		uu, _ = rand.Int(rand.Reader, n)
	}
	ux, uy := c.ScalarBaseMult(uu.Bytes())
	vx, vy := c.ScalarMult(pub.X, pub.Y, v.Bytes())
	rx, _ := c.Add(ux, uy, vx, vy)
	r = new(big.Int).Mod(rx, n)
	s = new(big.Int).Mul(r, new(big.Int).ModInverse(v, n))
	s.Mod(s, n)
	e := new(big.Int).Mul(uu, s)
	e.Mod(e, n)
	return e.FillBytes(make([]byte, (n.BitLen()+7)/8)), r, s
}

// contains reports whether keys holds pub.
func contains(keys []*ecdsa.PublicKey, pub *ecdsa.PublicKey) bool {
	for _, k := range keys {
		if k.Equal(pub) {
			return true
		}
	}
	return false
}

// Recover finds a key exactly when ecdsa.Verify accepts the signature under it: for real
// signatures on P-256 and P-384 (SHA-512 digests truncated), for signatures forged under each
// compromised key (a zero digest among them), and never for another key or r, s out of range.
func TestRecoverIsVerify(t *testing.T) {
	check := func(what string, pub *ecdsa.PublicKey, digest []byte, r, s *big.Int) {
		t.Helper()
		keys := Recover(pub.Curve, digest, r, s)
		if !ecdsa.Verify(pub, digest, r, s) || !contains(keys, pub) {
			t.Errorf("%s: Verify %v, recovered %v", what, ecdsa.Verify(pub, digest, r, s), contains(keys, pub))
		}
		for _, q := range keys {
			if !ecdsa.Verify(q, digest, r, s) {
				t.Errorf("%s: a recovered key does not verify", what)
			}
		}
		other, _ := ecdsa.GenerateKey(pub.Curve, rand.Reader)
		if ecdsa.Verify(&other.PublicKey, digest, r, s) || contains(keys, &other.PublicKey) {
			t.Errorf("%s: another key verifies or is recovered", what)
		}
		n := pub.Curve.Params().N
		for _, bad := range [][2]*big.Int{{new(big.Int).Add(r, n), s}, {r, new(big.Int).Add(s, n)}, {big.NewInt(0), s}, {r, new(big.Int).Neg(s)}} {
			if ecdsa.Verify(pub, digest, bad[0], bad[1]) || len(Recover(pub.Curve, digest, bad[0], bad[1])) != 0 {
				t.Errorf("%s: an out-of-range r or s verifies or recovers", what)
			}
		}
	}
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384()} {
		for i := 0; i < 4; i++ {
			k, err := ecdsa.GenerateKey(curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			d := sha512.Sum512([]byte{byte(i)})
			r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
			if err != nil {
				t.Fatal(err)
			}
			check(curve.Params().Name+" signature", &k.PublicKey, d[:], r, s)
		}
	}
	for i, k := range compromised {
		for _, u := range []int64{-1, 0} {
			d, r, s := forge(t, compromisedKey(i), u)
			check(k.name+" forged", compromisedKey(i), d, r, s)
		}
	}
}

// zlint's registry makes this package's lint under zlint's name, in filtered registries too.
func TestZlintsRegistryRunsThisLint(t *testing.T) {
	l := lint.GlobalRegistry().CertificateLints().ByName(Name)
	if l == nil {
		t.Fatalf("zlint has no lint %s any more", Name)
	}
	if _, ok := l.Lint().(*Lint); !ok {
		t.Fatalf("zlint's registry makes %T for %s", l.Lint(), Name)
	}
	f, err := lint.GlobalRegistry().Filter(lint.FilterOptions{IncludeSources: lint.SourceList{lint.Community}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.CertificateLints().ByName(Name).Lint().(*Lint); !ok {
		t.Fatal("a filtered registry runs zlint's implementation")
	}
	if r := l.Execute(readCert(t, "emudhraOvG3CMinted.pem"), lint.NewEmptyConfig()); r.Status != lint.Error {
		t.Fatalf("the registered lint passes a certificate signed with a compromised key: %s", r.Status)
	}
}

func BenchmarkLint(b *testing.B) {
	blk, _ := pem.Decode(must(os.ReadFile("testdata/emudhraEvG3BIntermediate.pem")))
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range []struct {
		name string
		lint lint.LintInterface
	}{{"keyrite", New()}, {"zlint", community.NewCertIssuedByCompromisedEmudhraCA()}} {
		b.Run(l.name, func(b *testing.B) {
			for b.Loop() {
				l.lint.Execute(c)
			}
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
