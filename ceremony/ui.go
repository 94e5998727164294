// Package ceremony runs key ceremonies: a validated script, bound to an HSM at run time, is
// carried out step by step into a hash-chained transcript that is sealed at the close.
//
// Each ceremony type is one unit in its own file (root.go, restore.go, reshare.go,
// importjob.go, export.go, import.go, migrate.go, intermediate.go, crl.go, destroy.go,
// rotate.go): its script section and validation, its steps, its run-time inputs and its
// description for the app and the CLI, registered once (types.go). engine.go runs the steps,
// resume.go continues a stopped ceremony; both go through one prepare path.
//
// The engine never draws, never reads a terminal and never renders a PDF: every person in the
// room is reached through the UI port, which the terminal, the GUI and tests implement alike,
// and share sheets and the report are rendered by functions the caller injects (Options). Before
// the first record is written (prepare) the script is fully validated (every string against the
// renderers it reaches), the output folder is checked to be new, the earlier ceremony and every
// input are verified, the token is found, identified and checked to hold none of the labels the
// ceremony will create, the pre-flight (preflight.go) checks everything else that needs no
// secret — capabilities, key states, CRL numbers, every certificate and CRL linted in its real
// shape, free space — and only then are the people and the clock confirmed. A ceremony stopped
// by a crash, a removed token, a person's "no" or its context's cancellation can be resumed
// from its transcript (Resume): completed steps are reloaded and checked against the token, the
// step in flight is cleaned up with the operator's and a witness's confirmation, and the rest
// runs. A refusal the pre-flight could not foresee closes the ceremony as aborted and sealed
// (abort.go).
package ceremony

import (
	"context"
	"errors"
	"time"
)

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
//
// The engine calls a UI from one goroutine at a time: the ceremony's own (the one that called
// Start or Resume), except Progress, which it may also call from a goroutine of its own while
// the HSM works (generating a key); the engine joins that goroutine before it calls the UI
// again. An implementation that shares state with other goroutines (a GUI's event loop)
// synchronises that itself.
//
// The methods that wait for a person take the ceremony's context: when it is cancelled they
// return promptly with ctx.Err() (or an error wrapping it), and the ceremony stops as after any
// failed step, ready to be resumed.
type UI interface {
	// Show presents the step about to run.
	Show(Screen)
	// Note tells the room a result (a fingerprint, a file written). Never a secret.
	Note(text string)
	// Confirm asks one person a yes/no question; a "no" returns ErrDeclined.
	Confirm(ctx context.Context, who, question string) error
	// AskSecret asks for a secret (a PIN) with masked entry; the caller zeroes the result.
	AskSecret(ctx context.Context, prompt string) ([]byte, error)
	// Progress reports long work; total 0 means unknown. It must not block.
	Progress(what string, done, total int)
	// RevealShare shows one custodian their share code, to them alone, and clears it before
	// returning. A UI that cannot show a secret safely hands over the printed sheet instead.
	RevealShare(ctx context.Context, custodian Participant, number, total int, code string) error
	// AskShare asks a custodian to type a share code. check is called as they type and on
	// submit; its error names the wrong group. AskShare returns once check accepts the code,
	// or an error if the custodian gives up. The caller zeroes nothing: codes are strings.
	AskShare(ctx context.Context, custodian Participant, prompt string, check func(code string) error) (string, error)
}

// ShareSheet is what one custodian's printed share sheet says. The engine hands it to
// Options.ShareSheet to render; it holds the share code, a secret: a renderer writes it
// nowhere but into the sheet it returns.
//
// The sheet is kept sealed in a safe for years, so it says on its own what it is and how it is
// used. It is rendered before the ceremony is sealed and cannot carry the seal: it names the
// ceremony, the script's hash and the key's fingerprint, which the sealed report repeats.
// The fields match reports.ShareSheet one for one.
type ShareSheet struct {
	CeremonyID     string
	Document       string // the sheet's document number (reports.SheetDocument)
	Organization   string
	KeyLabel       string
	RootSPKI       string // SHA-256 of the backed-up key's public key, grouped for reading
	ScriptSHA256   string // of the ceremony script, hex
	Custodian      string
	Role           string
	Number         int
	Threshold      int
	Total          int
	KCV            string // with its method, e.g. "1A2B3C (AES-CMAC of a zero block)"
	Bag            string // tamper-evident bag number, if assigned
	LossContact    string // whom to tell at once if the sheet is lost (from the script)
	Date           time.Time
	Code           string // the share code; the only secret on the sheet
	SupersedesNote string // for a re-share: which earlier split this one retires
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
