package reports

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// Ceremony is what a report shows, read from a verified transcript and nothing else.
type Ceremony struct {
	ID, Type, Title, Organization, Location string
	Rehearsal                               bool
	Opened, Closed                          time.Time
	Result                                  string
	Keyrite                                 transcript.Build
	ScriptFile, ScriptSHA256                string
	Participants                            []Person
	Equipment                               map[string]any
	HSM                                     map[string]any
	ModuleSHA256                            string
	Steps                                   []Step
	Deviations                              []Event
	Keys                                    []Key
	KCVs                                    []KCV
	Certificates                            []Certificate
	Outputs                                 []transcript.Output
	Previous                                *transcript.Previous
	Seal                                    string // the whole seal text
	SealShort                               string // short head hash, printed on every page
	RootSPKI                                string
	Records                                 int
}

// Person is a participant with their role and whether the roll call confirmed them.
type Person struct{ Name, Role, Bag string }

// Step is one scripted step as it happened.
type Step struct {
	ID, Title, Actor string
	Started, Ended   time.Time
	Result           string // completed, failed, in flight
	Error            string
	Witness          string
	Events           []Event
}

// Event is a record shown in a report.
type Event struct {
	Seq     uint64
	Time    time.Time
	Step    string
	Actor   string
	Name    string
	Summary string
}

// Key is a key the ceremony generated or restored.
type Key struct {
	Label, Algorithm, Purpose, Event string
	SPKI, Words                      string
	Attributes                       map[string]bool
	Token                            string
}

// KCV is a key check value with its method.
type KCV struct{ What, Method, Value string }

// Certificate is a certificate the ceremony issued.
type Certificate struct {
	Name, Subject, Issuer, Serial, NotBefore, NotAfter, SHA256, SPKI, Algorithm string
}

// deviationEvents are recorded departures from the script.
var deviationEvents = map[string]bool{
	transcript.EventStepFailed: true, "witness.declined": true, "participant.absent": true, "clock.disputed": true,
	"bags.disputed": true, transcript.EventResumed: true, transcript.EventTornDiscarded: true, "cleanup.destroyed": true,
	"cleanup.removed-file": true, "cleanup.declined": true, transcript.EventSuperseded: true, "shares.voided": true,
	"share.refused": true, "share.not-entered": true, "share.not-confirmed": true, "kek.rejected": true,
}

// Read builds the report model from a verified transcript.
func Read(res *transcript.Result) (*Ceremony, error) {
	o := res.Opening
	c := &Ceremony{
		ID: o.CeremonyID, Type: o.Type, Organization: o.Organization, Location: o.Location, Rehearsal: o.RehearsalToken,
		Keyrite: o.Keyrite, ScriptFile: o.ScriptFile, ScriptSHA256: o.ScriptSHA256, ModuleSHA256: o.ModuleSHA256,
		Previous: o.Previous, Seal: res.Seal.Text, SealShort: res.Seal.ShortHash(), RootSPKI: res.RootSPKI.Hex(),
		Outputs: res.Outputs, Records: len(res.Entries), Result: "completed and sealed",
	}
	var step *Step
	for _, e := range res.Entries {
		t, _ := time.Parse(time.RFC3339Nano, e.Time)
		if e.Seq == 0 {
			c.Opened = t
		}
		c.Closed = t
		var data map[string]any
		if len(e.Data) > 0 {
			if err := json.Unmarshal(e.Data, &data); err != nil {
				return nil, fmt.Errorf("record %d: %w", e.Seq, err)
			}
		}
		ev := Event{Seq: e.Seq, Time: t, Step: e.Step, Actor: e.Actor, Name: e.Event, Summary: summarize(e.Event, data)}
		switch e.Event {
		case transcript.EventStepStarted:
			c.Steps = append(c.Steps, Step{ID: e.Step, Title: str(data, "title"), Actor: str(data, "actor"), Started: t, Result: "in flight"})
			step = &c.Steps[len(c.Steps)-1]
			continue
		case transcript.EventStepCompleted, transcript.EventStepFailed:
			if step != nil && step.ID == e.Step {
				step.Ended = t
				step.Result = "completed"
				if e.Event == transcript.EventStepFailed {
					step.Result, step.Error = "failed", str(data, "error")
				}
			}
		case "script.loaded":
			c.Title = str(data, "title")
			if eq, ok := data["equipment"].(map[string]any); ok {
				c.Equipment = eq
			}
			if ps, ok := data["participants"].([]any); ok {
				for _, p := range ps {
					pm, _ := p.(map[string]any)
					c.Participants = append(c.Participants, Person{Name: str(pm, "name"), Role: str(pm, "role"), Bag: str(pm, "bag")})
				}
			}
		case "hsm.identified":
			c.HSM = data
		case "witness.confirmed":
			if step != nil && step.ID == e.Step {
				step.Witness = str(data, "witness")
			}
		case "key.generated", "key.restored":
			var k Key
			json.Unmarshal(e.Data, &struct {
				Label      *string          `json:"label"`
				Algorithm  *string          `json:"algorithm"`
				Purpose    *string          `json:"purpose"`
				SPKI       *string          `json:"spki_sha256"`
				Words      *string          `json:"spki_sha256_words"`
				Attributes *map[string]bool `json:"attributes"`
				Token      *string          `json:"token_serial"`
			}{&k.Label, &k.Algorithm, &k.Purpose, &k.SPKI, &k.Words, &k.Attributes, &k.Token})
			k.Event = e.Event
			c.Keys = append(c.Keys, k)
		case "kek.generated", "kek.rebuilt":
			if kcv, ok := data["kcv"].(map[string]any); ok {
				what := "backup KEK, as generated"
				if e.Event == "kek.rebuilt" {
					what = "backup KEK, as rebuilt from shares"
				}
				c.KCVs = append(c.KCVs, KCV{What: what, Method: str(kcv, "method"), Value: str(kcv, "value")})
			}
		case "certificate.issued":
			c.Certificates = append(c.Certificates, Certificate{
				Name: str(data, "name"), Subject: str(data, "subject"), Issuer: str(data, "issuer"), Serial: str(data, "serial"),
				NotBefore: str(data, "not_before"), NotAfter: str(data, "not_after"), SHA256: str(data, "sha256"),
				SPKI: str(data, "spki_sha256"), Algorithm: str(data, "signature_algorithm"),
			})
		}
		if deviationEvents[e.Event] {
			c.Deviations = append(c.Deviations, ev)
		}
		if step != nil && step.ID == e.Step {
			step.Events = append(step.Events, ev)
		}
	}
	if len(c.Deviations) > 0 {
		c.Result = fmt.Sprintf("completed and sealed, with %d recorded deviation(s)", len(c.Deviations))
	}
	return c, nil
}

func str(m map[string]any, k string) string {
	if m == nil {
		return ""
	}
	switch v := m[k].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// summarize turns a record's data into one line for people; it never sees a secret because
// the transcript holds none.
func summarize(event string, d map[string]any) string {
	switch event {
	case "participant.present":
		return fmt.Sprintf("%s present as %s", str(d, "name"), str(d, "role"))
	case "clock.confirmed":
		return fmt.Sprintf("clock %s confirmed by %s", str(d, "machine_time"), str(d, "witness"))
	case "witness.confirmed":
		return "confirmed by witness " + str(d, "witness")
	case transcript.EventOutput:
		return fmt.Sprintf("wrote %s (SHA-256 %s…)", str(d, "file"), prefix(str(d, "sha256"), 16))
	case "key.generated", "key.restored":
		return fmt.Sprintf("%s %s, SPKI SHA-256 %s…", str(d, "label"), str(d, "algorithm"), prefix(str(d, "spki_sha256"), 16))
	case "token.inventory":
		objs, _ := d["objects"].([]any)
		return fmt.Sprintf("inventory %s: %d object(s) on token %s", str(d, "when"), len(objs), str(d, "token_serial"))
	case "share.issued", "share.confirmed", "share.accepted":
		return fmt.Sprintf("%s, share %s", str(d, "custodian"), str(d, "number"))
	case "share.refused":
		return fmt.Sprintf("%s: share refused (%s)", str(d, "custodian"), str(d, "reason"))
	case transcript.EventStepFailed:
		return str(d, "error")
	case "script.loaded":
		return "script loaded: " + str(d, "title")
	case "hsm.identified":
		tok, _ := d["token"].(map[string]any)
		return fmt.Sprintf("token %q, %s %s, serial %s, firmware %s", str(tok, "label"), str(tok, "manufacturer"), str(tok, "model"), str(tok, "serial"), str(tok, "firmware"))
	case "hsm.login":
		return fmt.Sprintf("logged in as %s to token %s", str(d, "role"), str(d, "token_serial"))
	case "certificate.linted":
		f, _ := d["findings"].(map[string]any)
		return fmt.Sprintf("%s lints run by %s; errors %d, warnings %d, notices %d", str(d, "lints_run"), str(d, "linter"), count(f["error"]), count(f["warn"]), count(f["notice"]))
	case "certificate.issued":
		return fmt.Sprintf("%s: %s, serial %s…, valid to %s", str(d, "name"), str(d, "subject"), prefix(str(d, "serial"), 12), str(d, "not_after"))
	case transcript.EventSigner:
		return fmt.Sprintf("transcript signer %s, certified by root %s…", str(d, "name"), prefix(str(d, "issuer_spki_sha256"), 16))
	case "kek.generated", "kek.rebuilt":
		kcv, _ := d["kcv"].(map[string]any)
		return fmt.Sprintf("KCV %s (%s)", str(kcv, "value"), str(kcv, "method"))
	case "kek.split":
		return fmt.Sprintf("%s-of-%s split, %s subsets self-tested", str(d, "threshold"), str(d, "shares"), str(d, "self_test_subsets"))
	case "kek.installed":
		by := str(d, "by")
		if by != "" {
			by = " by " + by
		}
		return fmt.Sprintf("%s installed%s as a session object", str(d, "label"), by)
	case "key.wrapped":
		return fmt.Sprintf("%s wrapped with %s, %s bytes, SHA-256 %s…", str(d, "label"), str(d, "mechanism"), str(d, "blob_size"), prefix(str(d, "blob_sha256"), 16))
	case "previous.verified":
		return fmt.Sprintf("ceremony %s verified (%s records)", str(d, "ceremony_id"), str(d, "records"))
	}
	if len(d) == 0 {
		return ""
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		v := str(d, k)
		if len(v) > 60 {
			v = v[:57] + "…"
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ", ")
}

func prefix(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func count(v any) int {
	l, _ := v.([]any)
	return len(l)
}
