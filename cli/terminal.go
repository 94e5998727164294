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
			return ceremony.ErrDeclined
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
		fmt.Fprintf(t.out, "\r   %s: %d/%d", what, done, total)
	} else {
		fmt.Fprintf(t.out, "\r   %s …", what)
	}
	t.progress = true
}

func (t *terminalUI) endProgress() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.progress {
		fmt.Fprintln(t.out)
		t.progress = false
	}
}
