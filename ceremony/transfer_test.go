package ceremony

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/ceremony/transfer"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/hsm/keycheck"
	"github.com/keyrite/keyrite/hsm/keywrap"
)

// hierarchy is a key hierarchy's first ceremony on its own token.
type hierarchy struct {
	dir string
	b   Binding
	ui  *scriptedUI
}

func rootOn(t *testing.T, script string) hierarchy {
	t.Helper()
	b := freshToken(t)
	ui := &scriptedUI{}
	dir := filepath.Join(t.TempDir(), "root")
	if err := start(t, loadTestScript(t, script), dir, b, ui, Options{}); err != nil {
		t.Fatal(err)
	}
	return hierarchy{dir, b, ui}
}

func run(t *testing.T, script string, b Binding, opt Options) (string, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), strings.TrimSuffix(script, "-ceremony.yaml"))
	return dir, start(t, loadTestScript(t, script), dir, b, &scriptedUI{}, opt)
}

func mustRun(t *testing.T, script string, b Binding, opt Options) string {
	t.Helper()
	dir, err := run(t, script, b, opt)
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	verified(t, dir)
	return dir
}

// The root key moves to the in-region HSM: import job there, export here, import there; the
// imported key has the original fingerprint and every ceremony verifies.
func TestTransferToAnotherHSM(t *testing.T) {
	src := rootOn(t, "root-quorum-ceremony.yaml")
	dst := rootOn(t, "region-root-ceremony.yaml")
	job := mustRun(t, "import-job-ceremony.yaml", dst.b, Options{Previous: dst.dir})
	exp := mustRun(t, "export-ceremony.yaml", src.b, Options{Previous: src.dir, ImportJob: job})
	imp := mustRun(t, "import-ceremony.yaml", dst.b, Options{Previous: job, Transfer: exp})
	original := readMeta(t, src.dir).SPKISHA256
	var imported keyRecord
	for _, e := range verified(t, imp).Entries {
		if e.Event == "key.imported" {
			e.DecodeData(&imported)
		}
	}
	if imported.SPKISHA256 != original || imported.Attributes["CKA_EXTRACTABLE"] || !imported.Attributes["CKA_SENSITIVE"] {
		t.Fatalf("imported %+v, original %s", imported, original)
	}
	// The whole chain verifies as a tree.
	tree := t.TempDir()
	for name, d := range map[string]string{"1-source-root": src.dir, "2-target-root": dst.dir, "3-import-job": job, "4-export": exp, "5-import": imp} {
		os.Rename(d, filepath.Join(tree, name))
	}
	if _, err := transcript.VerifyTree(tree, transcript.Options{}); err != nil {
		t.Fatal(err)
	}
}

// An export for a cloud provider opens in pure Go with the provider's private key and holds
// the same key material (PKCS #8 of the key whose public key the export recorded).
func TestProviderExportsOpenInGo(t *testing.T) {
	src := rootOn(t, "root-quorum-ceremony.yaml")
	provider, wk := providerKey(t)
	for _, c := range []struct {
		provider, method string
	}{{"aws-kms", "RSA_AES_KEY_WRAP_SHA_1"}, {"gcp-kms", "RSA_OAEP_3072_SHA1_AES_256"}, {"azure-key-vault", ""}} {
		t.Run(c.provider, func(t *testing.T) {
			s := edited(t, loadTestScript(t, "export-ceremony.yaml"), func(s *Script) {
				s.ID = "export-" + c.provider
				s.Export = &ExportConfig{Key: "example-root-2026", Provider: c.provider, Method: c.method}
			})
			dir := filepath.Join(t.TempDir(), "export")
			err := start(t, s, dir, src.b, &scriptedUI{}, Options{Previous: src.dir, WrappingKey: wk, IssuedAt: time.Now().Add(-time.Hour),
				AzureKEKID: "https://example.vault.azure.net/keys/kek/0123456789abcdef"})
			if err != nil {
				t.Fatal(err)
			}
			_, meta, blob, err := loadExport(dir)
			if err != nil {
				t.Fatal(err)
			}
			pkcs8, err := keywrap.UnwrapRSAAES(provider, transfer.HashOf(meta.OAEPHash), blob)
			if err != nil {
				t.Fatalf("Go cannot open the %s export: %v", c.provider, err)
			}
			k, err := x509.ParsePKCS8PrivateKey(pkcs8)
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := parseAnyPublicKey(meta.PublicKey)
			if !k.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
				t.Fatal("the exported key material is not the recorded key")
			}
		})
	}
}

// Every bad input is refused with its own message, and the target token is left unchanged.
func TestTransferRefusesBadInput(t *testing.T) {
	src := rootOn(t, "root-quorum-ceremony.yaml")
	plain := rootOn(t, "root-ceremony.yaml") // its root key is non-extractable
	dst := rootOn(t, "region-root-ceremony.yaml")
	job := mustRun(t, "import-job-ceremony.yaml", dst.b, Options{Previous: dst.dir})
	exp := mustRun(t, "export-ceremony.yaml", src.b, Options{Previous: src.dir, ImportJob: job})
	other := rootOn(t, "region-root-ceremony.yaml")
	otherJob := mustRun(t, "import-job-ceremony.yaml", other.b, Options{Previous: other.dir})

	t.Run("key not extractable", func(t *testing.T) {
		_, err := run(t, "export-ceremony.yaml", plain.b, Options{Previous: plain.dir, ImportJob: job})
		if err == nil || !strings.Contains(err.Error(), "never meant to leave") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("import job expired", func(t *testing.T) {
		late := func() time.Time { return time.Now().Add(73 * time.Hour) }
		_, err := run(t, "export-ceremony.yaml", src.b, Options{Previous: src.dir, ImportJob: job, Clock: late})
		if err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("provider token expired", func(t *testing.T) {
		provider, _ := rsa.GenerateKey(rand.Reader, 3072)
		der, _ := x509.MarshalPKIXPublicKey(&provider.PublicKey)
		wk := filepath.Join(t.TempDir(), "wk.pem")
		os.WriteFile(wk, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
		s := edited(t, loadTestScript(t, "export-ceremony.yaml"), func(s *Script) { s.Export.Provider = "aws-kms" })
		err := start(t, s, filepath.Join(t.TempDir(), "x"), src.b, &scriptedUI{}, Options{Previous: src.dir, WrappingKey: wk, IssuedAt: time.Now().Add(-25 * time.Hour)})
		if err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("err = %v", err)
		}
	})
	importInto := func(t *testing.T, h hierarchy, jobDir, transferDir string) error {
		before := tokenObjects(t, h.b)
		_, err := run(t, "import-ceremony.yaml", h.b, Options{Previous: jobDir, Transfer: transferDir})
		if after := tokenObjects(t, h.b); len(after) != len(before) {
			t.Fatalf("a refused import changed the target: %d -> %d objects", len(before), len(after))
		}
		return err
	}
	t.Run("wrapped for another import job", func(t *testing.T) {
		if err := importInto(t, other, otherJob, exp); err == nil || !strings.Contains(err.Error(), "not for this import job") {
			t.Fatalf("err = %v", err)
		}
	})
	for name, damage := range map[string]func([]byte) []byte{
		"truncated": func(b []byte) []byte { return b[:len(b)-8] },
		"altered":   func(b []byte) []byte { b[len(b)-3] ^= 1; return b },
	} {
		t.Run("blob "+name, func(t *testing.T) {
			f := filepath.Join(exp, "export", "example-root-2026.transfer")
			orig, _ := os.ReadFile(f)
			os.WriteFile(f, damage(append([]byte(nil), orig...)), 0o644)
			defer os.WriteFile(f, orig, 0o644)
			if err := importInto(t, dst, job, exp); err == nil || !strings.Contains(err.Error(), "example-root-2026.transfer") {
				t.Fatalf("err = %v", err)
			}
		})
	}
	t.Run("target label taken", func(t *testing.T) {
		tok := openLoggedIn(t, dst.b)
		tok.GenerateKeyPair(hsm.KeySpec{Label: "example-root-2026", Algorithm: hsm.ECDSAP256})
		tok.Close()
		if err := importInto(t, dst, job, exp); err == nil || !strings.Contains(err.Error(), `already holds a key labelled "example-root-2026"`) {
			t.Fatalf("err = %v", err)
		}
	})
}

// makeDEKs puts n data-encryption keys on the token.
func makeDEKs(t testing.TB, b Binding, n int) {
	t.Helper()
	tok := openLoggedIn(t, b)
	defer tok.Close()
	claims, err := tok.ClaimLabels(n) // a search per key would make n keys O(n²) on SoftHSM
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := claims.GenerateDEK(hsm.DEKSpec{Label: fmt.Sprintf("dek-%05d", i), ID: []byte(fmt.Sprint(i)), Extractable: true}); err != nil {
			t.Fatal(err)
		}
		if claims.Due() || i == n-1 {
			if _, err := claims.Recheck(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func secretKeys(t *testing.T, b Binding) int {
	tok := openLoggedIn(t, b)
	defer tok.Close()
	ks, err := tok.SecretKeys("dek-")
	if err != nil {
		t.Fatal(err)
	}
	return len(ks)
}

// A migration interrupted after a key was moved but before it was recorded resumes, moves
// every key exactly once, and reconciles.
func TestMigrationResumesWithoutDuplicates(t *testing.T) {
	src := rootOn(t, "root-ceremony.yaml")
	makeDEKs(t, src.b, 40)
	target := freshToken(t)
	opt := Options{Previous: src.dir, Target: &target}
	dir := mustRun(t, "migrate-ceremony.yaml", src.b, opt)
	if n := secretKeys(t, target); n != 40 {
		t.Fatalf("target has %d keys", n)
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "reconciliation.csv"))
	if strings.Count(string(csv), ",true\n") != 40 {
		t.Fatalf("reconciliation:\n%s", csv)
	}

	// Again on fresh tokens, stopped by a crash: cut the transcript after 15 keys were recorded,
	// with a 16th already unwrapped on the target but never recorded.
	src2 := rootOn(t, "root-ceremony.yaml")
	makeDEKs(t, src2.b, 40)
	target2 := freshToken(t)
	opt2 := Options{Previous: src2.dir, Target: &target2}
	dir2 := mustRun(t, "migrate-ceremony.yaml", src2.b, opt2)
	os.Remove(filepath.Join(dir2, transcript.SealFileName))
	os.Remove(filepath.Join(dir2, "reconciliation.csv"))
	p := filepath.Join(dir2, transcript.FileName)
	data, _ := os.ReadFile(p)
	cut, seen := 0, 0
	for i, line := range strings.SplitAfter(string(data), "\n") {
		_ = i
		cut += len(line)
		if strings.Contains(line, `"event":"key.migrated"`) {
			if seen++; seen == 15 {
				break
			}
		}
	}
	os.WriteFile(p, data[:cut], 0o644)
	tok := openLoggedIn(t, target2)
	for i := 16; i < 40; i++ {
		tok.DestroyLabel(fmt.Sprintf("dek-%05d", i))
	}
	tok.Close()
	if err := resume(t, dir2, src2.b, &scriptedUI{}, opt2); err != nil {
		t.Fatal(err)
	}
	res := verified(t, dir2)
	moved := map[string]int{}
	found := 0
	for _, e := range res.Entries {
		if e.Event == "key.migrated" {
			var d map[string]string
			e.DecodeData(&d)
			moved[d["label"]]++
			if d["note"] != "" {
				found++
			}
		}
	}
	if len(moved) != 40 || found != 1 {
		t.Fatalf("%d keys recorded, %d found on the target", len(moved), found)
	}
	for l, n := range moved {
		if n != 1 {
			t.Fatalf("%s recorded %d times", l, n)
		}
	}
	if n := secretKeys(t, target2); n != 40 {
		t.Fatalf("target has %d keys after the resume", n)
	}
}

// A secret key (an AES data key) travels the same way, proved by its check value: into
// another HSM through its import job, and to AWS KMS as raw key bytes that Go can open.
func TestSecretKeyTransfer(t *testing.T) {
	src := rootOn(t, "root-ceremony.yaml")
	makeDEKs(t, src.b, 1) // dek-00000
	dst := rootOn(t, "region-root-ceremony.yaml")
	job := mustRun(t, "import-job-ceremony.yaml", dst.b, Options{Previous: dst.dir})
	export := func(provider, method string, opt Options) string {
		s := edited(t, loadTestScript(t, "export-ceremony.yaml"), func(s *Script) {
			s.ID = "export-dek-" + provider
			s.Export = &ExportConfig{Key: "dek-00000", Provider: provider, Method: method}
		})
		dir := filepath.Join(t.TempDir(), "export")
		opt.Previous = src.dir
		if err := start(t, s, dir, src.b, &scriptedUI{}, opt); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	exp := export("pkcs11", "", Options{ImportJob: job})
	_, meta, _, err := loadExport(exp)
	if err != nil || meta.KeyKind != "secret" || meta.KCV == "" || meta.KCVMethod != "AES-ECB" {
		t.Fatalf("export metadata %+v, %v", meta, err)
	}
	s := edited(t, loadTestScript(t, "import-ceremony.yaml"), func(s *Script) { s.Import.Label = "dek-00000" })
	imp := filepath.Join(t.TempDir(), "import")
	if err := start(t, s, imp, dst.b, &scriptedUI{}, Options{Previous: job, Transfer: exp}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(imp, transcript.FileName))
	if !strings.Contains(string(data), `"kcv":"`+meta.KCV+`"`) {
		t.Fatal("the import does not record the matching check value")
	}

	provider, _ := rsa.GenerateKey(rand.Reader, 3072)
	der, _ := x509.MarshalPKIXPublicKey(&provider.PublicKey)
	wk := filepath.Join(t.TempDir(), "wk.pem")
	os.WriteFile(wk, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	aws := export("aws-kms", "RSA_AES_KEY_WRAP_SHA_1", Options{WrappingKey: wk, IssuedAt: time.Now().Add(-time.Hour)})
	_, meta, blob, err := loadExport(aws)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := keywrap.UnwrapRSAAES(provider, transfer.HashOf(meta.OAEPHash), blob)
	if err != nil || len(raw) != 32 {
		t.Fatalf("Go cannot open the AWS export of a secret key: %v (%d bytes)", err, len(raw))
	}
	if kcv, _ := keycheck.Compute(raw, keycheck.MethodECB); kcv.Value != meta.KCV {
		t.Fatalf("key material check value %s, recorded %s", kcv.Value, meta.KCV)
	}
}
