package cli

import (
	"os"
	"runtime/debug"
)

// ceremonyGCPercent is the Go collector's target for a ceremony command (run, resume,
// rehearse): the heap may grow to five times what is live before a collection. Such a
// command is one short process whose live heap stays small (the transcript is streamed, the
// report rendered once), and at Go's default (100) collecting took 10–17 ms of a root
// rehearsal's CPU. At 400 a root rehearsal's peak RSS stays where it was (47–48 MiB against
// 48–50 MiB at 100, the command-line build, four runs each). A GOGC set in the environment is
// the user's and is kept.
const ceremonyGCPercent = 400

// lessGC sets the collector's target for a ceremony command, unless GOGC is set.
func lessGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(ceremonyGCPercent)
	}
}
