package ledger

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	tlogfmt "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/formats/proof"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// lock takes the log's exclusive lock (an flock on the log folder itself, so no lock file is
// left in the evidence), waiting for another Keyrite process that holds it.
func lock(root string) (unlock func(), err error) {
	d, err := os.Open(filepath.Join(root, Dir))
	if err != nil {
		return nil, fmt.Errorf("ceremony log: %w", err)
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		d.Close()
		return nil, fmt.Errorf("ceremony log: lock: %w", err)
	}
	return func() { syscall.Flock(int(d.Fd()), syscall.LOCK_UN); d.Close() }, nil
}

// Append adds e to the ceremony log of the evidence root dir and signs the new checkpoint with
// s. Appending a ceremony entry that the log already holds, byte for byte, changes nothing and
// returns its index, so a close that is run again after a crash appends once. It refuses to
// extend a log that is inconsistent with a checkpoint a witness cosigned.
func Append(dir string, e Entry, s note.Signer) (int64, error) {
	unlock, err := lock(dir)
	if err != nil {
		return 0, err
	}
	defer unlock()
	l, err := Open(dir)
	if err != nil {
		return 0, err
	}
	if err := l.CheckCosigned(); err != nil {
		return 0, err
	}
	if len(l.signed) > 0 {
		if err := l.keepCheckpoint(l.signed); err != nil {
			return 0, err
		}
	}
	data := e.Marshal()
	if e.Kind == KindCeremony {
		if i := l.Find(e.Folder); i >= 0 {
			if bytes.Equal(l.entries[i], data) {
				return i, nil
			}
			return 0, fmt.Errorf("ceremony log: folder %s is logged already (entry %d) with another ceremony or seal", e.Folder, i)
		}
	}
	old := l.Size()
	if err := l.add(data); err != nil {
		return 0, err
	}
	if err := l.writeTiles(old); err != nil {
		return 0, err
	}
	root := l.rootHash()
	body := tlogfmt.Checkpoint{Origin: l.origin, Size: uint64(l.Size()), Hash: root[:]}.Marshal()
	signed, err := note.Sign(&note.Note{Text: string(body)}, s)
	if err != nil {
		return 0, fmt.Errorf("ceremony log: sign checkpoint: %w", err)
	}
	// The newest checkpoint first, then its copy in the history: a crash between the two leaves
	// the history one short, which the next append completes, never a history ahead of the log.
	if err := writeAtomic(filepath.Join(dir, Dir, "checkpoint"), signed); err != nil {
		return 0, err
	}
	if err := l.keepCheckpoint(signed); err != nil {
		return 0, err
	}
	return old, nil
}

// keepCheckpoint keeps a signed checkpoint of the current size in log/checkpoints.
func (l *Log) keepCheckpoint(signed []byte) error {
	d := filepath.Join(l.root, Dir, "checkpoints")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return fmt.Errorf("ceremony log: %w", err)
	}
	name := filepath.Join(d, strconv.FormatInt(l.Size(), 10))
	if _, err := os.Lstat(name); err == nil {
		return nil
	}
	return writeAtomic(name, signed)
}

// checkHistory checks every checkpoint in log/checkpoints against the entries: none may name
// more entries than the newest (a log rolled back to an older checkpoint), and each must name
// the tree its first entries make.
func (l *Log) checkHistory() error {
	return l.checkKept("checkpoints", "a checkpoint of %d entries was signed, but log/checkpoint names %d: the log was rolled back")
}

// CheckCosigned checks every cosigned checkpoint kept in log/cosignatures against the entries:
// each must name the tree the first Size entries make. A log rewritten after a witness cosigned
// it fails here.
func (l *Log) CheckCosigned() error {
	return l.checkKept("cosignatures", "a witness cosigned %d entries, but the log holds %d: entries were removed")
}

// checkKept checks the checkpoints kept in log/<folder>, each named by its size: this log's,
// of no more entries than it holds (beyond is the error tooMany), naming the tree of its first
// entries. Temporary files of an interrupted write are passed over.
func (l *Log) checkKept(folder, tooMany string) error {
	des, err := os.ReadDir(filepath.Join(l.root, Dir, folder))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ceremony log: %w", err)
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") {
			continue
		}
		text, err := transcript.ReadFileMax(filepath.Join(l.root, Dir, folder, de.Name()), 64<<10)
		if err != nil {
			return fmt.Errorf("ceremony log: %w", err)
		}
		c, err := parseCheckpointText(text)
		if err != nil || strconv.FormatUint(c.Size, 10) != de.Name() || c.Origin != l.origin {
			return fmt.Errorf("ceremony log: %s/%s is not this log's checkpoint of that size (%v)", folder, de.Name(), err)
		}
		if int64(c.Size) > l.Size() {
			return fmt.Errorf("ceremony log: "+tooMany+"; stop and investigate", c.Size, l.Size())
		}
		if h, _ := l.TreeHash(int64(c.Size)); !bytes.Equal(h[:], c.Hash) {
			return fmt.Errorf("ceremony log: %s/%s does not name the tree of the first %d entries: the log was rewritten; stop and investigate", folder, de.Name(), c.Size)
		}
	}
	return nil
}

// ProofFileName is a ceremony's inclusion proof in its evidence root's ceremony log, written
// into the ceremony folder after the seal and carried in its evidence bundle.
const ProofFileName = "ceremony-log.proof"

// Proof is entry i's inclusion proof in c2sp.org/tlog-proof form: the entry itself as the
// proof's extra data, its index, the Merkle audit path, and the checkpoint signed when it was
// appended (log/checkpoints/<i+1>, signed by the appending ceremony's transcript signer). It
// stands on its own: a ceremony folder or bundle copied out of its evidence root still proves
// it was logged, and a proof made again is the same bytes.
func (l *Log) Proof(i int64) ([]byte, error) {
	if i < 0 || i >= l.Size() {
		return nil, fmt.Errorf("ceremony log: no entry %d", i)
	}
	signed, err := transcript.ReadFileMax(filepath.Join(l.root, Dir, "checkpoints", strconv.FormatInt(i+1, 10)), 64<<10)
	if err != nil {
		return nil, fmt.Errorf("ceremony log: the checkpoint signed when entry %d was appended: %w", i, err)
	}
	p, err := l.InclusionProof(i, i+1)
	if err != nil {
		return nil, err
	}
	tp := proof.TLogProof{Index: uint64(i), Checkpoint: signed, ExtraData: l.entries[i]}
	for _, h := range p {
		tp.Hashes = append(tp.Hashes, [32]byte(h))
	}
	return tp.Marshal(), nil
}

// CheckCeremonyProof checks a ceremony's own inclusion proof (ProofFileName): the entry it
// carries is the ceremony id with this very seal, the checkpoint is signed by signer (the
// ceremony's transcript signer), and the audit path leads from the entry to its root hash.
func CheckCeremonyProof(text []byte, id string, seal []byte, signer note.Verifier) (index int64, origin string, err error) {
	var tp proof.TLogProof
	if err := tp.Unmarshal(text); err != nil {
		return 0, "", fmt.Errorf("log proof: %w", err)
	}
	e, err := ParseEntry(tp.ExtraData)
	if err != nil || e.Kind != KindCeremony {
		return 0, "", fmt.Errorf("log proof: it does not carry a ceremony entry (%v)", err)
	}
	if e.Ceremony != id || e.Seal != sha256.Sum256(seal) {
		return 0, "", fmt.Errorf("log proof: it proves ceremony %s with another seal, not this ceremony", e.Ceremony)
	}
	i, cp, err := CheckProof(text, tp.ExtraData, note.VerifierList(signer))
	return i, cp.Origin, err
}

// CheckProof checks a c2sp.org/tlog-proof for entry against verifiers: the checkpoint must be
// signed by one of them and the audit path must lead from the entry to its root hash.
func CheckProof(text, entry []byte, verifiers note.Verifiers) (index int64, cp tlogfmt.Checkpoint, err error) {
	var tp proof.TLogProof
	if err := tp.Unmarshal(text); err != nil {
		return 0, cp, fmt.Errorf("log proof: %w", err)
	}
	n, err := note.Open(tp.Checkpoint, verifiers)
	if err != nil {
		return 0, cp, fmt.Errorf("log proof: checkpoint: %w", err)
	}
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		return 0, cp, fmt.Errorf("log proof: checkpoint: %w", err)
	}
	if len(cp.Hash) != len(tlog.Hash{}) {
		return 0, cp, fmt.Errorf("log proof: checkpoint root hash is %d bytes, not 32", len(cp.Hash))
	}
	p := make(tlog.RecordProof, len(tp.Hashes))
	for i, h := range tp.Hashes {
		p[i] = tlog.Hash(h)
	}
	if err := tlog.CheckRecord(p, int64(cp.Size), tlog.Hash(cp.Hash), int64(tp.Index), tlog.RecordHash(entry)); err != nil {
		return 0, cp, fmt.Errorf("log proof: entry %d is not in the log's tree of %d: %w", tp.Index, cp.Size, err)
	}
	return int64(tp.Index), cp, nil
}
