package transcript

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"
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

// decoded is what can be learnt of a line on its own, before its place in the chain is known:
// the work a scanner spreads over all cores.
type decoded struct {
	line   []byte
	r      Record
	err    error // the line is not a valid record
	timeOK bool
	hash   [32]byte
}

func decode(line []byte, owned bool) decoded {
	d := decoded{line: line}
	d.r, d.err = parseLine(line, owned)
	if d.err == nil {
		t, err := time.Parse(time.RFC3339Nano, d.r.Time)
		d.timeOK = err == nil && t.Location() == time.UTC && d.r.Time[len(d.r.Time)-1] == 'Z'
		d.hash = HashLine(line)
	}
	return d
}

// next checks line (without its newline) as the next record. last says no byte follows it,
// so an unparsable line there is reported as torn.
//
// When owned, line is the record's own copy and is never changed (see parseCanonical).
func (c *chain) next(line []byte, last, owned bool) (Entry, error) {
	return c.accept(decode(line, owned), last)
}

// accept checks a decoded line as the next record.
func (c *chain) accept(d decoded, last bool) (Entry, error) {
	seq, lineNo, r := c.seq, int(c.seq)+1, d.r
	bad := func(format string, a ...any) error {
		return &RecordError{seq, lineNo, fmt.Sprintf(format, a...)}
	}
	if d.err != nil {
		if last && !json.Valid(d.line) {
			// An unparsable last line is most likely a write cut short and then followed
			// by a newline from a later append; report it as torn.
			return Entry{}, &TornError{RecordError: RecordError{seq, lineNo, d.err.Error() + "; it is not trusted"}, Bytes: append(bytes.Clone(d.line), '\n')}
		}
		return Entry{}, bad("%v", d.err)
	}
	switch {
	case r.V != FormatVersion:
		return Entry{}, bad("format version %d, want %d", r.V, FormatVersion)
	case r.Seq != seq:
		return Entry{}, bad("sequence number %d, want %d (a record was removed, duplicated or moved)", r.Seq, seq)
	case !linked(&r, c.prev):
		return Entry{}, bad("previous-record hash does not match record %d (a record before it was changed, removed or reordered)", int64(seq)-1)
	case !d.timeOK:
		return Entry{}, bad("time %q is not RFC 3339 UTC", r.Time)
	case r.MonoNS < c.prevMono:
		return Entry{}, bad("monotonic time goes back from %d ns to %d ns", c.prevMono, r.MonoNS)
	case r.Step == "" || r.Event == "":
		return Entry{}, bad("step and event must not be empty")
	case seq == 0 && r.Event != EventOpened:
		return Entry{}, bad("first record must be %q, got %q", EventOpened, r.Event)
	}
	c.seq++
	c.prev, c.prevMono = d.hash, r.MonoNS
	return Entry{Record: r, Line: d.line, Hash: d.hash}, nil
}

// linked reports whether r carries prev, the hash of the record before it.
func linked(r *Record, prev [32]byte) bool {
	var h [64]byte
	hex.Encode(h[:], prev[:])
	return r.Prev == string(h[:])
}

// tornAt is the error for a file that ends inside record seq.
func tornAt(seq uint64, rest []byte) error {
	return &TornError{
		RecordError: RecordError{seq, int(seq) + 1, "the file ends inside this record (an interrupted write); it is not trusted"},
		Bytes:       rest,
	}
}

// Scanner reads a transcript record by record, checking the chain as it goes. It reads a
// batch of lines at a time, parses and hashes them on all cores, then checks their links in
// order: its memory is one batch, whatever the length of the file.
type Scanner struct {
	br      *bufio.Reader
	c       chain
	long    []byte
	limit   uint64 // lines to read at most
	read    uint64
	batch   []decoded
	last    bool // the batch's last line ends the file
	readErr error
	entry   Entry
	err     error
	failed  []byte // the line of the record that was bad
}

const scanBatch = 1024

// NewScanner reads the transcript from r.
func NewScanner(r io.Reader) *Scanner {
	return &Scanner{br: bufio.NewReaderSize(r, 256<<10), limit: math.MaxUint64}
}

// Limit makes the scanner read no more than n records (lines) in all.
func (s *Scanner) Limit(n uint64) { s.limit = n }

// Scan advances to the next record; it returns false at the end of the file or at the first
// bad record (see Err).
func (s *Scanner) Scan() bool {
	if s.err != nil {
		return false
	}
	if len(s.batch) == 0 && s.readErr == nil {
		s.fill()
	}
	if len(s.batch) == 0 {
		if s.readErr != io.EOF {
			s.err = s.readErr
		}
		return false
	}
	d := s.batch[0]
	s.batch = s.batch[1:]
	s.entry, s.err = s.c.accept(d, s.last && len(s.batch) == 0)
	if s.err != nil {
		s.failed = d.line
	}
	return s.err == nil
}

// fill reads the next batch of lines and decodes them in parallel.
func (s *Scanner) fill() {
	var lines [][]byte
	for len(lines) < scanBatch && s.read < s.limit {
		line, err := s.readLine()
		if err != nil {
			s.readErr = err
			break
		}
		s.read++
		lines = append(lines, line)
	}
	if s.readErr == nil && len(lines) == 0 {
		s.readErr = io.EOF // the limit
	}
	if s.readErr == nil {
		_, perr := s.br.Peek(1)
		s.last = perr == io.EOF
	}
	s.batch = make([]decoded, len(lines))
	workers := min(runtime.GOMAXPROCS(0), (len(lines)+63)/64)
	if workers <= 1 {
		for i, l := range lines {
			s.batch[i] = decode(l, true)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(lines); i += workers {
				s.batch[i] = decode(lines[i], true)
			}
		}()
	}
	wg.Wait()
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
				return nil, &RecordError{s.read, int(s.read) + 1, fmt.Sprintf("record is longer than %d bytes: not a Keyrite transcript record", MaxRecord)}
			}
		case err == io.EOF:
			s.long = append(s.long, frag...)
			if len(s.long) == 0 {
				return nil, io.EOF
			}
			return nil, tornAt(s.read, bytes.Clone(s.long))
		default:
			return nil, err
		}
	}
}

// parseLine decodes one line strictly: unknown fields and trailing data are errors. A line in
// the form Keyrite writes takes a fast path; any other goes through encoding/json, with the
// same result.
func parseLine(line []byte, owned bool) (Record, error) {
	if r, ok := parseCanonical(line, owned); ok {
		return r, nil
	}
	return parseLineJSON(line)
}

// parseCanonical parses a line exactly as json.Marshal writes a Record: the fields in order,
// no spaces, strings without escapes. It reports false for anything else.
//
// When owned, the line is the record's own copy, never changed: the strings share its bytes.
func parseCanonical(line []byte, owned bool) (Record, bool) {
	var r Record
	p := canon{b: line, owned: owned}
	fields := []struct {
		key  string
		read func() bool
	}{
		{`{"v":`, func() bool { return p.int(func(n int64) { r.V = int(n) }) }},
		{`,"seq":`, func() bool { return p.int(func(n int64) { r.Seq = uint64(n) }) }},
		{`,"time":`, func() bool { return p.str(&r.Time) }},
		{`,"mono_ns":`, func() bool { return p.int(func(n int64) { r.MonoNS = n }) }},
		{`,"step":`, func() bool { return p.str(&r.Step) }},
		{`,"actor":`, func() bool { return p.str(&r.Actor) }},
		{`,"event":`, func() bool { return p.str(&r.Event) }},
	}
	for _, f := range fields {
		if !p.lit(f.key) || !f.read() {
			return r, false
		}
	}
	data, prev, ok := canonicalTail(p.b[p.i:])
	r.Data, r.Prev = data, prev
	return r, ok
}

// canonicalTail reads what follows the event: the data, if any, and the prev field.
func canonicalTail(rest []byte) (json.RawMessage, string, bool) {
	const prevField = `,"prev":"`
	tail := len(prevField) + 64 + 2 // the prev field, its closing quote and the closing brace
	if len(rest) < tail || !bytes.HasSuffix(rest, []byte(`"}`)) || !bytes.HasPrefix(rest[len(rest)-tail:], []byte(prevField)) {
		return nil, "", false
	}
	prev := rest[len(rest)-66 : len(rest)-2]
	for _, c := range prev {
		if c < '0' || c > '9' && c < 'a' || c > 'f' {
			return nil, "", false
		}
	}
	body := rest[:len(rest)-tail]
	if len(body) == 0 {
		return nil, string(prev), true
	}
	data, found := bytes.CutPrefix(body, []byte(`,"data":`))
	if !found || len(data) == 0 || data[0] != '{' || !json.Valid(data) {
		return nil, "", false
	}
	return data, string(prev), true
}

// canon walks a canonical record.
type canon struct {
	b     []byte
	i     int
	owned bool
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
	if s := p.b[p.i+1 : j]; p.owned && len(s) > 0 {
		*dst = unsafe.String(&s[0], len(s))
	} else {
		*dst = string(s)
	}
	p.i = j + 1
	return true
}

// rest returns the lines after the bad record, unchecked: those already read, then the rest of
// the file (at most maxInspected lines, a torn last line included).
func (s *Scanner) rest() [][]byte {
	var out [][]byte
	for _, d := range s.batch {
		out = append(out, d.line)
	}
	var torn *TornError
	if s.err != s.readErr && errors.As(s.readErr, &torn) {
		return append(out, torn.Bytes)
	}
	if s.readErr != nil {
		return out
	}
	for len(out) < maxInspected {
		line, err := s.readLine()
		if errors.As(err, &torn) {
			out = append(out, torn.Bytes)
		}
		if err != nil {
			break
		}
		out = append(out, line)
	}
	return out
}
