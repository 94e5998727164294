package evidence

import (
	"fmt"
	"strings"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// TokenHistory is one token the token ceremonies worked on: initialised, a PIN changed,
// decommissioned. It never holds a PIN; the records it is read from hold none.
type TokenHistory struct {
	Serial       string     `json:"serial"`
	Label        string     `json:"label"`
	Manufacturer string     `json:"manufacturer,omitempty"`
	Model        string     `json:"model,omitempty"`
	State        string     `json:"state"` // TokenInService or TokenDecommissioned
	Since        string     `json:"since"`
	Events       []KeyEvent `json:"events"`
}

// Token states in the inventory.
const (
	TokenInService      = "in service"
	TokenDecommissioned = "decommissioned"
)

// token finds or adds the token with serial.
func (b *builder) token(serial, label string) *TokenHistory {
	for _, t := range b.inv.Tokens {
		if t.Serial == serial {
			if label != "" {
				t.Label = label
			}
			return t
		}
	}
	t := &TokenHistory{Serial: serial, Label: label, State: TokenInService}
	b.inv.Tokens = append(b.inv.Tokens, t)
	return t
}

func (t *TokenHistory) event(b *builder, when, what string) {
	t.Events = append(t.Events, KeyEvent{Time: when, Ceremony: b.id, Folder: b.folder, Token: fmt.Sprintf("%s (serial %s)", t.Label, t.Serial), What: what})
}

// tokenRecord follows the token ceremonies' records; it reports whether e was one.
func (b *builder) tokenRecord(e *transcript.Entry) bool {
	r, when := &e.Record, e.Time
	switch e.Event {
	case transcript.EventTokenInitialised:
		if d, err := transcript.Data[transcript.TokenInitialised](r); err == nil {
			t := b.token(d.Token.Serial, d.Token.Label)
			t.Manufacturer, t.Model, t.State, t.Since = d.Token.Manufacturer, d.Token.Model, TokenInService, when
			t.event(b, when, fmt.Sprintf("initialised (%d mechanisms); Security Officer PIN set by %s, user PIN by %s", d.Mechanisms, d.SOPINHolder, d.UserPINHolder))
		}
	case transcript.EventPINChanged:
		if d, err := transcript.Data[transcript.PINChanged](r); err == nil {
			b.token(d.TokenSerial, d.TokenLabel).event(b, when, fmt.Sprintf("%s PIN changed by %s", d.Role, d.Holder))
		}
	case transcript.EventTokenObjectDestroyed:
		if d, err := transcript.Data[transcript.TokenObjectDestroyed](r); err == nil {
			b.objectDestroyed(&d, when)
		}
	case transcript.EventTokenDecommissioned:
		if d, err := transcript.Data[transcript.TokenDecommissioned](r); err == nil {
			t := b.token(d.Token.Serial, d.Token.Label)
			t.State, t.Since = TokenDecommissioned, when
			t.event(b, when, fmt.Sprintf("decommissioned: %d objects destroyed, re-initialised, then empty (%d objects as user, %d in public); %s", d.ObjectsDestroyed, d.UserObjects, d.PublicObjects, d.Reason))
		}
	default:
		return false
	}
	return true
}

// objectDestroyed records an object a decommission destroyed: on its token, and as a copy
// destroyed of a key the inventory knows (by SPKI or check value; an object no earlier
// ceremony recorded is in the decommission's own list only).
func (b *builder) objectDestroyed(d *transcript.TokenObjectDestroyed, when string) {
	b.token(d.TokenSerial, "").event(b, when, fmt.Sprintf("%s %q destroyed", d.Class, d.Label))
	var k *KeyHistory
	switch {
	case d.SPKISHA256 != "":
		k = b.bySPKI[d.SPKISHA256]
	case d.KCV != "":
		kcv := strings.ToUpper(d.KCV) + "/" + d.KCVMethod
		for i := len(b.byKCV) - 1; i >= 0 && k == nil; i-- {
			if b.byKCV[i].kcv == kcv && b.byKCV[i].copy(d.TokenSerial) != nil {
				k = b.byKCV[i]
			}
		}
	}
	if k == nil || k.copy(d.TokenSerial) == nil || k.copy(d.TokenSerial).State == StateDestroyed {
		return
	}
	b.destroyed(&keyFacts{Label: d.Label, SPKISHA256: d.SPKISHA256, KCV: d.KCV, KCVMethod: d.KCVMethod, Token: d.TokenSerial, Reason: "token decommissioned: " + d.Reason}, when, tokenName(b.source))
}

// tokensString is the tokens' part of the inventory's text.
func (inv *KeyInventory) tokensString(b *strings.Builder) {
	if len(inv.Tokens) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%d tokens\n", len(inv.Tokens))
	for _, t := range inv.Tokens {
		fmt.Fprintf(b, "\ntoken %s, serial %s — %s since %s\n", oneLine(t.Label), oneLine(t.Serial), oneLine(t.State), oneLine(short(t.Since)))
		if t.Manufacturer != "" || t.Model != "" {
			fmt.Fprintf(b, "  %s %s\n", oneLine(t.Manufacturer), oneLine(t.Model))
		}
		for _, e := range t.Events {
			fmt.Fprintf(b, "  %s  %-34s %s\n", oneLine(short(e.Time)), oneLine(e.Ceremony), oneLine(e.What))
		}
	}
}

// tokenRows are the tokens' CSV rows: identity "TOKEN <serial>", kind "token", one row per
// event.
func (inv *KeyInventory) tokenRows() [][]string {
	var rows [][]string
	for _, t := range inv.Tokens {
		for _, e := range t.Events {
			row := make([]string, len(CSVHeader))
			row[0], row[1], row[2], row[3], row[4] = "TOKEN "+t.Serial, t.Label, "token", t.State, t.Since
			row[14], row[15], row[16], row[17] = e.Time, e.Ceremony, e.Token, e.What
			rows = append(rows, cellsSafe(row))
		}
	}
	return rows
}
