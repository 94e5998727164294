package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/hsm/tpm2test"
)

// TestTPM2 runs the ceremonies on a second, independent PKCS#11 implementation: tpm2-pkcs11
// over a software TPM. One top-level test, because tpm2-pkcs11 reads its store and TPM from
// the environment once per process.
func TestTPM2(t *testing.T) {
	tt := tpm2test.Start(t, "keyrite-tpm2")
	m, err := hsm.Open(tt.Module)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	b := Binding{Module: m, Token: hsm.Selector{Label: tt.Label},
		PIN:   func() ([]byte, error) { return []byte(tt.UserPIN), nil },
		SOPIN: func() ([]byte, error) { return []byte(tt.SOPIN), nil }}

	root := filepath.Join(t.TempDir(), "root")
	t.Run("root ceremony sealed and verified", func(t *testing.T) {
		if err := start(t, exampleScript(t), root, b, &scriptedUI{}, Options{}); err != nil {
			t.Fatal(err)
		}
		ev := events(verified(t, root))
		for _, want := range []string{"hsm.identified", "key.generated", "certificate.issued", "transcript.signer", "ceremony.closed"} {
			if !strings.Contains(ev, want) {
				t.Errorf("transcript lacks %s", want)
			}
		}
	})
	t.Run("backup refused in pre-flight", func(t *testing.T) {
		s := edited(t, loadTestScript(t, "root-quorum-ceremony.yaml"), func(s *Script) {
			s.ID, s.Key.Label, s.Signer.Label = "tpm2-backup", "tpm2-backup-root", "tpm2-backup-transcript"
		})
		refusedInPreflight(t, s, b, Options{SharesPrinter: "default", Print: func(string, string, []byte) error { return nil }}, `token "keyrite-tpm2" lacks CKM_AES_KEY_WRAP_PAD (wrap), needed for the backup's RFC 5649 wrap`)
	})
	// Every other ceremony the token supports, on the same hierarchy; the rotation last, as it
	// retires the root the others sign with.
	t.Run("sign-intermediate", func(t *testing.T) {
		key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		dir := mustRun(t, "sign-intermediate-ceremony.yaml", b, Options{Previous: root, CSR: writeCSR(t, key, "TPM2 Issuing CA")})
		if c := readCert(t, filepath.Join(dir, "intermediate.der")); c.CheckSignatureFrom(readCert(t, filepath.Join(root, "root.der"))) != nil {
			t.Fatal("the intermediate does not verify under the root")
		}
	})
	t.Run("sign-crl", func(t *testing.T) {
		revoked := filepath.Join(t.TempDir(), "revoked.txt")
		os.WriteFile(revoked, []byte("4a1f00c3 keyCompromise\n"), 0o644)
		mustRun(t, "sign-crl-ceremony.yaml", b, Options{Previous: root, Revoked: revoked})
	})
	t.Run("destroy", func(t *testing.T) {
		// tpm2-pkcs11 1.9 answers C_GenerateKey with CKR_FUNCTION_NOT_SUPPORTED, so the key
		// destroyed is a key pair.
		tok := openLoggedIn(t, b)
		_, err := tok.GenerateKeyPair(hsm.KeySpec{Label: "retired-key", Algorithm: hsm.ECDSAP256})
		tok.Close()
		if err != nil {
			t.Fatal(err)
		}
		s := edited(t, loadTestScript(t, "destroy-ceremony.yaml"), func(s *Script) { s.Destroy.Key = "retired-key" })
		dir := filepath.Join(t.TempDir(), "destroy")
		if err := start(t, s, dir, b, &scriptedUI{}, Options{Previous: root}); err != nil {
			t.Fatal(err)
		}
		verified(t, dir)
		tok = openLoggedIn(t, b)
		defer tok.Close()
		if has, err := tok.HasLabel("retired-key"); err != nil || has {
			t.Fatalf("the destroyed key is still there (%v)", err)
		}
	})
	t.Run("import-job refused in pre-flight", func(t *testing.T) {
		refusedInPreflight(t, loadTestScript(t, "import-job-ceremony.yaml"), b, Options{Previous: root},
			`lacks RSA-OAEP SHA-256 (unwrap) and RSA-OAEP SHA-1 (unwrap), needed for unwrapping transport keys sent to the import job`)
	})
	t.Run("rotate", func(t *testing.T) {
		mustRun(t, "rotate-ceremony.yaml", b, Options{Previous: root})
	})
}
