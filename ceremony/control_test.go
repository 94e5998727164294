package ceremony

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// Every step of every registered type that creates a key (it names labels) or whose ID says
// it generates, destroys, wraps, exports, imports, migrates or signs has an "about to" gate.
// (The transcripts of the ceremony tests are checked by CheckGates in verified: the gate is
// confirmed before the HSM call's record, in every type those tests run.)
func TestEveryDangerousStepHasAGate(t *testing.T) {
	dangerous := []string{"generate", "destroy", "wrap", "export", "sign", "import-key", "migrate", "transport", "split-backup", "create-import"}
	for _, info := range Types() {
		s := loadTestScript(t, info.Example+"-ceremony.yaml")
		for _, st := range typeOf(s.Type).steps(s) {
			want := len(st.labels) > 0
			for _, d := range dangerous {
				want = want || strings.Contains(st.id, d)
			}
			if want && st.gate == nil {
				t.Errorf("%s: step %q has no \"about to\" gate", info.Name, st.id)
			}
			if st.gate != nil && strings.TrimSpace(st.gate(&Run{Script: s})) == "" {
				t.Errorf("%s: step %q has an empty gate", info.Name, st.id)
			}
		}
	}
}

// controlUI answers every question yes, except the first one containing at, which it
// answers with answer.
type controlUI struct {
	scriptedUI
	at     string
	answer error
	gates  []Gate
	done   bool
}

func (u *controlUI) Confirm(ctx context.Context, who, q string) error {
	if !u.done && strings.Contains(q, u.at) {
		u.done = true
		return u.answer
	}
	return u.scriptedUI.Confirm(ctx, who, q)
}

// Gate makes controlUI a Gater: the gate arrives whole, and is answered like a question.
func (u *controlUI) Gate(ctx context.Context, g Gate) error {
	u.gates = append(u.gates, g)
	return u.Confirm(ctx, g.Witness, g.Question())
}

// A gate the witness does not confirm stops the step before its HSM call: no key exists, the
// refusal is recorded, and a resume asks the gate again and finishes the ceremony.
func TestGateDeclinedTouchesNothing(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	ui := &controlUI{at: "About to generate", answer: &Declined{Reason: "the token on the table is not the one in the script"}}
	err := start(t, exampleScript(t), dir, b, ui, Options{})
	if !errors.Is(err, ErrDeclined) {
		t.Fatalf("err = %v", err)
	}
	if objs := tokenObjects(t, b); len(objs) != 0 {
		t.Fatalf("a declined gate left objects on the token: %v", objs)
	}
	data, _ := os.ReadFile(filepath.Join(dir, transcript.FileName))
	if !strings.Contains(string(data), `"gate.declined"`) || strings.Contains(string(data), `"key.generated"`) || !strings.Contains(string(data), "not the one in the script") {
		t.Fatalf("transcript:\n%s", data)
	}
	g := ui.gates[0]
	if g.Step != "generate-root-key" || g.Token != b.Token.Label || g.Serial == "" || !strings.Contains(g.What, `"example-root-2026"`) ||
		!strings.HasPrefix(g.Question(), "About to generate the ecdsa-p384 root key \"example-root-2026\", on token") {
		t.Fatalf("gate %+v: %s", g, g.Question())
	}
	if err := resume(t, dir, b, &scriptedUI{}, Options{}); err != nil {
		t.Fatal(err)
	}
	verified(t, dir)
}

// An exception given for a question is recorded with its reason and witness, the question is
// asked again, and the ceremony goes on to its seal; the report says so in a sentence.
func TestExceptionRecordedAndCeremonyGoesOn(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	ex := &Exception{Reason: "the fingerprint was read aloud twice: the first reading skipped a group", Witness: "Ирина Смирнова"}
	ui := &controlUI{at: `did "Generate the root key" happen`, answer: ex}
	if err := start(t, exampleScript(t), dir, b, ui, Options{}); err != nil {
		t.Fatal(err)
	}
	res := verified(t, dir)
	if ev := events(res); !strings.Contains(ev, "key.generated exception.recorded witness.confirmed") {
		t.Fatalf("events: %s", ev)
	}
	for _, e := range res.Entries {
		if e.Event == transcript.EventException {
			d, err := transcript.Data[transcript.Exception](&e.Record)
			if err != nil || d.Reason != ex.Reason || d.Witness != ex.Witness || !strings.Contains(d.Question, "Generate the root key") {
				t.Fatalf("exception record %+v (%v)", d, err)
			}
		}
	}
	// One at the roll call, before the transcript exists, is recorded at the opening.
	dir2 := filepath.Join(t.TempDir(), "c2")
	ui2 := &controlUI{at: "Roll call", answer: &Exception{Reason: "custodian arrived late; identity checked by passport", Witness: "Ирина Смирнова"}}
	if err := start(t, exampleScript(t), dir2, freshToken(t), ui2, Options{}); err != nil {
		t.Fatal(err)
	}
	if ev := events(verified(t, dir2)); !strings.Contains(ev, "preflight.passed exception.recorded participant.present") {
		t.Fatalf("events: %s", ev)
	}
}

// The room's abort, at a gate after the root key exists: the ceremony closes as aborted and
// sealed with the room's reason and witness, the key destroyed with consent. Before the
// transcript exists (the roll call) an abort writes nothing.
func TestAbortRequestSealsAborted(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	ui := &controlUI{at: "About to sign the root certificate", answer: &AbortRequest{Reason: "fire alarm: the room is evacuated", Witness: "Ирина Смирнова"}}
	err := start(t, exampleScript(t), dir, b, ui, Options{})
	var ae *AbortedError
	if !errors.As(err, &ae) || ae.Sealed != nil || ae.Step != "sign-root-certificate" {
		t.Fatalf("err = %v", err)
	}
	res := verified(t, dir)
	if reason, ok := res.Aborted(); !ok || !strings.Contains(reason, "fire alarm") {
		t.Fatalf("aborted %v: %q", ok, reason)
	}
	ev := events(res)
	if strings.Contains(ev, "gate.declined") || strings.Contains(ev, "certificate.issued") || !strings.Contains(ev, "ceremony.aborted cleanup.destroyed") {
		t.Fatalf("events: %s", ev)
	}
	for _, e := range res.Entries {
		if e.Event == transcript.EventAborted {
			if d, _ := transcript.Data[transcript.Aborted](&e.Record); d.Witness != "Ирина Смирнова" {
				t.Fatalf("aborted record %+v", d)
			}
		}
	}
	dir2 := filepath.Join(t.TempDir(), "c2")
	ui2 := &controlUI{at: "Roll call", answer: &AbortRequest{Reason: "the auditor is absent", Witness: "Ирина Смирнова"}}
	if _, ok := abortRequested(start(t, exampleScript(t), dir2, freshToken(t), ui2, Options{})); !ok {
		t.Fatal("the abort at the roll call is not what Start returns")
	}
	if _, err := os.Stat(dir2); !os.IsNotExist(err) {
		t.Fatalf("an abort at the roll call left %s (%v)", dir2, err)
	}
}

// The aftermath of a stopped ceremony names the key on the token, the transcript unsealed
// and the step in flight; of an aborted one, the key destroyed and the transcript sealed as
// aborted; of a ceremony stopped before its transcript, nothing.
func TestAftermath(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	ui := &controlUI{at: `did "Self-sign the root certificate" happen`, answer: &Declined{Reason: "wrong subject read aloud"}}
	if err := start(t, exampleScript(t), dir, b, ui, Options{}); !errors.Is(err, ErrDeclined) {
		t.Fatalf("err = %v", err)
	}
	a, err := AftermathOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	hsmSays := strings.Join(a.OnHSM(), "\n")
	if !a.Interrupted() || !strings.Contains(hsmSays, `The key "example-root-2026" exists on token "`+b.Token.Label+`" (serial `) ||
		!strings.Contains(a.OnDisk(), "is not sealed") {
		t.Fatalf("stopped: %+v\n%s\n%s", a, hsmSays, a.OnDisk())
	}

	dir2 := filepath.Join(t.TempDir(), "c2")
	ui2 := &controlUI{at: "About to generate the ECDSA P-384 transcript-signing key", answer: &AbortRequest{Reason: "power cut", Witness: "Ирина Смирнова"}}
	var ae *AbortedError
	if err := start(t, exampleScript(t), dir2, freshToken(t), ui2, Options{}); !errors.As(err, &ae) {
		t.Fatalf("err = %v", err)
	}
	a, _ = AftermathOf(dir2)
	if hsmSays := strings.Join(a.OnHSM(), "\n"); a.Interrupted() || !strings.Contains(hsmSays, `The key "example-root-2026" was destroyed on token`) ||
		!strings.Contains(a.OnDisk(), "closed as aborted and sealed") || !strings.Contains(a.Reason, "power cut") {
		t.Fatalf("aborted: %+v\n%s\n%s", a, hsmSays, a.OnDisk())
	}

	a, _ = AftermathOf(filepath.Join(t.TempDir(), "never"))
	if a.Interrupted() || !strings.Contains(a.OnHSM()[0], "Nothing on the HSM was changed") || !strings.Contains(a.OnDisk(), "No transcript was written") {
		t.Fatalf("nothing written: %+v", a)
	}
}

// abortingShareUI aborts when the first custodian is asked to type their share.
type abortingShareUI struct{ scriptedUI }

func (u *abortingShareUI) AskShare(context.Context, Participant, string, func(string) error) (string, error) {
	return "", &AbortRequest{Reason: "a custodian's bag was found opened", Witness: "Ирина Смирнова"}
}

// The room's abort while a restore collects shares is not taken for one custodian giving up
// (the next would be asked, and the abort lost): the ceremony closes as aborted at once.
func TestAbortWhileSharesAreCollected(t *testing.T) {
	backup, holders, _ := backedUp(t, nil)
	dir := filepath.Join(t.TempDir(), "restore")
	ui := &abortingShareUI{scriptedUI{shares: holders.shares}}
	err := start(t, restoreBy(t, custodians[0], custodians[1], custodians[2]), dir, freshToken(t), ui, Options{Previous: backup})
	var ae *AbortedError
	if !errors.As(err, &ae) || ae.Step != "collect-shares" {
		t.Fatalf("err = %v", err)
	}
	res := verified(t, dir)
	if ev := events(res); strings.Contains(ev, "share.not-entered") {
		t.Fatalf("the abort was recorded as a custodian giving up: %s", ev)
	}
	if reason, ok := res.Aborted(); !ok || !strings.Contains(reason, "bag was found opened") {
		t.Fatalf("aborted %v %q", ok, reason)
	}
}
