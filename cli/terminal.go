package cli

import (
	"bufio"
	"context"
	"fmt"
	"github.com/keyrite/keyrite/cli/base"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/keyrite/keyrite/ceremony"
	"golang.org/x/term"
)

// terminalUI drives a ceremony on a terminal. The engine calls it from the ceremony's
// goroutine, and Progress also from the key-generation ticker; mu guards what they share. With auto set (rehearsals) every confirmation is
// answered yes and says so, so the rehearsal transcript is honest about it.
type terminalUI struct {
	in       *bufio.Reader
	out      io.Writer
	auto     bool
	mu       sync.Mutex
	progress bool
	held     map[string]string // rehearsal only: the simulated custodians' shares, in memory
}

// Show implements ceremony.UI.
func (t *terminalUI) Show(s ceremony.Screen) {
	t.endProgress()
	fmt.Fprintf(t.out, "\n== Step %d of %d: %s ==\n%s\nActs: %s\n", s.Number, s.Total, s.Title, s.Explain, s.Actor)
}

// Note implements ceremony.UI.
func (t *terminalUI) Note(text string) {
	t.endProgress()
	for _, l := range strings.Split(text, "\n") {
		fmt.Fprintf(t.out, "   %s\n", l)
	}
}

// readLine reads one line, or returns ctx.Err() once ctx is cancelled. A read the
// cancellation cut short finishes in the background and its line is dropped: the ceremony has
// stopped, and nothing reads the terminal after it.
func (t *terminalUI) readLine(ctx context.Context) (string, error) {
	return cancellable(ctx, func() (string, error) { return t.in.ReadString('\n') }, nil)
}

// readHidden reads a line without echo from the terminal on standard input; on cancellation
// the terminal's state (echo) is restored before it returns.
func (t *terminalUI) readHidden(ctx context.Context) ([]byte, error) {
	fd := int(os.Stdin.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	line, err := cancellable(ctx, func() (string, error) { b, err := term.ReadPassword(fd); return string(b), err },
		func() { term.Restore(fd, state) })
	fmt.Fprintln(t.out)
	return []byte(line), err
}

// cancellable runs read, returning early with ctx.Err() (after calling restore) if ctx is
// cancelled first.
func cancellable(ctx context.Context, read func() (string, error), restore func()) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if ctx.Done() == nil {
		return read()
	}
	type result struct {
		line string
		err  error
	}
	got := make(chan result, 1)
	go func() { l, err := read(); got <- result{l, err} }()
	select {
	case r := <-got:
		return r.line, r.err
	case <-ctx.Done():
		if restore != nil {
			restore()
		}
		return "", ctx.Err()
	}
}

// Confirm implements ceremony.UI.
func (t *terminalUI) Confirm(ctx context.Context, who, question string) error {
	t.endProgress()
	if t.auto {
		fmt.Fprintf(t.out, "   %s\n   [rehearsal] %s: yes\n", question, who)
		return nil
	}
	for {
		fmt.Fprintf(t.out, "   %s [yes/no]: ", question)
		line, err := t.readLine(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "yes", "y":
			return nil
		case "no", "n":
			fmt.Fprint(t.out, "   Reason (recorded in the transcript): ")
			reason, err := t.readLine(ctx)
			if err != nil && ctx.Err() != nil {
				return err
			}
			return &ceremony.Declined{Reason: strings.TrimSpace(reason)}
		}
		if err != nil {
			return fmt.Errorf("no answer from %s: %w", who, err)
		}
		fmt.Fprintln(t.out, "   Please answer yes or no.")
	}
}

// AskSecret implements ceremony.UI: the PIN is typed masked, on a terminal only.
func (t *terminalUI) AskSecret(ctx context.Context, prompt string) ([]byte, error) {
	t.endProgress()
	fmt.Fprintf(t.out, "%s: ", prompt)
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return nil, fmt.Errorf("%s: standard input is not a terminal, so the PIN cannot be typed masked; use --pin-file or --pin-fd", prompt)
	}
	return t.readHidden(ctx)
}

func (t *terminalUI) Progress(what string, done, total int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if total > 0 {
		// At most a hundred updates: a log file is not a terminal.
		if step := max(1, total/100); done%step != 0 && done != total {
			return
		}
		t.carriageReturn()
		fmt.Fprintf(t.out, "   %s: %d/%d", what, done, total)
	} else {
		t.carriageReturn()
		fmt.Fprintf(t.out, "   %s …", what)
	}
	t.progress = true
}

// carriageReturn moves to the start of the progress line: the one control character cli
// writes on its own account, past the escaper.
func (t *terminalUI) carriageReturn() {
	if e, ok := t.out.(*base.Escaper); ok {
		e.Raw("\r")
		return
	}
	fmt.Fprint(t.out, "\r")
}

func (t *terminalUI) endProgress() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.progress {
		fmt.Fprintln(t.out)
		t.progress = false
	}
}

// RevealShare never prints a share on a terminal, whose scrollback outlives the step: the
// custodian takes the printed sheet. In a rehearsal the simulated custodian remembers it.
func (t *terminalUI) RevealShare(_ context.Context, c ceremony.Participant, number, total int, code string) error {
	t.endProgress()
	if t.auto {
		t.mu.Lock()
		if t.held == nil {
			t.held = map[string]string{}
		}
		t.held[c.Name] = code
		t.mu.Unlock()
		fmt.Fprintf(t.out, "   [rehearsal] share %d of %d handed to %s (share sheet written; the code is never printed here)\n", number, total, c.Name)
		return nil
	}
	fmt.Fprintf(t.out, "   %s: take share sheet %d of %d from the printer and keep it covered. Keyrite does not show shares on a terminal.\n", c.Name, number, total)
	return nil
}

// AskShare reads a share code without echo, checks it, and asks again after a refusal; an
// empty entry gives up. Refusals name the group, never its content.
func (t *terminalUI) AskShare(ctx context.Context, c ceremony.Participant, prompt string, check func(string) error) (string, error) {
	t.endProgress()
	if t.auto {
		t.mu.Lock()
		code := t.held[c.Name]
		t.mu.Unlock()
		if code == "" {
			return "", fmt.Errorf("[rehearsal] %s holds no share", c.Name)
		}
		if err := check(code); err != nil {
			return "", err
		}
		fmt.Fprintf(t.out, "   [rehearsal] %s entered their share: accepted\n", c.Name)
		return code, nil
	}
	for {
		fmt.Fprintf(t.out, "   %s (input hidden; empty to skip): ", prompt)
		var line []byte
		var err error
		if term.IsTerminal(int(os.Stdin.Fd())) {
			line, err = t.readHidden(ctx)
		} else {
			var s string
			s, err = t.readLine(ctx)
			line = []byte(strings.TrimSpace(s))
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		code := strings.TrimSpace(string(line))
		if code == "" {
			return "", fmt.Errorf("%s skipped", c.Name)
		}
		if cerr := check(code); cerr != nil {
			fmt.Fprintf(t.out, "   Refused: %v\n", cerr)
			if err != nil {
				return "", err
			}
			continue
		}
		fmt.Fprintln(t.out, "   Accepted.")
		return code, nil
	}
}
