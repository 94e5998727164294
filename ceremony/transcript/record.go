// Package transcript writes and verifies Keyrite's ceremony transcripts: append-only JSON Lines
// in which every record carries the SHA-256 of the record before it, sealed at the close by a
// signed checkpoint over the last record.
//
// Guarantees:
//   - Each record is written with one write and fsynced before Append returns, so a crash loses
//     at most the record being written; a torn last record is detected by Read and Verify and
//     never trusted.
//   - Any change to a record (a byte altered, a record deleted, duplicated, swapped or appended,
//     the file cut short) breaks the chain or the seal, and Verify names the first bad record.
//   - The package is pure Go (no cgo, no HSM): an auditor verifies anywhere.
//   - Within one process a signature over the same bytes is checked once: Verify keeps each
//     root, signer chain and seal it verified by the SHA-256 of all their bytes, so a ceremony
//     verified again (the command's last check after its report and bundle) costs no P-384
//     verifications, and a byte changed since is checked anew (verified.go).
//
// The format is specified in docs/transcript.md; this package is its reference implementation.
package transcript

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
)

// FormatVersion is the value of every record's "v" field.
const FormatVersion = 1

// FileName is the transcript's name inside a ceremony folder.
const FileName = "transcript.jsonl"

// ZeroHash is the "prev" of the first record.
var ZeroHash = [32]byte{}

// Record is one line of a transcript.
type Record struct {
	V      int             `json:"v"`
	Seq    uint64          `json:"seq"`
	Time   string          `json:"time"`    // UTC wall clock, RFC 3339 with nanoseconds, "Z"
	MonoNS int64           `json:"mono_ns"` // monotonic nanoseconds since the ceremony opened
	Step   string          `json:"step"`
	Actor  string          `json:"actor"`
	Event  string          `json:"event"`
	Data   json.RawMessage `json:"data,omitempty"`
	Prev   string          `json:"prev"` // lowercase hex SHA-256 of the previous line
}

// Entry is a record as read from a file: the record, its exact bytes and their hash.
type Entry struct {
	Record
	Line []byte   // the line as stored, without its newline
	Hash [32]byte // SHA-256 of Line
}

// HashLine is the hash the next record's "prev" must carry.
func HashLine(line []byte) [32]byte { return sha256.Sum256(line) }

// DecodeData unmarshals the record's data into v.
func (r *Record) DecodeData(v any) error {
	if len(r.Data) == 0 {
		return fmt.Errorf("record %d (%s): no data", r.Seq, r.Event)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		return fmt.Errorf("record %d (%s): data: %w", r.Seq, r.Event, err)
	}
	return nil
}

// RecordError names the first record that is wrong and what is wrong with it.
type RecordError struct {
	Seq    uint64 // the record's position, counting from 0
	Line   int    // the line in the file, counting from 1
	Reason string
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("record %d (line %d): %s", e.Seq, e.Line, e.Reason)
}

// ErrTorn is wrapped by the RecordError for a last line that was not completely written.
var ErrTorn = errors.New("torn record")

// TornError reports a last record that was cut short by a crash or a full disk.
type TornError struct {
	RecordError
	Bytes []byte // the incomplete bytes, for recovery
}

func (e *TornError) Unwrap() error { return ErrTorn }

// parseLineJSON decodes one line strictly with encoding/json: unknown fields and trailing
// data are errors.
func parseLineJSON(line []byte) (Record, error) {
	var r Record
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("not a valid record: %v", err)
	}
	if dec.More() {
		return r, errors.New("not a valid record: data after the JSON object")
	}
	return r, nil
}

// Parse splits data into entries and checks the chain: version, sequence, previous hash and
// monotonic time. It returns the good entries before the first bad one, and an error naming the
// bad one (a *TornError when the only problem is an unterminated last line).
func Parse(data []byte) ([]Entry, error) {
	entries := make([]Entry, 0, bytes.Count(data, []byte{'\n'}))
	var c chain
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return entries, tornAt(c.seq, data)
		}
		line := data[:i]
		data = data[i+1:]
		e, err := c.next(line, len(data) == 0, false)
		if err != nil {
			return entries, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}
