package procstat

import (
	"regexp"
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

func TestResidentPartsAddUp(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/status is Linux's")
	}
	anon, file, shmem := ResidentParts()
	if anon <= 0 || file <= 0 || shmem < 0 {
		t.Fatalf("anonymous %v MB, file-backed %v MB, shared memory %v MB: want the first two > 0", anon, file, shmem)
	}
	// The kernel's RssAnon + RssFile + RssShmem is VmRSS; the two are read a moment apart.
	if sum, rss := anon+file+shmem, ResidentMB(); sum < rss*0.9 || sum > rss*1.1 {
		t.Fatalf("parts add up to %.1f MB, VmRSS is %.1f MB", sum, rss)
	}
	line := IdleLine()
	if !regexp.MustCompile(`^idle RSS [0-9]+ MB \(anonymous [0-9]+ MB, file-backed [0-9]+ MB, shared memory [0-9]+ MB\)$`).MatchString(line) {
		t.Fatalf("IdleLine() = %q", line)
	}
}
