package transcript

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixedClock ticks one second per call from a fixed start.
func fixedClock() Clock {
	t := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

func selfSigned(t *testing.T, key *ecdsa.PrivateKey, issuer *x509.Certificate, issuerKey *ecdsa.PrivateKey, cn string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: issuer == nil, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	parent, signer := tmpl, key
	if issuer != nil {
		parent, signer = issuer, issuerKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func pemOf(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// sealedCeremony writes a small sealed ceremony into a new folder and returns the folder.
func sealedCeremony(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rootKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	sigKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	root := selfSigned(t, rootKey, nil, nil, "Test Root")
	signer := selfSigned(t, sigKey, root, rootKey, "Test Transcript Signer")

	w, err := Create(filepath.Join(dir, FileName), fixedClock(), "operator", Opening{CeremonyID: "test-1", Type: "root"})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend := func(step, event string, data any) {
		if _, err := w.Append(step, "operator", event, data); err != nil {
			t.Fatal(err)
		}
	}
	mustAppend("generate", EventStepStarted, nil)
	out := []byte(pemOf(root))
	if err := WriteFileExclusive(filepath.Join(dir, "root.pem"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	sum, size, _ := HashFile(filepath.Join(dir, "root.pem"))
	mustAppend("generate", EventOutput, Output{File: "root.pem", SHA256: hex.EncodeToString(sum[:]), Size: size})
	mustAppend("generate", EventStepCompleted, nil)
	mustAppend("signer", EventSigner, Signer{Name: "test-signer", Certificate: pemOf(signer) + pemOf(root)})
	mustAppend("close", EventClosed, nil)
	n, head := w.Head()
	seal, err := SealCheckpoint(Checkpoint{CeremonyID: "test-1", Count: n, Head: head}, "test-signer", sigKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFileExclusive(filepath.Join(dir, SealFileName), seal, 0o644); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return dir
}

func TestVerifyIntact(t *testing.T) {
	dir := sealedCeremony(t)
	res, err := Verify(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 6 || len(res.Outputs) != 1 || res.Root.Subject.CommonName != "Test Root" {
		t.Fatalf("unexpected result: %d entries, %d outputs, root %v", len(res.Entries), len(res.Outputs), res.Root.Subject)
	}
	if _, err := Verify(dir, Options{RootSPKI: res.RootSPKI.Hex()}); err != nil {
		t.Fatalf("pinned to its own root: %v", err)
	}
	if _, err := Verify(dir, Options{RootSPKI: strings.Repeat("00", 32)}); err == nil {
		t.Fatal("pinned to another root: verified")
	}
}

// Each tampering must fail and name the record (or file) that is wrong.
func TestVerifyDetectsTampering(t *testing.T) {
	lines := func(b []byte) [][]byte { return bytes.SplitAfter(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) }
	join := func(ls [][]byte) []byte {
		out := bytes.Join(ls, nil)
		if !bytes.HasSuffix(out, []byte("\n")) {
			out = append(out, '\n')
		}
		return out
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string, transcript []byte) []byte
		want   string
		states string // what Inspect finds of each record: Good, Bad, Unchecked, Missing
		seal   State
	}{
		{"byte changed in a record", func(t *testing.T, dir string, b []byte) []byte {
			i := bytes.Index(b, []byte(`"actor":"operator","event":"step.started"`))
			b[i+10] = 'O'
			return b
		}, "record 2", "GBUUUU", Unchecked},
		{"byte changed in the last record", func(t *testing.T, dir string, b []byte) []byte {
			i := bytes.LastIndex(b, []byte(`"operator"`))
			b[i+1] = 'O'
			return b
		}, "record 5", "GGGGGB", Good},
		{"record deleted", func(t *testing.T, dir string, b []byte) []byte {
			ls := lines(b)
			return join(append(ls[:2:2], ls[3:]...))
		}, "record 2", "GGBUU", Unchecked},
		{"record duplicated", func(t *testing.T, dir string, b []byte) []byte {
			ls := lines(b)
			return join(append(ls[:3:3], ls[2:]...))
		}, "record 3", "GGGBUUU", Unchecked},
		{"records swapped", func(t *testing.T, dir string, b []byte) []byte {
			ls := lines(b)
			ls[3], ls[4] = ls[4], ls[3]
			return join(ls)
		}, "record 3", "GGGBUU", Unchecked},
		{"file cut short at a record boundary", func(t *testing.T, dir string, b []byte) []byte {
			ls := lines(b)
			return join(ls[:5])
		}, "record 5", "GGGGGM", Good},
		{"file cut inside a record", func(t *testing.T, dir string, b []byte) []byte {
			return b[:len(b)-20]
		}, "record 5", "GGGGGB", Good},
		{"record appended after the seal", func(t *testing.T, dir string, b []byte) []byte {
			w, _, err := reopenIgnoringSeal(dir)
			if err != nil {
				t.Fatal(err)
			}
			w.Append("extra", "mallory", "note", nil)
			w.Close()
			return nil
		}, "record 6", "GGGGGGB", Good},
		{"output file changed", func(t *testing.T, dir string, b []byte) []byte {
			os.WriteFile(filepath.Join(dir, "root.pem"), []byte("not the root\n"), 0o644)
			return b
		}, "output root.pem (record 2)", "GGBGGG", Good},
		{"output file removed", func(t *testing.T, dir string, b []byte) []byte {
			os.Remove(filepath.Join(dir, "root.pem"))
			return b
		}, "output root.pem", "GGBGGG", Good},
		{"seal removed", func(t *testing.T, dir string, b []byte) []byte {
			os.Remove(filepath.Join(dir, SealFileName))
			return b
		}, "not sealed", "GGGGGG", Missing},
		{"seal signature altered", func(t *testing.T, dir string, b []byte) []byte {
			s, _ := os.ReadFile(filepath.Join(dir, SealFileName))
			s[len(s)-6] ^= 1
			os.WriteFile(filepath.Join(dir, SealFileName), s, 0o644)
			return b
		}, "transcript.seal", "GGGGGG", Bad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := sealedCeremony(t)
			p := filepath.Join(dir, FileName)
			b, _ := os.ReadFile(p)
			if nb := tc.tamper(t, dir, b); nb != nil {
				os.WriteFile(p, nb, 0o644)
			}
			_, err := Verify(dir, Options{})
			if err == nil {
				t.Fatal("tampered ceremony verified")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
			ins := Inspect(dir, Options{})
			if ins.Verdict() {
				t.Fatal("Inspect finds nothing wrong")
			}
			if got := inspectedStates(ins); got != tc.states || ins.Seal.State != tc.seal {
				t.Fatalf("Inspect: records %s, seal %v; want %s, %v\n%s", got, ins.Seal.State, tc.states, tc.seal, describe(ins))
			}
		})
	}
}

// reopenIgnoringSeal appends to a sealed transcript, as an attacker with write access would.
func reopenIgnoringSeal(dir string) (*Writer, []Entry, error) {
	seal := filepath.Join(dir, SealFileName)
	s, _ := os.ReadFile(seal)
	os.Remove(seal)
	defer os.WriteFile(seal, s, 0o644)
	w, e, err := Reopen(filepath.Join(dir, FileName), fixedClock())
	if w != nil {
		w.sealed = false // an attacker's own writer has no such guard
	}
	return w, e, err
}

// TestNothingIsAppendedAfterClosed: once ceremony.closed is written, the writer refuses every
// record, in the same process and after a Reopen (a seal that failed to be written).
func TestNothingIsAppendedAfterClosed(t *testing.T) {
	dir := sealedCeremony(t)
	os.Remove(filepath.Join(dir, SealFileName))
	before, _ := os.ReadFile(filepath.Join(dir, FileName))
	w, _, err := Reopen(filepath.Join(dir, FileName), fixedClock())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if !w.Sealed() {
		t.Fatal("a reopened closed transcript is not marked sealed")
	}
	if _, err := w.Append("x", "y", EventStepFailed, nil); !errors.Is(err, ErrSealed) {
		t.Fatalf("append after closed: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, FileName)); !bytes.Equal(before, after) {
		t.Fatal("the transcript changed after ceremony.closed")
	}
}

// TestFailedAppendLeavesWholeRecords: a record that cannot be written (here: the file is
// read-only underneath the writer, as media turning read-only does) is cut off again, and the
// writer refuses every later record, so the file always ends with a whole record.
func TestFailedAppendLeavesWholeRecords(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	w, err := Create(p, fixedClock(), "operator", Opening{CeremonyID: "fail-1", Type: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append("s", "a", "note", nil); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(p)
	w.f.Close()
	ro, err := os.Open(p) // writes to it fail with EBADF
	if err != nil {
		t.Fatal(err)
	}
	w.f = ro
	if _, err := w.Append("s", "a", "note", nil); err == nil {
		t.Fatal("append to an unwritable file succeeded")
	}
	if _, err := w.Append("s", "a", EventStepFailed, nil); !errors.Is(err, ErrStopped) || w.Failed() == nil {
		t.Fatalf("append after a failed write: %v", err)
	}
	w.Close()
	if now, _ := os.ReadFile(p); !bytes.Equal(now, good) {
		t.Fatal("the transcript changed after a failed write")
	}
	if _, err := Parse(good); err != nil {
		t.Fatal(err)
	}
}

func TestReopenDiscardsTornRecord(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	clock := fixedClock()
	w, err := Create(p, clock, "operator", Opening{CeremonyID: "torn-1", Type: "root"})
	if err != nil {
		t.Fatal(err)
	}
	w.Append("generate", "operator", EventStepStarted, nil)
	w.Close()
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte(`{"v":1,"seq":2,"time":"2026-`)) // a crash in the middle of a write
	f.Close()

	entries, err := Parse(mustRead(p))
	var torn *TornError
	if !errors.As(err, &torn) || len(entries) != 2 || torn.Seq != 2 {
		t.Fatalf("Parse: %d entries, err %v; want 2 and a torn record 2", len(entries), err)
	}
	w, entries, err = Reopen(p, clock)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if last := entries[len(entries)-1]; last.Event != EventTornDiscarded || last.Seq != 2 {
		t.Fatalf("last record after reopen: %+v", last.Record)
	}
	if _, err := w.Append("generate", "operator", EventStepCompleted, nil); err != nil {
		t.Fatal(err)
	}
	if entries, err := Parse(mustRead(p)); err != nil || len(entries) != 4 {
		t.Fatalf("after resume: %d entries, %v", len(entries), err)
	}
}

func TestReopenRefusesDamage(t *testing.T) {
	dir := sealedCeremony(t)
	if _, _, err := Reopen(filepath.Join(dir, FileName), fixedClock()); err == nil || !strings.Contains(err.Error(), "sealed") {
		t.Fatalf("reopen of a sealed transcript: %v", err)
	}
	dir = t.TempDir()
	p := filepath.Join(dir, FileName)
	w, _ := Create(p, fixedClock(), "operator", Opening{CeremonyID: "x", Type: "root"})
	w.Append("a", "operator", "note", nil)
	w.Append("b", "operator", "note", nil)
	w.Close()
	b, _ := os.ReadFile(p)
	b[bytes.Index(b, []byte(`"step":"a"`))+8] = 'z'
	os.WriteFile(p, b, 0o644)
	if _, _, err := Reopen(p, fixedClock()); err == nil || !strings.Contains(err.Error(), "record 2") {
		t.Fatalf("reopen of a damaged transcript: %v", err)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(after, b) {
		t.Fatal("reopen changed a damaged transcript")
	}
}

func TestCreateNeverOverwrites(t *testing.T) {
	dir := sealedCeremony(t)
	before, _ := os.ReadFile(filepath.Join(dir, FileName))
	if _, err := Create(filepath.Join(dir, FileName), fixedClock(), "operator", Opening{CeremonyID: "again"}); err == nil {
		t.Fatal("Create overwrote a transcript")
	}
	if err := WriteFileExclusive(filepath.Join(dir, "root.pem"), []byte("x"), 0o644); err == nil || !strings.Contains(err.Error(), "never overwrites") {
		t.Fatalf("WriteFileExclusive: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, FileName))
	if !bytes.Equal(before, after) {
		t.Fatal("transcript changed")
	}
}

func FuzzParse(f *testing.F) {
	dir := f.TempDir()
	w, _ := Create(filepath.Join(dir, FileName), fixedClock(), "op", Opening{CeremonyID: "fuzz", Type: "root"})
	w.Append("s", "op", EventStepStarted, map[string]string{"k": "v"})
	w.Close()
	seed, _ := os.ReadFile(filepath.Join(dir, FileName))
	f.Add(seed)
	f.Add(seed[:len(seed)-7])
	f.Add([]byte("{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse(data)
		// Whatever it accepts must re-chain: each entry's Prev is its predecessor's hash.
		for i, e := range entries {
			want := ZeroHash
			if i > 0 {
				want = entries[i-1].Hash
			}
			if e.Prev != hex.EncodeToString(want[:]) || e.Seq != uint64(i) {
				t.Fatalf("accepted a broken chain at %d", i)
			}
		}
		if err == nil && len(data) > 0 && data[len(data)-1] != '\n' {
			t.Fatal("accepted a file without a final newline")
		}
	})
}

func FuzzParseSeal(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := SealCheckpoint(Checkpoint{CeremonyID: "fuzz", Count: 3}, "signer", key)
	f.Add(s)
	f.Add([]byte("keyrite-transcript/v1\nx\n1\nAAAA\n\n— a b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		seal, err := ParseSeal(data)
		if err != nil {
			return
		}
		again, err := ParseSeal([]byte(seal.Text))
		if err != nil || again.Checkpoint != seal.Checkpoint {
			t.Fatal("seal does not re-parse to the same checkpoint")
		}
	})
}

// sealedWith writes a sealed ceremony whose middle records are produced by body.
func sealedWith(t *testing.T, body func(w *Writer, dir string)) string {
	t.Helper()
	dir := t.TempDir()
	rootKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	sigKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	root := selfSigned(t, rootKey, nil, nil, "Root")
	signer := selfSigned(t, sigKey, root, rootKey, "Signer")
	w, _ := Create(filepath.Join(dir, FileName), fixedClock(), "op", Opening{CeremonyID: "s", Type: "root"})
	body(w, dir)
	w.Append("signer", "op", EventSigner, Signer{Name: "s", Certificate: pemOf(signer) + pemOf(root)})
	w.Append("close", "op", EventClosed, nil)
	n, head := w.Head()
	seal, _ := SealCheckpoint(Checkpoint{CeremonyID: "s", Count: n, Head: head}, "s", sigKey)
	WriteFileExclusive(filepath.Join(dir, SealFileName), seal, 0o644)
	w.Close()
	return dir
}

func writeOutput(t *testing.T, w *Writer, dir, name, content string) {
	os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
	os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	sum, size, _ := HashFile(filepath.Join(dir, name))
	w.Append("step", "op", EventOutput, Output{File: name, SHA256: hex.EncodeToString(sum[:]), Size: size})
}

func TestSupersededOutputs(t *testing.T) {
	move := func(t *testing.T, w *Writer, dir, from, to string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, to)), 0o755)
		os.Rename(filepath.Join(dir, from), filepath.Join(dir, to))
		w.Append("resume", "op", EventSuperseded, Superseded{File: from, MovedTo: to})
	}
	t.Run("followed", func(t *testing.T) {
		dir := sealedWith(t, func(w *Writer, dir string) {
			writeOutput(t, w, dir, "backup/k.wrapped", "first attempt")
			move(t, w, dir, "backup/k.wrapped", "superseded/3/backup/k.wrapped")
			writeOutput(t, w, dir, "backup/k.wrapped", "second attempt")
		})
		res, err := Verify(dir, Options{})
		if err != nil || len(res.Outputs) != 2 {
			t.Fatalf("verify: %v, %d outputs", err, len(res.Outputs))
		}
		os.WriteFile(filepath.Join(dir, "superseded/3/backup/k.wrapped"), []byte("changed"), 0o644)
		if _, err := Verify(dir, Options{}); err == nil || !strings.Contains(err.Error(), "superseded/3/backup/k.wrapped") {
			t.Fatalf("changed superseded file: %v", err)
		}
	})
	t.Run("named twice", func(t *testing.T) {
		dir := sealedWith(t, func(w *Writer, dir string) {
			writeOutput(t, w, dir, "a.pem", "one")
			writeOutput(t, w, dir, "a.pem", "one")
		})
		if _, err := Verify(dir, Options{}); err == nil || !strings.Contains(err.Error(), "named twice") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("moved outside the folder", func(t *testing.T) {
		dir := sealedWith(t, func(w *Writer, dir string) {
			writeOutput(t, w, dir, "a.pem", "one")
			w.Append("resume", "op", EventSuperseded, Superseded{File: "a.pem", MovedTo: "../elsewhere"})
		})
		if _, err := Verify(dir, Options{}); err == nil || !strings.Contains(err.Error(), "not a free clean relative path") {
			t.Fatalf("err = %v", err)
		}
	})
}
