package ledger

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// AttachmentsDir holds copies of attached files inside an evidence root, one folder per
// ceremony: attachments/<ceremony folder>/<name>. Files recorded by hash only may live elsewhere.
const AttachmentsDir = "attachments"

// Present is a sealed, verified ceremony found in an evidence root.
type Present struct {
	Folder string // slash-separated, relative to the evidence root
	Result *transcript.Result
	Seal   []byte // transcript.seal as stored
}

// FolderVerifier verifies one ceremony folder (e.g. transcript.Verify with options, or the
// evidence package's strict folder check).
type FolderVerifier func(dir string) (*transcript.Result, error)

// Ceremonies finds every ceremony folder below root (any depth; a ceremony folder's own
// subfolders are not searched) and verifies each with verify. A folder that holds a seal but no
// transcript is an error, as is any ceremony that does not verify.
func Ceremonies(root string, verify FolderVerifier) ([]Present, error) {
	var out []Present
	err := CeremonyFolders(root, func(rel string) error {
		p := filepath.Join(root, filepath.FromSlash(rel))
		res, err := verify(p)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		seal, err := transcript.ReadFileMax(filepath.Join(p, transcript.SealFileName), 64<<10)
		if err != nil {
			return err
		}
		out = append(out, Present{Folder: rel, Result: res, Seal: seal})
		return nil
	})
	return out, err
}

// CeremonyFolders calls found with each ceremony folder below root (slash-separated, relative
// to root), in lexical order, as Ceremonies finds them. A folder that holds a seal but no
// transcript is an error.
func CeremonyFolders(root string, found func(rel string) error) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if rel == Dir || rel == AttachmentsDir {
			return filepath.SkipDir
		}
		_, errT := os.Lstat(filepath.Join(p, transcript.FileName))
		_, errS := os.Lstat(filepath.Join(p, transcript.SealFileName))
		switch {
		case errT != nil && errS == nil:
			return fmt.Errorf("%s holds a seal but no %s: the transcript was removed", rel, transcript.FileName)
		case errT != nil:
			return nil
		}
		if err := found(filepath.ToSlash(rel)); err != nil {
			return err
		}
		return filepath.SkipDir
	})
}

// SignerVerifier is the note verifier of a ceremony's transcript signer, under the name its
// seal gives.
func SignerVerifier(res *transcript.Result) (note.Verifier, error) {
	return NewVerifier(res.Seal.SignerName, res.Signer.PublicKey)
}

// RootReport is what VerifyRoot found.
type RootReport struct {
	Origin      string
	Size        int64
	Ceremonies  []Present // in log order
	Attachments []AttachmentState
	Cosigners   []string // witnesses whose cosignature on the newest checkpoint verified
}

// AttachmentState is an attachment entry and what was found of its files.
type AttachmentState struct {
	Index    int64
	Ceremony string
	Folder   string
	Files    []File
	Checked  []string // files present in attachments/<ceremony>/ and matching their hash
	Absent   []string // files recorded by hash only
}

// VerifyRoot verifies the evidence root dir as a whole: every ceremony in it (with verify), the
// ceremony log's tiles and its newest checkpoint, signed by the transcript signer of a ceremony
// present and verified; every logged ceremony is present with the seal the log recorded, every
// present ceremony is logged; each ceremony's opening quotes a state of this very log; every
// attached file present matches its hash; and each of witnesses cosigned the newest checkpoint.
// The error names the ceremony or entry that is wrong.
func VerifyRoot(dir string, verify FolderVerifier, witnesses []note.Verifier) (*RootReport, error) {
	l, err := Open(dir)
	if err != nil {
		return nil, err
	}
	present, err := Ceremonies(dir, verify)
	if err != nil {
		return nil, err
	}
	rep := &RootReport{Origin: l.origin, Size: l.Size()}
	byFolder := map[string]*Present{}
	for i := range present {
		byFolder[present[i].Folder] = &present[i]
	}
	logged := map[string]int64{}
	for i, data := range l.entries {
		e, err := ParseEntry(data)
		if err != nil {
			return nil, fmt.Errorf("ceremony log: entry %d: %w", i, err)
		}
		switch e.Kind {
		case KindCeremony:
			p, err := l.checkLogged(int64(i), e, byFolder)
			if err != nil {
				return nil, err
			}
			logged[e.Folder] = int64(i)
			rep.Ceremonies = append(rep.Ceremonies, *p)
		case KindAttachment:
			a, err := l.checkAttachment(int64(i), e)
			if err != nil {
				return nil, err
			}
			rep.Attachments = append(rep.Attachments, a)
		}
	}
	var unlogged []string
	for _, p := range present {
		if _, ok := logged[p.Folder]; !ok {
			unlogged = append(unlogged, fmt.Sprintf("%s (ceremony %s)", p.Folder, p.Result.Opening.CeremonyID))
		}
	}
	if len(unlogged) > 0 {
		sort.Strings(unlogged)
		return nil, fmt.Errorf("not in the ceremony log: %s — a ceremony was added to the evidence root, or its folder renamed", strings.Join(unlogged, ", "))
	}
	// Signatures last, so that a ceremony deleted with its signer is named as missing.
	if err := l.checkSignedBy(present, witnesses, rep); err != nil {
		return nil, err
	}
	if err := l.CheckCosigned(); err != nil {
		return nil, err
	}
	return rep, nil
}

// checkLogged checks that the ceremony entry i is present as logged and that its opening
// quotes this log.
func (l *Log) checkLogged(i int64, e Entry, byFolder map[string]*Present) (*Present, error) {
	p, ok := byFolder[e.Folder]
	if !ok {
		return nil, fmt.Errorf("ceremony %s (log entry %d, folder %s) is missing from the evidence root: it was deleted or moved", e.Ceremony, i, e.Folder)
	}
	if id := p.Result.Opening.CeremonyID; id != e.Ceremony {
		return nil, fmt.Errorf("folder %s holds ceremony %s, but log entry %d put ceremony %s there: folders were swapped or replaced", e.Folder, id, i, e.Ceremony)
	}
	if sha256.Sum256(p.Seal) != e.Seal {
		return nil, fmt.Errorf("ceremony %s in %s is not the one logged at entry %d: its seal differs; it was replaced", e.Ceremony, e.Folder, i)
	}
	if s := p.Result.Opening.Log; s != nil {
		if s.Origin != l.origin {
			return nil, fmt.Errorf("ceremony %s opened on log %q, not on this evidence root's log %q", e.Ceremony, s.Origin, l.origin)
		}
		if s.Size > i {
			return nil, fmt.Errorf("ceremony %s recorded a log of %d entries at its opening, but is logged at entry %d: the log was reordered", e.Ceremony, s.Size, i)
		}
		h, _ := l.TreeHash(s.Size)
		if b64(h[:]) != s.Root {
			return nil, fmt.Errorf("ceremony %s recorded the log's first %d entries at its opening with root %s, but they now hash to %s: an earlier entry was changed, removed or reordered", e.Ceremony, s.Size, s.Root, b64(h[:]))
		}
	}
	return p, nil
}

func (l *Log) checkAttachment(i int64, e Entry) (AttachmentState, error) {
	a := AttachmentState{Index: i, Ceremony: e.Ceremony, Folder: e.Folder, Files: e.Files}
	if j := l.Find(e.Folder); j < 0 || j > i {
		return a, fmt.Errorf("ceremony log: entry %d attaches files to ceremony %s in %s, which is not logged before it", i, e.Ceremony, e.Folder)
	}
	for _, f := range e.Files {
		name := filepath.Join(l.root, AttachmentsDir, filepath.FromSlash(e.Folder), f.Name)
		fi, err := os.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			a.Absent = append(a.Absent, f.Name)
			continue
		}
		var sum [32]byte
		size := fi.Size() // a file of another size is not read at all
		if err == nil && size == f.Size {
			sum, size, err = transcript.HashFile(name)
		}
		if err != nil {
			return a, fmt.Errorf("attachment %s of ceremony %s: %w", f.Name, e.Ceremony, err)
		}
		if size != f.Size || sum != f.SHA256 {
			return a, fmt.Errorf("attachment %s of ceremony %s is not the file log entry %d recorded (SHA-256 %x, %d bytes)", f.Name, e.Ceremony, i, f.SHA256, f.Size)
		}
		a.Checked = append(a.Checked, f.Name)
	}
	return a, nil
}

// checkSignedBy checks the newest checkpoint: signed by the transcript signer of a ceremony
// present, and cosigned by every witness.
func (l *Log) checkSignedBy(present []Present, witnesses []note.Verifier, rep *RootReport) error {
	if l.Size() == 0 {
		if len(present) > 0 {
			return fmt.Errorf("the ceremony log is empty, but the evidence root holds %d ceremonies: none of them is logged", len(present))
		}
		if len(witnesses) > 0 {
			return errors.New("the ceremony log is empty: there is nothing a witness could have cosigned")
		}
		return nil
	}
	var signers []note.Verifier
	seen := map[string]bool{}
	for _, p := range present {
		v, err := SignerVerifier(p.Result)
		if err != nil {
			return err
		}
		if k := fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash()); !seen[k] { // ceremonies of one hierarchy share a signer
			seen[k] = true
			signers = append(signers, v)
		}
	}
	n, err := note.Open(l.signed, note.VerifierList(signers...))
	if err != nil {
		return fmt.Errorf("ceremony log: the newest checkpoint is not signed by the transcript signer of any ceremony present: %w", err)
	}
	_ = n
	if len(witnesses) == 0 {
		return nil
	}
	cos, err := transcript.ReadFileMax(filepath.Join(l.root, Dir, "cosignatures", fmt.Sprint(l.Size())), 64<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("witness %s did not cosign the newest checkpoint (%d entries): no witness has cosigned it yet (`keyrite cosign`)", witnesses[0].Name(), l.Size())
	}
	if err != nil {
		return err
	}
	for _, w := range witnesses {
		n, err := note.Open(cos, note.VerifierList(append([]note.Verifier{w}, signers...)...))
		if err != nil || !signedBy(n, w) {
			return fmt.Errorf("witness %s did not cosign the newest checkpoint (%d entries)", w.Name(), l.Size())
		}
		if strings.TrimSpace(n.Text) != strings.TrimSpace(noteText(l.signed)) {
			return fmt.Errorf("the checkpoint witness %s cosigned is not the log's newest", w.Name())
		}
		rep.Cosigners = append(rep.Cosigners, w.Name())
	}
	return nil
}

func signedBy(n *note.Note, v note.Verifier) bool {
	for _, s := range n.Sigs {
		if s.Name == v.Name() && s.Hash == v.KeyHash() {
			return true
		}
	}
	return false
}

func noteText(signed []byte) string {
	i := bytes.Index(signed, []byte("\n\n"))
	if i < 0 {
		return ""
	}
	return string(signed[:i+1])
}

// CompareCopies checks two copies of one evidence root's log — the laptop's and the archive's —
// against each other: the same log, and the shorter a prefix of the longer, by a consistency
// proof from the longer checked against the shorter's root. It returns the entries the shorter
// copy lacks.
func CompareCopies(a, b string) (missing []Entry, short, long string, err error) {
	la, err := Open(a)
	if err != nil {
		return nil, "", "", err
	}
	lb, err := Open(b)
	if err != nil {
		return nil, "", "", err
	}
	if la.origin != lb.origin {
		return nil, "", "", fmt.Errorf("%s holds log %q and %s log %q: not copies of one evidence root", a, la.origin, b, lb.origin)
	}
	if la.Size() > lb.Size() {
		la, lb = lb, la
	}
	oldRoot, newRoot := la.rootHash(), lb.rootHash()
	p, err := lb.ConsistencyProof(la.Size(), lb.Size())
	if err == nil {
		err = tlog.CheckTree(p, lb.Size(), newRoot, la.Size(), oldRoot)
	}
	if err != nil {
		return nil, "", "", fmt.Errorf("the copies disagree: %s (%d entries) is not a prefix of %s (%d entries): one of them was rewritten; stop and investigate", la.root, la.Size(), lb.root, lb.Size())
	}
	for i := la.Size(); i < lb.Size(); i++ {
		e, _ := ParseEntry(lb.entries[i])
		missing = append(missing, e)
	}
	return missing, la.root, lb.root, nil
}

// HashFile is the SHA-256 (hex) and size of a regular file, for an attachment entry.
func HashFile(name string) (File, error) {
	fi, err := os.Lstat(name)
	if err != nil {
		return File{}, err
	}
	sum, n, err := transcript.HashFile(name)
	if err != nil {
		return File{}, err
	}
	if n != fi.Size() {
		return File{}, fmt.Errorf("%s changed while it was read", name)
	}
	return File{Name: filepath.Base(name), Size: n, SHA256: sum}, nil
}

// Write prints the report for people; every name from the evidence passes escape.
func (r *RootReport) Write(w io.Writer, escape func(string) string) {
	fmt.Fprintf(w, "Evidence root: ceremony log %s, %d entries; its newest checkpoint is signed by the transcript signer of a ceremony below.\n", escape(r.Origin), r.Size)
	for _, p := range r.Ceremonies {
		fmt.Fprintf(w, "  logged and present: %s (%s), seal %s, root %s\n", escape(p.Result.Opening.CeremonyID), escape(p.Folder), p.Result.Seal.ShortHash(), p.Result.RootSPKI.Hex())
	}
	for _, a := range r.Attachments {
		fmt.Fprintf(w, "  attachment (entry %d) for %s: %d file(s) checked by hash, %d recorded by hash only\n", a.Index, escape(a.Ceremony), len(a.Checked), len(a.Absent))
	}
	for _, c := range r.Cosigners {
		fmt.Fprintf(w, "Cosigned by witness %s.\n", escape(c))
	}
}

// WriteComparison prints what CompareCopies found.
func WriteComparison(w io.Writer, other string, missing []Entry, short, long string, escape func(string) string) {
	if len(missing) == 0 {
		fmt.Fprintf(w, "The copy %s holds the same log (consistency proven).\n", escape(other))
		return
	}
	fmt.Fprintf(w, "%s is a consistent prefix of %s and lacks %d entries:\n", escape(short), escape(long), len(missing))
	for _, e := range missing {
		fmt.Fprintf(w, "  %s %s (%s)\n", e.Kind, escape(e.Ceremony), escape(e.Folder))
	}
}
