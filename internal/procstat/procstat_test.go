package procstat

import (
	"runtime"
	"testing"
)

func TestFigures(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/status is Linux's")
	}
	rss, peak := KiB("VmRSS"), KiB("VmHWM")
	if rss <= 0 || peak < rss {
		t.Fatalf("VmRSS %v KiB, VmHWM %v KiB: want 0 < VmRSS <= VmHWM", rss, peak)
	}
	if mb := ResidentMB(); mb < rss*1024/1e6*0.5 || mb > rss*1024/1e6*2 {
		t.Fatalf("ResidentMB %v, VmRSS %v KiB", mb, rss)
	}
	if KiB("NoSuchField") != 0 {
		t.Fatal("a missing field is not 0")
	}
}
