package ceremony

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
)

// Resume continues an unsealed ceremony in dir. It trusts only what the transcript proves:
// completed steps are reloaded and their keys checked against the recorded fingerprints; the
// step that was in flight is cleaned up (objects it may have created and files it did not
// record are removed, after the administrator and a witness confirm) and run again.
func Resume(dir string, b Binding, ui UI, clock transcript.Clock) error {
	if clock == nil {
		clock = time.Now
	}
	if _, err := os.Stat(filepath.Join(dir, transcript.SealFileName)); err == nil {
		return fmt.Errorf("ceremony %s is already sealed; there is nothing to resume (`keyrite verify %s` checks it)", dir, dir)
	}
	src, err := os.ReadFile(filepath.Join(dir, ScriptFileName))
	if err != nil {
		return fmt.Errorf("resume %s: the ceremony's script copy is missing (%v); the ceremony cannot be resumed and must be run again in a new folder", dir, err)
	}
	w, entries, err := transcript.Reopen(filepath.Join(dir, transcript.FileName), clock)
	if err != nil {
		return err
	}
	defer w.Close()
	var opening transcript.Opening
	if err := entries[0].DecodeData(&opening); err != nil {
		return err
	}
	if sum := sha256.Sum256(src); hex.EncodeToString(sum[:]) != opening.ScriptSHA256 {
		return fmt.Errorf("resume %s: %s differs from the script the ceremony opened with; restore the original", dir, ScriptFileName)
	}
	script, err := ParseScript(ScriptFileName, src)
	if err != nil {
		return err
	}
	r := &Run{Script: script, Dir: dir, UI: ui, Clock: clock, binding: b, w: w, steps: rootSteps(script)}
	if err := r.connect(); err != nil {
		return err
	}
	defer r.disconnect()
	if err := r.checkSameToken(entries); err != nil {
		return err
	}

	done, inFlight := progress(entries)
	r.current = "resume"
	resumption := transcript.Resumption{InFlightStep: inFlight, Decision: "continue"}
	if _, err := r.record(transcript.EventResumed, resumption); err != nil {
		return err
	}
	ui.Note(fmt.Sprintf("Resuming ceremony %s: %d step(s) completed%s.", script.ID, len(done), inFlightNote(inFlight)))
	if _, err := r.record("hsm.login", map[string]string{"role": hsm.User.String(), "token_serial": r.token.Info.Serial}); err != nil {
		return err
	}
	if entries[len(entries)-1].Event == transcript.EventClosed {
		return fmt.Errorf("resume %s: the ceremony closed but its seal was not written; it cannot be sealed again safely, run the ceremony again in a new folder", dir)
	}
	first := len(r.steps)
	for i, s := range r.steps {
		if done[s.id] {
			r.current = s.id
			if err := s.restore(r, entries); err != nil {
				return fmt.Errorf("resume: reload step %q: %w", s.id, err)
			}
			continue
		}
		first = i
		break
	}
	for _, s := range r.steps[first:] {
		if done[s.id] {
			return fmt.Errorf("resume: step %q is recorded as completed after an incomplete step; the transcript is inconsistent", s.id)
		}
	}
	if first < len(r.steps) {
		if err := r.cleanUp(r.steps[first], entries); err != nil {
			return err
		}
	}
	return r.runFrom(first)
}

func inFlightNote(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf("; step %q was in flight", s)
}

// progress reads which steps completed and which one was started last without finishing.
func progress(entries []transcript.Entry) (map[string]bool, string) {
	done := map[string]bool{}
	open := ""
	for _, e := range entries {
		switch e.Event {
		case transcript.EventStepStarted:
			open = e.Step
		case transcript.EventStepCompleted:
			done[e.Step] = true
			open = ""
		case transcript.EventStepFailed:
			open = ""
		}
	}
	return done, open
}

func (r *Run) checkSameToken(entries []transcript.Entry) error {
	for _, e := range entries {
		if e.Event != "hsm.identified" {
			continue
		}
		var id struct {
			Token hsm.TokenInfo `json:"token"`
		}
		if err := e.DecodeData(&id); err != nil {
			return err
		}
		if id.Token.Serial != r.token.Info.Serial || id.Token.Label != r.token.Info.Label {
			return fmt.Errorf("resume: the ceremony ran on token %s, but token %s is connected; connect the original token", id.Token, r.token.Info)
		}
	}
	return nil
}

// cleanUp removes what an interrupted step may have left: key objects with its labels and
// output files it did not record. Both need the administrator's and a witness's confirmation.
func (r *Run) cleanUp(s step, entries []transcript.Entry) error {
	r.current = s.id
	recorded := map[string]bool{}
	for _, e := range entries {
		var o transcript.Output
		if e.Event == transcript.EventOutput && e.DecodeData(&o) == nil {
			recorded[o.File] = true
		}
	}
	var labels, files []string
	for _, l := range s.labels {
		if has, err := r.token.HasLabel(l); err != nil {
			return err
		} else if has {
			labels = append(labels, l)
		}
	}
	for _, f := range s.outputs {
		if _, err := os.Stat(filepath.Join(r.Dir, f)); err == nil {
			files = append(files, f)
		}
	}
	if len(labels) == 0 && len(files) == 0 {
		return nil
	}
	question := fmt.Sprintf("Step %q was interrupted. It left key objects %v on the token and files %v that the transcript cannot vouch for. Destroy them and run the step again?", s.title, labels, files)
	admin := r.Script.People("administrator")[0]
	witness := r.Script.People("witness")[0]
	for _, p := range []Participant{admin, witness} {
		if err := r.UI.Confirm(p.Name, p.Name+": "+question); err != nil {
			r.record("cleanup.declined", map[string]any{"by": p.Name, "labels": labels, "files": files})
			return fmt.Errorf("resume stopped: %s declined to destroy what the interrupted step left (%v %v); nothing was changed", p.Name, labels, files)
		}
	}
	for _, l := range labels {
		n, err := r.token.DestroyLabel(l)
		if err != nil {
			return err
		}
		if _, err := r.record("cleanup.destroyed", map[string]any{"label": l, "objects": n, "confirmed_by": []string{admin.Name, witness.Name}}); err != nil {
			return err
		}
	}
	for _, f := range files {
		if recorded[f] {
			return fmt.Errorf("resume: %s was recorded by the interrupted step; the transcript is inconsistent", f)
		}
		sum, size, _ := transcript.HashFile(filepath.Join(r.Dir, f))
		if err := os.Remove(filepath.Join(r.Dir, f)); err != nil {
			return err
		}
		if _, err := r.record("cleanup.removed-file", map[string]any{"file": f, "sha256": hex.EncodeToString(sum[:]), "size": size}); err != nil {
			return err
		}
	}
	return nil
}
