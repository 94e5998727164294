package app

import (
	"runtime/debug"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
)

// The app's memory between ceremonies (docs/gui-memory.md). Fyne parses a set of font faces
// per text style and theme scope on first use — the theme's font, its colour emoji font and
// a system font for the language, about 8 MB a set — and keeps every set for as long as the
// app runs. The start screen draws two styles; a ceremony's screens add monospace, italic
// and bold monospace, and the header's own scope: after one ceremony some 30 MB more of
// faces stay live on a start screen that draws none of them, for as long as the laptop sits
// between ceremonies. The release below gives back about three quarters of what a ceremony's
// screens added (memory_test.go); the rest are the faces go-text's font map loaded from the
// system's fonts, which Fyne keeps for the life of the process.

// idleRelease is how long the start screen must stay shown, after another screen was,
// before the app drops the faces the other screens left behind.
var idleRelease = 10 * time.Second

// screens counts what the window shows, for the release: it runs only while the start
// screen shown last is still there and another screen was shown since the last release.
// Atomic: a test may show screens from its own goroutine while a release's timer looks.
type screens struct {
	shown      atomic.Uint64 // incremented by every show
	leftBehind atomic.Bool   // a screen other than the start screen was shown since the last release
	released   atomic.Uint64 // releases done; tests wait for one
}

// shownNow records that content is now on screen.
func (a *App) shownNow(content fyne.CanvasObject) {
	a.screens.shown.Add(1)
	if a.Start == nil || content != a.Start.Content {
		a.screens.leftBehind.Store(true)
	}
}

// releaseWhenIdle schedules the release for when the start screen, just shown, has stayed
// idle for idleRelease: Fyne's font and theme caches are dropped by applying the app's own
// theme again (what a window resize does, theme.go), so only the start screen's faces are
// parsed again as it is redrawn — the same pixels — and the freed heap goes back to the
// operating system a moment later.
func (a *App) releaseWhenIdle() {
	if !a.screens.leftBehind.Load() {
		return
	}
	gen := a.screens.shown.Load()
	time.AfterFunc(idleRelease, func() {
		if a.screens.shown.Load() != gen || fyne.CurrentApp() != a.Fyne {
			return // another screen since, or an app that is gone (tests)
		}
		do(func() {
			if a.screens.shown.Load() != gen || !a.screens.leftBehind.Swap(false) {
				return
			}
			a.Fyne.Settings().SetTheme(a.theme)
			a.screens.released.Add(1)
			go releaseMemory()
		})
	})
}

// releaseMemory gives the operating system back, once the screen has been drawn, the heap
// the app no longer needs — at start-up, that of parsing fonts and measuring the first screen
// (33 MB of heap, 19 MB live after it) — which Go's background scavenger would return only
// over minutes.
func releaseMemory() {
	time.Sleep(time.Second)
	debug.FreeOSMemory()
}
