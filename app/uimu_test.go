package app

import "sync"

// uiMu serialises UI work in tests: Fyne's test driver runs fyne.Do on the caller's
// goroutine, where the engine's and a test's would race.
var uiMu sync.Mutex

func init() {
	onUI = func(fn func()) func() { return func() { uiMu.Lock(); defer uiMu.Unlock(); fn() } }
}
