package transcript

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSealWireFormat: a seal made through note.Sign is, byte for byte, the format
// docs/transcript.md specifies: the checkpoint, a blank line, "— name base64(key ID ||
// DER ECDSA signature over SHA-384 of the checkpoint)".
func TestSealWireFormat(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	c := Checkpoint{CeremonyID: "c-1", Count: 7, Head: sha256.Sum256([]byte("x"))}
	seal, err := SealCheckpoint(c, "signer-1", k)
	if err != nil {
		t.Fatal(err)
	}
	body := string(c.Body())
	prefix := body + "\n— signer-1 "
	if !strings.HasPrefix(string(seal), prefix) || !strings.HasSuffix(string(seal), "\n") || strings.Count(string(seal), "\n") != 6 {
		t.Fatalf("seal is not checkpoint, blank line, one signature line:\n%s", seal)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(string(seal), prefix), "\n"))
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	spki := sha256.Sum256(der)
	if string(raw[:4]) != string(spki[:4]) {
		t.Fatalf("key ID %x, want the first 4 bytes of SHA-256(SPKI) %x", raw[:4], spki[:4])
	}
	digest := sha512.Sum384([]byte(body))
	if !ecdsa.VerifyASN1(&k.PublicKey, digest[:], raw[4:]) {
		t.Fatal("the signature is not DER ECDSA over SHA-384 of the checkpoint")
	}
	s, err := ParseSeal(seal)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(&k.PublicKey); err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if s.Verify(&other.PublicKey) == nil {
		t.Fatal("verified with another key")
	}
}

// TestOldSealsVerify: seals written before the seal went through note verify, and fail after
// any one-byte change (the signer name is checked against the transcript by Verify).
func TestOldSealsVerify(t *testing.T) {
	dirs, _ := filepath.Glob("../../testdata/compat/v1/*/transcript.seal")
	more, _ := filepath.Glob("../../testdata/compat/v1/*/*/transcript.seal")
	dirs = append(dirs, more...)
	if len(dirs) != 3 {
		t.Fatalf("found %d v1 seals, want 3", len(dirs))
	}
	for _, f := range dirs {
		res, err := Verify(filepath.Dir(f), Options{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		text, _ := os.ReadFile(f)
		for i := range text {
			b := []byte(string(text))
			b[i] ^= 0x01
			s, err := ParseSeal(b)
			if err == nil && s.Checkpoint == res.Seal.Checkpoint && s.SignerName == res.Seal.SignerName && s.Verify(res.Signer.PublicKey) == nil {
				t.Fatalf("%s: byte %d changed and the seal still verifies", f, i)
			}
		}
	}
}
