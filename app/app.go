// Package app is Keyrite's desktop GUI (Fyne). It is the only package that imports Fyne: it
// drives the same ceremony engine as the command line through the ceremony.UI port, and every
// HSM call runs off the UI goroutine. The app never touches the network, never puts a secret
// on the clipboard, and refuses to capture its own window while a share is visible.
//
// Every run screen keeps the room oriented (header.go, layout.go): REHEARSAL or PRODUCTION in
// word and colour, the ceremony, step N of M and who must act now; long HSM work named, timed
// and with "do not power off"; the newest note always in view, never over the question; the
// values read aloud drawn large and grouped as the report prints them (figure.go). Every screen
// fits 1024×768 and the text grows on larger windows (theme.go); the focus has a thick amber
// ring. A script whose text the app cannot draw on this computer is refused before the review
// (theme_text.go).
package app

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"

	"github.com/keyrite/keyrite/assets"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/internal/procstat"
	"github.com/keyrite/keyrite/internal/startclock"
)

// AppID is the Fyne application ID, as in FyneApp.toml.
const AppID = "dev.keyrite.app"

// processStart is when the process started, for the cold-start probe: when ./keyrite started
// the app, when that started (package startclock).
var processStart = startclock.Start()

// onUI wraps what do and doAndWait run on Fyne's goroutine. The real driver runs them one at
// a time there; the tests (uimu_test.go) serialise them with a lock, because Fyne's test
// driver runs them on the caller's goroutine.
var onUI = func(fn func()) func() { return fn }

// do runs fn on the UI goroutine, as fyne.Do does.
func do(fn func()) { fyne.Do(onUI(fn)) }

// doAndWait is do, waiting for fn to finish. It must not be called from the UI goroutine.
func doAndWait(fn func()) { fyne.DoAndWait(onUI(fn)) }

// extras run beside the main window once it is built: the screenshot tour, in a build with
// the screenshots tag. A production build has none.
var extras []func(*App)

// App is the main window and its screens.
type App struct {
	Fyne         fyne.App
	Win          fyne.Window
	Examples     map[string][]byte
	RehearsalDir string
	Start        *Start
	Review       *Review
	Run          *RunScreen
	Verify       *VerifyScreen
	Inventory    *InventoryScreen // made when first shown (inventory.go)
	// Opener opens a file with the desktop's program for it (Fyne's OpenURL, xdg-open on
	// Linux); tests replace it.
	Opener func(*url.URL) error
	// OpenModule loads the PKCS#11 module a ceremony runs on (hsm.Open); tests replace it
	// to trace the calls a ceremony makes.
	OpenModule func(path string) (*hsm.Module, error)

	screens   screens           // what was shown, for giving memory back (memory.go)
	theme     *roomTheme        // sizes follow the window; the focus is amber (theme.go)
	ring      *canvas.Rectangle // the focus ring above every screen (layout.go)
	ringLayer *fyne.Container
}

// Run opens the main window and blocks until it is closed. examples are the example scripts
// by name ("root", "root-quorum", "restore").
func Run(examples map[string][]byte) error {
	fa := fyneapp.NewWithID(AppID)
	fa.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon))
	a := New(fa, examples, hsm.DefaultRehearsalDir())
	probe := os.Getenv("KEYRITE_STARTUP_PROBE") != ""
	fa.Lifecycle().SetOnStarted(func() {
		go releaseMemory() // the heap of parsing fonts and measuring the first screen
		if !probe {
			return
		}
		fmt.Printf("first window shown %.0f ms after process start\n", float64(time.Since(processStart).Microseconds())/1000)
		go func() {
			time.Sleep(3 * time.Second) // idle on the start screen
			fmt.Println(procstat.IdleLine())
			do(fa.Quit)
		}()
	})
	go a.watching()
	for _, x := range extras {
		x(a)
	}
	askNoDepthOrStencilBuffer()
	a.Win.ShowAndRun()
	return nil
}

// New builds the app on a Fyne app (the real one, or fyne.io/fyne/v2/test's).
func New(fa fyne.App, examples map[string][]byte, rehearsalDir string) *App {
	a := &App{Fyne: fa, Examples: examples, RehearsalDir: rehearsalDir, OpenModule: hsm.Open}
	a.theme = newRoomTheme(theme.DefaultTheme())
	fa.Settings().SetTheme(a.theme)
	a.Win = fa.NewWindow("Keyrite — HSM key ceremonies")
	a.Win.Resize(defaultWindowSize)
	a.Start = newStart(a)
	a.Verify = newVerifyScreen(a)
	a.ShowStart()
	return a
}

// ShowStart shows the start screen.
func (a *App) ShowStart() {
	a.Start.refreshRecent()
	a.show(a.Start.Content)
	a.releaseWhenIdle()
}

// showError tells the user what happened and what to do.
func (a *App) showError(what string, err error) {
	dialog.ShowError(fmt.Errorf("%s: %w", what, err), a.Win)
}

// openFile opens path with the desktop's program for it. Where there is none (an air-gapped
// laptop often has no PDF viewer set up), it says plainly where the file is instead of
// showing the opener's raw error, and returns what it said ("" when the file opened).
func (a *App) openFile(path string) string {
	open := a.Opener
	if open == nil {
		open = a.Fyne.OpenURL
	}
	err := open(&url.URL{Scheme: "file", Path: path})
	if err == nil {
		return ""
	}
	msg := fmt.Sprintf("This computer has no program set up to open %s, so Keyrite cannot show it here.\n\n"+
		"The file is:\n%s\n\nOpen it with any PDF viewer, or copy it to the machine that prints the paper record.\n\n(The desktop said: %v)",
		filepath.Ext(path), path, err)
	dialog.ShowInformation("The file is saved", msg, a.Win)
	return msg
}

// recent ceremonies are kept in the app's preferences.
const recentKey = "recent-ceremonies"

func (a *App) rememberCeremony(dir string) {
	list := a.Fyne.Preferences().StringList(recentKey)
	out := []string{dir}
	for _, d := range list {
		if d != dir && len(out) < 10 {
			out = append(out, d)
		}
	}
	a.Fyne.Preferences().SetStringList(recentKey, out)
}
