package reports

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// Ceremony is what a report shows, read from a verified transcript and nothing else. Records
// are decoded with the transcript's event schema (transcript.DecodeEvent); each becomes a
// sentence for people (Event.Sentence), and the raw event name is kept for the appendix.
type Ceremony struct {
	ID, Type, Title, Organization, Location string
	Rehearsal                               bool
	Opened, Closed                          time.Time
	Result                                  string
	Keyrite                                 transcript.Build
	ScriptFile, ScriptSHA256                string
	Participants                            []Person
	Equipment                               transcript.Equipment
	HSMs                                    []transcript.HSMIdentified
	ModuleSHA256                            string
	Steps                                   []Step
	Events                                  []Event // every record, in order
	Deviations                              []Event
	Exceptions                              []string // what the record lacks that the script asked for
	Keys                                    []Key
	KCVs                                    []KCV
	Certificates                            []Certificate
	Inventories                             []TokenList
	Bags                                    []Bag
	Outputs                                 []transcript.Output
	Previous                                *transcript.Previous
	Seal                                    string // the whole seal text
	SealShort                               string // short head hash, grouped as the screen shows it
	RootSPKI                                string
	Records                                 int
}

// Person is a participant with their role, their share's bag, and when the roll call
// confirmed them (zero: not confirmed).
type Person struct {
	Name, Role, Bag string
	Present         time.Time
}

// Step is one scripted step as it happened.
type Step struct {
	ID, Title, Actor string
	Started, Ended   time.Time
	Result           string // completed, failed, in flight
	Error            string
	Witness          string
	WitnessRequired  bool
	Events           []Event
}

// Event is a record shown in a report: its sentence, and its raw name for the appendix.
type Event struct {
	Seq      uint64
	Time     time.Time
	Step     string
	Actor    string
	Name     string
	Sentence string
}

// Key is a key the ceremony generated, restored or imported, with its state at the close.
type Key struct {
	Label, Algorithm, Purpose, Event string
	SPKI, Words                      string
	Attributes                       map[string]bool
	Token                            string
	State                            string // "active on the token", "destroyed …", a life-cycle state
	Destroyed                        bool
	Seq                              uint64
}

// KCV is a key check value with its method.
type KCV struct{ What, Method, Value string }

// Certificate is a certificate the ceremony issued.
type Certificate struct {
	Name, Subject, Issuer, Serial, NotBefore, NotAfter, SHA256, SPKI, Algorithm string
}

// TokenList is a token's objects as recorded before or after the ceremony.
type TokenList struct {
	When, Token, Role string
	Objects           []transcript.Object // nil when only the count was recorded
	Count, Unreadable int
	Seq               uint64
}

// Bag is a tamper-evident bag the ceremony names, what it holds and whether the transcript
// records it sealed before a witness.
type Bag struct {
	Number, Holds string
	Sealed        bool
	Witness       string
	Time          time.Time
	Seq           uint64
	Disputed      string
}

// deviationEvents are recorded departures from the script.
var deviationEvents = map[string]bool{
	transcript.EventStepFailed: true, transcript.EventWitnessDeclined: true, transcript.EventParticipantAbsent: true,
	transcript.EventClockDisputed: true, transcript.EventBagsDisputed: true, transcript.EventResumed: true,
	transcript.EventTornDiscarded: true, transcript.EventCleanupDestroyed: true, transcript.EventCleanupRemovedFile: true,
	transcript.EventCleanupDeclined: true, transcript.EventSuperseded: true, transcript.EventSharesVoided: true,
	transcript.EventShareRefused: true, transcript.EventShareNotEntered: true, transcript.EventShareNotConfirmed: true,
	transcript.EventKEKRejected: true, transcript.EventDestructionDeclined: true, transcript.EventAborted: true,
	transcript.EventKeyLeft: true, transcript.EventShareNotProven: true, transcript.EventShareNotDestroyed: true,
	transcript.EventRetiredOverride: true, transcript.EventGateDeclined: true, transcript.EventException: true,
}

// Read builds the report model from a verified transcript.
func Read(res *transcript.Result) (*Ceremony, error) {
	o := res.Opening
	c := &Ceremony{
		ID: o.CeremonyID, Type: o.Type, Organization: o.Organization, Location: o.Location, Rehearsal: o.RehearsalToken,
		Keyrite: o.Keyrite, ScriptFile: o.ScriptFile, ScriptSHA256: o.ScriptSHA256, ModuleSHA256: o.ModuleSHA256,
		Previous: o.Previous, Seal: res.Seal.Text, SealShort: res.Seal.ShortHashGrouped(), RootSPKI: res.RootSPKI.Hex(),
		Outputs: res.Outputs, Records: len(res.Entries), Result: "completed and sealed",
	}
	r := reader{c: c, bags: map[string]*Bag{}}
	for i := range res.Entries {
		r.record(&res.Entries[i].Record)
	}
	r.finish()
	return c, nil
}

type reader struct {
	c        *Ceremony
	step     *Step
	bags     map[string]*Bag
	bagOrder []string
}

func (r *reader) bag(number, holds string) *Bag {
	b, ok := r.bags[number]
	if !ok {
		b = &Bag{Number: number}
		r.bags[number] = b
		r.bagOrder = append(r.bagOrder, number)
	}
	if b.Holds == "" {
		b.Holds = holds
	}
	return b
}

func (r *reader) record(e *transcript.Record) {
	c := r.c
	t, _ := time.Parse(time.RFC3339Nano, e.Time)
	if e.Seq == 0 {
		c.Opened = t
	}
	c.Closed = t
	// The transcript verified: a record this version cannot decode is shown as such, in words,
	// and listed raw in the appendix; it never stops the report.
	data, err := transcript.DecodeEvent(e)
	ev := Event{Seq: e.Seq, Time: t, Step: e.Step, Actor: e.Actor, Name: e.Event, Sentence: sentence(e, data)}
	if err != nil {
		data = nil
		ev.Sentence = fmt.Sprintf("A record this version of Keyrite cannot read was written here (record #%d; see appendix A).", e.Seq)
	}
	c.Events = append(c.Events, ev)
	if r.stepRecord(e, t, data) {
		return
	}
	r.roomRecord(e, t, data)
	r.keyRecord(e, t, data)
	r.evidenceRecord(e, t, data)
	if e.Event == transcript.EventStepCompleted && r.step != nil && r.step.ID == e.Step {
		r.step.Ended, r.step.Result = t, "completed"
	}
	if deviationEvents[e.Event] {
		c.Deviations = append(c.Deviations, ev)
	}
	if r.step != nil && r.step.ID == e.Step && e.Event != transcript.EventStepCompleted {
		r.step.Events = append(r.step.Events, ev)
	}
}

// stepRecord follows the steps: it reports true for a step's start, which is not one of the
// step's own events.
func (r *reader) stepRecord(e *transcript.Record, t time.Time, data any) bool {
	c := r.c
	switch d := data.(type) {
	case *transcript.StepStart:
		c.Steps = append(c.Steps, Step{ID: e.Step, Title: d.Title, Actor: d.Actor, Started: t, Result: "in flight", WitnessRequired: d.WitnessRequired})
		r.step = &c.Steps[len(c.Steps)-1]
		return true
	case *transcript.StepFailure:
		if r.step != nil && r.step.ID == e.Step {
			r.step.Ended, r.step.Result, r.step.Error = t, "failed", d.Error
		}
	}
	return false
}

// roomRecord follows the people, the equipment, the bags and the tokens' inventories.
func (r *reader) roomRecord(e *transcript.Record, t time.Time, data any) {
	c := r.c
	switch d := data.(type) {
	case *transcript.ScriptLoaded:
		c.Title, c.Equipment = d.Title, d.Equipment
		for _, p := range d.Participants {
			c.Participants = append(c.Participants, Person{Name: p.Name, Role: p.Role, Bag: p.Bag})
			if p.Bag != "" {
				r.bag(p.Bag, fmt.Sprintf("the share of %s (%s)", p.Name, p.Role))
			}
		}
		for _, b := range d.Equipment.Bags {
			r.bag(b, "equipment")
		}
	case *transcript.Presence:
		for i := range c.Participants {
			if c.Participants[i].Name == d.Name && c.Participants[i].Present.IsZero() {
				c.Participants[i].Present = t
				break
			}
		}
	case *transcript.Witnessing:
		if e.Event == transcript.EventWitnessConfirmed && r.step != nil && r.step.ID == e.Step {
			r.step.Witness = d.Witness
		}
	case *transcript.Bags:
		for _, n := range d.Bags {
			b := r.bag(n, "")
			if e.Event == transcript.EventBagsSealed {
				b.Sealed, b.Witness, b.Time, b.Seq = true, d.Witness, t, e.Seq
			} else {
				b.Disputed = fmt.Sprintf("%s disputed its sealing: %s", d.Witness, d.Reason)
			}
		}
	case *transcript.ShareIssued:
		if d.Bag != "" {
			r.bag(d.Bag, fmt.Sprintf("share %d of %d, %s's", d.Number, d.Of, d.Custodian))
		}
	case *transcript.ShareBagged:
		b := r.bag(d.Bag, fmt.Sprintf("share %d, %s's", d.Number, d.Custodian))
		b.Sealed, b.Witness, b.Time, b.Seq = true, d.Witness, t, e.Seq
	}
}

// keyRecord follows the keys, their states, check values and certificates.
func (r *reader) keyRecord(e *transcript.Record, t time.Time, data any) {
	c := r.c
	switch d := data.(type) {
	case *transcript.Key:
		c.Keys = append(c.Keys, Key{Label: d.Label, Algorithm: orKind(d.Algorithm, d.Kind), Purpose: d.Purpose, Event: e.Event, SPKI: d.SPKISHA256,
			Words: d.Words, Attributes: d.Attributes, Token: d.Token, State: "active on the token", Seq: e.Seq})
		if d.KCV != "" {
			c.KCVs = append(c.KCVs, KCV{What: d.Label + ", as imported", Method: d.KCVMethod, Value: d.KCV})
		}
	case *transcript.KeyDestroyed:
		r.destroyed(d.Label, fmt.Sprintf("destroyed at %s UTC (record #%d): %s", clock(t), e.Seq, d.Reason))
	case *transcript.CleanupDestroyed:
		r.destroyed(d.Label, fmt.Sprintf("destroyed at %s UTC in the clean-up after an interruption (record #%d)", clock(t), e.Seq))
	case *transcript.KeyLeft:
		for i := range c.Keys {
			if k := &c.Keys[i]; k.Label == d.Label && !k.Destroyed {
				k.State = fmt.Sprintf("left on token %s after the ceremony was aborted (record #%d): %s declined its destruction", d.TokenSerial, e.Seq, d.DeclinedBy)
			}
		}
	case *transcript.Aborted:
		c.Result = "aborted and sealed"
	case *transcript.KeyState:
		for i := range c.Keys {
			k := &c.Keys[i]
			if !k.Destroyed && (d.SPKISHA256 != "" && k.SPKI == d.SPKISHA256 || d.SPKISHA256 == "" && k.Label == d.Label) {
				k.State = fmt.Sprintf("%s since %s (record #%d)", d.State, d.Since, e.Seq)
				if d.Reason != "" {
					k.State += ": " + d.Reason
				}
			}
		}
	}
}

// evidenceRecord follows the HSMs, the tokens' inventories, check values and certificates.
func (r *reader) evidenceRecord(e *transcript.Record, t time.Time, data any) {
	c := r.c
	switch d := data.(type) {
	case *transcript.HSMIdentified:
		c.HSMs = append(c.HSMs, *d)
	case *transcript.TokenInventory:
		c.Inventories = append(c.Inventories, TokenList{When: d.When, Token: d.TokenSerial, Role: d.Role, Objects: d.Objects.List, Count: d.Objects.Count, Unreadable: d.Unreadable, Seq: e.Seq})
	case *transcript.KEKGenerated:
		c.KCVs = append(c.KCVs, KCV{What: "backup KEK, as generated", Method: d.KCV.Method, Value: d.KCV.Value})
	case *transcript.KEKRebuilt:
		c.KCVs = append(c.KCVs, KCV{What: "backup KEK, as rebuilt from shares", Method: d.KCV.Method, Value: d.KCV.Value})
	case *transcript.CertificateIssued:
		c.Certificates = append(c.Certificates, Certificate{Name: d.Name, Subject: d.Subject, Issuer: d.Issuer, Serial: d.Serial,
			NotBefore: d.NotBefore, NotAfter: d.NotAfter, SHA256: d.SHA256, SPKI: d.SPKISHA256, Algorithm: d.SignatureAlgorithm})
	}
}

// destroyed marks every key with the label recorded so far as destroyed.
func (r *reader) destroyed(label, state string) {
	for i := range r.c.Keys {
		if k := &r.c.Keys[i]; k.Label == label && !k.Destroyed {
			k.Destroyed, k.State = true, state
		}
	}
}

func (r *reader) finish() {
	c := r.c
	for _, n := range r.bagOrder {
		c.Bags = append(c.Bags, *r.bags[n])
	}
	for _, p := range c.Participants {
		if p.Present.IsZero() {
			c.Exceptions = append(c.Exceptions, fmt.Sprintf("%s (%s) is not recorded present at the roll call.", p.Name, p.Role))
		}
	}
	for _, s := range c.Steps {
		if s.WitnessRequired && s.Witness == "" && s.Result == "completed" {
			c.Exceptions = append(c.Exceptions, fmt.Sprintf("The step %q required a witness; none is recorded.", s.Title))
		}
		if s.Result == "in flight" {
			c.Exceptions = append(c.Exceptions, fmt.Sprintf("The step %q started at %s UTC and has no recorded end.", s.Title, clock(s.Started)))
		}
	}
	for _, b := range c.Bags {
		if !b.Sealed {
			c.Exceptions = append(c.Exceptions, fmt.Sprintf("Bag %s (%s) is not recorded as sealed before a witness.", b.Number, b.Holds))
		}
	}
	if n := len(c.Deviations); n > 0 {
		c.Result = fmt.Sprintf("%s, with %d recorded %s", c.Result, n, plural(n, "deviation", "deviations"))
	}
}

func orKind(alg, kind string) string {
	if alg != "" {
		return alg
	}
	return kind
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05") }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// list joins items as people write them: "a", "a and b", "a, b and c".
func list(items []string) string {
	switch len(items) {
	case 0:
		return "none"
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func prefix(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// sortedTrue lists the attributes that are true and those that are false, PKCS#11 prefix
// dropped.
func attributes(a map[string]bool) string {
	var on, off []string
	for k, v := range a {
		k = strings.TrimPrefix(k, "CKA_")
		if v {
			on = append(on, k)
		} else {
			off = append(off, k)
		}
	}
	sort.Strings(on)
	sort.Strings(off)
	var parts []string
	if len(on) > 0 {
		parts = append(parts, "true: "+strings.Join(on, ", "))
	}
	if len(off) > 0 {
		parts = append(parts, "false: "+strings.Join(off, ", "))
	}
	return strings.Join(parts, "; ")
}
