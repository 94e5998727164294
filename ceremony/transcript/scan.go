package transcript

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// MaxRecord is the longest record a reader accepts, in bytes. The longest Keyrite writes is a
// token inventory: about 120 bytes per object on the token.
const MaxRecord = 16 << 20

// chain checks records one at a time, in order: the rules of docs/transcript.md for one line.
type chain struct {
	seq      uint64
	prev     [32]byte
	prevMono int64
}

// next checks line (without its newline) as the next record. last says no byte follows it,
// so an unparsable line there is reported as torn.
func (c *chain) next(line []byte, last bool) (Entry, error) {
	seq, lineNo := c.seq, int(c.seq)+1
	bad := func(format string, a ...any) error {
		return &RecordError{seq, lineNo, fmt.Sprintf(format, a...)}
	}
	r, err := parseLine(line)
	if err != nil {
		if last && !json.Valid(line) {
			// An unparsable last line is most likely a write cut short and then followed
			// by a newline from a later append; report it as torn.
			return Entry{}, &TornError{RecordError: RecordError{seq, lineNo, err.Error() + "; it is not trusted"}, Bytes: append(bytes.Clone(line), '\n')}
		}
		return Entry{}, bad("%v", err)
	}
	var prevHex [64]byte
	hex.Encode(prevHex[:], c.prev[:])
	switch {
	case r.V != FormatVersion:
		return Entry{}, bad("format version %d, want %d", r.V, FormatVersion)
	case r.Seq != seq:
		return Entry{}, bad("sequence number %d, want %d (a record was removed, duplicated or moved)", r.Seq, seq)
	case r.Prev != string(prevHex[:]):
		return Entry{}, bad("previous-record hash does not match record %d (a record before it was changed, removed or reordered)", int64(seq)-1)
	}
	t, err := time.Parse(time.RFC3339Nano, r.Time)
	if err != nil || t.Location() != time.UTC || r.Time[len(r.Time)-1] != 'Z' {
		return Entry{}, bad("time %q is not RFC 3339 UTC", r.Time)
	}
	if r.MonoNS < c.prevMono {
		return Entry{}, bad("monotonic time goes back from %d ns to %d ns", c.prevMono, r.MonoNS)
	}
	if r.Step == "" || r.Event == "" {
		return Entry{}, bad("step and event must not be empty")
	}
	if seq == 0 && r.Event != EventOpened {
		return Entry{}, bad("first record must be %q, got %q", EventOpened, r.Event)
	}
	e := Entry{Record: r, Line: line, Hash: HashLine(line)}
	c.seq++
	c.prev, c.prevMono = e.Hash, r.MonoNS
	return e, nil
}

// tornAt is the error for a file that ends inside record seq.
func tornAt(seq uint64, rest []byte) error {
	return &TornError{
		RecordError: RecordError{seq, int(seq) + 1, "the file ends inside this record (an interrupted write); it is not trusted"},
		Bytes:       rest,
	}
}

// Scanner reads a transcript record by record, checking the chain as it goes: its memory is
// one record, whatever the length of the file.
type Scanner struct {
	br    *bufio.Reader
	c     chain
	long  []byte
	entry Entry
	err   error
}

// NewScanner reads the transcript from r.
func NewScanner(r io.Reader) *Scanner {
	return &Scanner{br: bufio.NewReaderSize(r, 256<<10)}
}

// Scan advances to the next record; it returns false at the end of the file or at the first
// bad record (see Err).
func (s *Scanner) Scan() bool {
	if s.err != nil {
		return false
	}
	line, err := s.readLine()
	if err == io.EOF {
		return false
	}
	if err != nil {
		s.err = err
		return false
	}
	_, perr := s.br.Peek(1)
	s.entry, s.err = s.c.next(line, perr == io.EOF)
	return s.err == nil
}

// Entry is the record Scan found. Its Line is its own: it stays valid after the next Scan.
func (s *Scanner) Entry() Entry { return s.entry }

// Count is the number of good records read so far.
func (s *Scanner) Count() uint64 { return s.c.seq }

// Err is the first bad record (a *RecordError or *TornError), or a read error.
func (s *Scanner) Err() error { return s.err }

// readLine returns the next line without its newline, in a new slice.
func (s *Scanner) readLine() ([]byte, error) {
	s.long = s.long[:0]
	for {
		frag, err := s.br.ReadSlice('\n')
		switch {
		case err == nil && len(s.long) == 0:
			return bytes.Clone(frag[:len(frag)-1]), nil
		case err == nil:
			s.long = append(s.long, frag[:len(frag)-1]...)
			return bytes.Clone(s.long), nil
		case errors.Is(err, bufio.ErrBufferFull):
			s.long = append(s.long, frag...)
			if len(s.long) > MaxRecord {
				return nil, &RecordError{s.c.seq, int(s.c.seq) + 1, fmt.Sprintf("record is longer than %d bytes: not a Keyrite transcript record", MaxRecord)}
			}
		case err == io.EOF:
			s.long = append(s.long, frag...)
			if len(s.long) == 0 {
				return nil, io.EOF
			}
			return nil, tornAt(s.c.seq, bytes.Clone(s.long))
		default:
			return nil, err
		}
	}
}

// parseLine decodes one line strictly: unknown fields and trailing data are errors. A line in
// the form Keyrite writes takes a fast path; any other goes through encoding/json, with the
// same result.
func parseLine(line []byte) (Record, error) {
	if r, ok := parseCanonical(line); ok {
		return r, nil
	}
	return parseLineJSON(line)
}

// parseCanonical parses a line exactly as json.Marshal writes a Record: the fields in order,
// no spaces, strings without escapes. It reports false for anything else.
func parseCanonical(line []byte) (Record, bool) {
	var r Record
	p := canon{b: line}
	ok := p.lit(`{"v":`) && p.int(func(n int64) { r.V = int(n) }) &&
		p.lit(`,"seq":`) && p.int(func(n int64) { r.Seq = uint64(n) }) &&
		p.lit(`,"time":`) && p.str(&r.Time) &&
		p.lit(`,"mono_ns":`) && p.int(func(n int64) { r.MonoNS = n }) &&
		p.lit(`,"step":`) && p.str(&r.Step) &&
		p.lit(`,"actor":`) && p.str(&r.Actor) &&
		p.lit(`,"event":`) && p.str(&r.Event)
	if !ok {
		return r, false
	}
	const prevField = `,"prev":"`
	tail := len(prevField) + 64 + 2 // the prev field, its closing quote and the closing brace
	rest := p.b[p.i:]
	if len(rest) < tail || rest[len(rest)-1] != '}' || rest[len(rest)-2] != '"' || !bytes.HasPrefix(rest[len(rest)-tail:], []byte(prevField)) {
		return r, false
	}
	prev := rest[len(rest)-66 : len(rest)-2]
	for _, c := range prev {
		if c < '0' || c > '9' && c < 'a' || c > 'f' {
			return r, false
		}
	}
	r.Prev = string(prev)
	if body := rest[:len(rest)-tail]; len(body) > 0 {
		data, found := bytes.CutPrefix(body, []byte(`,"data":`))
		if !found || len(data) == 0 || data[0] != '{' || !json.Valid(data) {
			return r, false
		}
		r.Data = data
	}
	return r, true
}

// canon walks a canonical record.
type canon struct {
	b []byte
	i int
}

func (p *canon) lit(s string) bool {
	if !bytes.HasPrefix(p.b[p.i:], []byte(s)) {
		return false
	}
	p.i += len(s)
	return true
}

// int reads a non-negative decimal integer without leading zeros.
func (p *canon) int(set func(int64)) bool {
	j := p.i
	for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
		j++
	}
	if j == p.i || j-p.i > 18 || (p.b[p.i] == '0' && j-p.i > 1) {
		return false
	}
	n, err := strconv.ParseInt(string(p.b[p.i:j]), 10, 64)
	if err != nil {
		return false
	}
	set(n)
	p.i = j
	return true
}

// str reads a string with no escapes and no control characters, in valid UTF-8.
func (p *canon) str(dst *string) bool {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return false
	}
	j := p.i + 1
	ascii := true
	for ; j < len(p.b); j++ {
		c := p.b[j]
		if c == '"' {
			break
		}
		if c == '\\' || c < 0x20 {
			return false
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	if j >= len(p.b) || (!ascii && !utf8.Valid(p.b[p.i+1:j])) {
		return false
	}
	*dst = string(p.b[p.i+1 : j])
	p.i = j + 1
	return true
}
