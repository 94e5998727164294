package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/keyrite/keyrite/ceremony"
	"golang.org/x/term"
)

// terminalUI drives a ceremony on a terminal. With auto set (rehearsals) every confirmation is
// answered yes and says so, so the rehearsal transcript is honest about it.
type terminalUI struct {
	in       *bufio.Reader
	out      io.Writer
	auto     bool
	mu       sync.Mutex
	progress bool
	held     map[string]string // rehearsal only: the simulated custodians' shares, in memory
}

func (t *terminalUI) Show(s ceremony.Screen) {
	t.endProgress()
	fmt.Fprintf(t.out, "\n== Step %d of %d: %s ==\n%s\nActs: %s\n", s.Number, s.Total, s.Title, s.Explain, s.Actor)
}

func (t *terminalUI) Note(text string) {
	t.endProgress()
	for _, l := range strings.Split(text, "\n") {
		fmt.Fprintf(t.out, "   %s\n", l)
	}
}

func (t *terminalUI) Confirm(who, question string) error {
	t.endProgress()
	if t.auto {
		fmt.Fprintf(t.out, "   %s\n   [rehearsal] %s: yes\n", question, who)
		return nil
	}
	for {
		fmt.Fprintf(t.out, "   %s [yes/no]: ", question)
		line, err := t.in.ReadString('\n')
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "yes", "y":
			return nil
		case "no", "n":
			fmt.Fprint(t.out, "   Reason (recorded in the transcript): ")
			reason, _ := t.in.ReadString('\n')
			return &ceremony.Declined{Reason: strings.TrimSpace(reason)}
		}
		if err != nil {
			return fmt.Errorf("no answer from %s: %w", who, err)
		}
		fmt.Fprintln(t.out, "   Please answer yes or no.")
	}
}

func (t *terminalUI) AskSecret(prompt string) ([]byte, error) {
	t.endProgress()
	fmt.Fprintf(t.out, "%s: ", prompt)
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return nil, fmt.Errorf("%s: standard input is not a terminal, so the PIN cannot be typed masked; use --pin-file or --pin-fd", prompt)
	}
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(t.out)
	return b, err
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
	if e, ok := t.out.(*escaper); ok {
		e.raw("\r")
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
func (t *terminalUI) RevealShare(c ceremony.Participant, number, total int, code string) error {
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
func (t *terminalUI) AskShare(c ceremony.Participant, prompt string, check func(string) error) (string, error) {
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
			line, err = term.ReadPassword(int(os.Stdin.Fd()))
			fmt.Fprintln(t.out)
		} else {
			var s string
			s, err = t.in.ReadString('\n')
			line = []byte(strings.TrimSpace(s))
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
