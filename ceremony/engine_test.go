package ceremony

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// Every registered ceremony type is a whole unit: it is described for people, and its
// example script exists, parses, and is of that type.
func TestEveryTypeHasAnExample(t *testing.T) {
	if len(Types()) < 11 {
		t.Fatalf("%d ceremony types registered", len(Types()))
	}
	for _, info := range Types() {
		t.Run(info.Name, func(t *testing.T) {
			if info.Title == "" || info.Description == "" || info.Example == "" {
				t.Fatalf("incomplete description: %+v", info)
			}
			s := loadTestScript(t, info.Example+"-ceremony.yaml")
			if s.Type != info.Name {
				t.Fatalf("example %s is a %s ceremony", info.Example, s.Type)
			}
			if got := s.Info(); got.Name != info.Name {
				t.Fatalf("Info() = %+v", got)
			}
			if typeOf(info.Name).previous != noPrevious && !info.Needs(InputPrevious) {
				t.Fatal("a type that continues an earlier ceremony does not list --previous")
			}
		})
	}
}

// A resume that is refused leaves no trace: the transcript is byte for byte what it was, and
// nobody was asked anything that a refusal made pointless.
func TestRefusedResumeLeavesNoTrace(t *testing.T) {
	b := freshToken(t)
	// Stopped after the first witness's "no".
	stopped := filepath.Join(t.TempDir(), "stopped")
	if err := start(t, exampleScript(t), stopped, b, &scriptedUI{decline: []string{`did "Generate the root key" happen`}}, Options{}); !errors.Is(err, ErrDeclined) {
		t.Fatalf("err = %v", err)
	}
	// The same, with its script copy changed.
	changed := filepath.Join(t.TempDir(), "changed")
	if err := os.CopyFS(changed, os.DirFS(stopped)); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(changed, ScriptFileName)
	os.Chmod(script, 0o644)
	src, _ := os.ReadFile(script)
	if err := os.WriteFile(script, append(src, "# edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir string
		b         Binding
		ui        *scriptedUI
		want      string
		asked     bool // the refusal comes from a person's answer
	}{
		{"script changed", changed, b, &scriptedUI{}, "differs from the script the ceremony opened with", false},
		{"another token", stopped, freshToken(t), &scriptedUI{}, "connect the original token", true},
		{"roll call refused", stopped, b, &scriptedUI{decline: []string{"Roll call"}}, "not confirmed present", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(filepath.Join(tc.dir, transcript.FileName))
			err := resume(t, tc.dir, tc.b, tc.ui, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			after, _ := os.ReadFile(filepath.Join(tc.dir, transcript.FileName))
			if !bytes.Equal(before, after) {
				t.Fatalf("the refused resume changed the transcript:\n%s", after[len(before):])
			}
			if !tc.asked && len(tc.ui.asked) > 0 {
				t.Fatalf("asked %q before refusing", tc.ui.asked)
			}
		})
	}
}

// cancellingUI cancels the ceremony when it is asked a question containing at, and waits
// for the cancellation as a UI waiting for a person does.
type cancellingUI struct {
	scriptedUI
	at     string
	cancel context.CancelFunc
}

func (u *cancellingUI) Confirm(ctx context.Context, who, q string) error {
	if strings.Contains(q, u.at) {
		u.cancel()
		<-ctx.Done()
		return ctx.Err()
	}
	return u.scriptedUI.Confirm(ctx, who, q)
}

// A ceremony waiting for a person is cancelled through its context: it stops with the
// cancellation, the transcript records the failed step, and a resume finishes it.
func TestCancelWhileWaiting(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ui := &cancellingUI{at: `did "Self-sign the root certificate" happen`, cancel: cancel}
	err := Start(ctx, exampleScript(t), dir, b, ui, withSheets(Options{}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, transcript.FileName))
	entries, perr := transcript.Parse(data)
	if perr != nil || entries[len(entries)-1].Event != transcript.EventStepFailed {
		t.Fatalf("the cancelled step is not recorded as failed (%v)", perr)
	}
	// A cancelled context stops a ceremony before anything happens.
	if err := Resume(ctx, dir, b, &scriptedUI{}, withSheets(Options{})); !errors.Is(err, context.Canceled) {
		t.Fatalf("resume with a cancelled context: %v", err)
	}
	if err := resume(t, dir, b, &scriptedUI{}, Options{}); err != nil {
		t.Fatal(err)
	}
	verified(t, dir)
}
