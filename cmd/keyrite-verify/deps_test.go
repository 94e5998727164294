package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoRenderer: the auditor's verifier links no PDF renderer, GUI, PKCS#11 or linter
// code, and builds without cgo.
func TestLinksNoRenderer(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 || !strings.Contains(string(out), "github.com/keyrite/keyrite/evidence") {
		t.Fatalf("go list -deps printed %d packages, not the verifier's dependencies:\n%s", len(deps), out)
	}
	for _, d := range deps {
		for _, banned := range []string{"fpdf", "fyne", "miekg/pkcs11", "zlint", "barcode", "keyrite/reports", "keyrite/hsm", "keyrite/app"} {
			if strings.Contains(d, banned) {
				t.Errorf("keyrite-verify depends on %s (%s is banned: the evidence layer is renderer-free)", d, banned)
			}
		}
	}
	build := exec.Command("go", "build", "-o", os.DevNull, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
}
