package reports_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/reports"
)

// syntheticCeremony writes a sealed ceremony with steps steps and files outputs of size bytes
// each, signed in software: the shape of a large ceremony without an HSM.
func syntheticCeremony(b *testing.B, steps, files int, size int64) (string, *ecdsa.PrivateKey) {
	b.Helper()
	dir := b.TempDir()
	rootKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	sigKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	mk := func(key *ecdsa.PrivateKey, parent *x509.Certificate, pkey *ecdsa.PrivateKey, cn string, ca bool) *x509.Certificate {
		t := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(time.Hour), IsCA: ca, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
		if parent == nil {
			parent, pkey = t, key
		}
		der, _ := x509.CreateCertificate(rand.Reader, t, parent, &key.PublicKey, pkey)
		c, _ := x509.ParseCertificate(der)
		return c
	}
	root := mk(rootKey, nil, nil, "Bench Root", true)
	signer := mk(sigKey, root, rootKey, "Bench Signer", false)
	w, err := transcript.Create(filepath.Join(dir, transcript.FileName), time.Now, "op", transcript.Opening{CeremonyID: "bench", Type: "root", ScriptFile: "script.yaml"})
	if err != nil {
		b.Fatal(err)
	}
	output := func(name string, write func(io.Writer)) {
		f, _ := os.Create(filepath.Join(dir, name))
		write(f)
		f.Close()
		sum, n, _ := transcript.HashFile(filepath.Join(dir, name))
		w.Append("files", "op", transcript.EventOutput, transcript.Output{File: name, SHA256: hex.EncodeToString(sum[:]), Size: n})
	}
	output("script.yaml", func(f io.Writer) { f.Write([]byte("version: 1\n")) })
	output("transcript-signer.pem", func(f io.Writer) { pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: signer.Raw}) })
	for i := 0; i < steps; i++ {
		id := fmt.Sprintf("step-%d", i)
		w.Append(id, "op", transcript.EventStepStarted, map[string]any{"title": "Step " + strconv.Itoa(i), "actor": "Operator (administrator)"})
		w.Append(id, "op", "witness.confirmed", map[string]string{"witness": "Witness"})
		w.Append(id, "op", transcript.EventStepCompleted, nil)
	}
	for i := 0; i < files; i++ {
		output(fmt.Sprintf("data-%02d.bin", i), func(f io.Writer) { io.CopyN(f, rand.Reader, size) })
	}
	w.Append("signer", "op", transcript.EventSigner, transcript.Signer{Name: "bench", Certificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signer.Raw})) + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}))})
	w.Append("close", "op", transcript.EventClosed, transcript.Closing{Result: "completed"})
	n, head := w.Head()
	seal, _ := transcript.SealCheckpoint(transcript.Checkpoint{CeremonyID: "bench", Count: n, Head: head}, "bench", sigKey)
	transcript.WriteFileExclusive(filepath.Join(dir, transcript.SealFileName), seal, 0o644)
	w.Close()
	return dir, sigKey
}

func BenchmarkReport1000Steps(b *testing.B) {
	dir, _ := syntheticCeremony(b, 1000, 0, 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := reports.RenderReport(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteEvidence writes the report and bundle of a 1,000-step ceremony with 8 MiB of
// outputs, as the engine does right after the seal, and reports its time in units of one
// transcript verification measured in the same run. Verifying once and rendering the report
// once gives about 5.5 on the 2-core CI machine; verifying three times and rendering twice
// gave about 9.
func BenchmarkWriteEvidence(b *testing.B) {
	dir, key := syntheticCeremony(b, 1000, 8, 1<<20)
	var verify, evidence time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := transcript.Verify(dir, transcript.Options{}); err != nil {
			b.Fatal(err)
		}
		verify += time.Since(start)
		start = time.Now()
		if _, _, err := reports.WriteEvidence(dir, key); err != nil {
			b.Fatal(err)
		}
		evidence += time.Since(start)
		os.Remove(filepath.Join(dir, reports.ReportFileName))
		os.Remove(filepath.Join(dir, reports.BundleName("bench")))
	}
	b.ReportMetric(float64(evidence)/float64(verify), "evidence/verify")
}
