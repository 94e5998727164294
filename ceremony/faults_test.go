package ceremony

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm/hsmtest"
)

// removalCalls are the state-changing PKCS#11 calls the token is removed at.
var removalCalls = []string{"GenerateKeyPair", "Sign", "GenerateRandom", "CreateObject", "WrapKey"}

// countCalls runs the quorum ceremony once on a healthy token and counts its calls of each
// kind in removalCalls, once its transcript exists (as TestTokenRemovedAtEveryCall does).
func countCalls(t *testing.T) map[string]int {
	t.Helper()
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "count")
	var mu sync.Mutex
	counts := map[string]int{}
	counting := b
	counting.Module = hsmtest.WithFaults(b.Module, func(c string) error {
		if _, err := os.Stat(filepath.Join(dir, transcript.FileName)); err == nil {
			mu.Lock()
			counts[c]++
			mu.Unlock()
		}
		return nil
	})
	if err := start(t, loadTestScript(t, "root-quorum-ceremony.yaml"), dir, counting, &scriptedUI{}, Options{}); err != nil {
		t.Fatal(err)
	}
	return counts
}

// The token is removed in the middle of a quorum ceremony, at each state-changing call in
// turn (the first three of each kind the ceremony makes, as counted on a healthy run). Every
// time the ceremony stops with a message that says so, the transcript stays intact, and a
// resume on the reconnected token finishes and verifies. A call kind the ceremony never makes,
// or a removal that is never reached, fails the test: it would otherwise test nothing.
func TestTokenRemovedAtEveryCall(t *testing.T) {
	counts := countCalls(t)
	for _, call := range removalCalls {
		if counts[call] == 0 {
			t.Errorf("the quorum ceremony makes no %s call: nothing to remove the token at", call)
		}
		for nth := 1; nth <= min(3, counts[call]); nth++ {
			t.Run(fmt.Sprintf("%s#%d", call, nth), func(t *testing.T) {
				b := freshToken(t)
				seen := 0
				faulty := b
				dir := filepath.Join(t.TempDir(), "c")
				faulty.Module = hsmtest.WithFaults(b.Module, func(c string) error {
					// The calls counted are the ceremony's, after its transcript exists: the
					// pre-flight's capability trials on session objects come before.
					if _, err := os.Stat(filepath.Join(dir, transcript.FileName)); err != nil {
						return nil
					}
					if c == call {
						if seen++; seen == nth {
							return hsmtest.ErrDeviceRemoved
						}
					}
					return nil
				})
				err := start(t, loadTestScript(t, "root-quorum-ceremony.yaml"), dir, faulty, &scriptedUI{}, Options{})
				if seen < nth {
					t.Fatalf("the ceremony made only %d %s calls, %d on a healthy run: the removal was never reached (err: %v)", seen, call, counts[call], err)
				}
				if err == nil || !strings.Contains(err.Error(), "the token was removed") {
					t.Fatalf("err = %v, want the removal explained", err)
				}
				data, _ := os.ReadFile(filepath.Join(dir, transcript.FileName))
				if _, perr := transcript.Parse(data); perr != nil {
					t.Fatalf("the transcript is damaged after the removal: %v", perr)
				}
				if err := resume(t, dir, b, &scriptedUI{}, Options{}); err != nil {
					t.Fatalf("resume after reconnecting: %v", err)
				}
				verified(t, dir)
			})
		}
	}
}
