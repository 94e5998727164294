package transcript

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
)

// Limits on what Verify reads.
const maxSeal = 64 << 10

// Options tune Verify.
type Options struct {
	// RootSPKI, when set, is the SHA-256 of the root's SubjectPublicKeyInfo (hex) that the
	// transcript signer must chain to: the value printed on the paper report. Without it,
	// Verify proves integrity relative to the root named in the transcript itself.
	RootSPKI string
	// Withheld names outputs that are deliberately absent (an evidence bundle leaves out the
	// wrapped key itself): their records are checked, their files are not looked for.
	Withheld map[string]bool
	// Hashed gives the SHA-256 and size of outputs the caller has already read (an evidence
	// bundle hashes its files as it unpacks them), so they are not read a second time.
	Hashed map[string]Hashed
	// Lean keeps in Result.Entries only the records verification itself needs (the opening
	// and closing, signers, rotations and key records), so memory does not grow with the
	// number of records. Readers that need every record (the report) leave it false.
	Lean bool
}

// Hashed is a file's SHA-256 and size, computed by the caller.
type Hashed struct {
	SHA256 [32]byte
	Size   int64
}

// Result is what a successful Verify found.
type Result struct {
	Entries  []Entry
	Opening  Opening
	Seal     *Seal
	Signer   *x509.Certificate
	Root     *x509.Certificate
	RootSPKI fingerprint.SPKI
	Outputs  []Output
	// Records is the number of records; Entries holds them all unless Options.Lean.
	Records uint64

	first, last, signer Entry
	files               []Entry // output and superseded records, in order
}

// Verify checks the ceremony folder dir: the chain of records, the seal and its signer's
// certificate chain, and the SHA-256 and size of every output file the transcript names. The
// error names the first record or file that is wrong. The transcript is read as a stream, and
// never past the record after the last one the seal covers.
func Verify(dir string, opt Options) (*Result, error) {
	f, err := OpenRegular(filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("read transcript: %w", err)
	}
	defer f.Close()
	sealText, sealErr := ReadFileMax(filepath.Join(dir, SealFileName), maxSeal)
	limit := uint64(math.MaxUint64)
	if sealErr == nil {
		if s, err := ParseSeal(sealText); err == nil {
			limit = s.Count + 1 // one more shows a record added after the seal
		}
	}
	res, err := scan(f, limit, opt.Lean)
	if err != nil {
		return nil, err
	}
	if err := res.first.DecodeData(&res.Opening); err != nil {
		return nil, &RecordError{0, 1, err.Error()}
	}
	if errors.Is(sealErr, os.ErrNotExist) {
		return nil, fmt.Errorf("transcript is not sealed: the ceremony did not close (records 0 to %d are intact; `keyrite resume %s` continues it)", res.Records-1, dir)
	}
	if sealErr != nil {
		return nil, fmt.Errorf("read seal: %w", sealErr)
	}
	seal, err := ParseSeal(sealText)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SealFileName, err)
	}
	res.Seal = seal
	if err := res.checkAgainstSeal(); err != nil {
		return nil, err
	}
	if err := res.checkSigner(opt); err != nil {
		return nil, err
	}
	if err := sealVerifies(seal, res.Signer.PublicKey); err != nil {
		return nil, fmt.Errorf("%s: %w", SealFileName, err)
	}
	return res, res.checkOutputs(dir, opt)
}

// scan reads at most limit records from r, keeping every entry, or only those the
// verification itself needs when lean.
func scan(r io.Reader, limit uint64, lean bool) (*Result, error) {
	res := &Result{}
	sc := NewScanner(r)
	sc.Limit(limit)
	for sc.Scan() {
		res.add(sc.Entry(), lean)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if res.Records == 0 {
		return nil, errEmpty
	}
	return res, nil
}

var errEmpty = errors.New("transcript is empty")

// add takes in the next good record.
func (res *Result) add(e Entry, lean bool) {
	res.Records++
	switch e.Event {
	case EventOutput, EventSuperseded:
		res.files = append(res.files, e)
	case EventSigner:
		res.signer = e
	}
	if e.Seq == 0 {
		res.first = e
	}
	res.last = e
	if !lean || keptWhenLean[e.Event] {
		res.Entries = append(res.Entries, e)
	}
}

// keptWhenLean are the records a lean Verify keeps: the opening and closing, signers and
// rotations (chains between ceremonies), and key records (a bundle's public keys).
var keptWhenLean = map[string]bool{
	EventOpened: true, EventClosed: true, EventSigner: true, EventRootRotated: true,
	EventKeyGenerated: true, EventKeyRestored: true, EventKeyImported: true,
}

func (res *Result) checkAgainstSeal() error {
	seal, n := res.Seal, res.Records
	if seal.CeremonyID != res.Opening.CeremonyID {
		return fmt.Errorf("%s: seal is for ceremony %q, transcript is ceremony %q", SealFileName, seal.CeremonyID, res.Opening.CeremonyID)
	}
	if n > seal.Count {
		return &RecordError{seal.Count, int(seal.Count) + 1, fmt.Sprintf("record was added after the seal (the seal covers %d records)", seal.Count)}
	}
	if n < seal.Count {
		return &RecordError{n, int(n) + 1, fmt.Sprintf("record is missing: the seal covers %d records, the transcript has %d (records were removed or the file was cut short)", seal.Count, n)}
	}
	last := res.last
	if last.Hash != seal.Head {
		return &RecordError{last.Seq, int(last.Seq) + 1, "last record does not match the seal's head hash (it was altered)"}
	}
	if last.Event != EventClosed {
		return &RecordError{last.Seq, int(last.Seq) + 1, fmt.Sprintf("last record is %q, want %q", last.Event, EventClosed)}
	}
	return nil
}

func (res *Result) checkSigner(opt Options) error {
	var data Signer
	sig := &res.signer
	if sig.Event != EventSigner {
		return errors.New("transcript names no signer (no " + EventSigner + " record)")
	}
	bad := func(format string, a ...any) error {
		return &RecordError{sig.Seq, int(sig.Seq) + 1, fmt.Sprintf(format, a...)}
	}
	if err := sig.DecodeData(&data); err != nil {
		return bad("%v", err)
	}
	if data.Name != res.Seal.SignerName {
		return fmt.Errorf("%s: signed by %q, but the transcript names %q as its signer", SealFileName, res.Seal.SignerName, data.Name)
	}
	if _, aborted := res.Aborted(); data.OneTime && !aborted {
		return bad("a one-time seal key may seal only a ceremony that closed as aborted")
	}
	certs, err := ParseCertificates(data.Certificate)
	if err != nil || len(certs) < 2 {
		return bad("signer certificate chain must hold the signer and its root: %v", err)
	}
	leaf, root := certs[0], certs[len(certs)-1]
	if err := rootSelfSigned(root); err != nil {
		return bad("root certificate %q is not self-signed: %v", root.Subject, err)
	}
	closed, _ := time.Parse(time.RFC3339Nano, res.last.Time)
	if err := chainsTo(leaf, root, certs[1:len(certs)-1], closed); err != nil {
		return bad("signer certificate does not chain to the root at the time of closing: %v", err)
	}
	fp, err := fingerprint.OfPublicKey(root.PublicKey)
	if err != nil {
		return bad("%v", err)
	}
	if opt.RootSPKI != "" && !strings.EqualFold(opt.RootSPKI, fp.Hex()) {
		return fmt.Errorf("transcript signer chains to root %s, not to the expected root %s", fp.Hex(), strings.ToLower(opt.RootSPKI))
	}
	res.Signer, res.Root, res.RootSPKI = leaf, root, fp
	return nil
}

// located is an output as its records place it.
type located struct {
	Output
	seq uint64
	at  string // where the file is now
}

func (res *Result) checkOutputs(dir string, opt Options) error {
	outputs, err := res.locateOutputs()
	if err != nil {
		return err
	}
	for _, l := range outputs {
		if err := checkOutput(dir, l, opt); err != nil {
			return err
		}
		res.Outputs = append(res.Outputs, Output{File: l.at, SHA256: l.SHA256, Size: l.Size})
	}
	return nil
}

// locateOutputs follows the output and superseded records to where each output is now. On a
// bad record it returns the outputs placed before it and a *RecordError.
func (res *Result) locateOutputs() ([]*located, error) {
	var outputs []*located
	current := map[string]*located{} // output name -> its live record
	for _, e := range res.files {
		bad := func(format string, a ...any) error {
			return &RecordError{e.Seq, int(e.Seq) + 1, fmt.Sprintf(format, a...)}
		}
		switch e.Event {
		case EventOutput:
			var o Output
			if err := e.DecodeData(&o); err != nil {
				return outputs, bad("%v", err)
			}
			if err := CheckOutputName(o.File); err != nil {
				return outputs, bad("%v", err)
			}
			if current[o.File] != nil {
				return outputs, bad("output %s is named twice without the first being superseded", o.File)
			}
			l := &located{Output: o, seq: e.Seq, at: o.File}
			current[o.File] = l
			outputs = append(outputs, l)
		case EventSuperseded:
			var sup Superseded
			if err := e.DecodeData(&sup); err != nil {
				return outputs, bad("%v", err)
			}
			l := current[sup.File]
			if l == nil {
				return outputs, bad("supersedes %s, which no earlier record wrote", sup.File)
			}
			if err := CheckOutputName(sup.MovedTo); err != nil || current[sup.MovedTo] != nil {
				return outputs, bad("moves %s to %q, which is not a free clean relative path", sup.File, sup.MovedTo)
			}
			l.at = sup.MovedTo
			delete(current, sup.File)
		}
	}
	return outputs, nil
}

// checkOutput checks one output file against its record (a withheld one is not looked for).
func checkOutput(dir string, l *located, opt Options) error {
	if opt.Withheld[l.at] {
		return nil
	}
	h, known := opt.Hashed[l.at]
	sum, size, err := h.SHA256, h.Size, error(nil)
	if !known {
		sum, size, err = hashFileMax(filepath.Join(dir, filepath.FromSlash(l.at)), l.Size)
	}
	if err != nil {
		return fmt.Errorf("output %s (record %d): %w", l.at, l.seq, err)
	}
	if size != l.Size || hex.EncodeToString(sum[:]) != l.SHA256 {
		return fmt.Errorf("output %s (record %d): content differs from what the transcript recorded (SHA-256 %x, want %s)", l.at, l.seq, sum, l.SHA256)
	}
	return nil
}

// CheckOutputName accepts a clean relative slash-separated path inside the ceremony folder.
func CheckOutputName(name string) error {
	if name == "" || path.IsAbs(name) || path.Clean(name) != name || strings.HasPrefix(name, "../") || name == ".." || strings.Contains(name, "\\") {
		return fmt.Errorf("output name %q is not a clean relative path", name)
	}
	return nil
}

// HashFile returns the SHA-256 and size of a regular file.
func HashFile(name string) ([32]byte, int64, error) {
	return hashFileMax(name, -1)
}

// hashFileMax hashes a regular file, reading no more than max+1 bytes when max >= 0: a file
// larger than its record says is found without reading it all.
func hashFileMax(name string, max int64) ([32]byte, int64, error) {
	f, err := OpenRegular(name)
	if err != nil {
		return [32]byte{}, 0, err
	}
	defer f.Close()
	var r io.Reader = f
	if max >= 0 {
		r = io.LimitReader(f, max+1)
	}
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return [32]byte{}, 0, err
	}
	if max >= 0 && n > max {
		return [32]byte{}, n, fmt.Errorf("the file is larger than the %d bytes recorded", max)
	}
	return [32]byte(h.Sum(nil)), n, nil
}

// ParseCertificates parses PEM text that holds only "CERTIFICATE" blocks, in order, as a
// signer record's chain does.
func ParseCertificates(s string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected PEM block %q", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("trailing data after certificates")
	}
	return out, nil
}
