package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony"
)

// A terminal prompt waiting for an answer that never comes returns ctx.Err() once the
// ceremony's context is cancelled (the interrupt signal, in keyrite).
func TestTerminalPromptsReturnWhenCancelled(t *testing.T) {
	ann := ceremony.Participant{Name: "Ann", Role: "custodian"}
	for name, wait := range map[string]func(context.Context, *terminalUI) error{
		"confirm": func(ctx context.Context, ui *terminalUI) error { return ui.Confirm(ctx, "Ann", "Is Ann here?") },
		"share": func(ctx context.Context, ui *terminalUI) error {
			_, err := ui.AskShare(ctx, ann, "type it", func(string) error { return nil })
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			pr, pw := io.Pipe() // nobody ever answers
			defer pw.Close()
			ui := &terminalUI{in: bufio.NewReader(pr), out: io.Discard}
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(50*time.Millisecond, cancel)
			if err := wait(ctx, ui); !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		})
	}
}
