// Package startclock says when this process started, for the cold-start probe
// (KEYRITE_STARTUP_PROBE), and hands that time on when ./keyrite replaces itself with the
// desktop app (main_front.go), so the app's first-window time counts keyrite's start-up too.
//
// Go runs every package's initialisation before main, in import-path order among the packages
// whose imports are done (the Go spec, "Package initialization"). This package imports only the
// standard library, so it is ready at once and its clock is read right after the standard
// library's inits: about 2 ms after the Go runtime starts in keyrite-cli (GODEBUG=inittrace=1),
// before zlint's. A package of the app's would read it only after Fyne's
// and zlint's inits, 15 ms or more later. What comes before (exec, the dynamic loader, the
// runtime's start, about 0.5 ms here) is not counted.
package startclock

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// Env is the cold-start probe's variable: set (to anything) it makes the app print when its
// first window showed and its idle memory, then quit. Handover puts a start time in it.
const Env = "KEYRITE_STARTUP_PROBE"

const prefix = "started-unix-ns="

var start = time.Now()

// Start is when this process started: the time handed over in Env by the process this one
// replaced (Handover), or else this package's initialisation.
func Start() time.Time {
	v, ok := strings.CutPrefix(os.Getenv(Env), prefix)
	if !ok {
		return start
	}
	ns, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return start
	}
	// A handed-over time is earlier than this process's own start, and not by much: a value
	// outside that is not a handover from a process this one replaced a moment ago.
	t := time.Unix(0, ns)
	if t.After(start) || start.Sub(t) > time.Minute {
		return start
	}
	return t
}

// Handover returns env for a process that replaces this one (syscall.Exec): when the probe is
// on (Env set), its value becomes this process's Start, which the new process's Start then
// returns; otherwise env unchanged.
func Handover(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.HasPrefix(kv, Env+"=") {
			kv = Env + "=" + prefix + strconv.FormatInt(Start().UnixNano(), 10)
		}
		out = append(out, kv)
	}
	return out
}
