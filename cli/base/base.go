// Package base is what keyrite's command line needs without the ceremony engine: the terminal
// escaper, flag parsing, the error report, and `keyrite verify` and `keyrite inventory`
// themselves. It imports no ceremony engine, linter, HSM module, report renderer or GUI, so
// the front binary scripts/build makes as ./keyrite (main_front.go) runs those two without
// their start-up; the full command line (package cli) runs the same code, so both print the
// same bytes.
package base

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/internal/atomicfile"
)

// UsageError is a mistake in the command line itself: Report exits 2 for it.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// NewFlagSet is a command's flag set, its errors and help written to stderr.
func NewFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// Parse parses flags that may come before or after the positional arguments.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// List is a repeatable string flag.
type List []string

func (l *List) String() string     { return strings.Join(*l, ",") }
func (l *List) Set(v string) error { *l = append(*l, v); return nil }

// Report prints err as "keyrite: error: ..." with hint, when there is one, as "keyrite: hint:
// ..." on stderr, and returns the exit code: 0 for no error, 2 for a usage error or a request
// for help, 1 otherwise.
func Report(stderr io.Writer, err error, hint string) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	fmt.Fprintf(stderr, "keyrite: error: %s\n", strings.ReplaceAll(err.Error(), "\n", "\nkeyrite:   "))
	if hint != "" {
		fmt.Fprintf(stderr, "keyrite: hint: %s\n", hint)
	}
	var ue UsageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// Hint says what to do about an error any command can meet, verify's included; "" when it
// has nothing to say (package cli adds the ceremony engine's and the HSM's).
func Hint(err error) string {
	var re *transcript.RecordError
	switch {
	case errors.As(err, &re):
		return "the transcript was changed after it was written, or the write was interrupted; compare with the sealed copy in the evidence bundle"
	case atomicfile.IsNoSpace(err):
		return "the disk is full. Everything recorded so far is kept whole; free space (or move the folder to a larger disk), then run `keyrite resume DIR` to continue"
	case atomicfile.IsReadOnly(err):
		return "the media is read-only. Everything recorded so far is kept whole; make it writable (or copy the folder to writable media), then run `keyrite resume DIR` to continue"
	}
	return ""
}
