// Package ceremony runs key ceremonies: a validated script, bound to an HSM at run time, is
// carried out step by step into a hash-chained transcript that is sealed at the close.
//
// The engine never draws and never reads a terminal: every person in the room is reached
// through the UI port, which the terminal, the GUI and tests implement alike. Before the first
// record is written the script is fully validated, the output folder is checked to be new, and
// the token is checked to hold none of the labels the ceremony will create. A ceremony stopped
// by a crash, a removed token or a refusal can be resumed from its transcript (Resume): completed
// steps are reloaded and checked against the token, the step in flight is cleaned up with the
// operator's and a witness's confirmation, and the rest runs.
package ceremony

import "errors"

// Screen is what a step shows the room.
type Screen struct {
	Step    string // step ID, e.g. "generate-root-key"
	Title   string
	Explain string // what is about to happen
	Actor   string // who acts: a participant's name and role
	Number  int    // 1-based position, of Total
	Total   int
}

// UI is how the engine reaches the people in the room.
type UI interface {
	// Show presents the step about to run.
	Show(Screen)
	// Note tells the room a result (a fingerprint, a file written). Never a secret.
	Note(text string)
	// Confirm asks one person a yes/no question; a "no" returns ErrDeclined.
	Confirm(who, question string) error
	// AskSecret asks for a secret (a PIN) with masked entry; the caller zeroes the result.
	AskSecret(prompt string) ([]byte, error)
	// Progress reports long work; total 0 means unknown.
	Progress(what string, done, total int)
	// RevealShare shows one custodian their share code, to them alone, and clears it before
	// returning. A UI that cannot show a secret safely hands over the printed sheet instead.
	RevealShare(custodian Participant, number, total int, code string) error
	// AskShare asks a custodian to type a share code. check is called as they type and on
	// submit; its error names the wrong group. AskShare returns once check accepts the code,
	// or an error if the custodian gives up. The caller zeroes nothing: codes are strings.
	AskShare(custodian Participant, prompt string, check func(code string) error) (string, error)
}

// ErrDeclined is returned by UI.Confirm when the person answered no.
var ErrDeclined = errors.New("declined")

// Declined is a "no" with the reason the person gave; it is recorded as the deviation's
// reason. errors.Is(err, ErrDeclined) holds for it.
type Declined struct{ Reason string }

func (d *Declined) Error() string {
	if d.Reason == "" {
		return ErrDeclined.Error()
	}
	return "declined: " + d.Reason
}

// Is makes a Declined match ErrDeclined.
func (d *Declined) Is(target error) bool { return target == ErrDeclined }

// reasonOf is the reason a person gave for declining, if any.
func reasonOf(err error) string {
	var d *Declined
	if errors.As(err, &d) {
		return d.Reason
	}
	return ""
}
