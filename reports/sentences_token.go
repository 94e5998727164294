package reports

import (
	"fmt"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// tokenSentence is the token ceremonies' part of sentence's table: "" when data is none of
// their types. No sentence can hold a PIN: the records hold none.
func tokenSentence(_ *transcript.Record, data any) string {
	switch d := data.(type) {
	case *transcript.TokenInitialised:
		return fmt.Sprintf("Token %s (%s %s, serial %s, firmware %s) was initialised; it offers %d mechanisms (list SHA-256 %s) and its user sees %d %s. %s set the Security Officer PIN and %s the user PIN (%s); no PIN is recorded.",
			d.Token.Label, d.Token.Manufacturer, d.Token.Model, d.Token.Serial, d.Token.Firmware, d.Mechanisms, hash16(d.MechanismsSHA256),
			len(d.Objects), plural(len(d.Objects), "object", "objects"), d.SOPINHolder, d.UserPINHolder, d.PINEntry)
	case *transcript.PINChanged:
		s := fmt.Sprintf("%s changed the %s PIN of token %s (serial %s) (%s)", d.Holder, d.Role, d.TokenLabel, d.TokenSerial, d.PINEntry)
		if d.Verified {
			s += "; a login with the new PIN succeeded"
		}
		return s + "; no PIN is recorded."
	case *transcript.TokenObjects:
		var objs []string
		for _, o := range d.Objects {
			objs = append(objs, tokenObjectName(o))
		}
		s := fmt.Sprintf("Token %s (serial %s) holds %d %s: %s", d.TokenLabel, d.TokenSerial, len(d.Objects), plural(len(d.Objects), "object", "objects"), list(objs))
		if len(d.AcceptedLoss) > 0 {
			s += fmt.Sprintf("; the script accepts the loss of %s, whose only recorded copy is here: %s", list(d.AcceptedLoss), d.AcceptedLossReason)
		}
		if len(d.NotInEvidence) > 0 {
			s += fmt.Sprintf("; no ceremony in the evidence read recorded the key pairs %s", list(d.NotInEvidence))
		}
		return s + "."
	case *transcript.TokenObjectDestroyed:
		s := fmt.Sprintf("%s was destroyed on token %s with the confirmation of %s", tokenObjectName(d.TokenObject), d.TokenSerial, d.ConfirmedBy)
		if d.LastCopy {
			s += "; it was the key's last recorded copy"
		}
		return s + "."
	case *transcript.TokenDecommissioned:
		return fmt.Sprintf("Token %s (serial %s) was re-initialised after %d %s were destroyed (%s); it is empty: %d %s in a public session, %d to its user, whose new PIN %s set (%s).",
			d.Token.Label, d.Token.Serial, d.ObjectsDestroyed, plural(d.ObjectsDestroyed, "object", "objects"), d.Reason,
			d.PublicObjects, plural(d.PublicObjects, "object", "objects"), d.UserObjects, d.UserPINHolder, d.PINEntry)
	}
	return ""
}

// tokenObjectName names an object as a decommission lists it: label, kind, and what
// identifies it.
func tokenObjectName(o transcript.TokenObject) string {
	s := objectName(transcript.Object{Class: o.Class, KeyType: o.KeyType, Label: o.Label, ID: o.ID, Error: o.Error})
	switch {
	case o.SPKISHA256 != "":
		s += " with public key " + hash16(o.SPKISHA256)
	case o.KCV != "":
		s += fmt.Sprintf(" with check value %s (%s)", o.KCV, o.KCVMethod)
	}
	return s
}
