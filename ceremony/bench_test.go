package ceremony

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/internal/procstat"
)

// BenchmarkMigrate moves KEYRITE_BENCH_KEYS (default 1,000) AES-256 keys between two SoftHSM
// tokens, twice per iteration in alternating order: once in a bare loop of what a move needs
// (list the keys, wrap, unwrap, a check value on each side, and one fsynced line per key — the
// least any record of a move costs), once as a Keyrite migration ceremony (with its transcript
// record per key, transport set-up, inventories and reconciliation). It reports keys/s for
// both, their ratio (goal ≥ 0.95) and the process's peak RSS, which must stay flat as the key
// count grows (scripts/bench runs it at several counts). Iterations alternate which side goes
// first; KEYRITE_BENCH_FIRST=keyrite starts with Keyrite (scripts/bench alternates it between
// counts run once each).
//
// Both sides slow down as the tokens fill: SoftHSM's file object store reads every object
// file of a token each time it creates an object (an unwrap reads 4 files per object already
// there: 262 reads with 50 objects, 3,342 with 800), so moving n keys costs O(n²) reads on
// either side. That, not Keyrite, bounds the key counts a benchmark can move in minutes.
func BenchmarkMigrate(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("KEYRITE_BENCH_KEYS")); err == nil && v > 0 {
		n = v
	}
	var bareTotal, keyriteTotal time.Duration
	var heapPeak float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		srcRoot := rootForBench(b)
		makeDEKs(b, srcRoot.b, n)
		bareTarget, keyriteTarget := freshToken(b), freshToken(b)
		bareRun := func() time.Duration { return bareMigrate(b, srcRoot.b, bareTarget, n) }
		keyriteRun := func() time.Duration {
			began := time.Now()
			dir := filepath.Join(b.TempDir(), "migration")
			peak := goHeapPeak(func() {
				if err := start(b, loadTestScript(b, "migrate-ceremony.yaml"), dir, srcRoot.b, &scriptedUI{}, Options{Previous: srcRoot.dir, Target: &keyriteTarget}); err != nil {
					b.Fatal(err)
				}
			})
			heapPeak = max(heapPeak, peak)
			return time.Since(began)
		}
		b.StartTimer()
		var bare, keyrite time.Duration
		if (i%2 == 0) != (os.Getenv("KEYRITE_BENCH_FIRST") == "keyrite") { // interleaved: neither side always runs on a warmer cache
			bare, keyrite = bareRun(), keyriteRun()
		} else {
			keyrite, bare = keyriteRun(), bareRun()
		}
		b.StopTimer()
		bareTotal += bare
		keyriteTotal += keyrite
		fmt.Printf("migrate %d keys: bare loop %v (%.0f keys/s), Keyrite %v (%.0f keys/s), ratio %.2f; Keyrite's Go heap at most %.1f MiB\n",
			n, bare.Round(time.Millisecond), float64(n)/bare.Seconds(), keyrite.Round(time.Millisecond), float64(n)/keyrite.Seconds(), bare.Seconds()/keyrite.Seconds(), heapPeak)
	}
	keys := float64(n * b.N)
	b.ReportMetric(keys/bareTotal.Seconds(), "bare-keys/s")
	b.ReportMetric(keys/keyriteTotal.Seconds(), "keyrite-keys/s")
	b.ReportMetric(bareTotal.Seconds()/keyriteTotal.Seconds(), "keyrite/bare")
	b.ReportMetric(procstat.KiB("VmHWM")/1024, "peak-RSS-MiB")
	b.ReportMetric(heapPeak, "keyrite-go-heap-MiB")
}

// goHeapPeak runs f and returns the most Go heap its process held in live and unswept objects
// (MiB), sampled every 10 ms without stopping the world: Keyrite's own memory, apart from the
// PKCS#11 library's C memory (SoftHSM keeps every object of its tokens in memory, so the
// process's peak RSS grows with the tokens on either side of the benchmark).
func goHeapPeak(f func()) float64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() float64 {
		metrics.Read(sample)
		return float64(sample[0].Value.Uint64()) / (1 << 20)
	}
	stop, done := make(chan struct{}), make(chan float64)
	go func() {
		peak := read()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				peak = max(peak, read())
			case <-stop:
				done <- max(peak, read())
				return
			}
		}
	}()
	f()
	close(stop)
	return <-done
}

// bareMigrate moves every "dek-" key from src to a new label on dst with the bare PKCS#11
// calls and one fsynced line per key, and returns how long it took.
func bareMigrate(b *testing.B, srcB, dstB Binding, n int) time.Duration {
	src := openLoggedIn(b, srcB)
	defer src.Close()
	dst := openLoggedIn(b, dstB)
	defer dst.Close()
	value := make([]byte, 32)
	for i := range value {
		value[i] = byte(i)
	}
	label := fmt.Sprintf("bare-transport-%d", time.Now().UnixNano())
	soPIN, _ := srcB.SOPIN()
	src.Logout()
	src.Login(hsm.SO, soPIN)
	wk, err := src.ImportKEK(value, label, hsm.WrapOnly)
	if err != nil {
		b.Fatal(err)
	}
	src.Logout()
	pin, _ := srcB.PIN()
	src.Login(hsm.User, pin)
	uk, err := dst.ImportKEK(value, label, hsm.UnwrapOnly)
	if err != nil {
		b.Fatal(err)
	}
	log, err := os.Create(filepath.Join(b.TempDir(), "bare.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	began := time.Now()
	keys, err := src.SecretKeys("dek-")
	if err != nil || len(keys) != n {
		b.Fatalf("listed %d keys (%v)", len(keys), err)
	}
	for j, k := range keys {
		blob, err := src.WrapSecretKey(wk, k.Key())
		if err != nil {
			b.Fatal(err)
		}
		nk, err := dst.UnwrapDEK(uk, blob, hsm.DEKSpec{Label: fmt.Sprintf("%s-%d", label, j), ID: k.ID})
		if err != nil {
			b.Fatal(err)
		}
		a, _ := k.Key().CheckValueECB()
		c, _ := nk.CheckValueECB()
		if a != c {
			b.Fatal("check values differ")
		}
		fmt.Fprintf(log, "%s %x %s\n", k.Label, a, c)
		if err := log.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(began)
}

func rootForBench(b *testing.B) hierarchy {
	bd := freshToken(b)
	dir := filepath.Join(b.TempDir(), "root")
	if err := start(b, loadTestScript(b, "root-ceremony.yaml"), dir, bd, &scriptedUI{}, Options{}); err != nil {
		b.Fatal(err)
	}
	return hierarchy{dir, bd, nil}
}
