package cli

import (
	"strings"
	"testing"
)

// `keyrite tokens --capabilities` on the rehearsal token says what SoftHSM 2.6.1 can and
// cannot do, and why, by capability.
func TestTokensCapabilities(t *testing.T) {
	code, out, stderr := keyrite(t, "", "tokens", "--capabilities", "--rehearsal", "--rehearsal-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{
		"CKM_AES_KEY_WRAP_PAD           key size",
		"no      RSA-OAEP SHA-256 (wrap)",
		"yes     RSA-OAEP SHA-1 (unwrap)",
		"no      CKM_RSA_AES_KEY_WRAP (wrap)",
		"yes     CKA_WRAP_WITH_TRUSTED",
		"yes  root with quorum backup, ecdsa-p384",
		"no   root with quorum backup, ed25519",
		"lacks wrapping of Ed25519 private keys, needed for the backup of the ed25519 root key",
		"no   export, RSA-OAEP SHA-256",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
	if code, _, _ := keyrite(t, "", "tokens", "--capabilities", "--module", "/usr/lib/softhsm/libsofthsm2.so"); code == 0 {
		t.Fatal("--capabilities without a token selected succeeded")
	}
}
