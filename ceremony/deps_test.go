package ceremony

import (
	"os/exec"
	"strings"
	"testing"
)

// The engine renders nothing itself: share sheets and the report come through Options
// (ShareSheet, AfterSeal), so ceremony depends on no PDF renderer, no reports package and no
// UI toolkit (only reports/fonts, which says whether the PDFs' fonts can draw a string).
func TestEngineRendersNothing(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !contains(deps, "github.com/keyrite/keyrite/ceremony/transcript") {
		t.Fatalf("go list -deps does not list the transcript package: it is not ceremony's list:\n%s", out)
	}
	for _, d := range deps {
		// reports/fonts, the check that every renderer can draw a string, is a leaf the
		// pre-flight uses; the reports package itself renders.
		if d == "github.com/keyrite/keyrite/reports" {
			t.Errorf("ceremony depends on %s", d)
		}
		for _, bad := range []string{"github.com/go-pdf/fpdf", "fyne.io/", "golang.org/x/term"} {
			if strings.HasPrefix(d, bad) {
				t.Errorf("ceremony depends on %s", d)
			}
		}
	}
}
