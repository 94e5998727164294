package app

import (
	"fmt"
	"image/color"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/ceremony"
)

// orientation is what keeps the room oriented on every run screen: the header (the ceremony,
// REHEARSAL or PRODUCTION, step N of M, who must act now), the panel of long HSM work (what,
// for how long, do not power off), and the newest note. Its methods run on Fyne's goroutine
// (through do), except the elapsed-time ticker's own goroutine, which only calls do.
type orientation struct {
	Header   *fyne.Container
	Mode     *widget.Label // "REHEARSAL" or "PRODUCTION"
	Ceremony *widget.Label
	Step     *widget.Label // "Step N of M"
	Acting   *widget.Label // "Now: NAME (role)"
	Band     *canvas.Rectangle

	Work     *fyne.Container // shown while the HSM works
	WorkWhat *widget.Label
	Elapsed  *widget.Label
	PowerOff *widget.Label

	Note      *fyne.Container // the newest note, in the fixed panel (layout.go)
	NoteCount *widget.Label

	people map[string]string // name → role, from the script
	total  int               // steps counted in the header: the roll call and every step

	mu        sync.Mutex // guards what the ticker reads
	workSince time.Time
	working   bool
	now       func() time.Time
	notes     int
}

// The mode's colours: never the only signal (the word is always beside them).
var (
	rehearsalBlue  = color.NRGBA{R: 0x0d, G: 0x47, B: 0xa1, A: 0xff}
	productionRed  = color.NRGBA{R: 0xb7, G: 0x1c, B: 0x1c, A: 0xff}
	headerTextOnly = color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
)

// Mode words, as the header shows them.
const (
	ModeRehearsal  = "REHEARSAL"
	ModeProduction = "PRODUCTION"
)

// PowerOffWarning is shown beside every long HSM call.
const PowerOffWarning = "Do not power off or remove the token"

func newOrientation(a *App, p *plan, counter, actor *widget.Label) *orientation {
	o := &orientation{Step: counter, Acting: actor, people: map[string]string{}, now: time.Now}
	id := ""
	o.total = 1 // the roll call and the clock count as the first step
	if len(p.scripts) > 0 {
		s := p.scripts[0]
		id = s.ID
		for _, pt := range s.Participants {
			o.people[pt.Name] = pt.Role
		}
		o.total += len(s.StepTitles())
	}
	mode, band, where := ModeRehearsal, rehearsalBlue, "rehearsal token (SoftHSM2): proves the procedure, not a key"
	if p.real {
		mode, band, where = ModeProduction, productionRed, fmt.Sprintf("token %s", p.token)
	}
	o.Mode = widget.NewLabelWithStyle(mode, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	o.Mode.SizeName = theme.SizeNameSubHeadingText
	o.Ceremony = widget.NewLabel(fmt.Sprintf("Ceremony %s · %s", id, where))
	o.Ceremony.Truncation = fyne.TextTruncateEllipsis
	o.Step.TextStyle.Bold = true
	o.Step.SizeName = theme.SizeNameSubHeadingText
	o.Acting.TextStyle.Bold = true
	o.Acting.SizeName = theme.SizeNameSubHeadingText
	o.Acting.Truncation = fyne.TextTruncateEllipsis
	o.Band = canvas.NewRectangle(band)
	top := container.NewBorder(nil, nil, o.Mode, o.Step, o.Ceremony)
	o.Header = container.NewStack(o.Band, container.NewThemeOverride(
		container.NewVBox(top, o.Acting), &onBand{a.theme}))
	o.rollCall()

	o.WorkWhat = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	o.WorkWhat.Wrapping = fyne.TextWrapWord
	o.Elapsed = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true, Bold: true})
	o.PowerOff = widget.NewLabelWithStyle(PowerOffWarning, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	o.PowerOff.Importance = widget.DangerImportance
	o.NoteCount = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Italic: true})
	o.Note = container.NewVBox()
	return o
}

// onBand is the header's theme: white text on the mode's colour, whatever the variant.
type onBand struct{ fyne.Theme }

func (t *onBand) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if n == theme.ColorNameForeground {
		return headerTextOnly
	}
	return t.Theme.Color(n, v)
}

// rollCall is the header before the first step: the roll call and the clock are step 1.
func (o *orientation) rollCall() {
	o.Step.SetText(fmt.Sprintf("Step 1 of %d", o.total))
	o.Acting.SetText("Now: the roll call — each person named confirms they are present")
}

// show is the header for an engine step (its Number counts from 1 after the roll call).
func (o *orientation) show(s ceremony.Screen) {
	o.endWork()
	o.Step.SetText(fmt.Sprintf("Step %d of %d", s.Number+1, s.Total+1))
	o.Acting.SetText("Now: " + s.Actor)
}

// acting names the person who must act now; their role comes from the script.
func (o *orientation) acting(who, does string) {
	o.endWork()
	if role := o.people[who]; role != "" {
		who = fmt.Sprintf("%s (%s)", who, role)
	}
	o.Acting.SetText(fmt.Sprintf("Now: %s — %s", who, does))
}

// complete is the header once the ceremony is sealed.
func (o *orientation) complete(headline string) {
	o.endWork()
	o.Step.SetText(headline)
	o.Acting.SetText("Now: read the seal and the fingerprint aloud; witnesses compare them with the report")
}

// stopped is the header once the ceremony stopped or was aborted.
func (o *orientation) stopped() {
	o.endWork()
	o.Step.SetText("Stopped")
	o.Acting.SetText("Now: read what happened and what to do, below")
}

// work shows long HSM work: what, a bar when its size is known, the elapsed time (which the
// ticker keeps current) and the warning not to power off. A new what restarts the clock.
func (o *orientation) work(what string, done, total int, busy *widget.ProgressBarInfinite, bar *widget.ProgressBar) {
	o.mu.Lock()
	restart := !o.working || o.WorkWhat.Text != what
	if restart {
		o.workSince = o.now()
	}
	start := !o.working
	o.working = true
	o.mu.Unlock()
	o.WorkWhat.SetText(what)
	if total <= 0 {
		bar.Hide()
		busy.Show()
	} else {
		busy.Hide()
		bar.Max = float64(total)
		bar.SetValue(float64(done))
		bar.Show()
	}
	o.Acting.SetText("Now: wait — the HSM is working")
	o.tick()
	o.Work.Show()
	if start {
		go o.ticking()
	}
}

// endWork hides the work panel: the ceremony moved on.
func (o *orientation) endWork() {
	o.mu.Lock()
	o.working = false
	o.mu.Unlock()
	if o.Work != nil {
		o.Work.Hide()
	}
}

// tick shows the time since the work began.
func (o *orientation) tick() {
	o.mu.Lock()
	d := o.now().Sub(o.workSince).Round(time.Second)
	o.mu.Unlock()
	o.Elapsed.SetText(fmt.Sprintf("Elapsed %d:%02d", int(d.Minutes()), int(d.Seconds())%60))
}

// ticking updates the elapsed time every second while the work lasts.
func (o *orientation) ticking() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for range t.C {
		o.mu.Lock()
		working := o.working
		o.mu.Unlock()
		if !working {
			return
		}
		do(o.tick)
	}
}

// note shows the newest note in the fixed panel, its fingerprints and check values drawn
// large (figure.go).
func (o *orientation) note(text string) {
	o.notes++
	o.Note.Objects = noteObjects(text)
	o.Note.Refresh()
	o.NoteCount.SetText(fmt.Sprintf("Newest note (%d so far)", o.notes))
}

// doesFor says what a prompt asks of the person it names.
func doesFor(question string) string {
	switch {
	case strings.HasPrefix(question, "Roll call"):
		return "confirm you are present"
	case strings.HasPrefix(question, "Clock"):
		return "compare the clock"
	}
	return "answer the question below"
}
