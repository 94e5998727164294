package ceremony

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/keyrite/keyrite/hsm/hsmtest"
	"github.com/keyrite/keyrite/internal/procstat"
)

// BenchmarkMigrate moves KEYRITE_BENCH_KEYS (default 1,000) AES-256 keys between two SoftHSM
// tokens, twice per iteration in alternating order: once in a bare loop of what a move needs,
// made straight through PKCS#11 (hsmtest.Bare: list the keys, wrap, unwrap, a check value on
// each side, and one fsynced line per key — the least any record of a move costs), once as a
// Keyrite migration ceremony (its transcript record per key, label claims on the target,
// transport set-up, inventories and reconciliation). It reports keys/s and CPU time per key
// for both, their ratio (goal ≥ 0.95; keyrite/bare-cpu is the same ratio by CPU time, user +
// system, which moves less with a shared machine's load) and Keyrite's Go heap, which must stay flat as the key
// count grows (scripts/bench runs it at several counts). Iterations alternate which side goes
// first; KEYRITE_BENCH_FIRST=keyrite starts with Keyrite (scripts/bench alternates it between
// counts run once each).
//
// SoftHSM 2.6's file store answers each C_FindObjectsInit by reading every object file of the
// token (SoftHSM.cpp C_FindObjectsInit → ObjectFile::isValid → refresh → Generation::wasUpdated
// opens and reads the file): a search per key makes a move of n keys O(n²). Keyrite claims the
// target's labels in bulk (hsm.LabelClaims) and the bare loop makes no search per key, so both
// sides are linear; what is left per key is SoftHSM's create (about 35 rewrites of the new
// object's file, each truncating it) and the fsync.
func BenchmarkMigrate(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("KEYRITE_BENCH_KEYS")); err == nil && v > 0 {
		n = v
	}
	var bareTotal, keyriteTotal, bareCPU, keyriteCPU time.Duration
	var heapPeak float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		srcRoot := rootForBench(b)
		makeDEKs(b, srcRoot.b, n)
		bareTarget, keyriteTarget := freshToken(b), freshToken(b)
		bareRun := func() (time.Duration, time.Duration) {
			return timeAndCPU(func() { bareMigrate(b, srcRoot.b, bareTarget, n) })
		}
		keyriteRun := func() (time.Duration, time.Duration) {
			dir := filepath.Join(b.TempDir(), "migration")
			return timeAndCPU(func() {
				peak := goHeapPeak(func() {
					if err := start(b, loadTestScript(b, "migrate-ceremony.yaml"), dir, srcRoot.b, &scriptedUI{}, Options{Previous: srcRoot.dir, Target: &keyriteTarget}); err != nil {
						b.Fatal(err)
					}
				})
				heapPeak = max(heapPeak, peak)
			})
		}
		b.StartTimer()
		var bare, keyrite, bc, kc time.Duration
		if (i%2 == 0) != (os.Getenv("KEYRITE_BENCH_FIRST") == "keyrite") { // interleaved: neither side always runs on a warmer cache
			bare, bc = bareRun()
			keyrite, kc = keyriteRun()
		} else {
			keyrite, kc = keyriteRun()
			bare, bc = bareRun()
		}
		b.StopTimer()
		bareTotal += bare
		keyriteTotal += keyrite
		bareCPU += bc
		keyriteCPU += kc
		fmt.Printf("migrate %d keys: bare loop %v (%.0f keys/s, CPU %.2f ms/key), Keyrite %v (%.0f keys/s, CPU %.2f ms/key), ratio %.2f; Keyrite's Go heap at most %.1f MiB\n",
			n, bare.Round(time.Millisecond), float64(n)/bare.Seconds(), msPerKey(bc, n), keyrite.Round(time.Millisecond), float64(n)/keyrite.Seconds(), msPerKey(kc, n), bare.Seconds()/keyrite.Seconds(), heapPeak)
	}
	keys := float64(n * b.N)
	b.ReportMetric(keys/bareTotal.Seconds(), "bare-keys/s")
	b.ReportMetric(keys/keyriteTotal.Seconds(), "keyrite-keys/s")
	b.ReportMetric(bareTotal.Seconds()/keyriteTotal.Seconds(), "keyrite/bare")
	b.ReportMetric(bareCPU.Seconds()/keyriteCPU.Seconds(), "keyrite/bare-cpu")
	b.ReportMetric(procstat.KiB("VmHWM")/1024, "peak-RSS-MiB")
	b.ReportMetric(heapPeak, "keyrite-go-heap-MiB")
}

// timeAndCPU runs f and returns its wall time and the process's CPU time (user + system)
// while it ran: on a shared machine the CPU time moves less with the load than the wall time.
func timeAndCPU(f func()) (wall, cpu time.Duration) {
	began, c0 := time.Now(), cpuTime()
	f()
	return time.Since(began), cpuTime() - c0
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func msPerKey(d time.Duration, n int) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }

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
// calls (hsmtest.Bare) and one fsynced line per key. The keys go under a session key-encryption
// key on each side: the source's keys need no trusted wrapping key.
func bareMigrate(b *testing.B, srcB, dstB Binding, n int) {
	pin, err := srcB.PIN()
	if err != nil {
		b.Fatal(err)
	}
	src, err := hsmtest.OpenBare(srcB.Module, srcB.Token, pin)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	if pin, err = dstB.PIN(); err != nil {
		b.Fatal(err)
	}
	dst, err := hsmtest.OpenBare(dstB.Module, dstB.Token, pin)
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	value := make([]byte, 32)
	for i := range value {
		value[i] = byte(i)
	}
	wk, err := src.SessionKEK(value, false)
	if err != nil {
		b.Fatal(err)
	}
	uk, err := dst.SessionKEK(value, true)
	if err != nil {
		b.Fatal(err)
	}
	log, err := os.Create(filepath.Join(b.TempDir(), "bare.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	label := fmt.Sprintf("bare-%d", time.Now().UnixNano())
	keys, err := src.SecretKeys("dek-")
	if err != nil || len(keys) != n {
		b.Fatalf("listed %d keys (%v)", len(keys), err)
	}
	for j, k := range keys {
		blob, err := src.Wrap(wk, k)
		if err != nil {
			b.Fatal(err)
		}
		nk, err := dst.Unwrap(uk, blob, fmt.Sprintf("%s-%d", label, j), k.ID)
		if err != nil {
			b.Fatal(err)
		}
		a, _ := src.CheckValue(k)
		c, _ := dst.CheckValue(nk)
		if a != c || a == "" {
			b.Fatalf("check values %q and %q", a, c)
		}
		fmt.Fprintf(log, "%s %s %s\n", k.Label, a, c)
		if err := log.Sync(); err != nil {
			b.Fatal(err)
		}
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
