package reports

import (
	"fmt"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// sentence8 is part 8 of sentence's table, the room's control of the ceremony: "about to"
// gates and exceptions. "" when data is none of its types.
func sentence8(e *transcript.Record, data any) string {
	switch d := data.(type) {
	case *transcript.Gate:
		if e.Event == transcript.EventGateDeclined {
			return fmt.Sprintf("%s did not let the step %s on token %s (serial %s); nothing was done on the HSM: %s.", d.Witness, d.About, d.TokenLabel, d.TokenSerial, d.Reason)
		}
		return fmt.Sprintf("Before it happened, %s confirmed the step was about to %s on token %s (serial %s).", d.Witness, d.About, d.TokenLabel, d.TokenSerial)
	case *transcript.Exception:
		return fmt.Sprintf("An exception to the script was recorded and signed off by %s: %s. The ceremony went on (asked: %s).", d.Witness, d.Reason, d.Question)
	}
	return ""
}
