package transcript

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// oneTimeSealed writes a sealed transcript whose seal key is a one-time key (its certificate
// its own root), closed with result.
func oneTimeSealed(t *testing.T, result string) string {
	t.Helper()
	dir := t.TempDir()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "One-time seal of aborted ceremony t"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	cert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	w, err := Create(filepath.Join(dir, FileName), func() time.Time { return now }, "op", Opening{CeremonyID: "t", Type: "root"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		event string
		data  any
	}{
		{EventAborted, Aborted{Step: "sign-root-certificate", Reason: "the token refused"}},
		{EventSigner, Signer{Name: "one-time-seal", Certificate: cert + cert, OneTime: true}},
		{EventClosed, Closing{Result: result, Reason: "step \"sign-root-certificate\": the token refused"}},
	} {
		if _, err := w.Append("abort", "op", r.event, r.data); err != nil {
			t.Fatal(err)
		}
	}
	n, head := w.Head()
	w.Close()
	seal, err := SealCheckpoint(Checkpoint{CeremonyID: "t", Count: n, Head: head}, "one-time-seal", key)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFileExclusive(filepath.Join(dir, SealFileName), seal, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// An aborted, sealed transcript is valid evidence of an aborted ceremony, and the summary says
// so; a one-time seal key is refused on a transcript that does not close as aborted.
func TestAbortedTranscriptVerifiesAndSaysSo(t *testing.T) {
	res, err := Verify(oneTimeSealed(t, ResultAborted), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := Summary(res)
	for _, want := range []string{"Verified: ceremony t", "ABORTED", "sign-root-certificate", "one-time key"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if _, err := Verify(oneTimeSealed(t, ResultCompleted), Options{}); err == nil || !strings.Contains(err.Error(), "only a ceremony that closed as aborted") {
		t.Fatalf("a one-time seal on a completed ceremony: %v", err)
	}
}
