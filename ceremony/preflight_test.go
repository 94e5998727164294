package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
)

// refusedBeforeHSM runs start and checks that it is refused by the pre-flight with an error
// that contains every want, that nobody was asked to confirm anything, that no folder was
// left, and that the token's objects are exactly what they were.
func refusedBeforeHSM(t *testing.T, b Binding, dir string, start func(ui UI) error, want ...string) {
	t.Helper()
	before := tokenObjects(t, b)
	ui := &scriptedUI{}
	err := start(ui)
	var pe PreflightError
	if !errors.As(err, &pe) {
		t.Fatalf("not refused by the pre-flight: %v", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the refusal lacks %q:\n%v", w, err)
		}
	}
	if len(ui.asked) > 0 {
		t.Errorf("people were asked before the refusal: %q", ui.asked)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the refused ceremony left %s", dir)
	}
	if after := tokenObjects(t, b); !reflect.DeepEqual(before, after) {
		t.Fatalf("the token's objects changed:\nbefore %v\nafter  %v", before, after)
	}
}

// After a rotation the old root is deactivated: asked to sign an intermediate or to certify
// another new root it refuses, in the pre-flight, naming the field; it still signs CRLs; the
// new root signs intermediates.
func TestDeactivatedRootRefusesToSign(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	rot := mustRun(t, "rotate-ceremony.yaml", root.b, Options{Previous: root.dir})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := writeCSR(t, key, "Example Issuing CA 2031")
	old := loadTestScript(t, "sign-intermediate-ceremony.yaml") // signs with example-root-2026
	dir := filepath.Join(t.TempDir(), "old")
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, old, dir, root.b, ui, Options{Previous: rot, CSR: csr})
	}, "sign-intermediate-ceremony.yaml:", "intermediate.root_key", `"example-root-2026" is deactivated`, "example-root-rotation-2031")

	// Nor does it certify another new root; but it still signs CRLs for what it issued.
	again := edited(t, loadTestScript(t, "rotate-ceremony.yaml"), func(s *Script) {
		s.ID, s.Rotate.NewKey, s.Rotate.NewSigner = "rotation-again", "example-root-2036", "example-root-2036-transcript"
	})
	dir = filepath.Join(t.TempDir(), "again")
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, again, dir, root.b, ui, Options{Previous: rot})
	}, "rotate.old_key", `"example-root-2026" is deactivated`)
	mustRun(t, "sign-crl-ceremony.yaml", root.b, Options{Previous: rot})

	// The new root, with the new hierarchy's signer, signs.
	s := edited(t, old, func(s *Script) {
		s.ID, s.Intermediate.RootKey, s.Signer.Label = "issuing-2031", "example-root-2031", "example-root-2031-transcript"
	})
	if err := start(t, s, filepath.Join(t.TempDir(), "new"), root.b, &scriptedUI{}, Options{Previous: rot, CSR: csr}); err != nil {
		t.Fatal(err)
	}
}

// A CRL number must exceed the last one recorded on the hierarchy, even two ceremonies back:
// each continuing ceremony records the states and numbers it inherits.
func TestRepeatedCRLNumberIsRefused(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	first := mustRun(t, "sign-crl-ceremony.yaml", root.b, Options{Previous: root.dir})
	dir := filepath.Join(t.TempDir(), "again")
	again := edited(t, loadTestScript(t, "sign-crl-ceremony.yaml"), func(s *Script) { s.ID = "crl-again" })
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, again, dir, root.b, ui, Options{Previous: first})
	}, "edited.yaml:", "crl.number: 1 does not exceed CRL number 1", "example-root-2026-crl-1")

	// A ceremony later (an intermediate signed between), number 1 is still taken: the
	// intermediate's transcript carries the hierarchy's state.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	inter := mustRun(t, "sign-intermediate-ceremony.yaml", root.b, Options{Previous: first, CSR: writeCSR(t, key, "Example Issuing CA 2026")})
	dir = filepath.Join(t.TempDir(), "later")
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, again, dir, root.b, ui, Options{Previous: inter})
	}, "crl.number: 1 does not exceed CRL number 1", "example-root-2026-crl-1")
	next := edited(t, again, func(s *Script) { s.CRL.Number = 2 })
	mustRunScript(t, next, root.b, Options{Previous: inter})
}

func mustRunScript(t *testing.T, s *Script, b Binding, opt Options) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), s.ID)
	if err := start(t, s, dir, b, &scriptedUI{}, opt); err != nil {
		t.Fatal(err)
	}
	verified(t, dir)
	return dir
}

// A revocation reason zlint refuses (certificateHold, under the Baseline Requirements) is
// refused in the pre-flight, before the root key is used.
func TestCRLReasonRefusedByLint(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	revoked := filepath.Join(t.TempDir(), "revoked.txt")
	os.WriteFile(revoked, []byte("4a1f00c3 certificateHold\n"), 0o644)
	dir := filepath.Join(t.TempDir(), "crl")
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, loadTestScript(t, "sign-crl-ceremony.yaml"), dir, root.b, ui, Options{Previous: root.dir, Revoked: revoked})
	}, "crl:", "e_cab_crl_has_valid_reason_code")
}

// A certificate request whose subject holds a control character is refused in the pre-flight.
func TestCSRSubjectWithControlCharacter(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := writeCSR(t, key, "Issuing\x1b[2J CA")
	dir := filepath.Join(t.TempDir(), "i")
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, loadTestScript(t, "sign-intermediate-ceremony.yaml"), dir, root.b, ui, Options{Previous: root.dir, CSR: csr})
	}, "subject attribute", "U+001B")
}

// An export for a provider method whose OAEP hash the token lacks (SHA-256 on SoftHSM 2.6.1)
// is refused in the pre-flight, naming the method; the trial ran on session objects only.
func TestExportMechanismTheTokenLacks(t *testing.T) {
	src := rootOn(t, "root-quorum-ceremony.yaml")
	provider, _ := rsa.GenerateKey(rand.Reader, 3072)
	der, _ := x509.MarshalPKIXPublicKey(&provider.PublicKey)
	wk := filepath.Join(t.TempDir(), "wrapping-key.pem")
	os.WriteFile(wk, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	s := edited(t, loadTestScript(t, "export-ceremony.yaml"), func(s *Script) {
		s.ID = "export-sha256"
		s.Export = &ExportConfig{Key: "example-root-2026", Provider: "aws-kms", Method: "RSA_AES_KEY_WRAP_SHA_256"}
	})
	dir := filepath.Join(t.TempDir(), "export")
	refusedBeforeHSM(t, src.b, dir, func(ui UI) error {
		return start(t, s, dir, src.b, ui, Options{Previous: src.dir, WrappingKey: wk, IssuedAt: time.Now().Add(-time.Hour)})
	}, "SHA-256", "RSA_AES_KEY_WRAP_SHA_256")
}

// The token is found, identified and logged in to before anyone is asked anything: a missing
// token is found first, and nobody has confirmed anything.
func TestMissingTokenIsFoundBeforeRollCall(t *testing.T) {
	b := freshToken(t)
	b.Token = hsm.Selector{Label: "no-such-token"}
	ui := &scriptedUI{}
	err := start(t, exampleScript(t), filepath.Join(t.TempDir(), "c"), b, ui, Options{})
	if err == nil || len(ui.asked) > 0 {
		t.Fatalf("err %v; asked %q", err, ui.asked)
	}
}

// Output folders without the space the ceremony needs are refused before anything happens.
func TestNotEnoughSpaceIsRefused(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	saved := minFree
	minFree = 1 << 62
	defer func() { minFree = saved }()
	refusedBeforeHSM(t, b, dir, func(ui UI) error {
		return start(t, exampleScript(t), dir, b, ui, Options{})
	}, "output folder", "MiB free")
}

// A ceremony that passes records what the pre-flight checked, before the roll call.
func TestPreflightIsRecorded(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	if err := start(t, exampleScript(t), dir, b, &scriptedUI{}, Options{}); err != nil {
		t.Fatal(err)
	}
	res := verified(t, dir)
	for _, e := range res.Entries {
		if e.Event == transcript.EventParticipantPresent {
			t.Fatal("the roll call was recorded before the pre-flight")
		}
		if e.Event == transcript.EventPreflightPassed {
			p, err := transcript.Data[transcript.PreflightPassed](&e.Record)
			if err != nil || len(p.Lints) != 2 || p.Lints[0].Shape != "self-signed" || !strings.HasPrefix(p.Lints[1].Shape, "issued by CN=Example Root CA 2026") || p.FreeBytes < minFree {
				t.Fatalf("preflight record %+v, %v", p, err)
			}
			return
		}
	}
	t.Fatal("no preflight.passed record")
}
