package cli

import (
	"runtime/debug"
	"testing"
)

// A ceremony command sets the collector's target to ceremonyGCPercent, unless GOGC is set.
func TestCeremonyCommandsCollectLess(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	lessGC()
	if got := debug.SetGCPercent(100); got != ceremonyGCPercent {
		t.Fatalf("GC percent after lessGC: %d, want %d", got, ceremonyGCPercent)
	}
	t.Setenv("GOGC", "50")
	debug.SetGCPercent(50)
	lessGC()
	if got := debug.SetGCPercent(100); got != 50 {
		t.Fatalf("GOGC=50 in the environment, GC percent after lessGC: %d", got)
	}
}
