package base

import (
	"io"
	"unicode/utf8"

	"github.com/keyrite/keyrite/evidence"
)

// Escaper is the only way the command line writes to a terminal: whatever it is given — a message, a
// participant's name read from a transcript being verified, a token's label, a file name —
// reaches the terminal with every character that is not printable escaped (Escape).
// Newlines pass. So a name holding an ANSI escape
// sequence cannot clear the terminal, set its title, move the cursor, or overwrite a line
// with a fake "Verified", and a bidirectional override cannot reorder what is read.
type Escaper struct {
	w       io.Writer
	pending []byte // the start of a UTF-8 sequence split across writes
}

// NewEscaper wraps w; a writer that already escapes is returned as it is.
func NewEscaper(w io.Writer) *Escaper {
	if e, ok := w.(*Escaper); ok {
		return e
	}
	return &Escaper{w: w}
}

func (e *Escaper) Write(p []byte) (int, error) {
	b := append(e.pending, p...)
	e.pending = nil
	// Keep an incomplete UTF-8 sequence at the end for the next write.
	if cut := incompleteTail(b); cut > 0 {
		e.pending = append([]byte(nil), b[len(b)-cut:]...)
		b = b[:len(b)-cut]
	}
	if _, err := io.WriteString(e.w, Escape(string(b))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Raw writes s unescaped: only for the terminal control the command line itself emits (a
// carriage return that redraws a progress line), never for text from elsewhere.
func (e *Escaper) Raw(s string) { io.WriteString(e.w, s) }

// Flush writes what is left of a sequence that never completed, escaped.
func (e *Escaper) Flush() {
	if len(e.pending) > 0 {
		io.WriteString(e.w, Escape(string(e.pending)))
		e.pending = nil
	}
}

// incompleteTail is the length of a truncated UTF-8 sequence at the end of b, or 0.
func incompleteTail(b []byte) int {
	for n := 1; n <= 3 && n <= len(b); n++ {
		c := b[len(b)-n]
		if c < 0x80 {
			return 0
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-n:]) {
				return n
			}
			return 0
		}
	}
	return 0
}

// Escape returns s with every character that is not printable escaped, Go-style (\x1b,
// \u202e): control characters but newline, bidirectional controls and other invisible format
// characters, separators other than the space, private-use and unassigned characters. It is
// evidence.Printable, the pure-Go verifier's own rule, so both print evidence alike.
func Escape(s string) string { return evidence.Printable(s) }

// Unescaped is the writer beneath, for bytes that are not text (a PDF written to a pipe).
func (e *Escaper) Unescaped() io.Writer { return e.w }
