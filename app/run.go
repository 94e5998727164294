package app

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/internal/atomicfile"
	"github.com/keyrite/keyrite/quorum"
	"github.com/keyrite/keyrite/reports"
)

// RunScreen runs one ceremony: the current step in large type, one prompt at a time, and the
// transcript growing beside it. It is the GUI's ceremony.UI: the engine calls it from the
// ceremony's goroutine (Progress also from its ticker), never from Fyne's; every widget change
// goes through do, onto Fyne's goroutine, and the shared fields are guarded by mu or atomic.
type RunScreen struct {
	Content fyne.CanvasObject
	Counter *widget.Label
	Title   *widget.Label
	Explain *widget.Label
	Actor   *widget.Label
	// NotePanel holds the newest note, always in view (layout.go).
	NotePanel *fyne.Container
	Busy      *widget.ProgressBarInfinite
	Bar       *widget.ProgressBar // long work of known size (a migration)
	Records   *widget.List

	// Prompts: exactly one card is visible while the engine waits for someone.
	QuestionCard *fyne.Container
	Question     *widget.Label
	Yes, No      *widget.Button
	Reason       *widget.Entry // why not: shown after No
	RecordNo     *widget.Button
	reasonRow    *fyne.Container
	confirmation // who confirms, by their initials; exceptions (confirm.go)
	controls     // pause, abort (control.go)

	SecretCard   *fyne.Container
	SecretPrompt *widget.Label
	Secret       *widget.Entry
	SecretOK     *widget.Button

	RevealCard *fyne.Container
	RevealFor  *widget.Label
	Reveal     *widget.Button
	Code       *widget.Label
	Hide       *widget.Button

	AskCard     *fyne.Container
	AskFor      *widget.Label
	ShareEntry  *widget.Entry
	ShareStatus *widget.Label
	ShareOK     *widget.Button
	ShareSkip   *widget.Button

	DoneCard   *fyne.Container
	Outcome    *widget.Label
	OpenReport *widget.Button
	VerifyDone *widget.Button
	Resume     *widget.Button
	Home       *widget.Button

	a       *App
	p       *plan
	orient  *orientation    // header, long work, newest note (header.go)
	figures *fyne.Container // the seal's and the root key's figures at the close (figure.go)

	SealFigure, RootFigure *Figure // at the close: the seal's short hash, the root's fingerprint
	replies                chan reply
	running                atomic.Bool
	prompts                atomic.Uint64      // prompts shown so far: each answer names its own
	revealed               atomic.Bool        // a share is on screen: no capture, no copy
	cancel                 context.CancelFunc // stops the running ceremony at its next step or prompt
	mu                     sync.Mutex
	records                []string
	report                 string
}

type reply struct {
	ok   bool
	text string
	gen  uint64              // the prompt it answers (confirm.go)
	ex   *ceremony.Exception // an exception to record, then the question again
}

func newRunScreen(a *App, p *plan) *RunScreen {
	r := &RunScreen{a: a, p: p, replies: make(chan reply, 1)}
	r.Counter = widget.NewLabel("")
	r.Title = widget.NewLabel("Before the first step: roll call and clock")
	r.Title.SizeName = theme.SizeNameHeadingText
	r.Title.TextStyle.Bold = true
	r.Title.Wrapping = fyne.TextWrapWord
	r.Explain = widget.NewLabel("")
	r.Explain.SizeName = theme.SizeNameSubHeadingText
	r.Explain.Wrapping = fyne.TextWrapWord
	r.Actor = widget.NewLabel("")
	r.orient = newOrientation(a, p, r.Counter, r.Actor)
	r.Busy = widget.NewProgressBarInfinite()
	r.Busy.Hide()
	r.Bar = widget.NewProgressBar()
	r.Bar.Hide()
	r.Records = widget.NewList(func() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.records) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			r.mu.Lock()
			defer r.mu.Unlock()
			o.(*widget.Label).SetText(r.records[i])
		})

	r.QuestionCard = r.newQuestionCard() // confirm.go
	r.newControls()                      // control.go

	r.SecretPrompt = widget.NewLabel("")
	r.Secret = widget.NewPasswordEntry()
	r.SecretOK = widget.NewButton("Log in", func() { r.send(reply{ok: true, text: r.Secret.Text}); r.Secret.SetText("") })
	r.Secret.OnSubmitted = func(string) { r.SecretOK.OnTapped() }
	r.SecretCard = container.NewVBox(r.SecretPrompt, r.Secret, r.SecretOK)

	r.RevealFor = widget.NewLabel("")
	r.RevealFor.SizeName = theme.SizeNameSubHeadingText
	r.RevealFor.Wrapping = fyne.TextWrapWord
	r.Code = widget.NewLabel("")
	r.Code.TextStyle = fyne.TextStyle{Monospace: true}
	r.Code.SizeName = theme.SizeNameHeadingText
	r.Reveal = widget.NewButtonWithIcon("Reveal my share", theme.VisibilityIcon(), nil)
	r.Hide = widget.NewButtonWithIcon("I have checked my sheet — hide it", theme.VisibilityOffIcon(), nil)
	r.RevealCard = container.NewVBox(r.RevealFor, r.Reveal, r.Code, r.Hide)

	r.AskFor = widget.NewLabel("")
	r.AskFor.SizeName = theme.SizeNameSubHeadingText
	r.AskFor.Wrapping = fyne.TextWrapWord
	r.ShareEntry = widget.NewPasswordEntry()
	r.ShareEntry.SetPlaceHolder("groups of five symbols, spaces optional")
	r.ShareStatus = widget.NewLabel("")
	r.ShareStatus.Wrapping = fyne.TextWrapWord
	r.ShareEntry.OnChanged = func(code string) { r.ShareStatus.SetText(groupFeedback(code)) }
	r.ShareOK = widget.NewButtonWithIcon("Enter share", theme.ConfirmIcon(), func() { r.send(reply{ok: true, text: r.ShareEntry.Text}) })
	r.ShareOK.Importance = widget.HighImportance
	r.ShareEntry.OnSubmitted = func(string) { r.ShareOK.OnTapped() }
	r.ShareSkip = widget.NewButton("This custodian has no share with them", func() { r.send(reply{ok: false}) })
	r.AskCard = container.NewVBox(r.AskFor, r.ShareEntry, r.ShareStatus, container.NewHBox(r.ShareOK, r.ShareSkip))

	r.Outcome = widget.NewLabel("")
	r.Outcome.Wrapping = fyne.TextWrapWord
	r.OpenReport = widget.NewButtonWithIcon("Open the report", theme.DocumentIcon(), func() { a.openFile(r.report) })
	r.VerifyDone = widget.NewButtonWithIcon("Verify the evidence", theme.ConfirmIcon(), func() { a.ShowVerify(r.dir()) })
	r.Resume = widget.NewButtonWithIcon("Resume the ceremony", theme.MediaReplayIcon(), r.resume)
	r.Home = widget.NewButtonWithIcon("Back to the start", theme.HomeIcon(), a.ShowStart)
	r.DoneCard = container.NewVBox(r.Outcome, container.NewHBox(r.OpenReport, r.VerifyDone, r.Resume, r.Home))

	for _, c := range r.cards() {
		c.Hide()
	}
	prompt := container.NewVBox(container.NewStack(r.QuestionCard, r.SecretCard, r.RevealCard, r.AskCard, r.DoneCard, r.PauseCard, r.AbortCard), r.ControlBar)
	r.Content = r.layout(prompt) // layout.go
	return r
}

// groupFeedback says, as a custodian types, which groups check out and which one is wrong.
func groupFeedback(code string) string {
	if strings.TrimSpace(code) == "" {
		return ""
	}
	n, err := quorum.CheckGroups(code)
	if err != nil {
		return "✗ " + err.Error()
	}
	if n == quorum.Groups {
		return fmt.Sprintf("✓ all %d groups check out", n)
	}
	return fmt.Sprintf("✓ groups 1 to %d check out; %d to go", n, quorum.Groups-n)
}

func (r *RunScreen) dir() string { return r.p.out }

// wait blocks the engine's goroutine until someone answers the card shown by setup (an
// answer given to an earlier prompt is dropped), the room aborts, or ctx is cancelled.
func (r *RunScreen) wait(ctx context.Context, setup func()) (reply, error) {
	gen := r.prompts.Add(1)
	do(func() { r.orient.endWork(); setup(); r.arm(gen) })
	var rp reply
	var err error
	for err == nil && rp.gen != gen {
		select {
		case rp = <-r.replies:
		case ar := <-r.aborts:
			err = ar
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	do(func() { r.show(nil); r.gen, r.ready = 0, false }) // a settle timer still running finds no prompt
	return rp, err
}

// Show implements ceremony.UI.
func (r *RunScreen) Show(s ceremony.Screen) {
	do(func() {
		r.orient.show(s)
		r.Title.SetText(s.Title)
		r.Explain.SetText(s.Explain)
	})
}

// Note implements ceremony.UI.
func (r *RunScreen) Note(text string) {
	do(func() { r.orient.note(text) })
}

// Progress implements ceremony.UI.
func (r *RunScreen) Progress(what string, done, total int) {
	do(func() { r.orient.work(what, done, total, r.Busy, r.Bar) })
}

// AskSecret implements ceremony.UI: masked entry, never echoed, never copied.
func (r *RunScreen) AskSecret(ctx context.Context, prompt string) ([]byte, error) {
	rp, err := r.wait(ctx, func() {
		r.orient.acting("the PIN holder", "enter the PIN")
		r.SecretPrompt.SetText(prompt)
		r.Secret.SetText("")
		r.show(r.SecretCard)
		r.a.Win.Canvas().Focus(r.Secret)
	})
	if err != nil {
		return nil, err
	}
	if rp.text == "" {
		return nil, errors.New("no PIN entered")
	}
	return []byte(rp.text), nil
}

// RevealShare implements ceremony.UI: hidden until the custodian presses reveal, cleared
// before the next custodian.
func (r *RunScreen) RevealShare(ctx context.Context, c ceremony.Participant, number, total int, code string) error {
	done := make(chan struct{})
	do(func() {
		r.orient.acting(c.Name, "reveal and check your share; everyone else looks away")
		r.RevealFor.SetText(fmt.Sprintf("Share %d of %d is for %s. Everyone else looks away. %s: check the printed sheet against the screen, then hide it.", number, total, c.Name, c.Name))
		r.Code.SetText("")
		r.Reveal.Show()
		r.Hide.Hide()
		r.Reveal.OnTapped = func() {
			if !r.settled() {
				return
			}
			r.revealed.Store(true)
			r.Code.SetText(groupRows(code))
			r.Reveal.Hide()
			r.Hide.Show()
			r.arm(r.gen) // a second press does not hide it at once
		}
		r.Hide.OnTapped = func() {
			if !r.settled() {
				return
			}
			r.gen, r.ready = 0, false
			r.Code.SetText("")
			r.revealed.Store(false)
			r.Hide.Hide()
			r.Reveal.OnTapped, r.Hide.OnTapped = nil, nil
			r.show(nil)
			close(done)
		}
		r.show(r.RevealCard)
		r.arm(r.prompts.Add(1)) // no button has the focus: Tab reaches it
	})
	var err error
	select {
	case <-done:
		return nil
	case ar := <-r.aborts:
		err = ar
	case <-ctx.Done():
		err = ctx.Err()
	}
	do(func() {
		r.Code.SetText("")
		r.revealed.Store(false)
		r.Reveal.OnTapped, r.Hide.OnTapped = nil, nil
		r.show(nil)
		r.gen, r.ready = 0, false
	})
	return err
}

func groupRows(code string) string {
	g := strings.Fields(code)
	var rows []string
	for i := 0; i < len(g); i += 3 {
		rows = append(rows, strings.Join(g[i:min(i+3, len(g))], "  "))
	}
	return strings.Join(rows, "\n")
}

// AskShare implements ceremony.UI: groups are checked as the custodian types; check runs on
// submit and its refusal is shown without the share's content.
func (r *RunScreen) AskShare(ctx context.Context, c ceremony.Participant, prompt string, check func(string) error) (string, error) {
	status := ""
	for {
		rp, err := r.wait(ctx, func() {
			r.orient.acting(c.Name, "type your share")
			r.AskFor.SetText(prompt)
			r.ShareEntry.SetText("")
			r.ShareStatus.SetText(status)
			r.show(r.AskCard)
			r.a.Win.Canvas().Focus(r.ShareEntry)
		})
		if err != nil {
			return "", err
		}
		if !rp.ok {
			return "", fmt.Errorf("%s entered no share", c.Name)
		}
		if err := check(rp.text); err != nil {
			status = "✗ Refused: " + err.Error()
			continue
		}
		do(func() { r.ShareEntry.SetText("") })
		return rp.text, nil
	}
}

// start runs the ceremony off the UI goroutine; it cannot be started twice.
func (r *RunScreen) start() { r.launch(false) }

func (r *RunScreen) resume() { r.launch(true) }

func (r *RunScreen) launch(resume bool) {
	if !r.running.CompareAndSwap(false, true) {
		return
	}
	r.show(nil)
	r.ControlBar.Show()
	select {
	case <-r.aborts: // an abort given after the last run ended is not this run's
	default:
	}
	r.orient.rollCall()
	r.figures.Objects = nil
	r.figures.Refresh()
	r.orient.work("Pre-flight: checking the script, the token and every input before the HSM is changed", 0, 0, r.Busy, r.Bar)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		err := r.run(ctx, resume)
		cancel()
		// Not running before the outcome shows: a Resume pressed the moment the stop screen
		// appears resumes (it was ignored while this goroutine had still to end).
		do(func() { r.running.Store(false); r.finish(err) })
	}()
}

func (r *RunScreen) run(ctx context.Context, resume bool) error {
	b, closeModule, err := r.binding(ctx, resume)
	if err != nil {
		return err
	}
	defer closeModule()
	opt := ceremony.Options{Previous: r.p.previous, OnRecord: r.onRecord, ShareSheet: shareSheet, SharesDir: r.p.sharesDir, SharesPrinter: r.p.sharesPrinter,
		ImportJob: r.p.importJob, WrappingKey: r.p.wrappingKey, IssuedAt: r.p.issuedAt, AzureKEKID: r.p.azureKEK, Transfer: r.p.transfer, CSR: r.p.csr, Revoked: r.p.revoked, Issued: r.p.issued, Outside: r.p.outside,
		AfterSeal: func(dir string, signer crypto.Signer) error {
			report, _, err := reports.WriteEvidence(dir, signer)
			r.report = report
			return err
		}}
	if r.p.target != "" {
		tb, closeTarget, err := r.targetBinding(ctx, b)
		if err != nil {
			return err
		}
		defer closeTarget()
		opt.Target = &tb
	}
	r.a.rememberCeremony(r.p.out)
	if resume {
		return ceremony.Resume(ctx, r.p.out, b, r, opt)
	}
	return ceremony.Start(ctx, r.p.scripts[0], r.p.out, b, r, opt)
}

func (r *RunScreen) onRecord(e transcript.Entry) {
	line := fmt.Sprintf("#%d  %s  %s", e.Seq, e.Time[11:19], e.Event)
	do(func() {
		r.mu.Lock()
		r.records = append(r.records, line)
		n := len(r.records)
		r.mu.Unlock()
		r.Records.Refresh()
		r.Records.ScrollTo(n - 1)
	})
}

// binding opens the HSM: the rehearsal store, or the module and token the user chose, with
// PINs asked on screen.
func (r *RunScreen) binding(ctx context.Context, resume bool) (ceremony.Binding, func(), error) {
	if !r.p.real {
		store, err := hsm.PrepareRehearsal(r.a.RehearsalDir)
		if err != nil {
			return ceremony.Binding{}, nil, err
		}
		m, err := r.a.OpenModule(hsm.SoftHSMModule)
		if err != nil {
			return ceremony.Binding{}, nil, fmt.Errorf("%w (the rehearsal HSM needs the softhsm2 package)", err)
		}
		prefix := "keyrite-rehearsal"
		if r.p.scripts[0].Info().AnotherToken {
			prefix += "-region"
		}
		var ti hsm.TokenInfo
		switch {
		case resume: // the token the ceremony ran on, as its transcript says
			ti, err = ceremony.TokenOf(r.p.out)
		case r.p.previous != "" && !r.p.scripts[0].Info().AnotherToken:
			// It continues a ceremony on that ceremony's token (a restore goes to another).
			ti, err = ceremony.TokenOf(r.p.previous)
		default: // a fresh token for each rehearsal, as the start screen says
			ti, err = store.NewToken(m, prefix)
		}
		label := ti.Label
		if err != nil {
			m.Close()
			return ceremony.Binding{}, nil, err
		}
		return ceremony.RehearsalBinding(m, store, label), func() { m.Close() }, nil
	}
	m, err := r.a.OpenModule(r.p.module)
	if err != nil {
		return ceremony.Binding{}, nil, err
	}
	sel := r.p.token
	return ceremony.Binding{Module: m, Token: sel,
		PIN:   func() ([]byte, error) { return r.AskSecret(ctx, fmt.Sprintf("User PIN for token %s", sel)) },
		SOPIN: func() ([]byte, error) { return r.AskSecret(ctx, fmt.Sprintf("Security Officer PIN for token %s", sel)) }}, func() { m.Close() }, nil
}

// targetBinding reaches a migration's second token through the same module.
func (r *RunScreen) targetBinding(ctx context.Context, src ceremony.Binding) (ceremony.Binding, func(), error) {
	label := r.p.target
	if !r.p.real {
		store, err := hsm.PrepareRehearsal(r.a.RehearsalDir)
		if err != nil {
			return ceremony.Binding{}, nil, err
		}
		if _, err := store.EnsureToken(src.Module, label); err != nil {
			return ceremony.Binding{}, nil, err
		}
		return ceremony.RehearsalBinding(src.Module, store, label), func() {}, nil
	}
	return ceremony.Binding{Module: src.Module, Token: hsm.Selector{Label: label},
		PIN: func() ([]byte, error) {
			return r.AskSecret(ctx, fmt.Sprintf("User PIN for the target token %q", label))
		}}, func() {}, nil
}

func (r *RunScreen) finish(err error) {
	r.orient.endWork()
	r.overlay = nil
	r.ControlBar.Hide()
	r.show(r.DoneCard)
	r.Resume.Hide()
	r.OpenReport.Hide()
	if err != nil {
		r.orient.stopped()
		r.Title.SetText("The ceremony stopped")
		r.Explain.SetText("") // what happened, below, names the step
		r.Outcome.SetText("What happened: " + err.Error() + "\n\n" + r.aftermath() + "\n\nWhat to do: " + whatToDo(err))
		if ae := new(ceremony.AbortedError); errors.As(err, &ae) && ae.Sealed == nil {
			r.Title.SetText("The ceremony was aborted")
			r.orient.Step.SetText("Aborted")
			return // sealed: there is nothing to resume
		}
		var pe ceremony.PreflightError
		if errors.As(err, &pe) {
			return // nothing was done: there is nothing to resume
		}
		if af, _ := ceremony.AftermathOf(r.p.out); af.Interrupted() {
			r.Resume.Show() // else nothing was written (a roll call refused or aborted): nothing to resume
		}
		return
	}
	res, verr := transcript.Verify(r.p.out, transcript.Options{})
	if verr != nil {
		r.Outcome.SetText("The ceremony finished but its evidence does not verify: " + verr.Error())
		return
	}
	r.orient.complete("Ceremony complete")
	r.Title.SetText("Sealed")
	r.Explain.SetText("Read the seal's short hash and the root fingerprint aloud; witnesses compare them with the printed report.")
	r.showSealFigures(res) // figure.go
	r.Outcome.SetText(fmt.Sprintf("Report: %s\nEvidence bundle: %s", r.report, filepath.Join(r.p.out, reports.BundleName(res.Opening.CeremonyID))))
	if r.report != "" {
		r.OpenReport.Show()
	}
}

// whatToDo tells the people in the room how to go on after err stopped the ceremony.
func whatToDo(err error) string {
	const resume = " Nothing recorded so far is lost: then press Resume."
	switch {
	case errors.Is(err, hsm.ErrPINIncorrect):
		return "the token did not accept the PIN. Check it with its holder (the token locks the PIN after a few wrong ones)." + resume
	case errors.Is(err, hsm.ErrPINLocked):
		return "the PIN is locked. The Security Officer must unblock it (set a new user PIN)." + resume
	case errors.Is(err, hsm.ErrTokenNotPresent):
		return "the token is not reachable. Connect it again (slot, cable, network HSM)." + resume
	case errors.Is(err, hsm.ErrTokenInUse):
		return "another ceremony is using this token; only one may at a time. Wait for it to finish, or stop it." + resume
	case errors.As(err, new(ceremony.PreflightError)):
		return "nothing was done and the token was not changed. Correct what the pre-flight names (the script, the token, the inputs), then start again."
	case errors.As(err, new(*ceremony.AbortRequest)) && !errors.As(err, new(*ceremony.AbortedError)):
		return "the room aborted the ceremony before it opened: nothing was written and nothing on the HSM changed. Start it again, into a new folder, when the room is ready."
	case errors.Is(err, context.Canceled):
		return "the room stopped the ceremony. Press Resume to go on now, or resume it later from the start screen (Resume an interrupted ceremony), after a restart too." + resume
	case errors.As(err, new(*ceremony.AbortedError)):
		return "the ceremony was closed as aborted and its transcript sealed: verify it to see what was done, and which keys were destroyed or left on the token. Correct the cause, then run a new ceremony into a new folder."
	case errors.As(err, new(*ceremony.AfterSealError)):
		return "the ceremony is sealed and its transcript is safe; only the report and the evidence bundle are missing. Fix the cause (free space on the disk, make the media writable), then press Resume to make them; nothing is added to the sealed transcript."
	case atomicfile.IsNoSpace(err):
		return "the disk is full. Free space on it (or move the ceremony folder to a larger disk)." + resume
	case atomicfile.IsReadOnly(err):
		return "the media is read-only. Make it writable (or copy the ceremony folder to writable media)." + resume
	}
	return "nothing recorded so far is lost. Fix the cause, then resume the ceremony; or verify the evidence to see exactly what was done."
}

// ShareVisible reports whether a share is on screen right now.
func (r *RunScreen) ShareVisible() bool { return r.revealed.Load() }

// Stop cancels the running ceremony: it stops at its next step or prompt, recorded and
// resumable. It does nothing when no ceremony runs.
func (r *RunScreen) Stop() {
	if c := r.cancel; c != nil && r.running.Load() {
		c()
	}
}

// shareSheet renders a custodian's share sheet as a PDF.
func shareSheet(s ceremony.ShareSheet) ([]byte, error) {
	return reports.RenderShareSheet(reports.ShareSheet(s))
}
