package ceremony

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm/hsmtest"
)

// The token is removed in the middle of a quorum ceremony, at each state-changing call in
// turn. Every time the ceremony stops with a message that says so, the transcript stays
// intact, and a resume on the reconnected token finishes and verifies.
func TestTokenRemovedAtEveryCall(t *testing.T) {
	for _, call := range []string{"GenerateKeyPair", "Sign", "GenerateRandom", "CreateObject", "WrapKey"} {
		for _, nth := range []int{1, 2, 3} {
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
					t.Skipf("the ceremony makes only %d %s calls", seen, call)
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
