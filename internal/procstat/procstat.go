// Package procstat reads the running process's memory figures from /proc/self/status (Linux),
// for the app's start-up probe and the benchmarks. Where the file or the field is missing, a
// figure is 0.
package procstat

import (
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
