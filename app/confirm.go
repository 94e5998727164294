package app

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"golang.org/x/text/unicode/norm"

	"github.com/keyrite/keyrite/ceremony"
)

// Deliberate confirmation. A confirmation is the named person's act: they type their
// initials, derived from their name as the script spells it (case and accents do not matter;
// the screen shows what to type), then press Enter or Confirm. No affirmative button ever has
// the focus a prompt opens with: the initials field has it, and it is empty. A prompt's
// controls ignore every input until it has been on screen for settle (the entry and the
// buttons are disabled meanwhile), and an answer belongs to the prompt it was given on (its
// generation): a key pressed twice, or an answer that arrives late, can never confirm the
// next question.

// settle is how long a freshly shown prompt ignores input: longer than a double press or a
// key's auto-repeat delay, short enough that nobody waits for it.
const settle = 250 * time.Millisecond

// initialsOf derives a person's initials from their name: the first letter of each word,
// upper case ("Zoë Ångström" → "ZÅ", "Ирина Смирнова" → "ИС").
func initialsOf(name string) string {
	var b strings.Builder
	for _, w := range strings.Fields(name) {
		for _, c := range w {
			if unicode.IsLetter(c) {
				b.WriteRune(unicode.ToUpper(c))
				break
			}
		}
	}
	if b.Len() == 0 {
		return strings.ToUpper(strings.TrimSpace(name))
	}
	return b.String()
}

// sameInitials compares what was typed with the initials asked for: upper case, without
// accents, spaces or dots, so "za", "Z. Å." and "ZA" all match "ZÅ".
func sameInitials(typed, want string) bool {
	fold := func(s string) string {
		var b strings.Builder
		for _, c := range norm.NFD.String(s) {
			if unicode.IsLetter(c) {
				b.WriteRune(unicode.ToUpper(c))
			}
		}
		return b.String()
	}
	w := fold(want)
	return w != "" && fold(typed) == w
}

// confirmation is the question card's state: who must confirm, and the exception row.
type confirmation struct {
	// GateBanner heads an "about to" gate: what follows has not happened yet.
	GateBanner *widget.Label
	// InitialsFor says who confirms and what to type.
	InitialsFor *widget.Label
	Initials    *widget.Entry
	expect      string // the initials the question asks for

	// Record an exception and go on: the reason, signed off by the witness's initials.
	Exception        *widget.Button
	ExceptionReason  *widget.Entry
	ExceptionWitness *widget.Entry
	RecordException  *widget.Button
	exceptionRow     *fyne.Container

	gen   uint64 // the prompt now on screen (Fyne's goroutine; wait counts them in r.prompts)
	ready bool   // it has settled and takes input; false again once answered
}

// newQuestionCard builds the card that asks one person a question, gates included.
func (r *RunScreen) newQuestionCard() *fyne.Container {
	r.GateBanner = widget.NewLabelWithStyle("ABOUT TO — nothing has happened yet: the witness confirms BEFORE the HSM acts", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.GateBanner.Importance = widget.WarningImportance
	r.GateBanner.Wrapping = fyne.TextWrapWord
	r.GateBanner.Hide()
	r.Question = widget.NewLabel("")
	r.Question.SizeName = theme.SizeNameSubHeadingText
	r.Question.Wrapping = fyne.TextWrapWord
	r.InitialsFor = widget.NewLabel("")
	r.InitialsFor.TextStyle.Bold = true
	r.InitialsFor.Wrapping = fyne.TextWrapWord
	r.Initials = widget.NewEntry()
	r.Initials.SetPlaceHolder("initials")
	r.Yes = widget.NewButtonWithIcon("Confirm", theme.ConfirmIcon(), func() {
		if r.settled() && sameInitials(r.Initials.Text, r.expect) {
			r.send(reply{ok: true})
		}
	})
	r.Yes.Importance = widget.HighImportance
	r.Initials.OnChanged = func(string) { r.enableYes() }
	r.Initials.OnSubmitted = func(string) { r.Yes.OnTapped() }
	r.Reason = widget.NewEntry()
	r.Reason.SetPlaceHolder("What is wrong? (recorded in the transcript)")
	r.RecordNo = widget.NewButtonWithIcon("Record the deviation and stop", theme.CancelIcon(), func() {
		if r.settled() {
			r.send(reply{ok: false, text: r.Reason.Text})
		}
	})
	r.Reason.OnSubmitted = func(string) { r.RecordNo.OnTapped() }
	r.reasonRow = container.NewBorder(nil, nil, nil, r.RecordNo, r.Reason)
	r.reasonRow.Hide()
	r.No = widget.NewButtonWithIcon("No", theme.CancelIcon(), func() {
		if !r.settled() {
			return
		}
		r.exceptionRow.Hide()
		r.reasonRow.Show()
		r.a.Win.Canvas().Focus(r.Reason)
	})
	r.newExceptionRow()
	answer := container.NewBorder(nil, nil, nil, container.NewHBox(r.Yes, r.No, r.Exception), r.Initials)
	return container.NewVBox(r.GateBanner, r.Question, r.InitialsFor, answer, r.reasonRow, r.exceptionRow)
}

// newExceptionRow builds "record an exception and go on": a reason, and the witness's
// initials to sign it off.
func (r *RunScreen) newExceptionRow() {
	r.ExceptionReason = widget.NewEntry()
	r.ExceptionReason.SetPlaceHolder("The exception to the script, and why (recorded in the transcript)")
	r.ExceptionWitness = widget.NewEntry()
	r.RecordException = widget.NewButtonWithIcon("Record the exception and ask again", theme.DocumentCreateIcon(), func() {
		w := r.witness()
		if !r.settled() || strings.TrimSpace(r.ExceptionReason.Text) == "" || !sameInitials(r.ExceptionWitness.Text, initialsOf(w)) {
			return
		}
		r.send(reply{ex: &ceremony.Exception{Reason: strings.TrimSpace(r.ExceptionReason.Text), Witness: w}})
	})
	r.ExceptionWitness.OnSubmitted = func(string) { r.RecordException.OnTapped() }
	r.exceptionRow = container.NewVBox(widget.NewLabel("An exception is written into the transcript with its reason and signed off by the witness; then the question is asked again."),
		r.ExceptionReason, container.NewBorder(nil, nil, widget.NewLabel(""), r.RecordException, r.ExceptionWitness))
	r.exceptionRow.Hide()
	r.Exception = widget.NewButtonWithIcon("Record an exception…", theme.DocumentCreateIcon(), func() {
		if !r.settled() {
			return
		}
		r.reasonRow.Hide()
		r.ExceptionReason.SetText("")
		r.ExceptionWitness.SetText("")
		r.ExceptionWitness.SetPlaceHolder(fmt.Sprintf("witness %s: initials %s", r.witness(), initialsOf(r.witness())))
		r.exceptionRow.Show()
		r.a.Win.Canvas().Focus(r.ExceptionReason)
	})
}

// witness is the script's witness, who signs off exceptions and aborts.
func (r *RunScreen) witness() string {
	if len(r.p.scripts) == 0 {
		return ""
	}
	if w := r.p.scripts[0].People("witness"); len(w) > 0 {
		return w[0].Name
	}
	return ""
}

// Expected is the initials the question on screen asks for.
func (r *RunScreen) Expected() string { return r.expect }

// Settled reports whether the prompt on screen accepts input yet.
func (r *RunScreen) Settled() bool { return r.settled() }

func (r *RunScreen) settled() bool { return r.ready }

func (r *RunScreen) enableYes() {
	if r.settled() && sameInitials(r.Initials.Text, r.expect) {
		r.Yes.Enable()
	} else {
		r.Yes.Disable()
	}
}

// send answers the prompt on screen; on Fyne's goroutine. An answer while the prompt is
// settling, or a second one, is dropped: only the first answer to a prompt counts, and it
// carries the prompt's generation.
func (r *RunScreen) send(rp reply) {
	if !r.settled() {
		return
	}
	rp.gen = r.gen
	r.ready = false // answered: nothing more until the next prompt
	select {
	case r.replies <- rp:
	default:
	}
}

// arm shows a prompt freshly: it takes a new generation and ignores input for settle, with
// the question card's entry and buttons disabled; then the initials field takes the focus.
func (r *RunScreen) arm(gen uint64) {
	r.gen, r.ready = gen, false
	for _, w := range []fyne.Disableable{r.Initials, r.Yes, r.No, r.Exception} {
		w.Disable()
	}
	time.AfterFunc(settle, func() {
		do(func() {
			if r.gen != gen || r.overlay != nil {
				return
			}
			r.ready = true
			r.Initials.Enable()
			r.No.Enable()
			r.Exception.Enable()
			r.enableYes()
			if r.QuestionCard.Visible() {
				r.a.Win.Canvas().Focus(r.Initials)
			}
		})
	})
}

// ask puts a question to who on the question card; gate marks an "about to" gate.
func (r *RunScreen) ask(ctx context.Context, who, question, does string, gate bool) error {
	rp, err := r.wait(ctx, func() {
		r.orient.acting(who, does)
		r.Question.SetText(question)
		r.expect = initialsOf(who)
		r.InitialsFor.SetText(fmt.Sprintf("%s: type your initials  %s  and press Enter to confirm, or No.", who, r.expect))
		r.Initials.SetText("")
		r.Reason.SetText("")
		r.reasonRow.Hide()
		r.exceptionRow.Hide()
		if gate {
			r.GateBanner.Show()
		} else {
			r.GateBanner.Hide()
		}
		r.show(r.QuestionCard)
	})
	switch {
	case err != nil:
		return err
	case rp.ex != nil:
		return rp.ex
	case !rp.ok:
		return &ceremony.Declined{Reason: strings.TrimSpace(rp.text)}
	}
	return nil
}

// Confirm implements ceremony.UI.
func (r *RunScreen) Confirm(ctx context.Context, who, question string) error {
	return r.ask(ctx, who, question, doesFor(question), false)
}

// Gate implements ceremony.Gater: the "about to" screen, confirmed by the witness before the
// HSM acts.
func (r *RunScreen) Gate(ctx context.Context, g ceremony.Gate) error {
	return r.ask(ctx, g.Witness, g.Question(), "confirm what is about to happen, before it does", true)
}
