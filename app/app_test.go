package app

import (
	"os/exec"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/keyrite/keyrite/hsm"
)

func TestStartListsRehearsalTokens(t *testing.T) {
	test.NewApp()
	dir := t.TempDir()
	r, err := hsm.PrepareRehearsal(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := hsm.Open(hsm.SoftHSMModule)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.EnsureToken(m, "gui-test-token"); err != nil {
		t.Fatal(err)
	}
	m.Close()
	s := NewStart(dir)
	if len(s.rows) != 1 || !strings.Contains(s.rows[0], `"gui-test-token" (SoftHSM project SoftHSM v2`) {
		t.Fatalf("rows %q", s.rows)
	}
	if !strings.Contains(s.Status.Text, "1 token(s)") {
		t.Fatalf("status %q", s.Status.Text)
	}
}

// Only app (and the main package that starts it) may depend on Fyne: the ceremony is plain Go
// that the CLI and tests drive too.
func TestOnlyAppImportsFyne(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(l, " ")
		if pkg == "github.com/keyrite/keyrite" || strings.HasPrefix(pkg, "github.com/keyrite/keyrite/app") {
			continue
		}
		if strings.Contains(" "+deps, " fyne.io/") {
			t.Errorf("%s depends on Fyne", pkg)
		}
	}
}
