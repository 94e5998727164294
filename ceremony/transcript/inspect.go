package transcript

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
)

// State is what an inspection found of one record or file.
type State int

// The states of a record or file. A record is Good when the chain from the opening holds up to
// it and nothing attributed to it is wrong; Unchecked when an earlier record is bad, so the
// chain from the opening no longer reaches it.
const (
	Good       State = iota
	Bad              // with a reason
	Unchecked        // not checkable: an earlier record is bad
	Missing          // recorded, or required, but absent
	Unexpected       // present, but nothing records it
	Withheld         // recorded and deliberately absent (a bundle leaves wrapped keys out)
)

func (s State) String() string {
	return [...]string{"good", "bad", "not checkable", "missing", "unexpected", "withheld"}[s]
}

// RecordCheck is one record (one line of the transcript) and its state.
type RecordCheck struct {
	Seq    uint64
	Line   []byte  // as stored; nil for a record the seal covers but the file lacks
	Record *Record // nil when the line is not a record
	State  State
	Reason string
}

// FileCheck is one output file and its state.
type FileCheck struct {
	File   string // where the records place it now
	Seq    uint64 // the record that wrote it
	State  State
	Reason string
}

// SealCheck is what was found of the seal.
type SealCheck struct {
	Seal   *Seal // nil when absent or unreadable
	State  State // Good only when the seal is present, its signature verifies and it covers the transcript
	Signed bool  // its signature verifies with the key of the transcript's signer record
	Reason string
}

// Inspection is a whole-transcript look at a ceremony folder: every record, every output file
// and the seal, each with its state, found by the checks Verify makes (the same functions), but
// carried on past the first problem. It is for showing where evidence is wrong; whether it is
// right is Verify's answer alone.
type Inspection struct {
	Records  []RecordCheck
	Outputs  []FileCheck
	Seal     SealCheck
	Opening  Opening // zero when the first record is unreadable
	Signer   *x509.Certificate
	Root     *x509.Certificate
	RootSPKI fingerprint.SPKI
	// RootErr is set when opt.RootSPKI was given and the signer does not chain to it.
	RootErr error
	// Problem is what is wrong beyond any one record, file or the seal ("" when nothing is):
	// an unreadable transcript, say.
	Problem string

	breakAt int // the record the chain from the opening breaks at; -1 when it does not
}

// maxInspected is how many records an inspection lists; the chain is checked to the end.
const maxInspected = 1 << 20

// Inspect looks at the ceremony folder dir as Verify does (with the same options), recording
// the state of every record, output and the seal instead of stopping at the first problem.
func Inspect(dir string, opt Options) *Inspection {
	ins := &Inspection{breakAt: -1}
	f, err := OpenRegular(filepath.Join(dir, FileName))
	if err != nil {
		ins.Problem = fmt.Sprintf("read transcript: %v", err)
		ins.Seal.State, ins.Seal.Reason = Unchecked, "without the transcript, the seal cannot be checked"
		return ins
	}
	defer f.Close()
	sealText, sealErr := ReadFileMax(filepath.Join(dir, SealFileName), maxSeal)
	if sealErr == nil {
		ins.Seal.Seal, sealErr = ParseSeal(sealText)
	}
	res, broken := ins.scan(f)
	if res.first.Event == EventOpened {
		if err := res.first.DecodeData(&res.Opening); err != nil {
			ins.bad(0, err.Error(), true)
		}
		ins.Opening = res.Opening
	}
	ins.inspectSeal(res, sealErr, broken, opt)
	ins.noteSealReach()
	if res.Records > 0 {
		ins.inspectOutputs(res, dir, opt)
	}
	return ins
}

// scan reads every line: the good records through the Scanner Verify uses, then, past the first
// bad one, the rest of the file as lines that are not checkable.
func (ins *Inspection) scan(r io.Reader) (*Result, bool) {
	res := &Result{}
	sc := NewScanner(r)
	for sc.Scan() {
		e := sc.Entry()
		res.add(e, true)
		ins.list(RecordCheck{Seq: e.Seq, Line: e.Line, Record: &e.Record})
	}
	err := sc.Err()
	if err == nil {
		if res.Records == 0 {
			ins.Problem = errEmpty.Error()
		}
		return res, false
	}
	var re *RecordError
	bad, rest := sc.failed, sc.rest()
	if torn := (*TornError)(nil); errors.As(err, &torn) {
		re, bad = &torn.RecordError, torn.Bytes
	} else if !errors.As(err, &re) {
		ins.Problem = fmt.Sprintf("read transcript: %v", err)
		return res, true
	}
	ins.list(lineCheck(re.Seq, bad))
	for i, l := range rest {
		ins.list(lineCheck(re.Seq+1+uint64(i), l))
	}
	k := ins.changed(re, res, rest)
	ins.bad(k, re.Reason, true)
	for i := uint64(0); i < k && i < uint64(len(ins.Records)); i++ {
		if r := &ins.Records[i]; r.State == Good {
			r.Reason = fmt.Sprintf("intact from the opening to here; the seal reaches it only through record %d, which is bad", k)
		}
	}
	ins.breakAt = int(k)
	return res, true
}

// noteSealReach says, past a broken chain at breakAt, what a signed seal still fixes. The seal signs the last
// record's hash, and each record carries the hash of the one before it, so the seal vouches
// for the records from its head back to the first broken link, and for nothing before it: the
// records before the bad one k are intact from the opening but no longer tied to the seal; those
// after it, not checkable from the opening, are as sealed when the chain from the head reaches
// them.
func (ins *Inspection) noteSealReach() {
	seal, n, k := ins.Seal.Seal, len(ins.Records), ins.breakAt
	if !ins.Seal.Signed || k < 0 || seal == nil || seal.Count != uint64(n) || n == 0 || ins.Records[n-1].Line == nil || HashLine(ins.Records[n-1].Line) != seal.Head {
		return
	}
	from := n - 1
	for from > 0 {
		r := ins.Records[from].Record
		if r == nil || ins.Records[from-1].Line == nil || !linked(r, HashLine(ins.Records[from-1].Line)) {
			break
		}
		from--
	}
	for i := max(from, k+1); i < n; i++ {
		if r := &ins.Records[i]; r.State == Unchecked {
			r.Reason += fmt.Sprintf("; the seal still vouches for it as it is: the chain from the seal's head back to record %d is whole", from)
		}
	}
}

// changed says which record a broken link at re.Seq points to. A record whose "prev" does not
// match the one before was changed itself, or the one before it was changed after it fixed its
// hash; which one it is, the record after tells: it still carries the hash of an unchanged
// record.
func (ins *Inspection) changed(re *RecordError, res *Result, rest [][]byte) uint64 {
	k := re.Seq
	if k == 0 || int(k) >= len(ins.Records) {
		return k
	}
	if r := ins.Records[k].Record; r == nil || r.V != FormatVersion || r.Seq != k || linked(r, res.last.Hash) {
		return k // not a broken link
	}
	h := HashLine(ins.Records[k].Line)
	if len(rest) > 0 {
		next, err := parseLine(rest[0], false)
		if err != nil || !linked(&next, h) {
			return k
		}
	} else if seal := ins.Seal.Seal; seal == nil || seal.Count != k+1 || seal.Head != h {
		return k
	}
	re.Reason = fmt.Sprintf("record was changed after record %d fixed its hash (SHA-256 now %x, record %d carries %s)", k, res.last.Hash, k, ins.Records[k].Record.Prev)
	return k - 1
}

func lineCheck(seq uint64, line []byte) RecordCheck {
	c := RecordCheck{Seq: seq, Line: line, State: Unchecked}
	if r, err := parseLine(line, false); err == nil {
		c.Record = &r
	}
	return c
}

func (ins *Inspection) list(c RecordCheck) {
	if len(ins.Records) < maxInspected {
		ins.Records = append(ins.Records, c)
	}
}

// bad marks record seq bad with reason (adding a row for a record the file lacks); when it
// breaks the chain, every later record is not checkable.
func (ins *Inspection) bad(seq uint64, reason string, breaks bool) {
	for uint64(len(ins.Records)) <= seq && len(ins.Records) < maxInspected {
		ins.Records = append(ins.Records, RecordCheck{Seq: uint64(len(ins.Records)), State: Missing, Reason: "the seal covers this record, but the transcript ends before it"})
	}
	if seq >= uint64(len(ins.Records)) {
		return
	}
	if r := &ins.Records[seq]; r.State != Missing {
		if r.State == Bad {
			r.Reason += "; " + reason
		} else {
			r.State, r.Reason = Bad, reason
		}
	}
	if !breaks {
		return
	}
	for i := seq + 1; i < uint64(len(ins.Records)); i++ {
		if r := &ins.Records[i]; r.State == Good || r.State == Unchecked && r.Reason == "" {
			r.State, r.Reason = Unchecked, fmt.Sprintf("not checkable: record %d before it is bad, so the chain from the opening does not reach it", seq)
		}
	}
}

// inspectSeal checks the seal as Verify does: against the transcript (only when the chain is
// whole; a record it finds wrong is marked, not the seal), its signer record and its signature.
func (ins *Inspection) inspectSeal(res *Result, readErr error, broken bool, opt Options) {
	s := &ins.Seal
	switch {
	case errors.Is(readErr, fs.ErrNotExist):
		s.State, s.Reason = Missing, "the transcript is not sealed: the ceremony did not close"
		return
	case readErr != nil:
		s.State, s.Reason = Bad, readErr.Error()
		return
	}
	res.Seal = s.Seal
	var problem error
	if !broken && res.Records > 0 {
		if err := res.checkAgainstSeal(); !ins.attribute(err, true) {
			problem = err
		}
	}
	at, unchecked := -1, false
	if res.signer.Event != EventSigner {
		at = ins.uncheckedSigner(res)
		unchecked = at >= 0
	}
	switch err := res.checkSigner(Options{}); {
	case res.signer.Event != EventSigner:
		problem = errors.Join(problem, errors.New("the transcript's signer record is not readable, so the seal's signature cannot be checked"))
	case ins.attribute(err, false):
		problem = errors.Join(problem, fmt.Errorf("the seal's signature cannot be checked: the signer record %d is bad", res.signer.Seq))
	case err != nil:
		problem = errors.Join(problem, err)
	default:
		ins.Signer, ins.Root, ins.RootSPKI = res.Signer, res.Root, res.RootSPKI
		if opt.RootSPKI != "" {
			ins.RootErr = res.checkSigner(opt)
		}
		if err := s.Seal.Verify(res.Signer.PublicKey); err != nil {
			problem = errors.Join(problem, err)
		} else {
			s.Signed = true
		}
	}
	switch {
	case problem != nil:
		s.State, s.Reason = Bad, problem.Error()
	case unchecked:
		s.State, s.Reason = Unchecked, fmt.Sprintf("its signature verifies with the key that record %d names, but that record is %v", at, ins.Records[at].State)
	}
}

// uncheckedSigner takes the first readable signer record at or past a broken chain, so the
// seal's signature can still be checked (and said to rest on a record that is not good).
func (ins *Inspection) uncheckedSigner(res *Result) int {
	for i, r := range ins.Records {
		if r.State != Good && r.Record != nil && r.Record.Event == EventSigner {
			res.signer = Entry{Record: *r.Record, Line: r.Line, Hash: HashLine(r.Line)}
			return i
		}
	}
	return -1
}

// attribute marks the record a *RecordError names, and reports whether err was one.
func (ins *Inspection) attribute(err error, breaks bool) bool {
	var re *RecordError
	if errors.As(err, &re) {
		ins.bad(re.Seq, re.Reason, breaks)
		return true
	}
	return false
}

// inspectOutputs checks every output the good records place, each as Verify does, and marks
// the record that wrote a bad one. Outputs named by records that are not checkable are listed
// as such.
func (ins *Inspection) inspectOutputs(res *Result, dir string, opt Options) {
	outputs, err := res.locateOutputs()
	if err != nil {
		ins.attribute(err, false)
	}
	for _, l := range outputs {
		c := FileCheck{File: l.at, Seq: l.seq}
		switch err := checkOutput(dir, l, opt); {
		case opt.Withheld[l.at]:
			c.State = Withheld
		case errors.Is(err, fs.ErrNotExist):
			c.State, c.Reason = Missing, fmt.Sprintf("record %d wrote it, and it is not there", l.seq)
		case err != nil:
			c.State, c.Reason = Bad, err.Error()
		}
		if c.State == Missing || c.State == Bad {
			ins.bad(l.seq, fmt.Sprintf("the file it wrote, %s: %s", l.at, c.Reason), false)
		}
		ins.Outputs = append(ins.Outputs, c)
	}
	for _, r := range ins.Records {
		if r.State != Unchecked || r.Record == nil || r.Record.Event != EventOutput {
			continue
		}
		var o Output
		if r.Record.DecodeData(&o) != nil || CheckOutputName(o.File) != nil {
			continue
		}
		c := FileCheck{File: o.File, Seq: r.Seq, State: Unchecked, Reason: fmt.Sprintf("written by record %d, which is not checkable", r.Seq)}
		_, hashed := opt.Hashed[o.File]
		switch _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(o.File))); {
		case opt.Withheld[o.File]:
			c.State = Withheld
		case !hashed && errors.Is(err, fs.ErrNotExist):
			c.State, c.Reason = Missing, fmt.Sprintf("record %d, which is not checkable, wrote it, and it is not there", r.Seq)
		}
		ins.Outputs = append(ins.Outputs, c)
	}
}

// Verdict is true when nothing the inspection found is wrong.
func (ins *Inspection) Verdict() bool {
	if ins.Problem != "" || ins.Seal.State != Good || ins.RootErr != nil {
		return false
	}
	for _, r := range ins.Records {
		if r.State != Good {
			return false
		}
	}
	for _, f := range ins.Outputs {
		if f.State != Good && f.State != Withheld {
			return false
		}
	}
	return true
}
