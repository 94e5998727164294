package app

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/ceremony"
)

// Control at every moment. While a ceremony runs, a bar under the prompt offers:
//   - Pause: nothing is asked while paused (the prompt is set aside; the transcript, the notes
//     and the clock keep); Continue shows the prompt again, freshly (it settles again), in the
//     same run. A step already under way on the HSM finishes first. From the pause the room
//     may also stop the ceremony to resume later (RunScreen.Stop): the transcript stays
//     unsealed and the start screen resumes it, after a restart too.
//   - Abort…: a reason and the witness's initials; the engine closes an opened ceremony as
//     aborted and sealed with that reason (ceremony/abort.go). The abort is delivered to the
//     prompt on screen, or to the next one if the HSM is working.
// The stop and abort screens say what now exists on the HSM and on disk (ceremony.Aftermath)
// and what to do next.

// controls are the run screen's control bar and its two overlay cards.
type controls struct {
	ControlBar *fyne.Container
	Pause      *widget.Button
	Abort      *widget.Button

	PauseCard *fyne.Container
	Paused    *widget.Label
	Continue  *widget.Button
	StopHere  *widget.Button

	AbortCard    *fyne.Container
	AbortReason  *widget.Entry
	AbortWitness *widget.Entry
	AbortNow     *widget.Button
	AbortBack    *widget.Button

	overlay *fyne.Container // the pause or abort card covering the prompt, or nil
	under   *fyne.Container // the prompt the engine waits on, set aside by the overlay
	aborts  chan *ceremony.AbortRequest
}

// newControls builds the control bar and the pause and abort cards.
func (r *RunScreen) newControls() {
	r.aborts = make(chan *ceremony.AbortRequest, 1)
	r.Paused = widget.NewLabel("")
	r.Paused.Wrapping = fyne.TextWrapWord
	r.Continue = widget.NewButtonWithIcon("Continue the ceremony", theme.MediaPlayIcon(), r.closeOverlay)
	r.StopHere = widget.NewButtonWithIcon("Stop here, resume later", theme.MediaStopIcon(), func() {
		r.closeOverlay()
		r.Stop()
	})
	r.PauseCard = container.NewVBox(r.Paused, container.NewHBox(r.Continue, r.StopHere))

	r.AbortReason = widget.NewEntry()
	r.AbortReason.SetPlaceHolder("Why the ceremony is aborted (recorded in the transcript)")
	r.AbortWitness = widget.NewEntry()
	r.AbortNow = widget.NewButtonWithIcon("Abort the ceremony", theme.CancelIcon(), r.abortNow)
	r.AbortNow.Importance = widget.DangerImportance
	r.AbortWitness.OnSubmitted = func(string) { r.AbortNow.OnTapped() }
	r.AbortBack = widget.NewButtonWithIcon("Go back", theme.NavigateBackIcon(), r.closeOverlay)
	heading := widget.NewLabelWithStyle("Abort the ceremony", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	explain := widget.NewLabel("An opened ceremony is closed as aborted and its transcript sealed with this reason: it cannot be resumed. " +
		"Keys it created are destroyed if the administrator and the witness consent, or recorded as left on the token. Before the ceremony opens, nothing is written.")
	explain.Wrapping = fyne.TextWrapWord
	r.AbortCard = container.NewVBox(heading, explain, r.AbortReason, container.NewBorder(nil, nil, nil, container.NewHBox(r.AbortNow, r.AbortBack), r.AbortWitness))

	r.Pause = widget.NewButtonWithIcon("Pause", theme.MediaPauseIcon(), func() { r.openOverlay(r.PauseCard) })
	r.Abort = widget.NewButtonWithIcon("Abort…", theme.CancelIcon(), func() {
		r.AbortReason.SetText("")
		r.AbortWitness.SetText("")
		r.AbortWitness.SetPlaceHolder(fmt.Sprintf("witness %s: initials %s", r.witness(), initialsOf(r.witness())))
		r.openOverlay(r.AbortCard)
		r.a.Win.Canvas().Focus(r.AbortReason)
	})
	r.ControlBar = container.NewHBox(r.Pause, r.Abort)
	r.PauseCard.Hide()
	r.AbortCard.Hide()
}

// cards are the run screen's prompt cards and overlays, one visible at a time.
func (r *RunScreen) cards() []*fyne.Container {
	return []*fyne.Container{r.QuestionCard, r.SecretCard, r.RevealCard, r.AskCard, r.DoneCard, r.PauseCard, r.AbortCard}
}

// show makes one prompt card visible, or none; while an overlay is open the card waits
// under it.
func (r *RunScreen) show(card *fyne.Container) {
	r.a.Win.Canvas().Unfocus() // the focus leaves the card going away (no stale focus ring)
	r.under = card
	if r.overlay != nil {
		card = r.overlay
	}
	for _, c := range r.cards() {
		if c == card {
			c.Show()
		} else {
			c.Hide()
		}
	}
}

// openOverlay sets the prompt aside under the pause or abort card.
func (r *RunScreen) openOverlay(c *fyne.Container) {
	if !r.running.Load() {
		return
	}
	if c == r.PauseCard {
		r.Paused.SetText(fmt.Sprintf("Paused at %s UTC. Nothing is asked until you continue; a step already under way on the HSM finishes first. "+
			"The transcript, the notes and the clock keep. To stop for longer, stop here: the ceremony is resumed later from this screen or the start screen, after a restart too.",
			time.Now().UTC().Format("15:04:05")))
	}
	r.overlay = c
	r.ready = false // the prompt underneath takes no input until it is shown again
	r.show(r.under)
}

// closeOverlay shows the prompt again, freshly: it settles before it takes input.
func (r *RunScreen) closeOverlay() {
	r.overlay = nil
	r.show(r.under)
	if r.under != nil {
		r.arm(r.gen)
	}
}

// abortNow hands the room's abort to the engine, once the reason and the witness's initials
// are given.
func (r *RunScreen) abortNow() {
	w := r.witness()
	reason := strings.TrimSpace(r.AbortReason.Text)
	if reason == "" || !sameInitials(r.AbortWitness.Text, initialsOf(w)) {
		return
	}
	select {
	case r.aborts <- &ceremony.AbortRequest{Reason: reason, Witness: w}:
	default: // one abort is enough
	}
	r.Paused.SetText("")
	r.overlay = nil
	r.show(nil)
	r.orient.acting(w, "the ceremony is being aborted")
}

// aftermath says what the ceremony left on the HSM and on disk, for the stop and abort
// screens.
func (r *RunScreen) aftermath() string {
	af, err := ceremony.AftermathOf(r.p.out)
	if err != nil {
		return fmt.Sprintf("On disk: the transcript in %s could not be read (%v).", r.p.out, err)
	}
	return "On the HSM now:\n  " + strings.Join(af.OnHSM(), "\n  ") + "\n\nOn disk:\n  " + af.OnDisk()
}
