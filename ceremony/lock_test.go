package ceremony

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/hsm"
)

// pausingUI is a scriptedUI that stops at the first step's screen until released.
type pausingUI struct {
	scriptedUI
	reached, release chan struct{}
	once             bool
}

func (u *pausingUI) Show(s Screen) {
	if !u.once {
		u.once = true
		close(u.reached)
		<-u.release
	}
}

// Two ceremonies on one token at the same time: exactly one proceeds. The second is refused
// at once, naming the first, before any state-changing HSM call: the token's objects are as
// they were and no folder is made.
func TestTwoCeremoniesOnOneToken(t *testing.T) {
	b := freshToken(t)
	first := filepath.Join(t.TempDir(), "first")
	ui := &pausingUI{reached: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- start(t, exampleScript(t), first, b, ui, Options{}) }()
	select {
	case <-ui.reached:
	case err := <-done:
		t.Fatalf("the first ceremony ended before its first step: %v", err)
	}
	before := objectsOn(t, b)
	second := filepath.Join(t.TempDir(), "second")
	err := start(t, exampleScript(t), second, b, &scriptedUI{}, Options{})
	if !errors.Is(err, hsm.ErrTokenInUse) || !strings.Contains(err.Error(), "ceremony example-root-2026 in "+first) || !strings.Contains(err.Error(), "nothing was done") {
		t.Fatalf("second ceremony: %v", err)
	}
	if after := objectsOn(t, b); !reflect.DeepEqual(before, after) {
		t.Fatalf("the refused ceremony changed the token:\nbefore %v\nafter  %v", before, after)
	}
	if _, err := os.Stat(second); !os.IsNotExist(err) {
		t.Fatalf("the refused ceremony left %s", second)
	}
	close(ui.release)
	if err := <-done; err != nil {
		t.Fatalf("the first ceremony: %v", err)
	}
	verified(t, first)
}

// Resume takes the lock too: while another holder has the token, a resume is refused and
// appends nothing; once it is free, the resume finishes.
func TestResumeWaitsForTheToken(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	if err := start(t, exampleScript(t), dir, b, &scriptedUI{decline: []string{`did "Generate the root key" happen`}}, Options{}); !errors.Is(err, ErrDeclined) {
		t.Fatalf("start: %v", err)
	}
	holder, err := b.Module.OpenToken(b.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Lock("ceremony other in /elsewhere"); err != nil {
		t.Fatal(err)
	}
	transcriptBefore, _ := os.ReadFile(filepath.Join(dir, "transcript.jsonl"))
	if err := resume(t, dir, b, &scriptedUI{}, Options{}); !errors.Is(err, hsm.ErrTokenInUse) || !strings.Contains(err.Error(), "ceremony other in /elsewhere") {
		t.Fatalf("resume while held: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "transcript.jsonl")); string(after) != string(transcriptBefore) {
		t.Fatal("the refused resume changed the transcript")
	}
	holder.Close()
	if err := resume(t, dir, b, &scriptedUI{}, Options{}); err != nil {
		t.Fatalf("resume once free: %v", err)
	}
	verified(t, dir)
}

// objectsOn lists the token's objects through a session of its own. It does not log in: the
// running ceremony's login holds for every session of the process, and a logout here would
// end it (PKCS#11 logins belong to the application, not the session).
func objectsOn(t *testing.T, b Binding) []hsm.Object {
	t.Helper()
	tok, err := b.Module.OpenToken(b.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	objs, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	return objs
}
