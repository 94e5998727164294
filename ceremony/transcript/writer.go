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
	sealed   bool
	observe  func(Entry)
}

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
// record is EventOpened with the given opening.
func Create(path string, now Clock, actor string, opening Opening) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create transcript: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, err
	}
	w := &Writer{f: f, path: path, now: now, start: now()}
	if _, err := w.Append("open", actor, EventOpened, opening); err != nil {
		f.Close()
		return nil, err
	}
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
	w := &Writer{f: f, path: path, now: now, start: t, monoBase: base, next: last.Seq + 1, prev: last.Hash}
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
// secret. It returns the written entry.
func (w *Writer) Append(step, actor, event string, data any) (Entry, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sealed {
		return Entry{}, errors.New("transcript is sealed")
	}
	if w.f == nil {
		return Entry{}, errors.New("transcript is closed")
	}
	var raw json.RawMessage
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return Entry{}, fmt.Errorf("transcript record %q: %w", event, err)
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
	if err != nil {
		return Entry{}, err
	}
	if _, err := w.f.Write(append(line, '\n')); err != nil {
		return Entry{}, fmt.Errorf("append transcript record %d: %w (the ceremony must stop; resume after fixing the cause)", r.Seq, err)
	}
	if err := w.f.Sync(); err != nil {
		return Entry{}, fmt.Errorf("sync transcript record %d: %w (the ceremony must stop; resume after fixing the cause)", r.Seq, err)
	}
	e := Entry{Record: r, Line: line, Hash: HashLine(line)}
	w.next++
	w.prev = e.Hash
	if w.observe != nil {
		w.observe(e)
	}
	return e, nil
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

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// WriteFileExclusive writes data to a new file and fsyncs it and its directory; it never
// overwrites an existing file.
func WriteFileExclusive(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("write %s: the file already exists and Keyrite never overwrites an output; choose a new output folder", path)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}
