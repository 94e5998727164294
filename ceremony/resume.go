package ceremony

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/internal/atomicfile"
)

// Resume continues an unsealed ceremony in dir. It trusts only what the transcript proves:
// completed steps are reloaded and their keys checked against the recorded fingerprints; the
// step that was in flight is cleaned up (objects it may have created and files it did not
// record are removed, after the administrator and a witness confirm) and run again.
//
// A sealed ceremony is not continued: what is derived from it (report, bundle) is made
// again (finishSealed). A closed one whose seal was not written is sealed with the same
// checkpoint, recording nothing.
//
// Everything that can refuse a resume (an inconsistent transcript, a changed script, missing
// inputs, the roll call, another token) is checked before the transcript is reopened: a
// refused resume leaves no trace. Cancelling ctx stops it as it stops Start.
func Resume(ctx context.Context, dir string, b Binding, ui UI, opt Options) error {
	if _, err := os.Stat(filepath.Join(dir, transcript.SealFileName)); err == nil {
		return finishSealed(dir, b, opt)
	}
	src, err := os.ReadFile(filepath.Join(dir, ScriptFileName))
	_, terr := os.Stat(filepath.Join(dir, transcript.FileName))
	if errors.Is(err, os.ErrNotExist) && errors.Is(terr, os.ErrNotExist) {
		return fmt.Errorf("resume %s: no ceremony opened in this folder (it was stopped before anything was recorded, and nothing was done on the HSM); run it again with `keyrite run SCRIPT --out %s`", dir, dir)
	}
	if _, err := atomicfile.RemoveStale(dir); err != nil {
		return fmt.Errorf("resume %s: %w", dir, err)
	}
	if err == nil && errors.Is(terr, os.ErrNotExist) {
		// Stopped after the script's copy was written and before the transcript existed:
		// nothing was recorded or done on the HSM, so the ceremony starts from its copy.
		script, err := ParseScript(ScriptFileName, src)
		if err != nil {
			return err
		}
		ui.Note(fmt.Sprintf("Ceremony %s had not opened yet; starting it from %s.", script.ID, ScriptFileName))
		return Start(ctx, script, dir, b, ui, opt)
	}
	script, entries, err := readUnsealed(dir)
	if err != nil {
		return err
	}
	r := newRun(ctx, script, dir, b, ui, opt)
	defer r.disconnect()
	// Closed but not sealed: nobody acts any more, so there is no roll call either.
	r.closed = entries[len(entries)-1].Event == transcript.EventClosed
	first := 0
	if !r.closed {
		if first, err = r.resumePoint(entries); err != nil {
			return err
		}
	}
	if err := r.prepare(entries); err != nil {
		return err
	}
	w, entries, err := transcript.Reopen(filepath.Join(dir, transcript.FileName), r.Clock)
	if err != nil {
		return err
	}
	defer w.Close()
	r.w = w
	r.resumed = entries
	if opt.OnRecord != nil {
		w.Observe(opt.OnRecord)
	}
	if w.Sealed() {
		return r.sealClosed(entries)
	}
	if err := r.recordResumption(entries); err != nil {
		return err
	}
	first, err = r.reload(first, entries)
	if err != nil {
		return err
	}
	if first == len(r.steps) {
		// Every step completed, the close step too, but ceremony.closed was not written.
		r.current = stepClose
		return r.closeAndSeal()
	}
	return r.runFrom(first)
}

// reload makes the run what the transcript proves it was before step first: steps whose
// results lived only in memory (a KEK, shares) are run again if the step that used them did
// not complete (shares already handed out are void), completed steps are reloaded, and what
// the steps to run again left behind is cleaned up. It returns the step to run from.
func (r *Run) reload(first int, entries []transcript.Entry) (int, error) {
	restart := first
	for restart > 0 && r.steps[restart-1].volatile {
		restart--
	}
	if restart < first {
		r.current = r.steps[restart].id
		if err := r.voidShares(entries); err != nil {
			return 0, err
		}
		first = restart
	}
	for _, s := range r.steps[:first] {
		if s.restore == nil {
			continue
		}
		r.current = s.id
		if err := s.restore(r, entries); err != nil {
			return 0, fmt.Errorf("resume: reload step %q: %w", s.id, err)
		}
	}
	if first < len(r.steps) {
		if err := r.cleanUp(r.steps[first:], entries); err != nil {
			return 0, err
		}
	}
	return first, nil
}

// readUnsealed reads an unsealed ceremony's transcript (without its torn tail, if the last
// write was cut) and its script copy, which must be the script the transcript opened with.
// It writes nothing.
func readUnsealed(dir string) (*Script, []transcript.Entry, error) {
	if _, err := os.Stat(filepath.Join(dir, transcript.SealFileName)); err == nil {
		return nil, nil, fmt.Errorf("ceremony %s is already sealed; there is nothing to resume (`keyrite verify %s` checks it)", dir, dir)
	}
	src, err := os.ReadFile(filepath.Join(dir, ScriptFileName))
	if err != nil {
		return nil, nil, fmt.Errorf("resume %s: the ceremony's script copy is missing (%v); the ceremony cannot be resumed and must be run again in a new folder", dir, err)
	}
	path := filepath.Join(dir, transcript.FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reopen transcript: %w", err)
	}
	entries, perr := transcript.Parse(data)
	var torn *transcript.TornError
	if perr != nil && !errors.As(perr, &torn) {
		return nil, nil, fmt.Errorf("reopen transcript %s: %w", path, perr)
	}
	if len(entries) == 0 {
		return nil, nil, fmt.Errorf("reopen transcript %s: no complete record; start the ceremony again", path)
	}
	var opening transcript.Opening
	if err := entries[0].DecodeData(&opening); err != nil {
		return nil, nil, err
	}
	if sum := sha256.Sum256(src); hex.EncodeToString(sum[:]) != opening.ScriptSHA256 {
		return nil, nil, fmt.Errorf("resume %s: %s differs from the script the ceremony opened with; restore the original", dir, ScriptFileName)
	}
	script, err := ParseScript(ScriptFileName, src)
	if err != nil {
		return nil, nil, err
	}
	return script, entries, nil
}

// sealClosed seals a transcript that was closed but not sealed (a kill or a full disk
// between the two) with the same checkpoint. Nothing is recorded: nothing may follow
// ceremony.closed.
func (r *Run) sealClosed(entries []transcript.Entry) error {
	for _, s := range r.steps {
		if s.restore != nil {
			if err := s.restore(r, entries); err != nil {
				return fmt.Errorf("resume: reload step %q to seal: %w", s.id, err)
			}
		}
	}
	if r.signer == nil {
		return fmt.Errorf("resume %s: the transcript is closed but names no transcript signer to seal it with", r.Dir)
	}
	r.UI.Note(fmt.Sprintf("Ceremony %s closed but was not sealed; sealing it now.", r.Script.ID))
	return r.seal()
}

// resumePoint finds the first step to run again, and refuses a transcript that records a
// step completed after one that was not.
func (r *Run) resumePoint(entries []transcript.Entry) (int, error) {
	done, _ := progress(entries)
	first := len(r.steps)
	for i, s := range r.steps {
		if !done[s.id] {
			first = i
			break
		}
	}
	for _, s := range r.steps[first:] {
		if done[s.id] {
			return 0, fmt.Errorf("resume: step %q is recorded as completed after an incomplete step; the transcript is inconsistent", s.id)
		}
	}
	return first, nil
}

// recordResumption records that the ceremony resumed, the login, and who is in the room.
func (r *Run) recordResumption(entries []transcript.Entry) error {
	done, inFlight := progress(entries)
	r.current = "resume"
	resumption := transcript.Resumption{InFlightStep: inFlight, Decision: "continue"}
	if _, err := r.record(transcript.EventResumed, resumption); err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("Resuming ceremony %s: %d step(s) completed%s.", r.Script.ID, len(done), inFlightNote(inFlight)))
	if _, err := r.record(transcript.EventHSMLogin, map[string]string{"role": hsm.User.String(), "token_serial": r.token.Info.Serial}); err != nil {
		return err
	}
	for _, e := range r.early { // who is in the room for the rest of the ceremony
		if _, err := r.record(e.event, e.data); err != nil {
			return err
		}
	}
	r.early = nil
	return nil
}

// TranscriptSigner finds, on tok, the transcript signer that sealed the verified ceremony res
// in dir: the key its seal names, refused unless it is the certified signer's key.
func TranscriptSigner(tok *hsm.Token, dir string, res *transcript.Result) (*hsm.KeyPair, error) {
	k, err := tok.FindKeyPair(res.Seal.SignerName)
	if err != nil {
		return nil, err
	}
	if !k.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(res.Signer.PublicKey) {
		return nil, fmt.Errorf("key %q on token %q is not the transcript signer that sealed %s", res.Seal.SignerName, tok.Info.Label, dir)
	}
	return k, nil
}

// finishSealed makes again what is derived from a sealed ceremony (its report and bundle,
// through opt.AfterSeal) with its transcript-signing key. It records nothing: nothing is ever
// appended after a seal.
func finishSealed(dir string, b Binding, opt Options) error {
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		return fmt.Errorf("ceremony %s is sealed but does not verify, so nothing is made from it: %w", dir, err)
	}
	if opt.AfterSeal == nil && EvidenceRoot(dir) == "" {
		return nil
	}
	if _, err := atomicfile.RemoveStale(dir); err != nil {
		return fmt.Errorf("resume %s: %w", dir, err)
	}
	tok, err := b.Open()
	if err != nil {
		return err
	}
	defer tok.Close()
	k, err := TranscriptSigner(tok, dir, res)
	if err != nil {
		return fmt.Errorf("ceremony %s is sealed; its report and bundle need its transcript signer: %w", dir, err)
	}
	if err := logSealed(dir, k); err != nil {
		return &AfterSealError{Dir: dir, Err: err}
	}
	if opt.AfterSeal != nil {
		if err := opt.AfterSeal(dir, k); err != nil {
			return &AfterSealError{Dir: dir, Err: err}
		}
	}
	return tok.Logout()
}

// voidShares records that the shares of an interrupted split will never protect anything, and
// removes their sheets: those the transcript records as issued, and any sheet written but not
// yet recorded when the ceremony stopped (named in the record as unrecorded).
func (r *Run) voidShares(entries []transcript.Entry) error {
	var numbers []int
	issued := map[string]bool{}
	for _, e := range entries {
		var d struct {
			Number int    `json:"number"`
			Sheet  string `json:"sheet"`
		}
		if e.Event == transcript.EventShareIssued && e.DecodeData(&d) == nil {
			numbers = append(numbers, d.Number)
			if d.Sheet != "" && r.opt.SharesDir != "" {
				issued[d.Sheet] = true
				os.Remove(filepath.Join(r.opt.SharesDir, d.Sheet))
			}
		}
	}
	// A sheet written to the shares folder but not yet recorded as issued is void too.
	var unrecorded []string
	if dir := r.opt.SharesDir; dir != "" {
		if _, err := atomicfile.RemoveStale(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		total := len(r.Script.People("custodian"))
		for n := 1; n <= total; n++ {
			name := sheetName(n, total)
			if issued[name] {
				continue
			}
			if err := os.Remove(filepath.Join(dir, name)); err == nil {
				unrecorded = append(unrecorded, name)
			} else if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("void share sheet %s: %w", name, err)
			}
		}
	}
	_, err := r.record(transcript.EventSharesVoided, transcript.SharesVoided{Numbers: numbers, UnrecordedSheets: unrecorded,
		Reason: "the ceremony stopped before the backup was made; the key-encryption key existed only in memory and is gone. Destroy these share sheets: new shares will be handed out"})
	if len(numbers)+len(unrecorded) > 0 {
		r.UI.Note(fmt.Sprintf("Shares %v handed out before the interruption are void (and sheets %v written but not recorded were removed): collect and destroy those sheets. New shares follow.", numbers, unrecorded))
	}
	return err
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
	src, dst := identities(entries)
	if src != nil && (src.Serial != r.token.Info.Serial || src.Label != r.token.Info.Label) {
		return fmt.Errorf("resume: the ceremony ran on token %s, but token %s is connected; connect the original token", src, r.token.Info)
	}
	if dst != nil && r.target != nil && (dst.Serial != r.target.Info.Serial || dst.Label != r.target.Info.Label) {
		return fmt.Errorf("resume: the ceremony's target was token %s, but token %s is connected; connect the original target", dst, r.target.Info)
	}
	return nil
}

// identities reads which tokens a transcript's hsm.identified records name: the source (or
// only) token, and a migration's target.
func identities(entries []transcript.Entry) (src, dst *hsm.TokenInfo) {
	for _, e := range entries {
		if e.Event != transcript.EventHSMIdentified {
			continue
		}
		var d struct {
			Token hsm.TokenInfo `json:"token"`
			Role  string        `json:"role"`
		}
		if e.DecodeData(&d) != nil {
			continue
		}
		if d.Role == "target" {
			dst = &d.Token
		} else if src == nil {
			src = &d.Token
		}
	}
	return src, dst
}

// outputsOf names the files step s writes.
func (r *Run) outputsOf(s step) []string {
	if s.id == "wrap-root-key" && len(s.outputs) == 0 && r.backup != nil {
		meta, blob := backupFiles(r.backup.KeyLabel)
		return []string{blob, meta}
	}
	return s.outputs
}

// cleanUp prepares the steps from steps[first] on to run again. Files a failed attempt
// recorded are moved aside and the move recorded (nothing is lost, the verifier follows
// them). Key objects and files the transcript cannot vouch for (a crash between creating and
// recording them) are destroyed, after the administrator and a witness confirm.
func (r *Run) cleanUp(steps []step, entries []transcript.Entry) error {
	r.current = steps[0].id
	labels, files, err := r.leftovers(steps, entries)
	if err != nil {
		return err
	}
	orphans, err := r.halfMadeObjects(entries)
	if err != nil {
		return err
	}
	if len(labels) == 0 && len(files) == 0 && len(orphans) == 0 {
		return nil
	}
	question := fmt.Sprintf("Step %q was interrupted. It left key objects %v on the token and files %v that the transcript cannot vouch for. Destroy them and run the step again?", steps[0].title, labels, files)
	if len(orphans) > 0 {
		question = fmt.Sprintf("Step %q was interrupted. It left key objects %v, files %v and %s that the transcript cannot vouch for. Destroy them and run the step again?", steps[0].title, labels, files, orphanList(orphans))
	}
	confirmedBy, err := r.confirmCleanup(question, map[string]any{"labels": labels, "files": files})
	if err != nil {
		return fmt.Errorf("resume stopped: %w (%v %v); nothing was changed", err, labels, files)
	}
	for _, o := range orphans {
		n, err := o.tok.DestroyUnlabelled()
		if err != nil {
			return err
		}
		if _, err := r.record(transcript.EventCleanupDestroyed, transcript.CleanupDestroyed{Objects: n, ConfirmedBy: confirmedBy, TokenSerial: o.tok.Info.Serial,
			Reason: "objects with no label, half made by the interrupted step"}); err != nil {
			return err
		}
	}
	for _, l := range labels {
		n, err := r.token.DestroyLabel(l)
		if err != nil {
			return err
		}
		if _, err := r.record(transcript.EventCleanupDestroyed, map[string]any{"label": l, "objects": n, "confirmed_by": confirmedBy}); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := r.removeFile(f); err != nil {
			return err
		}
	}
	return nil
}

// leftovers finds what the steps to run again left behind: labels on the token, and files
// the transcript does not record. Files it records are moved aside (supersede) on the way.
func (r *Run) leftovers(steps []step, entries []transcript.Entry) (labels, files []string, err error) {
	recorded := recordedOutputs(entries)
	for _, s := range steps {
		for _, l := range s.labels {
			if has, err := r.token.HasLabel(l); err != nil {
				return nil, nil, err
			} else if has {
				labels = append(labels, l)
			}
		}
		for _, f := range r.outputsOf(s) {
			if _, err := os.Stat(filepath.Join(r.Dir, f)); err != nil {
				continue
			}
			if recorded[f] {
				if err := r.supersede(f, entries); err != nil {
					return nil, nil, err
				}
				continue
			}
			files = append(files, f)
		}
	}
	return labels, files, nil
}

// recordedOutputs lists the outputs the transcript records and has not moved aside.
func recordedOutputs(entries []transcript.Entry) map[string]bool {
	recorded := map[string]bool{}
	for _, e := range entries {
		var o transcript.Output
		var sup transcript.Superseded
		if e.Event == transcript.EventOutput && e.DecodeData(&o) == nil {
			recorded[o.File] = true
		}
		if e.Event == transcript.EventSuperseded && e.DecodeData(&sup) == nil {
			delete(recorded, sup.File)
		}
	}
	return recorded
}

// removeFile removes a file of the ceremony folder that no record vouches for, recording its
// hash and size.
func (r *Run) removeFile(f string) error {
	sum, size, _ := transcript.HashFile(filepath.Join(r.Dir, f))
	if err := os.Remove(filepath.Join(r.Dir, f)); err != nil {
		return err
	}
	_, err := r.record(transcript.EventCleanupRemovedFile, map[string]any{"file": f, "sha256": hex.EncodeToString(sum[:]), "size": size})
	return err
}

// removeUnvouched removes, once the administrator and a witness confirm, a file an interrupted
// attempt of the step wrote but never recorded, before the step writes it again.
func (r *Run) removeUnvouched(f string) error {
	q := fmt.Sprintf("Step %q was interrupted after writing %s and before recording it; the transcript cannot vouch for it. Remove it and write it again?", r.current, f)
	if _, err := r.confirmCleanup(q, map[string]any{"files": []string{f}}); err != nil {
		return fmt.Errorf("resume stopped: %w (%s); nothing was changed", err, f)
	}
	return r.removeFile(f)
}

// orphans are the unlabelled objects an interrupted step left on one token.
type orphans struct {
	tok *hsm.Token
	n   int
}

func orphanList(os []orphans) string {
	var parts []string
	for _, o := range os {
		parts = append(parts, fmt.Sprintf("%d unlabelled object(s) on token %q", o.n, o.tok.Info.Label))
	}
	return strings.Join(parts, " and ")
}

// halfMadeObjects finds objects with no label on the ceremony's tokens: a key-making call
// killed halfway leaves them (SoftHSM2 writes an object before all its attributes). They are
// the interrupted step's only if the token held none when the ceremony opened; otherwise
// Keyrite cannot tell them apart and the resume stops for a person to inspect the token.
func (r *Run) halfMadeObjects(entries []transcript.Entry) ([]orphans, error) {
	var out []orphans
	for _, t := range []struct {
		tok  *hsm.Token
		role string
	}{{r.token, ""}, {r.target, "target"}} {
		if t.tok == nil {
			continue
		}
		n, err := t.tok.Unlabelled()
		if err != nil || n == 0 {
			if err != nil {
				return nil, err
			}
			continue
		}
		before := 0
		for _, e := range entries {
			var inv transcript.TokenInventory
			if e.Event != transcript.EventTokenInventory || e.DecodeData(&inv) != nil || inv.When != "before" || inv.Role != t.role {
				continue
			}
			before += inv.Unreadable
			for _, o := range inv.Objects.List {
				if o.Label == "" && o.Error == "" {
					before++
				}
			}
		}
		if before > 0 {
			return nil, fmt.Errorf("resume stopped: token %q holds %d object(s) with no label, and held %d before the ceremony opened; Keyrite cannot tell which the interrupted step made. Inspect the token (keyrite inventory), remove what the step left, and resume", t.tok.Info.Label, n, before)
		}
		out = append(out, orphans{t.tok, n})
	}
	return out, nil
}

// confirmCleanup asks the administrator and then a witness to confirm destroying what the
// transcript cannot vouch for: two people, or nothing is destroyed. A refusal is recorded as
// cleanup.declined with what and who, and returned as "NAME declined to destroy …".
func (r *Run) confirmCleanup(question string, what map[string]any) ([]string, error) {
	var names []string
	for _, p := range []Participant{r.Script.People("administrator")[0], r.Script.People("witness")[0]} {
		if err := r.UI.Confirm(r.ctx, p.Name, p.Name+": "+question); err != nil {
			what["by"], what["reason"] = p.Name, reasonOf(err)
			r.record(transcript.EventCleanupDeclined, what)
			return nil, fmt.Errorf("%s declined to destroy what the transcript cannot vouch for", p.Name)
		}
		names = append(names, p.Name)
	}
	return names, nil
}

// supersede moves a recorded output aside, to superseded/<seq>/<name>, and records the move.
func (r *Run) supersede(f string, entries []transcript.Entry) error {
	next := entries[len(entries)-1].Seq + 1
	if n, _ := r.w.Head(); n > next {
		next = n
	}
	to := path.Join("superseded", fmt.Sprint(next), f)
	if err := os.MkdirAll(filepath.Join(r.Dir, filepath.FromSlash(path.Dir(to))), 0o755); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(r.Dir, filepath.FromSlash(f)), filepath.Join(r.Dir, filepath.FromSlash(to))); err != nil {
		return fmt.Errorf("move %s aside: %w", f, err)
	}
	_, err := r.record(transcript.EventSuperseded, transcript.Superseded{File: f, MovedTo: to})
	return err
}

// TokenOf reads which token a ceremony ran on (its source token, for a migration) from its
// transcript, so a resume or a later bundle binds to the same one.
func TokenOf(dir string) (hsm.TokenInfo, error) {
	data, err := os.ReadFile(filepath.Join(dir, transcript.FileName))
	if err != nil {
		return hsm.TokenInfo{}, err
	}
	entries, _ := transcript.Parse(data)
	if src, _ := identities(entries); src != nil {
		return *src, nil
	}
	return hsm.TokenInfo{}, fmt.Errorf("the transcript in %s names no HSM token", dir)
}
