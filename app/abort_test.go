package app

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony"
)

// A pre-flight refusal and an aborted ceremony are not offered a resume: the room is told what
// to do instead.
func TestWhatToDoAfterRefusals(t *testing.T) {
	pre := ceremony.PreflightError{errors.New("crl.number: 1 does not exceed CRL number 1")}
	if got := whatToDo(pre); !strings.Contains(got, "nothing was done") || strings.Contains(got, "Resume") {
		t.Fatalf("after a pre-flight refusal: %q", got)
	}
	ab := &ceremony.AbortedError{Dir: "/x", Step: "sign-crl", Err: errors.New("refused")}
	if got := whatToDo(ab); !strings.Contains(got, "new folder") || strings.Contains(got, "Resume") {
		t.Fatalf("after an abort: %q", got)
	}
}
