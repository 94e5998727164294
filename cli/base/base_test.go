package base

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
)

// Report's exit codes and lines: what scripts and the front (main_front.go) rely on.
func TestReport(t *testing.T) {
	for _, c := range []struct {
		err  error
		hint string
		code int
		out  string
	}{
		{nil, "", 0, ""},
		{flag.ErrHelp, "", 2, ""},
		{UsageError{"usage: keyrite verify DIR"}, "", 2, "keyrite: error: usage: keyrite verify DIR\n"},
		{fmt.Errorf("wrapped: %w", UsageError{"usage"}), "", 2, "keyrite: error: wrapped: usage\n"},
		{errors.New("two\nlines"), "do this", 1, "keyrite: error: two\nkeyrite:   lines\nkeyrite: hint: do this\n"},
	} {
		var out strings.Builder
		if code := Report(&out, c.err, c.hint); code != c.code || out.String() != c.out {
			t.Errorf("Report(%v): exit %d, printed %q; want %d, %q", c.err, code, out.String(), c.code, c.out)
		}
	}
}

// Verify without a renderer refuses --render before it reads or prints anything.
func TestVerifyWithoutRenderer(t *testing.T) {
	var stdout, stderr strings.Builder
	err := Verify([]string{"--render", "/nonexistent"}, &stdout, &stderr, nil)
	if !errors.Is(err, ErrNoRenderer) || stdout.Len() != 0 || stderr.Len() != 0 {
		t.Fatalf("Verify --render without a renderer: %v, printed %q %q; want ErrNoRenderer and nothing", err, stdout.String(), stderr.String())
	}
}
