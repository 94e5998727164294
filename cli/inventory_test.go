package cli

import (
	"encoding/csv"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// keyrite inventory reads a nested tree (the compatibility fixtures of two versions side by
// side, whose ceremonies share IDs and labels) as text, --json and --csv; a tree without a
// ceremony, or both formats at once, is refused with what to do.
func TestInventoryFormats(t *testing.T) {
	tree := t.TempDir()
	if out, err := exec.Command("cp", "-r", filepath.Join("..", "testdata", "compat", "v1"), filepath.Join("..", "testdata", "compat", "v2"), tree).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	code, text, stderr := keyrite(t, "", "inventory", tree)
	if code != 0 || !strings.HasPrefix(text, "10 keys\n") || strings.Contains(text, "could not be verified") {
		t.Fatalf("text: exit %d\n%s\n%s", code, text, stderr)
	}
	code, js, stderr := keyrite(t, "", "inventory", "--json", tree)
	var inv struct {
		Keys []struct {
			Identity string `json:"identity"`
			State    string `json:"state"`
			Copies   []struct {
				Token string `json:"token_serial"`
			} `json:"copies"`
		} `json:"keys"`
	}
	if code != 0 || json.Unmarshal([]byte(js), &inv) != nil || len(inv.Keys) != 10 {
		t.Fatalf("--json: exit %d %s\n%s", code, stderr, js)
	}
	for _, k := range inv.Keys {
		if !strings.HasPrefix(k.Identity, "SPKI SHA-256 ") || k.State != "active" || len(k.Copies) == 0 {
			t.Errorf("--json key %+v", k)
		}
	}
	code, cs, stderr := keyrite(t, "", "inventory", tree, "--csv")
	rows, err := csv.NewReader(strings.NewReader(cs)).ReadAll()
	if code != 0 || err != nil || len(rows) < 11 || rows[0][0] != "identity" || rows[0][len(rows[0])-1] != "what" {
		t.Fatalf("--csv: exit %d %v %s\n%s", code, err, stderr, cs)
	}
	if code, _, stderr := keyrite(t, "", "inventory", "--json", "--csv", tree); code == 0 || !strings.Contains(stderr, "usage: keyrite inventory") {
		t.Fatalf("both formats: exit %d %s", code, stderr)
	}
	if code, _, stderr := keyrite(t, "", "inventory", t.TempDir()); code == 0 || !strings.Contains(stderr, "holds no ceremony folder") {
		t.Fatalf("an empty folder: exit %d %s", code, stderr)
	}
}
