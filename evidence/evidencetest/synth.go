// Package evidencetest makes sealed ceremonies in software, in the shape Keyrite writes them
// (no HSM, no renderer), and evidence roots of them, for the tests of the packages that read
// evidence (evidence, app).
package evidencetest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/ledger"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/evidence"
)

// SignerName is the name on a synthetic ceremony's seal.
const SignerName = "synthetic-signer"

// Ceremony describes a sealed ceremony made in software, in the shape Keyrite writes: no HSM, no
// renderer (its "report" is a fixed text recorded by renderer test/1).
type Ceremony struct {
	ID       string
	RootCN   string
	Steps    int      // three records each
	Files    int      // outputs data-NN.bin
	Size     int64    // bytes each
	Extra    []string // more output names, one byte each
	NoBundle bool
	// Records are written after the opening, as the ceremony's own; Start, if set, is the
	// time of its first record.
	Records []Record
	Start   time.Time
}

// Record is one record a synthetic ceremony writes.
type Record struct {
	Event string
	Data  any
}

// FakeReport stands for the report a renderer would draw.
var FakeReport = []byte("%PDF-1.4 a report rendered by test/1\n")

// Make writes the ceremony into a new folder under parent (a new temporary folder when "") and
// returns the folder and the transcript signer's key.
func (s Ceremony) Make(t testing.TB, parent string) (string, *ecdsa.PrivateKey) {
	t.Helper()
	if s.ID == "" {
		s.ID = "synthetic"
	}
	if s.RootCN == "" {
		s.RootCN = "Synthetic Root"
	}
	if parent == "" {
		parent = t.TempDir()
	}
	dir := filepath.Join(parent, s.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rootKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	sigKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	mk := func(key *ecdsa.PrivateKey, parent *x509.Certificate, pkey *ecdsa.PrivateKey, cn string, ca bool) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(time.Hour), IsCA: ca, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
		if parent == nil {
			parent, pkey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, pkey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	root := mk(rootKey, nil, nil, s.RootCN, true)
	signer := mk(sigKey, root, rootKey, "Synthetic Signer", false)
	w := newAppender(t, filepath.Join(dir, transcript.FileName))
	if !s.Start.IsZero() {
		w.at = s.Start
	}
	w.Append("open", "Operator (administrator)", transcript.EventOpened, transcript.Opening{CeremonyID: s.ID, Type: "root", ScriptFile: "script.yaml"})
	for _, r := range s.Records {
		w.Append("step", "Operator (administrator)", r.Event, r.Data)
	}
	output := func(name string, write func(io.Writer)) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		write(f)
		f.Close()
		sum, n, _ := transcript.HashFile(p)
		w.Append("files", "Operator (administrator)", transcript.EventOutput, transcript.Output{File: name, SHA256: hex.EncodeToString(sum[:]), Size: n})
	}
	certPEM := func(c *x509.Certificate) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	output("script.yaml", func(f io.Writer) { f.Write([]byte("version: 1\n")) })
	output("transcript-signer.pem", func(f io.Writer) { f.Write(certPEM(signer)) })
	output("root.pem", func(f io.Writer) { f.Write(certPEM(root)) })
	for i := 0; i < s.Steps; i++ {
		id := fmt.Sprintf("step-%d", i)
		w.Append(id, "Operator (administrator)", transcript.EventStepStarted, transcript.StepStart{Title: fmt.Sprintf("Step %d", i), Actor: "Operator (administrator)"})
		w.Append(id, "Witness (witness)", transcript.EventWitnessConfirmed, transcript.Witnessing{Witness: "Witness"})
		w.Append(id, "Operator (administrator)", transcript.EventStepCompleted, nil)
	}
	for i := 0; i < s.Files; i++ {
		output(fmt.Sprintf("data-%02d.bin", i), func(f io.Writer) { io.CopyN(f, rand.Reader, s.Size) })
	}
	for _, name := range s.Extra {
		output(name, func(f io.Writer) { f.Write([]byte("x")) })
	}
	w.Append("signer", "Operator (administrator)", transcript.EventSigner, transcript.Signer{Name: SignerName, Certificate: string(certPEM(signer)) + string(certPEM(root))})
	w.Append("close", "Operator (administrator)", transcript.EventClosed, transcript.Closing{Result: "completed"})
	n, head := w.Close()
	seal, err := transcript.SealCheckpoint(transcript.Checkpoint{CeremonyID: s.ID, Count: n, Head: head}, SignerName, sigKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, transcript.SealFileName), seal, 0o644); err != nil {
		t.Fatal(err)
	}
	if !s.NoBundle {
		res, err := transcript.Verify(dir, transcript.Options{})
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, evidence.BundleName(s.ID)))
		if err != nil {
			t.Fatal(err)
		}
		if err := evidence.WriteBundle(res, dir, FakeReport, "test/1", f, sigKey); err != nil {
			t.Fatal(err)
		}
		f.Close()
		os.WriteFile(filepath.Join(dir, evidence.ReportFileName), FakeReport, 0o644)
	}
	return dir, sigKey
}

// appender writes records as transcript.Writer does, byte for byte, without an fsync per
// record: large synthetic transcripts are made in seconds.
type appender struct {
	t    testing.TB
	f    *os.File
	bw   *bufio.Writer
	n    uint64
	prev [32]byte
	at   time.Time
}

func newAppender(t testing.TB, name string) *appender {
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	return &appender{t: t, f: f, bw: bufio.NewWriterSize(f, 1<<20), at: time.Now().Add(-time.Minute)}
}

func (a *appender) Append(step, actor, event string, data any) {
	var raw json.RawMessage
	if data != nil {
		raw, _ = json.Marshal(data)
	}
	a.at = a.at.Add(time.Microsecond)
	line, err := json.Marshal(transcript.Record{V: transcript.FormatVersion, Seq: a.n, Time: a.at.UTC().Format(time.RFC3339Nano),
		MonoNS: int64(a.n) * 1000, Step: step, Actor: actor, Event: event, Data: raw, Prev: hex.EncodeToString(a.prev[:])})
	if err != nil {
		a.t.Fatal(err)
	}
	a.bw.Write(line)
	a.bw.WriteByte('\n')
	a.prev = sha256.Sum256(line)
	a.n++
}

// Close flushes the transcript and returns its record count and head hash.
func (a *appender) Close() (uint64, [32]byte) {
	if err := a.bw.Flush(); err != nil {
		a.t.Fatal(err)
	}
	a.f.Close()
	return a.n, a.prev
}

// Root makes an evidence root in a new temporary folder holding one ceremony per id (each in
// the folder of that name), logged in that order; each appends with its own transcript signer.
func Root(t testing.TB, ids ...string) string {
	t.Helper()
	root := t.TempDir()
	if err := ledger.Init(root, "test.example/root"); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		dir, key := Ceremony{ID: id, Steps: 1}.Make(t, root)
		seal, err := os.ReadFile(filepath.Join(dir, transcript.SealFileName))
		if err != nil {
			t.Fatal(err)
		}
		s, err := ledger.NewSigner(SignerName, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ledger.Append(root, ledger.CeremonyEntry(id, id, seal), s); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
