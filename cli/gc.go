package cli

import (
	"os"
	"runtime/debug"
)

// ceremonyGCPercent is the Go collector's target for a ceremony command (run, resume,
// rehearse): the heap may grow to five times what is live before a collection. Such a
// command is one short process whose live heap stays small (the transcript is streamed, the
// report rendered once), and at Go's default (100) collecting took 10–17 ms of a root
// rehearsal's ~280 ms of CPU; at 400 its peak RSS grows by about 4 MiB (58 → 62 MiB,
// docs/benchmarks.md). A GOGC set in the environment is the user's and is kept.
const ceremonyGCPercent = 400

// lessGC sets the collector's target for a ceremony command, unless GOGC is set.
func lessGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(ceremonyGCPercent)
	}
}
