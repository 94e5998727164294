// Command blankwindow is the baseline scripts/bench measures the app's start-up and idle
// memory against: Fyne's own cost, a window of the app's size holding one label, built with
// the same Fyne and run under the same X server. Keyrite's share is what the app adds to it.
// Like the app under KEYRITE_STARTUP_PROBE, it prints when its window was shown and its
// resident set after two seconds idle, then quits.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
)

var processStart = time.Now()

func main() {
	a := app.NewWithID("dev.keyrite.blankwindow")
	w := a.NewWindow("Blank")
	w.Resize(fyne.NewSize(1024, 720))
	w.SetContent(widget.NewLabel("A blank window"))
	a.Lifecycle().SetOnStarted(func() {
		fmt.Printf("first window shown %.0f ms after process start\n", float64(time.Since(processStart).Microseconds())/1000)
		go func() {
			time.Sleep(2 * time.Second)
			fmt.Printf("idle RSS %.0f MB\n", residentMB())
			fyne.Do(a.Quit)
		}()
	})
	w.ShowAndRun()
}

// residentMB is the process's resident set (VmRSS), in MB.
func residentMB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024 / 1e6
		}
	}
	return 0
}
