package ceremony

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// The room's control of a running ceremony, through the UI port:
//
//   - An "about to" gate precedes every dangerous step (one that generates, destroys, wraps,
//     exports or unwraps a key, signs a certificate or a CRL, or seals the transcript): before
//     the step's first HSM call, the script's witness reads what exactly is about to happen,
//     on which token, to which key label, and confirms it (gate.confirmed); a witness who does
//     not stops the ceremony before the call (gate.declined), ready to be resumed. A UI that
//     is a Gater shows the gate on a screen of its own; any other UI is asked the same
//     wording (Gate.Question) through Confirm, naming the witness.
//   - Any question may be answered with an Exception instead of yes or no: the exception to
//     the script is written with its reason and the witness who signed it off
//     (exception.recorded), and the question is asked again — the ceremony goes on, as an
//     annotated script allows.
//   - Any question may be answered with an AbortRequest: the room ends the ceremony. Once the
//     transcript exists it closes as aborted and sealed, with the reason and the witness
//     (abort.go); before it exists nothing was written and nothing on the HSM changed.

// Gate is an "about to" screen: what a step is about to do on the HSM, shown to the witness
// who must confirm it before it happens.
type Gate struct {
	Step    string // the step's ID
	What    string // what exactly, with the key labels: `generate the EC-P384 root key "root-2026"`
	Token   string // the token's label
	Serial  string // the token's serial number
	Witness string // the witness who confirms it
}

// Question is the gate's wording, the same on every UI.
func (g Gate) Question() string {
	return fmt.Sprintf("About to %s, on token %q (serial %s). Witness %s: confirm this before it happens.", g.What, g.Token, g.Serial, g.Witness)
}

// Gater is a UI that shows "about to" gates on a screen of their own. Gate returns nil once
// the witness confirms, an error as Confirm does otherwise (ErrDeclined, an *Exception, an
// *AbortRequest, or the context's error).
type Gater interface {
	Gate(ctx context.Context, g Gate) error
}

// Exception is a person's answer to a question that records an exception to the script and
// goes on: the reason, signed off by a witness. The engine records it and asks the question
// again.
type Exception struct{ Reason, Witness string }

func (e *Exception) Error() string {
	return fmt.Sprintf("exception signed off by %s: %s", e.Witness, e.Reason)
}

// AbortRequest is the room's decision to end the ceremony, given as the answer to whatever
// is asked: the reason, signed off by a witness. An opened ceremony closes as aborted and
// sealed; one not yet opened ends with nothing written.
type AbortRequest struct{ Reason, Witness string }

func (a *AbortRequest) Error() string {
	return fmt.Sprintf("the room aborted the ceremony, signed off by witness %s: %s", a.Witness, a.Reason)
}

// roomUI is the UI the engine's steps call: the caller's, with every question answerable by
// an exception (recorded, then asked again).
type roomUI struct {
	UI
	r *Run
}

func (u roomUI) Confirm(ctx context.Context, who, question string) error {
	return u.r.withExceptions(question, func() error { return u.UI.Confirm(ctx, who, question) })
}

// withExceptions asks ask until it returns anything but an *Exception, recording each
// exception given.
func (r *Run) withExceptions(question string, ask func() error) error {
	for {
		err := ask()
		var ex *Exception
		if !errors.As(err, &ex) {
			return err
		}
		reason, witness := strings.TrimSpace(ex.Reason), strings.TrimSpace(ex.Witness)
		if reason == "" || witness == "" {
			r.people.Note("An exception needs its reason and the witness who signs it off; nothing was recorded. The question is asked again.")
			continue
		}
		rec := transcript.Exception{Question: question, Reason: reason, Witness: witness}
		if r.w == nil { // the roll call, before the transcript exists: recorded at the opening
			r.early = append(r.early, earlyRecord{transcript.EventException, rec})
		} else if _, err := r.record(transcript.EventException, rec); err != nil {
			return err
		}
		r.people.Note(fmt.Sprintf("Exception recorded, signed off by %s: %s\nThe question is asked again.", witness, reason))
	}
}

// abortRequested reports whether err carries the room's decision to abort.
func abortRequested(err error) (*AbortRequest, bool) {
	var ar *AbortRequest
	return ar, errors.As(err, &ar)
}

// askGate asks the script's witness to confirm the gate of step id, saying what it is about
// to do (gate nil: the step has none), and records the answer. It runs before the step's
// first HSM call; the close asks it just before the seal.
func (r *Run) askGate(id string, gate, on func(*Run) string) error {
	if gate == nil {
		return nil
	}
	w := r.Script.People("witness")[0]
	g := Gate{Step: id, What: gate(r), Token: r.token.Info.Label, Serial: r.token.Info.Serial, Witness: w.Name}
	if on != nil {
		g.Token, g.Serial = on(r), r.serialOf(on(r))
	}
	err := r.withExceptions(g.Question(), func() error {
		if gu, ok := r.people.(Gater); ok {
			return gu.Gate(r.ctx, g)
		}
		return r.people.Confirm(r.ctx, w.Name, g.Question())
	})
	rec := transcript.Gate{About: g.What, TokenLabel: g.Token, TokenSerial: g.Serial, Witness: w.Name}
	if err == nil {
		_, err = r.record(transcript.EventGateConfirmed, rec)
		return err
	}
	if _, ok := abortRequested(err); ok || !errors.Is(err, ErrDeclined) {
		return err
	}
	rec.Reason = reasonOf(err)
	if _, rerr := r.record(transcript.EventGateDeclined, rec); rerr != nil {
		return rerr
	}
	return fmt.Errorf("witness %s did not let the step %s; nothing was done on the HSM: %w", w.Name, g.What, err)
}

// gateSeal is the close's gate, asked once the bags are confirmed, just before the seal.
func gateSeal(r *Run) string {
	by := "a one-time key (no transcript signer exists)"
	if r.signer != nil {
		by = fmt.Sprintf("the transcript-signing key %q", r.signer.Label)
	}
	return fmt.Sprintf("close ceremony %s and seal its transcript with %s: nothing can be added to it afterwards", r.Script.ID, by)
}

// rootLabel names the key the ceremony's root steps use: the one loaded or generated, else
// the script's.
func (r *Run) rootLabel() string {
	if r.root != nil {
		return r.root.Label
	}
	return r.Script.Key.Label
}

// targetLabel names a migration's second token.
func (r *Run) targetLabel() string {
	if r.target != nil {
		return r.target.Info.Label
	}
	return "(not open)"
}

// gatedEvents are the records of dangerous HSM calls: since gates exist, a confirmed gate
// precedes each of them in its step.
var gatedEvents = map[string]bool{
	transcript.EventKeyGenerated: true, transcript.EventKEKGenerated: true, transcript.EventKeyDestroyed: true,
	transcript.EventKeyWrapped: true, transcript.EventKeyExported: true, transcript.EventKeyImported: true,
	transcript.EventKeyRestored: true, transcript.EventKeyMigrated: true, transcript.EventCertificateIssued: true,
	transcript.EventCRLIssued: true, transcript.EventImportJobCreated: true, transcript.EventTransportEstablished: true,
	transcript.EventOCSPSigned: true,
}

// CheckGates returns an error naming every record of a dangerous HSM call (and the seal of a
// completed ceremony) that no confirmed gate precedes in its step, since the step last began.
// Transcripts written before gates existed have none, and the verifier does not ask for
// them; a transcript this version writes passes.
func CheckGates(entries []transcript.Entry) error {
	gated := map[string]bool{} // step → a gate was confirmed since it last began
	var missing []string
	for _, e := range entries {
		switch {
		case e.Event == transcript.EventStepStarted:
			gated[e.Step] = false
		case e.Event == transcript.EventGateConfirmed:
			gated[e.Step] = true
		case gatedEvents[e.Event] && !gated[e.Step]:
			missing = append(missing, fmt.Sprintf("#%d %s in step %q", e.Seq, e.Event, e.Step))
		case e.Event == transcript.EventClosed:
			if c, err := transcript.Data[transcript.Closing](&e.Record); err == nil && c.Result == transcript.ResultCompleted && !gated[e.Step] {
				missing = append(missing, fmt.Sprintf("#%d the seal in step %q", e.Seq, e.Step))
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no confirmed \"about to\" gate before %s", strings.Join(missing, "; "))
	}
	return nil
}

// serialOf is the serial of the module's token labelled label, or says there is none yet.
func (r *Run) serialOf(label string) string {
	if r.binding.Module != nil {
		if ts, err := r.binding.Module.Tokens(); err == nil {
			for _, t := range ts {
				if t.Label == label && t.Initialized {
					return t.Serial
				}
			}
		}
	}
	return "none yet: not initialised"
}
