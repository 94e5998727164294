package app

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/keyrite/keyrite/ceremony"
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
	if got := whatToDo(fmt.Errorf("roll call: %w", &ceremony.AbortRequest{Reason: "r", Witness: "w"})); !strings.Contains(got, "nothing was written") || strings.Contains(got, "Resume") {
		t.Errorf("abort before the opening: %q", got)
	}
	if got := whatToDo(fmt.Errorf("step %q: %w", "generate", context.Canceled)); !strings.Contains(got, "the room stopped the ceremony") || !strings.Contains(got, "start screen") {
		t.Errorf("stop: %q", got)
	}
	if got := whatToDo(fmt.Errorf("something else")); !strings.Contains(got, "Fix the cause") {
		t.Errorf("other: %q", got)
	}
	full := &os.PathError{Op: "write", Path: "transcript.jsonl", Err: syscall.ENOSPC}
	for err, want := range map[error]string{
		fmt.Errorf("step %q stopped: %w", "open", full):                         "the disk is full",
		&os.PathError{Op: "mkdir", Path: "c", Err: syscall.EROFS}:               "the media is read-only",
		&ceremony.AfterSealError{Dir: "c", Err: fmt.Errorf("report: %w", full)}: "only the report and the evidence bundle are missing",
	} {
		if got := whatToDo(err); !strings.Contains(got, want) || !strings.Contains(got, "press Resume") {
			t.Errorf("%v: %q", err, got)
		}
	}
}
