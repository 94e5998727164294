package ceremony

import (
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
		refusedInPreflight(t, s, b, Options{}, `token "keyrite-tpm2" lacks CKM_AES_KEY_WRAP_PAD (wrap), needed for the backup's RFC 5649 wrap`)
	})
}
