// Package ledger keeps the ceremony log of an evidence root: an append-only Merkle tree with
// one entry per sealed ceremony (and per attachment of outside evidence), so that no ceremony
// can quietly disappear from, be added to, or be swapped inside a folder of evidence.
//
// # Layout
//
// The log lives in the folder "log" of the evidence root, as static files in the layout of
// C2SP tlog-tiles (https://c2sp.org/tlog-tiles), ready for write-once storage:
//
//	log/checkpoint               the newest signed checkpoint (c2sp.org/tlog-checkpoint)
//	log/checkpoints/<size>       every signed checkpoint ever written, never overwritten
//	log/tile/<L>/<N>[.p/<W>]     hash tiles, tile height 8
//	log/tile/entries/<N>[.p/<W>] entry bundles: each entry as a big-endian uint16 length and its bytes
//	log/cosignatures/<size>      a checkpoint with the cosignatures it gathered (keyrite cosign)
//
// Hashing is RFC 6962's (golang.org/x/mod/sumdb/tlog). Every file but log/checkpoint is written
// once and never changed; log/checkpoint is replaced atomically.
//
// # Entries
//
// Entries are small signed-for text, one line per field:
//
//	keyrite-log-entry/v1
//	ceremony <ceremony id>
//	folder <path of the ceremony folder inside the evidence root, with forward slashes>
//	seal <SHA-256 of the ceremony's transcript.seal, standard base64>
//
// or, for evidence recorded outside Keyrite (camera videos, the HSM's own audit log):
//
//	keyrite-log-entry/v1
//	attachment <ceremony id>
//	folder <the ceremony's folder, as its own entry names it>
//	file <SHA-256 hex> <size> <name>
//	...
//
// # Trust
//
// Checkpoints are signed notes (golang.org/x/mod/sumdb/note) by the transcript signer of the
// ceremony that appended the entry, an HSM key certified by the hierarchy's root; auditors and
// second sites cosign them (c2sp.org/tlog-cosignature) with keys of their own. Each ceremony's
// opening records the size and root hash of the log before it, so ceremonies and log interlock:
// removing or replacing an earlier entry changes a root that a later sealed transcript quotes.
package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/keyrite/keyrite/ceremony/transcript"
	tlogfmt "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Dir is the log's folder inside an evidence root.
const Dir = "log"

// EntryHeader is the first line of every log entry.
const EntryHeader = "keyrite-log-entry/v1"

// OriginPrefix starts the origin line of every Keyrite ceremony log's checkpoints.
const OriginPrefix = "keyrite.ceremony-log/"

// maxEntry is the largest entry an entry bundle can hold.
const maxEntry = 1<<16 - 1

// State is a log's size and root hash at one moment: what a ceremony's opening records.
type State = transcript.LogState

// Log is a ceremony log read into memory. Logs hold one entry per ceremony, so they stay small.
type Log struct {
	root    string // the evidence root
	origin  string
	entries [][]byte
	stored  []tlog.Hash // tlog's stored hashes for entries
	signed  []byte      // the newest checkpoint's note text, as stored ("" for an empty log)
}

// ErrNoLog is returned by Open when the evidence root has no ceremony log.
var ErrNoLog = errors.New("no ceremony log")

// Init makes dir an evidence root with an empty ceremony log named origin (a short name for the
// evidence root, e.g. the organisation's; no spaces). It refuses a root that has a log already.
func Init(dir, name string) error {
	if name == "" || strings.ContainsAny(name, " \t\n+") || !isPrintableASCII(name) {
		return fmt.Errorf("log name %q: use letters, digits, '-', '.' and '/', no spaces", name)
	}
	if _, err := os.Lstat(filepath.Join(dir, Dir)); err == nil {
		return fmt.Errorf("%s already has a ceremony log (%s): nothing was changed", dir, filepath.Join(dir, Dir))
	}
	if err := os.MkdirAll(filepath.Join(dir, Dir), 0o755); err != nil {
		return fmt.Errorf("create the ceremony log: %w", err)
	}
	return writeAtomic(filepath.Join(dir, Dir, "origin"), []byte(OriginPrefix+name+"\n"))
}

// IsRoot reports whether dir is an evidence root: it holds a ceremony log.
func IsRoot(dir string) bool {
	fi, err := os.Lstat(filepath.Join(dir, Dir, "origin"))
	return err == nil && fi.Mode().IsRegular()
}

// Open reads the ceremony log of the evidence root dir. It checks that every tile agrees with the
// entries and that the newest checkpoint names the tree the entries make; it does not check
// signatures (see Verify).
func Open(dir string) (*Log, error) {
	ld := filepath.Join(dir, Dir)
	origin, err := transcript.ReadFileMax(filepath.Join(ld, "origin"), 1024)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (make one with `keyrite log init %s NAME`)", dir, ErrNoLog, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("ceremony log: %w", err)
	}
	l := &Log{root: dir, origin: strings.TrimSuffix(string(origin), "\n")}
	if !strings.HasPrefix(l.origin, OriginPrefix) || strings.Contains(l.origin, "\n") {
		return nil, fmt.Errorf("ceremony log: %s names origin %q, not a Keyrite ceremony log", filepath.Join(ld, "origin"), l.origin)
	}
	cp, err := transcript.ReadFileMax(filepath.Join(ld, "checkpoint"), 64<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil // an empty log: no entry was ever appended
	}
	if err != nil {
		return nil, fmt.Errorf("ceremony log: %w", err)
	}
	l.signed = cp
	c, err := parseCheckpointText(cp)
	if err != nil {
		return nil, fmt.Errorf("ceremony log: log/checkpoint: %w", err)
	}
	if c.Origin != l.origin {
		return nil, fmt.Errorf("ceremony log: log/checkpoint is for log %q, not %q", c.Origin, l.origin)
	}
	if err := l.readEntries(int64(c.Size)); err != nil {
		return nil, err
	}
	if got := l.rootHash(); !bytes.Equal(got[:], c.Hash) {
		return nil, fmt.Errorf("ceremony log: the %d entries hash to %s, but log/checkpoint names %s: an entry was changed, added or removed", c.Size, b64(got[:]), b64(c.Hash))
	}
	if err := l.checkTiles(); err != nil {
		return nil, err
	}
	if err := l.checkHistory(); err != nil {
		return nil, err
	}
	return l, nil
}

// Size is the number of entries.
func (l *Log) Size() int64 { return int64(len(l.entries)) }

// Entry returns entry i.
func (l *Log) Entry(i int64) []byte { return l.entries[i] }

// State is the log's size and root hash now.
func (l *Log) State() State {
	h := l.rootHash()
	return State{Origin: l.origin, Size: l.Size(), Root: b64(h[:])}
}

// Checkpoint is the newest signed checkpoint's text ("" when nothing was appended yet).
func (l *Log) Checkpoint() []byte { return l.signed }

// TreeHash is the tree hash of the first n entries.
func (l *Log) TreeHash(n int64) (tlog.Hash, error) {
	if n < 0 || n > l.Size() {
		return tlog.Hash{}, fmt.Errorf("the log has %d entries, not %d", l.Size(), n)
	}
	return tlog.TreeHash(n, l.hashReader())
}

func (l *Log) rootHash() tlog.Hash {
	h, err := tlog.TreeHash(l.Size(), l.hashReader())
	if err != nil {
		panic("ledger: tree hash of own entries: " + err.Error()) // stored hashes are complete
	}
	return h
}

func (l *Log) hashReader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(l.stored)) {
				return nil, fmt.Errorf("stored hash %d out of range", x)
			}
			out[i] = l.stored[x]
		}
		return out, nil
	})
}

// add appends an entry in memory.
func (l *Log) add(e []byte) error {
	if len(e) > maxEntry {
		return fmt.Errorf("log entry of %d bytes is longer than %d", len(e), maxEntry)
	}
	hs, err := tlog.StoredHashes(l.Size(), e, l.hashReader())
	if err != nil {
		return err
	}
	l.entries = append(l.entries, e)
	l.stored = append(l.stored, hs...)
	return nil
}

// InclusionProof proves entry i in the tree of the first n entries.
func (l *Log) InclusionProof(i, n int64) (tlog.RecordProof, error) {
	return tlog.ProveRecord(n, i, l.hashReader())
}

// ConsistencyProof proves that the tree of the first n entries is a prefix of the tree of m.
func (l *Log) ConsistencyProof(n, m int64) (tlog.TreeProof, error) {
	return tlog.ProveTree(m, n, l.hashReader())
}

// Find returns the index of the ceremony entry for the ceremony folder (slash-separated,
// relative to the evidence root), or -1. Ceremony IDs need not be unique (a script rehearsed
// twice); folders are.
func (l *Log) Find(folder string) int64 {
	for i, e := range l.entries {
		if c, err := ParseEntry(e); err == nil && c.Folder == folder && c.Kind == KindCeremony {
			return int64(i)
		}
	}
	return -1
}

// Entry kinds.
const (
	KindCeremony   = "ceremony"
	KindAttachment = "attachment"
)

// Entry is a parsed log entry.
type Entry struct {
	Kind     string // KindCeremony or KindAttachment
	Ceremony string
	Folder   string // the ceremony's folder in the evidence root, slash-separated
	Seal     [32]byte
	Files    []File // an attachment's files
}

// File is one attached file: its name, size and SHA-256.
type File struct {
	Name   string
	Size   int64
	SHA256 [32]byte
}

// Marshal is the entry's exact bytes.
func (e Entry) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(EntryHeader + "\n")
	switch e.Kind {
	case KindCeremony:
		fmt.Fprintf(&b, "ceremony %s\nfolder %s\nseal %s\n", e.Ceremony, e.Folder, b64(e.Seal[:]))
	case KindAttachment:
		fmt.Fprintf(&b, "attachment %s\nfolder %s\n", e.Ceremony, e.Folder)
		for _, f := range e.Files {
			fmt.Fprintf(&b, "file %x %d %s\n", f.SHA256, f.Size, f.Name)
		}
	}
	return b.Bytes()
}

// ParseEntry parses a log entry strictly: it must re-marshal to the same bytes.
func ParseEntry(data []byte) (Entry, error) {
	var e Entry
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) < 2 || lines[0] != EntryHeader || !bytes.HasSuffix(data, []byte("\n")) {
		return e, errors.New("not a keyrite-log-entry/v1")
	}
	kind, id, _ := strings.Cut(lines[1], " ")
	e.Kind, e.Ceremony = kind, id
	var err error
	switch kind {
	case KindCeremony:
		err = e.parseCeremony(lines[2:])
	case KindAttachment:
		err = e.parseAttachment(lines[2:])
	default:
		err = fmt.Errorf("unknown entry kind %q", kind)
	}
	if err != nil {
		return e, err
	}
	if !bytes.Equal(e.Marshal(), data) {
		return e, errors.New("entry is not in canonical form")
	}
	return e, nil
}

// parseCeremony reads a ceremony entry's folder and seal lines.
func (e *Entry) parseCeremony(lines []string) error {
	if len(lines) != 2 {
		return errors.New("a ceremony entry has 4 lines")
	}
	folder, ok1 := strings.CutPrefix(lines[0], "folder ")
	seal, ok2 := strings.CutPrefix(lines[1], "seal ")
	h, err := base64.StdEncoding.Strict().DecodeString(seal)
	if !ok1 || !ok2 || err != nil || len(h) != 32 {
		return errors.New("a ceremony entry names its folder and its seal's SHA-256")
	}
	e.Folder, e.Seal = folder, [32]byte(h)
	return nil
}

// parseAttachment reads an attachment entry's folder and file lines.
func (e *Entry) parseAttachment(lines []string) error {
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "folder ") {
		return errors.New("an attachment entry names its ceremony's folder and at least one file")
	}
	e.Folder = strings.TrimPrefix(lines[0], "folder ")
	for _, ln := range lines[1:] {
		f := strings.SplitN(ln, " ", 4)
		if len(f) != 4 || f[0] != "file" {
			return fmt.Errorf("attachment line %q is not \"file <sha256> <size> <name>\"", ln)
		}
		h, err := hex.DecodeString(f[1])
		n, err2 := strconv.ParseInt(f[2], 10, 64)
		if err != nil || len(h) != 32 || err2 != nil || n < 0 {
			return fmt.Errorf("attachment line %q is not \"file <sha256> <size> <name>\"", ln)
		}
		e.Files = append(e.Files, File{Name: f[3], Size: n, SHA256: [32]byte(h)})
	}
	return nil
}

// CeremonyEntry is the entry for a sealed ceremony in folder (relative to the evidence root).
func CeremonyEntry(id, folder string, seal []byte) Entry {
	return Entry{Kind: KindCeremony, Ceremony: id, Folder: filepath.ToSlash(folder), Seal: sha256.Sum256(seal)}
}

func parseCheckpointText(text []byte) (tlogfmt.Checkpoint, error) {
	var c tlogfmt.Checkpoint
	n, err := note.Open(text, note.VerifierList()) // parse only; signatures are checked in Verify
	var unverified *note.UnverifiedNoteError
	if errors.As(err, &unverified) {
		n, err = unverified.Note, nil
	}
	if err != nil {
		return c, err
	}
	if _, err := c.Unmarshal([]byte(n.Text)); err != nil {
		return c, err
	}
	if !bytes.Equal(c.Marshal(), []byte(n.Text)) {
		return c, errors.New("checkpoint body is not exactly origin, size and root hash")
	}
	return c, nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
