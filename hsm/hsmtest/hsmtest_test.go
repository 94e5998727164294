package hsmtest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/internal/binarytest"
)

// testOnly are the packages that exist for tests only; the keyrite binary must not contain them.
var testOnly = []string{"github.com/keyrite/keyrite/hsm/hsmtest", "github.com/keyrite/keyrite/hsm/keywrap"}

// The keyrite binary depends on no test-only package, and its symbol table holds none of
// their code: fault injection and the Go key-wrap checker never ship.
func TestNotInTheProductionBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/keyrite/keyrite").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !contains(deps, "github.com/keyrite/keyrite/hsm") {
		t.Fatalf("go list -deps does not list hsm: it cannot be the keyrite binary's list:\n%s", out)
	}
	for _, p := range testOnly {
		if contains(deps, p) {
			t.Errorf("the keyrite binary depends on %s", p)
		}
	}
	syms := binarytest.Symbols(t, "github.com/keyrite/keyrite/hsm.Open")
	for _, bad := range append(testOnly, "faulty", "WithFaults", "WithSeam", "UnwrapRSAAES") {
		for _, line := range strings.Split(syms, "\n") {
			if strings.Contains(line, bad) {
				t.Errorf("the keyrite binary holds %q: %s", bad, strings.TrimSpace(line))
				break
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
