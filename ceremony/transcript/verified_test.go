package transcript

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// copyFolder copies the regular files of dir into a new temporary folder.
func copyFolder(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// A process verifies a ceremony's root, signer chain and seal once: verified again, the same
// bytes are not checked again; a seal whose signature changed after the first verification
// passed is checked, and refused.
func TestVerifyChecksEachSignatureOnce(t *testing.T) {
	dir := copyFolder(t, "../../testdata/compat/v2/root")
	verified.Clear()
	n := checks.Load()
	if _, err := Verify(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := checks.Load() - n; got != 3 {
		t.Fatalf("the first verification ran %d checks, want 3 (root, chain, seal)", got)
	}
	n = checks.Load()
	if _, err := Verify(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := checks.Load() - n; got != 0 {
		t.Fatalf("the same ceremony verified again ran %d checks", got)
	}
	seal, err := os.ReadFile(filepath.Join(dir, SealFileName))
	if err != nil {
		t.Fatal(err)
	}
	// The signature line ends "— NAME BASE64": change one character of the base64.
	i := bytes.LastIndexByte(bytes.TrimRight(seal, "\n"), ' ') + 8
	seal[i] ^= 'A' ^ 'B'
	if seal[i] == '\n' || seal[i] == ' ' {
		t.Fatal("the test changed the wrong byte")
	}
	if err := os.WriteFile(filepath.Join(dir, SealFileName), seal, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(dir, Options{}); err == nil {
		t.Fatal("a seal whose signature was changed verified after the first one had")
	}
}
