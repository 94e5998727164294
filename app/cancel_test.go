package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony"
)

// Every prompt that waits for a person returns ctx.Err() once the ceremony's context is
// cancelled, and leaves no card (and no share) on screen.
func TestPromptsReturnWhenCancelled(t *testing.T) {
	a := newTestApp(t)
	r := newRunScreen(a, &plan{out: t.TempDir()})
	ann := ceremony.Participant{Name: "Ann", Role: "custodian"}
	for name, wait := range map[string]func(context.Context) error{
		"confirm": func(ctx context.Context) error { return r.Confirm(ctx, "Ann", "Is Ann here?") },
		"secret":  func(ctx context.Context) error { _, err := r.AskSecret(ctx, "PIN"); return err },
		"share": func(ctx context.Context) error {
			_, err := r.AskShare(ctx, ann, "type it", func(string) error { return nil })
			return err
		},
		"reveal": func(ctx context.Context) error { return r.RevealShare(ctx, ann, 1, 3, "AAAAA BBBBB") },
		"revealed": func(ctx context.Context) error {
			go func() {
				time.Sleep(20 * time.Millisecond)
				doAndWait(func() { r.Reveal.OnTapped() })
			}()
			return r.RevealShare(ctx, ann, 1, 3, "AAAAA BBBBB")
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(100*time.Millisecond, cancel)
			if err := wait(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			var visible bool
			doAndWait(func() {
				for _, c := range []interface{ Visible() bool }{r.QuestionCard, r.SecretCard, r.RevealCard, r.AskCard} {
					visible = visible || c.Visible()
				}
			})
			if visible || r.ShareVisible() || r.Code.Text != "" {
				t.Fatal("a prompt or a share is still on screen after the cancellation")
			}
		})
	}
}
