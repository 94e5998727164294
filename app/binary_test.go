package app

import (
	"strings"
	"testing"

	"github.com/keyrite/keyrite/internal/binarytest"
)

// The keyrite binary holds no test-only GUI code: the screenshot tour (build tag screenshots),
// the driver that plays the room and the window capture are not linked, and no test lock
// serialises the UI.
func TestTourNotInTheProductionBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the keyrite binary; the full tier (scripts/test) runs it")
	}
	syms := binarytest.Symbols(t, "github.com/keyrite/keyrite/app.Run")
	for _, bad := range []string{"keyrite/app.Drive", "keyrite/app.Begin", "keyrite/app.RunCeremony", "keyrite/app.(*App).capture", "keyrite/app.(*App).screenshotTour", "keyrite/app.custodianIn", "keyrite/app.uiMu"} {
		if strings.Contains(syms, bad) {
			t.Errorf("the keyrite binary holds %s", bad)
		}
	}
}
