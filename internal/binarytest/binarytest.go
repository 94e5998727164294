// Package binarytest builds the keyrite binary for tests that check what it links, or run it
// as a user would. Only tests import it.
package binarytest

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Build builds the keyrite binary into a temporary folder of t and returns its path.
func Build(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "keyrite")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/keyrite/keyrite").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Symbols builds the keyrite binary and returns its symbol table (go tool nm), checked to
// hold known, a symbol it must have: a test that reads no symbols observes nothing.
func Symbols(t testing.TB, known string) string {
	t.Helper()
	nm, err := exec.Command("go", "tool", "nm", Build(t)).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	if !strings.Contains(string(nm), known) {
		t.Fatalf("the symbol table lacks %s: nm did not read the keyrite binary", known)
	}
	return string(nm)
}
