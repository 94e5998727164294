package app

import (
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// show puts a screen in the window, inside the frame that draws the focus ring above it.
// Every screen is shown through it.
func (a *App) show(content fyne.CanvasObject) {
	if a.ring == nil {
		a.ring = canvas.NewRectangle(color.Transparent)
		a.ring.StrokeColor = focusAmber
		a.ring.Hide()
		a.ringLayer = container.NewWithoutLayout(a.ring)
	}
	a.ring.Hide()
	a.Win.SetContent(container.NewStack(content, a.ringLayer))
	a.shownNow(content)
}

// ringWidth is the focus ring's stroke, in Fyne units at factor 1.
const ringWidth = 4

// watch keeps the window fit for the room: the theme's factor follows the window's size
// (theme.go), and a thick amber ring surrounds the focused widget, so a keyboard-only user
// always sees where Space and Enter will act. It runs on Fyne's goroutine: Run calls it ten
// times a second, tests call it directly.
func (a *App) watch() {
	if f := scaleFor(a.Win.Canvas().Size()); a.theme.setFactor(f) {
		a.Fyne.Settings().SetTheme(a.theme) // re-lays every widget at the new sizes
	}
	if a.ring == nil {
		return
	}
	focused, ok := a.Win.Canvas().Focused().(fyne.CanvasObject)
	if !ok || focused == nil || !focused.Visible() {
		if a.ring.Visible() {
			a.ring.Hide()
		}
		return
	}
	d := a.Fyne.Driver()
	f := a.theme.Factor()
	out := 3 * f // the ring sits just outside the widget
	pos := d.AbsolutePositionForObject(focused).Subtract(d.AbsolutePositionForObject(a.ringLayer)).SubtractXY(out, out)
	size := focused.Size().AddWidthHeight(2*out, 2*out)
	if a.ring.Visible() && a.ring.Position() == pos && a.ring.Size() == size && a.ring.StrokeWidth == ringWidth*f {
		return // unchanged: an idle window is not redrawn ten times a second
	}
	a.ring.StrokeWidth = ringWidth * f
	a.ring.CornerRadius = 4 * f
	a.ring.Move(pos)
	a.ring.Resize(size)
	a.ring.Show()
	a.ring.Refresh()
}

// watching runs watch until the app quits.
func (a *App) watching() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for range t.C {
		do(a.watch)
	}
}

// layout arranges the run screen so that nothing the room needs is ever out of sight or
// covered, from 1024×768 to 4K (layout_test.go):
//
//	┌ header: REHEARSAL/PRODUCTION · ceremony · step N of M · who must act now ───────┐
//	│ step title                                                 │ transcript          │
//	│ scrolls when long: explanation, long HSM work, figures     │ (records, newest    │
//	│ the question or prompt: fixed, always in view              │  in view)           │
//	│ the newest note: fixed, always in view                     │                     │
//	└────────────────────────────────────────────────────────────┴─────────────────────┘
//
// The note panel is never taller than 40% of the window (it scrolls inside); the prompt and
// the note are separate regions of a box below the scrolling part: they cannot overlap.
func (r *RunScreen) layout(prompt fyne.CanvasObject) fyne.CanvasObject {
	o := r.orient
	o.Work = container.NewVBox(o.WorkWhat, r.Busy, r.Bar, container.NewHBox(o.Elapsed, o.PowerOff))
	o.Work.Hide()
	r.figures = container.NewVBox()
	body := container.NewVBox(r.Explain, o.Work, r.figures)
	notes := container.NewBorder(o.NoteCount, nil, nil, nil, o.Note)
	notePanel := &capped{content: container.NewVScroll(notes), frac: 0.4}
	r.NotePanel = container.New(notePanel, notePanel.content)
	bottom := container.NewVBox(widget.NewSeparator(), container.NewPadded(prompt), widget.NewSeparator(), container.NewPadded(r.NotePanel))
	step := container.NewBorder(container.NewPadded(r.Title), bottom, nil, nil, container.NewVScroll(container.NewPadded(body)))
	side := container.NewBorder(widget.NewLabelWithStyle("Transcript", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil, r.Records)
	split := container.NewHSplit(step, container.NewPadded(side))
	split.Offset = 0.7
	return container.NewBorder(container.NewPadded(o.Header), nil, nil, nil, split)
}

// capped is a layout for one scrolling child: as tall as the child wants, but never more than
// frac of the window's height, so the region above keeps its room.
type capped struct {
	content *container.Scroll
	frac    float32
}

func (c *capped) MinSize([]fyne.CanvasObject) fyne.Size {
	want := c.content.Content.MinSize()
	limit := 768 * c.frac
	if cv := fyne.CurrentApp().Driver().CanvasForObject(c.content); cv != nil && cv.Size().Height > 0 {
		limit = cv.Size().Height * c.frac
	}
	return fyne.NewSize(c.content.MinSize().Width, min(want.Height, limit))
}

func (c *capped) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}
