package ceremony

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// Aftermath is what a ceremony left behind, read from its folder alone, for the screen that
// says so once it stopped or was aborted: which keys its records say it created, destroyed or
// left on which token, and what is on the disk.
type Aftermath struct {
	Dir        string
	Transcript string // its path; "" when none was written
	Records    int
	Sealed     bool   // the seal file exists
	Result     string // the closing's result ("completed", "aborted"); "" when not closed
	Reason     string // an aborted ceremony's reason
	InFlight   string // the step that began and did not end, if any
	Keys       []KeyAftermath
}

// KeyAftermath is one key a ceremony's records name, and where it is now.
type KeyAftermath struct {
	Label, Token, Serial string
	State                string // KeyOnToken, KeyDestroyed or KeyLeft
}

// A key's state after a ceremony, by its records.
const (
	KeyOnToken   = "exists"
	KeyDestroyed = "destroyed"
	KeyLeft      = "left on the token by the aborted ceremony (recorded)"
)

// AftermathOf reads what the ceremony in dir left behind. A folder without a transcript
// is reported as such; an unreadable transcript is an error.
func AftermathOf(dir string) (Aftermath, error) {
	a := Aftermath{Dir: dir}
	path := filepath.Join(dir, transcript.FileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return a, err
	}
	a.Transcript = path
	entries, _ := transcript.Parse(data) // a torn last record is cut off by a resume
	a.Records = len(entries)
	if _, err := os.Stat(filepath.Join(dir, transcript.SealFileName)); err == nil {
		a.Sealed = true
	}
	tokens := map[string]string{} // serial → label
	if src, dst := identities(entries); src != nil {
		tokens[src.Serial] = src.Label
		if dst != nil {
			tokens[dst.Serial] = dst.Label
		}
	}
	keys := map[string]int{} // label → index in a.Keys
	set := func(label, serial, state string) {
		if i, ok := keys[label]; ok {
			a.Keys[i].State = state
			return
		}
		keys[label] = len(a.Keys)
		a.Keys = append(a.Keys, KeyAftermath{Label: label, Serial: serial, Token: tokens[serial], State: state})
	}
	for _, e := range entries {
		a.read(e, set)
	}
	return a, nil
}

// read applies one record to the aftermath.
func (a *Aftermath) read(e transcript.Entry, set func(label, serial, state string)) {
	switch e.Event {
	case transcript.EventStepStarted:
		a.InFlight = e.Step
	case transcript.EventStepCompleted, transcript.EventStepFailed:
		a.InFlight = ""
	case transcript.EventKeyGenerated, transcript.EventKeyRestored, transcript.EventKeyImported:
		if k, err := transcript.Data[transcript.Key](&e.Record); err == nil {
			set(k.Label, k.Token, KeyOnToken)
		}
	case transcript.EventKeyDestroyed:
		if k, err := transcript.Data[transcript.KeyDestroyed](&e.Record); err == nil {
			set(k.Label, k.TokenSerial, KeyDestroyed)
		}
	case transcript.EventCleanupDestroyed:
		if k, err := transcript.Data[transcript.CleanupDestroyed](&e.Record); err == nil {
			set(k.Label, k.TokenSerial, KeyDestroyed)
		}
	case transcript.EventKeyLeft:
		if k, err := transcript.Data[transcript.KeyLeft](&e.Record); err == nil {
			set(k.Label, k.TokenSerial, KeyLeft)
		}
	case transcript.EventAborted:
		if d, err := transcript.Data[transcript.Aborted](&e.Record); err == nil {
			a.Reason = d.Reason
		}
	case transcript.EventClosed:
		if c, err := transcript.Data[transcript.Closing](&e.Record); err == nil {
			a.Result = c.Result
		}
	}
}

// OnHSM says, one sentence a line, what the ceremony's records say is on the HSM now.
func (a Aftermath) OnHSM() []string {
	if a.Transcript == "" {
		return []string{"Nothing on the HSM was changed: the ceremony stopped before its transcript existed, and Keyrite changes nothing on a token before that."}
	}
	var out []string
	for _, k := range a.Keys {
		tok := fmt.Sprintf("token %q (serial %s)", k.Token, k.Serial)
		if k.Token == "" {
			tok = "the token with serial " + k.Serial
		}
		switch k.State {
		case KeyOnToken:
			out = append(out, fmt.Sprintf("The key %q exists on %s.", k.Label, tok))
		case KeyDestroyed:
			out = append(out, fmt.Sprintf("The key %q was destroyed on %s.", k.Label, tok))
		default:
			out = append(out, fmt.Sprintf("The key %q is %s on %s.", k.Label, KeyLeft, tok))
		}
	}
	if len(out) == 0 {
		out = append(out, "The records name no key this ceremony created or destroyed.")
	}
	if a.InFlight != "" && !a.Sealed {
		out = append(out, fmt.Sprintf("The step %q was under way when it stopped: whatever it left on the token unrecorded, a resume finds and clears up with a witness's consent.", a.InFlight))
	}
	return out
}

// OnDisk says what is in the ceremony folder.
func (a Aftermath) OnDisk() string {
	switch {
	case a.Transcript == "":
		return fmt.Sprintf("No transcript was written; the folder %s holds no evidence.", a.Dir)
	case a.Sealed && a.Result == transcript.ResultAborted:
		return fmt.Sprintf("The transcript %s (%d records) is closed as aborted and sealed: it cannot be resumed; it verifies as an aborted ceremony.", a.Transcript, a.Records)
	case a.Sealed:
		return fmt.Sprintf("The transcript %s (%d records) is sealed.", a.Transcript, a.Records)
	case a.Result != "":
		return fmt.Sprintf("The transcript %s (%d records) is closed but not yet sealed: a resume seals it.", a.Transcript, a.Records)
	}
	return fmt.Sprintf("The transcript %s (%d records) is not sealed: everything recorded is kept, and a resume continues the ceremony from it.", a.Transcript, a.Records)
}

// Interrupted reports whether the folder holds a ceremony that stopped before its seal: a
// resume continues it.
func (a Aftermath) Interrupted() bool { return a.Transcript != "" && !a.Sealed }
