package app

import (
	"image"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"fyne.io/fyne/v2"
)

// liveHeapMB is the Go heap still reachable, in MB.
func liveHeapMB() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / 1e6
}

// Back on the start screen after a ceremony's screen, the app left idle gives back the font
// faces the other screens parsed (memory.go) and draws the same pixels; a screen shown before
// the wait ends keeps everything.
func TestStartScreenGivesBackWhatOtherScreensParsed(t *testing.T) {
	defer func(d time.Duration) { idleRelease = d }(idleRelease)
	idleRelease = 100 * time.Millisecond
	a := newTestApp(t)
	size := fyne.NewSize(1024, 768)
	out := filepath.Join(t.TempDir(), "ceremony")
	var before, after image.Image
	doAndWait(func() {
		a.Win.Resize(size)
		a.Start.Out.SetText(out)
		before = a.Win.Canvas().Capture()
	})
	atStart := liveHeapMB()
	// The run screen draws every style the app uses and has the header's own theme scope.
	busy := func() {
		var r *RunScreen
		doAndWait(func() { r = runScreenFor(t, a, size) })
		busyRunScreen(r) // takes the UI lock itself
		doAndWait(func() { a.Win.Canvas().Capture() })
	}
	busy()
	afterRun := liveHeapMB()
	if afterRun-atStart < 10 {
		t.Fatalf("the run screen added %.1f MB of heap (%.1f -> %.1f): the test no longer shows faces being left behind", afterRun-atStart, atStart, afterRun)
	}

	// Another screen before the wait ends: nothing is released.
	doAndWait(func() { a.ShowStart() })
	busy()
	time.Sleep(5 * idleRelease)
	if n := a.screens.released.Load(); n != 0 {
		t.Fatalf("%d releases while the run screen was shown", n)
	}

	doAndWait(func() {
		a.ShowStart()
		a.Start.Out.SetText(out)
	})
	for deadline := time.Now().Add(30 * time.Second); a.screens.released.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the idle start screen gave nothing back")
		}
	}
	time.Sleep(200 * time.Millisecond) // the theme applied again: the window is re-laid
	doAndWait(func() { after = a.Win.Canvas().Capture() })
	released := liveHeapMB()
	t.Logf("live heap: start screen %.1f MB, after the run screen %.1f MB, start screen after the release %.1f MB", atStart, afterRun, released)
	// Fyne's caches are dropped; the faces go-text's font map loaded from the system's fonts
	// (a fallback face per style, and fonts for the Cyrillic names) stay with it, as Fyne
	// never lets them go: about 10 of the ~38 MB the run screen added.
	if added, back := afterRun-atStart, afterRun-released; back < added/2 {
		t.Errorf("the run screen added %.1f MB of heap, the release gave back %.1f MB", added, back)
	}
	if !samePixels(before, after) {
		t.Error("the start screen draws differently after the release")
	}
	if n := a.screens.released.Load(); n != 1 {
		t.Errorf("%d releases, want 1", n)
	}
}

func samePixels(x, y image.Image) bool {
	if x.Bounds() != y.Bounds() {
		return false
	}
	b := x.Bounds()
	for py := b.Min.Y; py < b.Max.Y; py++ {
		for px := b.Min.X; px < b.Max.X; px++ {
			if x.At(px, py) != y.At(px, py) {
				return false
			}
		}
	}
	return true
}
