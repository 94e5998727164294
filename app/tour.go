//go:build screenshots

package app

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The screenshot tour is built only with -tags screenshots (scripts/screenshots): it is not
// in the keyrite binary users run.

func init() {
	extras = append(extras, func(a *App) {
		if dir := os.Getenv("KEYRITE_SCREENSHOTS"); dir != "" {
			go a.screenshotTour(dir)
		}
	})
}

// screenshotTour walks a 2-of-3 rehearsal, as a person would, and saves the main screens into
// dir (KEYRITE_SCREENSHOTS=dir keyrite). It quits the app when done.
func (a *App) screenshotTour(dir string) {
	defer do(a.Fyne.Quit)
	fail := func(err error) { fmt.Fprintln(os.Stderr, "screenshots:", err) }
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
		return
	}
	shot := func(name string) {
		time.Sleep(400 * time.Millisecond) // let the frame settle
		if err := a.capture(filepath.Join(dir, name+".png")); err != nil {
			fail(err)
		}
	}
	out, _ := os.MkdirTemp("", "keyrite-tour-")
	doAndWait(func() {
		a.Start.Out.SetText(filepath.Join(out, "ceremony"))
	})
	shot("1-start")
	doAndWait(func() { a.Start.Review.OnTapped() })
	shot("2-review")
	doAndWait(func() { a.Review.Begin.OnTapped() })
	took := map[string]bool{}
	err := Drive(a, 2*time.Minute, func(moment string) {
		if !took[moment] {
			took[moment] = true
			shot(moment)
		}
	})
	if err != nil {
		fail(err)
		return
	}
	shot("7-sealed")
	doAndWait(func() { a.ShowVerify(a.Run.dir()) })
	time.Sleep(time.Second)
	shot("8-verify")
}
