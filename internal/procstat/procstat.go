// Package procstat reads the running process's memory figures from /proc/self/status (Linux),
// for the app's start-up probe and the benchmarks. Where the file or the field is missing, a
// figure is 0.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// KiB returns the field name of /proc/self/status ("VmRSS": resident now, "VmHWM": the peak)
// in KiB.
func KiB(name string) float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == name+":" && f[2] == "kB" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb
		}
	}
	return 0
}

// ResidentMB is the resident set now, in MB (10⁶ bytes).
func ResidentMB() float64 { return KiB("VmRSS") * 1024 / 1e6 }

// ResidentParts splits the resident set now into what only this process holds (anonymous
// memory: heaps, stacks, what the OpenGL driver allocates), the pages of files it maps (its
// executable and shared libraries: clean, shared through the page cache with every other
// process mapping the same file, and reclaimable without swap), and shared memory (an X
// server's image buffers), in MB.
func ResidentParts() (anon, file, shmem float64) {
	mb := func(name string) float64 { return KiB(name) * 1024 / 1e6 }
	return mb("RssAnon"), mb("RssFile"), mb("RssShmem")
}

// IdleLine is the start-up probes' report of the resident set (the app's under
// KEYRITE_STARTUP_PROBE, app/internal/blankwindow's): "idle RSS N MB" first, the form
// scripts/bench and scripts/startup-time read, then its parts.
func IdleLine() string {
	anon, file, shmem := ResidentParts()
	return fmt.Sprintf("idle RSS %.0f MB (anonymous %.0f MB, file-backed %.0f MB, shared memory %.0f MB)", ResidentMB(), anon, file, shmem)
}
