package app

import (
	"fmt"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/hsm"
)

// The screen after a stop says what to do for each HSM failure a custodian can fix.
func TestWhatToDoNamesTheFix(t *testing.T) {
	for sentinel, want := range map[error]string{
		hsm.ErrPINIncorrect:    "did not accept the PIN",
		hsm.ErrPINLocked:       "Security Officer must unblock",
		hsm.ErrTokenNotPresent: "Connect it again",
		hsm.ErrTokenInUse:      "another ceremony is using this token",
	} {
		got := whatToDo(fmt.Errorf("step %q: %w", "generate", sentinel))
		if !strings.Contains(got, want) || !strings.Contains(got, "press Resume") {
			t.Errorf("%v: %q", sentinel, got)
		}
	}
	if got := whatToDo(fmt.Errorf("disk full")); !strings.Contains(got, "Fix the cause") {
		t.Errorf("other: %q", got)
	}
}
