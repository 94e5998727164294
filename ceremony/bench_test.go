package ceremony

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyrite/keyrite/hsm"
)

// BenchmarkMigrate1000 moves 1,000 AES-256 keys between two SoftHSM tokens twice in the same
// run: once in a bare loop of the PKCS#11 calls a move needs (wrap, unwrap, a check value on
// each side; no transcript), once as a Keyrite migration ceremony (with its fsynced record per
// key, transport set-up and reconciliation). It reports keys/s for both and their ratio.
func BenchmarkMigrate1000(b *testing.B) {
	const n = 1000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		srcRoot := rootForBench(b)
		makeDEKs(b, srcRoot.b, n)
		bareTarget, keyriteTarget := freshToken(b), freshToken(b)

		src := openLoggedIn(b, srcRoot.b)
		dst := openLoggedIn(b, bareTarget)
		value := make([]byte, 32)
		for i := range value {
			value[i] = byte(i)
		}
		srcPIN, _ := srcRoot.b.SOPIN()
		src.Logout()
		src.Login(hsm.SO, srcPIN)
		wk, err := src.ImportKEK(value, "bare-transport", hsm.WrapOnly)
		if err != nil {
			b.Fatal(err)
		}
		src.Logout()
		pin, _ := srcRoot.b.PIN()
		src.Login(hsm.User, pin)
		uk, _ := dst.ImportKEK(value, "bare-transport", hsm.UnwrapOnly)
		keys, _ := src.SecretKeys("dek-")
		b.StartTimer()

		began := time.Now()
		for _, k := range keys {
			blob, err := src.WrapSecretKey(wk, k.Key())
			if err != nil {
				b.Fatal(err)
			}
			nk, err := dst.UnwrapDEK(uk, blob, hsm.DEKSpec{Label: k.Label, ID: k.ID})
			if err != nil {
				b.Fatal(err)
			}
			a, _ := k.Key().CheckValueECB()
			c, _ := nk.CheckValueECB()
			if a != c {
				b.Fatal("check values differ")
			}
		}
		bare := time.Since(began)
		src.Close()
		dst.Close()

		began = time.Now()
		dir := filepath.Join(b.TempDir(), "migration")
		if err := start(b, loadTestScript(b, "migrate-ceremony.yaml"), dir, srcRoot.b, &scriptedUI{}, Options{Previous: srcRoot.dir, Target: &keyriteTarget}); err != nil {
			b.Fatal(err)
		}
		keyrite := time.Since(began)
		b.StopTimer()
		b.ReportMetric(float64(n)/bare.Seconds(), "bare-keys/s")
		b.ReportMetric(float64(n)/keyrite.Seconds(), "keyrite-keys/s")
		b.ReportMetric(bare.Seconds()/keyrite.Seconds(), "keyrite/bare")
		fmt.Printf("migrate %d keys: bare loop %v (%.0f keys/s), Keyrite %v (%.0f keys/s), ratio %.2f\n",
			n, bare.Round(time.Millisecond), float64(n)/bare.Seconds(), keyrite.Round(time.Millisecond), float64(n)/keyrite.Seconds(), bare.Seconds()/keyrite.Seconds())
	}
}

func rootForBench(b *testing.B) hierarchy {
	bd := freshToken(b)
	dir := filepath.Join(b.TempDir(), "root")
	if err := start(b, loadTestScript(b, "root-ceremony.yaml"), dir, bd, &scriptedUI{}, Options{}); err != nil {
		b.Fatal(err)
	}
	return hierarchy{dir, bd, nil}
}
