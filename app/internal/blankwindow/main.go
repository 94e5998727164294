// Command blankwindow is the baseline scripts/bench measures the app's start-up and idle
// memory against: Fyne's own cost, a window of the app's size holding one label, built with
// the same Fyne and run under the same X server. Keyrite's share is what the app adds to it.
// Like the app under KEYRITE_STARTUP_PROBE, it prints when its window was shown and its
// resident set after three seconds idle, then quits.
package main

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/internal/procstat"
	"github.com/keyrite/keyrite/internal/startclock"
)

var processStart = startclock.Start() // as the app's: from among the first package inits

func main() {
	a := app.NewWithID("dev.keyrite.blankwindow")
	w := a.NewWindow("Blank")
	w.Resize(fyne.NewSize(1024, 720))
	w.SetContent(widget.NewLabel("A blank window"))
	a.Lifecycle().SetOnStarted(func() {
		fmt.Printf("first window shown %.0f ms after process start\n", float64(time.Since(processStart).Microseconds())/1000)
		go func() {
			time.Sleep(3 * time.Second)
			fmt.Println(procstat.IdleLine())
			fyne.Do(a.Quit)
		}()
	})
	w.ShowAndRun()
}
