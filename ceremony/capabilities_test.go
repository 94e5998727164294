package ceremony

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// refusedInPreflight runs s and wants it refused with an error containing want, before the
// first state-changing HSM call: the token's objects unchanged and no ceremony folder made.
func refusedInPreflight(t *testing.T, s *Script, b Binding, opt Options, want string) {
	t.Helper()
	before := tokenObjects(t, b)
	dir := filepath.Join(t.TempDir(), "refused")
	err := start(t, s, dir, b, &scriptedUI{}, opt)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
	t.Log(err)
	if after := tokenObjects(t, b); !reflect.DeepEqual(before, after) {
		t.Fatalf("a ceremony refused in pre-flight changed the token:\nbefore %v\nafter  %v", before, after)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a ceremony refused in pre-flight left its folder: %v", err)
	}
}

// providerKey makes a cloud provider's RSA-3072 wrapping key and writes its public key as the
// PEM file an export reads (--wrapping-key).
func providerKey(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	provider, _ := rsa.GenerateKey(rand.Reader, 3072)
	der, _ := x509.MarshalPKIXPublicKey(&provider.PublicKey)
	wk := filepath.Join(t.TempDir(), "wrapping-key.pem")
	if err := os.WriteFile(wk, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return provider, wk
}

// An export with an OAEP hash SoftHSM 2.6.1 lacks (SHA-256) is refused in pre-flight, naming
// the capability and the method that needs it.
func TestExportRefusedForMissingOAEPHash(t *testing.T) {
	src := rootOn(t, "root-quorum-ceremony.yaml")
	_, wk := providerKey(t)
	s := edited(t, loadTestScript(t, "export-ceremony.yaml"), func(s *Script) {
		s.Export = &ExportConfig{Key: "example-root-2026", Provider: "aws-kms", Method: "RSA_AES_KEY_WRAP_SHA_256"}
	})
	refusedInPreflight(t, s, src.b, Options{Previous: src.dir, WrappingKey: wk, IssuedAt: time.Now().Add(-time.Hour)},
		`lacks RSA-OAEP SHA-256 (wrap) and CKM_RSA_AES_KEY_WRAP (wrap), needed for the RSA_AES_KEY_WRAP_SHA_256 method's RSA-OAEP wrap of the transport key`)
}
