package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/internal/binarytest"
)

// The token ceremonies run from the command line on rehearsal tokens, as the README
// shows them: a root, a new token initialised, its user PIN changed, the token decommissioned;
// `keyrite verify` and the auditor's keyrite-verify verify the tree, and the inventory shows
// the token decommissioned. A second initialisation under the same label is refused by the
// pre-flight.
func TestTokenCeremoniesFromTheCommandLine(t *testing.T) {
	bin, work := binarytest.Build(t), t.TempDir()
	script := func(name string) string { return filepath.Join("..", "testdata", name+"-ceremony.yaml") }
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	rehearsal := []string{"--rehearsal", "--rehearsal-dir", filepath.Join(work, "store"), "--yes"}
	if log, err := runKeyrite(bin, work, append([]string{"run", abs(script("root")), "--out", "ev/1-root"}, rehearsal...)...); err != nil {
		t.Fatalf("root: %v\n%s", err, tail(log))
	}
	// `keyrite tokens` names the free slot; a slot that is not free is refused by the pre-flight.
	list, err := runKeyrite(bin, work, "tokens", "--rehearsal", "--rehearsal-dir", filepath.Join(work, "store"))
	slot := regexp.MustCompile(`token not initialised .*--init-slot (\d+)\)`).FindStringSubmatch(list)
	if err != nil || slot == nil {
		t.Fatalf("keyrite tokens: %v\n%s", err, list)
	}
	if log, err := runKeyrite(bin, work, append([]string{"run", abs(script("token-init")), "--previous", "ev/1-root", "--out", "ev/x", "--init-slot", "4242"}, rehearsal...)...); err == nil || !strings.Contains(log, "slot 4242 holds no uninitialised token") {
		t.Fatalf("--init-slot 4242: %v\n%s", err, tail(log))
	}
	steps := [][]string{
		{"run", abs(script("token-init")), "--previous", "ev/1-root", "--out", "ev/2-token-init", "--init-slot", slot[1]},
		{"run", abs(script("token-pin-change")), "--previous", "ev/2-token-init", "--out", "ev/3-pin-change"},
		{"run", abs(script("token-decommission")), "--previous", "ev/3-pin-change", "--out", "ev/4-decommission"},
	}
	for _, s := range steps {
		if log, err := runKeyrite(bin, work, append(s, rehearsal...)...); err != nil {
			t.Fatalf("keyrite %s: %v\n%s", strings.Join(s, " "), err, tail(log))
		}
	}
	if log, err := runKeyrite(bin, work, "verify", "ev"); err != nil || strings.Count(log, "Verified: ceremony") != 4 {
		t.Fatalf("keyrite verify: %v\n%s", err, tail(log))
	}
	verifier := filepath.Join(t.TempDir(), "keyrite-verify")
	build := exec.Command("go", "build", "-o", verifier, "../cmd/keyrite-verify")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 build: %v\n%s", err, out)
	}
	cmd := exec.Command(verifier, "ev")
	cmd.Dir = work
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "4-decommission: evidence-example-hsm-02-decommission.tar verified") {
		t.Fatalf("keyrite-verify: %v\n%s", err, out)
	}
	inv, err := runKeyrite(bin, work, "inventory", "ev")
	if err != nil || !strings.Contains(inv, "token example-hsm-02") || !strings.Contains(inv, "decommissioned since") || !strings.Contains(inv, "user PIN changed by Amara Okafor") {
		t.Fatalf("keyrite inventory: %v\n%s", err, inv)
	}
	if csv, err := runKeyrite(bin, work, "inventory", "--csv", "ev"); err != nil || !strings.Contains(csv, "TOKEN ") || !strings.Contains(csv, ",token,decommissioned,") {
		t.Fatalf("keyrite inventory --csv: %v\n%s", err, csv)
	}
	if js, err := runKeyrite(bin, work, "inventory", "--json", "ev"); err != nil || !strings.Contains(js, `"tokens": [`) || !strings.Contains(js, `"state": "decommissioned"`) {
		t.Fatalf("keyrite inventory --json: %v\n%s", err, js)
	}
	// The label is the store's already: a second initialisation is refused before anything.
	log, err := runKeyrite(bin, work, append([]string{"run", abs(script("token-init")), "--previous", "ev/1-root", "--out", "ev/5-again"}, rehearsal...)...)
	if err == nil || !strings.Contains(log, "pre-flight") || !strings.Contains(log, "example-hsm-02") {
		t.Fatalf("a second token-init under the same label: %v\n%s", err, tail(log))
	}
	if _, err := os.Stat(filepath.Join(work, "ev", "5-again")); !os.IsNotExist(err) {
		t.Fatalf("the refused ceremony left a folder: %v", err)
	}
}
