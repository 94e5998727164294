package reports

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// record builds a transcript record for Read.
func record(seq uint64, step, event string, data any) transcript.Entry {
	var raw json.RawMessage
	if data != nil {
		raw, _ = json.Marshal(data)
	}
	return transcript.Entry{Record: transcript.Record{Seq: seq, Time: time.Date(2026, 11, 25, 10, 0, int(seq), 0, time.UTC).Format(time.RFC3339Nano),
		Step: step, Actor: "Zoë Ångström (administrator)", Event: event, Data: raw}}
}

// A resumed ceremony that generated its root key twice: the first, destroyed in the clean-up,
// is marked destroyed, the second is active; a bag nobody sealed is an exception; the short
// seal reads as on the screen.
func TestReadKeysBagsAndExceptions(t *testing.T) {
	key := transcript.Key{Label: "root-2026", Algorithm: "ecdsa-p384", SPKISHA256: strings.Repeat("ab", 32)}
	key2 := key
	key2.SPKISHA256 = strings.Repeat("cd", 32)
	res := &transcript.Result{
		Opening: transcript.Opening{CeremonyID: "c", Type: "root"},
		Seal:    &transcript.Seal{Checkpoint: transcript.Checkpoint{Head: [32]byte{0x1a, 0x2b, 0x3c, 0x4d}}},
		Entries: []transcript.Entry{
			record(0, "open", transcript.EventOpened, transcript.Opening{CeremonyID: "c", Type: "root"}),
			record(1, "open", transcript.EventScriptLoaded, transcript.ScriptLoaded{Title: "T",
				Participants: []transcript.Participant{{Name: "דוד כהן", Role: "custodian", Bag: "TEB-1"}, {Name: "王秀英", Role: "witness"}},
				Equipment:    transcript.Equipment{Bags: []string{"TEB-0"}}}),
			record(2, "open", transcript.EventParticipantPresent, transcript.Presence{Name: "דוד כהן", Role: "custodian"}),
			record(3, "gen", transcript.EventStepStarted, transcript.StepStart{Title: "Generate", Actor: "Zoë Ångström (administrator)", WitnessRequired: true}),
			record(4, "gen", transcript.EventKeyGenerated, key),
			record(5, "gen", transcript.EventResumed, transcript.Resumption{InFlightStep: "gen", Decision: "redo"}),
			record(6, "gen", transcript.EventCleanupDestroyed, transcript.CleanupDestroyed{Label: "root-2026", Objects: 2, ConfirmedBy: []string{"A", "B"}}),
			record(7, "gen", transcript.EventKeyGenerated, key2),
			record(8, "gen", transcript.EventWitnessConfirmed, transcript.Witnessing{Witness: "王秀英"}),
			record(9, "gen", transcript.EventStepCompleted, nil),
			record(10, "close", transcript.EventBagsSealed, transcript.Bags{Bags: []string{"TEB-0"}, Witness: "王秀英"}),
			record(11, "close", transcript.EventClosed, transcript.Closing{Result: "completed"}),
		},
	}
	c, err := Read(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Keys) != 2 || !c.Keys[0].Destroyed || !strings.Contains(c.Keys[0].State, "clean-up") || c.Keys[1].Destroyed || c.Keys[1].State != "active on the token" {
		t.Fatalf("keys: %+v", c.Keys)
	}
	if c.SealShort != "1A2B 3C4D" {
		t.Errorf("short seal %q", c.SealShort)
	}
	if len(c.Bags) != 2 || c.Bags[0].Number != "TEB-1" || c.Bags[0].Sealed || !c.Bags[1].Sealed || c.Bags[1].Witness != "王秀英" {
		t.Errorf("bags: %+v", c.Bags)
	}
	ex := strings.Join(c.Exceptions, "\n")
	for _, want := range []string{"王秀英 (witness) is not recorded present", "Bag TEB-1 (the share of דוד כהן (custodian)) is not recorded as sealed"} {
		if !strings.Contains(ex, want) {
			t.Errorf("exceptions lack %q:\n%s", want, ex)
		}
	}
	if len(c.Deviations) != 2 || !strings.HasPrefix(c.Result, "completed and sealed, with 2 recorded deviations") {
		t.Errorf("deviations %d, result %q", len(c.Deviations), c.Result)
	}
	if s := c.Steps[0]; s.Witness != "王秀英" || s.Result != "completed" || len(s.Events) != 5 {
		t.Errorf("step: %+v", s)
	}
	if _, err := renderReport(c, "version: 1\n"); err != nil {
		t.Fatal(err)
	}
}
