package app

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The keyrite binary holds no test-only GUI code: the screenshot tour (build tag screenshots),
// the driver that plays the room and the window capture are not linked, and no test lock
// serialises the UI.
func TestTourNotInTheProductionBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the keyrite binary; the full tier (scripts/test) runs it")
	}
	bin := filepath.Join(t.TempDir(), "keyrite")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/keyrite/keyrite").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	nm, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	syms := string(nm)
	if !strings.Contains(syms, "github.com/keyrite/keyrite/app.Run") {
		t.Fatal("the symbol table lacks app.Run: nm did not read the keyrite binary")
	}
	for _, bad := range []string{"keyrite/app.Drive", "keyrite/app.(*App).capture", "keyrite/app.(*App).screenshotTour", "keyrite/app.custodianIn", "keyrite/app.uiMu"} {
		if strings.Contains(syms, bad) {
			t.Errorf("the keyrite binary holds %s", bad)
		}
	}
}
