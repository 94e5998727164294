package transcript

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/keyrite/keyrite/internal/atomicfile"
)

// Clock gives the wall time. Tests fix it; ceremonies use time.Now.
type Clock func() time.Time

// Writer appends records to a transcript file. It is safe for concurrent use.
type Writer struct {
	mu       sync.Mutex
	f        *os.File
	path     string
	now      Clock
	start    time.Time // carries Go's monotonic reading when now is time.Now
	monoBase int64
	next     uint64
	prev     [32]byte
	size     int64 // bytes of whole records in the file
	sealed   bool  // EventClosed was written: nothing may follow
	failed   error // a write failed: the writer refuses every later record
	observe  func(Entry)
}

// ErrSealed is returned by Append once the transcript is closed: nothing is ever appended
// after EventClosed and the seal.
var ErrSealed = errors.New("the transcript is closed and sealed; nothing may be appended to it")

// ErrStopped wraps the error of every Append after one that could not be written (a full
// disk, read-only media): the transcript holds every record before it, whole, and the
// ceremony must stop and resume once the cause is fixed.
var ErrStopped = errors.New("the transcript could not be written")

// Observe calls f with every record already in the transcript, then with every record
// appended from now on (once it is on disk). f must not call the Writer.
func (w *Writer) Observe(f func(Entry)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if data, err := os.ReadFile(w.path); err == nil {
		entries, _ := Parse(data)
		for _, e := range entries {
			f(e)
		}
	}
	w.observe = f
}

// Create makes a new transcript at path; it refuses to overwrite an existing file. The first
// record is EventOpened with the given opening. The file appears atomically with that record
// in it: a transcript is never empty.
func Create(path string, now Clock, actor string, opening Opening) (*Writer, error) {
	w := &Writer{path: path, now: now, start: now()}
	r, line, err := w.line("open", actor, EventOpened, opening)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Create(path, append(line, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("create transcript: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("create transcript: %w", err)
	}
	w.f = f
	w.committed(r, line)
	return w, nil
}

// Reopen continues an unsealed transcript. It verifies the chain; an incomplete last record
// is cut off and recorded as EventTornDiscarded (its length and hash), any other damage is an
// error and nothing is written. The returned entries are the trusted records.
func Reopen(path string, now Clock) (*Writer, []Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reopen transcript: %w", err)
	}
	entries, perr := Parse(data)
	var torn *TornError
	if perr != nil && !errors.As(perr, &torn) {
		return nil, nil, fmt.Errorf("reopen transcript %s: %w", path, perr)
	}
	if len(entries) == 0 {
		return nil, nil, fmt.Errorf("reopen transcript %s: no complete record; start the ceremony again", path)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), SealFileName)); err == nil {
		return nil, nil, fmt.Errorf("reopen transcript %s: it is sealed; a sealed ceremony cannot be continued", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("reopen transcript: %w", err)
	}
	good := int64(len(data))
	if torn != nil {
		good -= int64(len(torn.Bytes))
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("cut torn record from %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("cut torn record from %s: %w", path, err)
		}
	}
	if _, err := f.Seek(good, 0); err != nil {
		f.Close()
		return nil, nil, err
	}
	last := entries[len(entries)-1]
	lastTime, _ := time.Parse(time.RFC3339Nano, last.Time)
	t := now()
	// A new process has a new monotonic clock: continue from the last record, plus the wall
	// time that passed if the wall clock moved forward.
	base := last.MonoNS
	if d := t.Sub(lastTime); d > 0 {
		base += int64(d)
	}
	w := &Writer{f: f, path: path, now: now, start: t, monoBase: base, next: last.Seq + 1, prev: last.Hash, size: good,
		sealed: last.Event == EventClosed}
	if torn != nil {
		sum := sha256.Sum256(torn.Bytes)
		if _, err := w.Append("resume", "keyrite", EventTornDiscarded, Discarded{len(torn.Bytes), hex.EncodeToString(sum[:])}); err != nil {
			w.Close()
			return nil, nil, err
		}
		entries, _ = Parse(mustRead(path))
	}
	return w, entries, nil
}

func mustRead(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

// Append writes one record and fsyncs it. data is marshalled as JSON; it must never hold a
// secret. It returns the written entry. After EventClosed it refuses (ErrSealed); after a
// write that failed (a full disk) it refuses every record (ErrStopped), and the failed
// record's bytes are cut off again, so the file ends with a whole record.
func (w *Writer) Append(step, actor, event string, data any) (Entry, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sealed {
		return Entry{}, ErrSealed
	}
	if w.failed != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrStopped, w.failed)
	}
	if w.f == nil {
		return Entry{}, errors.New("transcript is closed")
	}
	r, line, err := w.line(step, actor, event, data)
	if err != nil {
		return Entry{}, err
	}
	if _, err := w.f.Write(append(line, '\n')); err != nil {
		return Entry{}, w.fail(fmt.Errorf("append transcript record %d: %w (the ceremony must stop; resume after fixing the cause)", r.Seq, err))
	}
	if err := w.f.Sync(); err != nil {
		return Entry{}, w.fail(fmt.Errorf("sync transcript record %d: %w (the ceremony must stop; resume after fixing the cause)", r.Seq, err))
	}
	e := w.committed(r, line)
	if w.observe != nil {
		w.observe(e)
	}
	return e, nil
}

// line builds the next record.
func (w *Writer) line(step, actor, event string, data any) (Record, []byte, error) {
	var raw json.RawMessage
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return Record{}, nil, fmt.Errorf("transcript record %q: %w", event, err)
		}
		raw = b
	}
	t := w.now()
	r := Record{
		V:      FormatVersion,
		Seq:    w.next,
		Time:   t.UTC().Format(time.RFC3339Nano),
		MonoNS: w.monoBase + int64(t.Sub(w.start)),
		Step:   step,
		Actor:  actor,
		Event:  event,
		Data:   raw,
		Prev:   hex.EncodeToString(w.prev[:]),
	}
	line, err := json.Marshal(r)
	return r, line, err
}

// committed advances the writer past a record that is on disk.
func (w *Writer) committed(r Record, line []byte) Entry {
	e := Entry{Record: r, Line: line, Hash: HashLine(line)}
	w.next++
	w.prev = e.Hash
	w.size += int64(len(line)) + 1
	if r.Event == EventClosed {
		w.sealed = true
	}
	return e
}

// fail stops the writer after a record could not be written, cutting off whatever part of it
// reached the file (cutting frees space, so it works on a full disk too).
func (w *Writer) fail(err error) error {
	if terr := w.f.Truncate(w.size); terr == nil {
		w.f.Sync()
	}
	w.failed = err
	return err
}

// Sealed reports whether EventClosed was written: nothing more may be appended.
func (w *Writer) Sealed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sealed
}

// Failed returns the error of the write that stopped the writer, or nil.
func (w *Writer) Failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

// Head is the number of records written and the hash of the last one.
func (w *Writer) Head() (uint64, [32]byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.next, w.prev
}

// Path is the transcript file's path.
func (w *Writer) Path() string { return w.path }

// Close closes the file. An unsealed transcript can be continued with Reopen.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// WriteFileExclusive writes data to a new file atomically (see package atomicfile); it never
// overwrites an existing file.
func WriteFileExclusive(path string, data []byte, perm os.FileMode) error {
	if err := atomicfile.Create(path, data, perm); err != nil {
		if errors.Is(err, atomicfile.ErrExist) {
			return fmt.Errorf("write %s: the file already exists and Keyrite never overwrites an output", path)
		}
		return err
	}
	return nil
}
