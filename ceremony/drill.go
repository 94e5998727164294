package ceremony

import (
	"errors"
	"fmt"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/quorum"
)

// TypeDrill is a quorum health drill: custodians prove, one by one, that they still hold a
// readable share of a backup, without rebuilding its key.
//
// Each share is parsed, checked to belong to this backup's split and to the custodian typing
// it against the commitment recorded at the split, and zeroed; no two shares are ever in memory
// together and nothing is combined, so the drill never holds the key-encryption key. The HSM is
// not changed: the drill opens the token that holds the backup ceremony's transcript signer
// only to record its identity and contents and, at the close, to have that signer seal the
// drill's transcript (the seal must come from a key in the HSM, as for every ceremony); it
// creates, changes and destroys nothing there. The drill is sealed whatever its result: a
// quorum that can no longer reach its threshold is a finding to record, not a failure to hide.
const TypeDrill = "drill"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeDrill, Title: "Quorum health drill", Example: "drill",
			Description: "Custodians prove one by one that they still hold a readable share of a backup, each checked against its commitment; the key is not rebuilt and nothing on the HSM changes."},
		previous: previousBackup,
		validate: (*Script).validateDrill,
		steps:    drillSteps,
		inputs:   (*Run).drillInputs,
	})
}

// DrillConfig says how many custodians must prove possession for the drill to find the quorum
// healthy.
type DrillConfig struct {
	// Minimum is how many custodians must prove they hold a readable share; 0 means the
	// backup's threshold.
	Minimum int `yaml:"minimum"`
}

func (s *Script) validateDrill(v *validator) {
	if s.Drill == nil {
		v.errorf("drill", "a drill ceremony needs a drill section")
		return
	}
	n := len(s.People("custodian"))
	if n < 1 {
		v.errorf("participants", "a drill needs the custodians who will prove they hold their shares")
	}
	if s.Drill.Minimum < 0 || s.Drill.Minimum > n {
		v.errorf("drill.minimum", "%d must be between 0 (the backup's threshold) and the number of custodians present (%d)", s.Drill.Minimum, n)
	}
	if s.Key.Label != "" || s.Backup != nil || s.Restore != nil || s.Reshare != nil {
		v.errorf("type", "a drill ceremony has only a drill section")
	}
}

func drillSteps(s *Script) []step {
	root := rootSteps(s)
	return []step{root[0], continueStep(),
		{id: "prove-possession", title: "Custodians prove they hold their shares", actorRole: "administrator", witness: true,
			explain: "Each custodian opens their sealed bag in front of the witness and types their share. It is checked against the commitment recorded when the backup was split: the right custodian, this split, intact. The share is then forgotten: no two shares are combined and the backup key is never rebuilt. Reseal the sheet in a new bag.",
			run:     (*Run).proveShares},
		root[4]}
}

// drillInputs checks, before the HSM is touched, that the backup's split recorded share
// commitments (a drill has nothing else to check a share against without rebuilding the key)
// and that no reshare retired it.
func (r *Run) drillInputs() error {
	c, err := commitmentsIn(r.previous.result.Entries)
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("the backup of ceremony %s recorded no share commitments (it was made by an earlier Keyrite): a drill cannot check a share without rebuilding the key; reshare the backup to give it commitments", r.previous.result.Opening.CeremonyID)
	}
	min := r.Script.Drill.Minimum
	if min == 0 {
		min = r.previous.meta.Threshold
	}
	if n := len(r.Script.People("custodian")); n < min {
		return fmt.Errorf("the drill needs %d custodians to prove possession, but the script names %d; nothing was done", min, n)
	}
	return r.refuseRetired()
}

// proveShares has each custodian type their share and checks it against its commitment.
func (r *Run) proveShares() error {
	m := r.previous.meta
	commits, err := commitmentsIn(r.previous.result.Entries)
	if err != nil {
		return err
	}
	e := quorum.Expect{CeremonyID: m.CeremonyID, Threshold: m.Threshold, Total: m.Shares}
	var proven []string
	var seen []*quorum.Share // only the x coordinate is kept, to refuse a share typed twice
	for _, c := range r.Script.People("custodian") {
		refusals, number := 0, 0
		_, err := r.UI.AskShare(r.ctx, c, fmt.Sprintf("%s: open your bag and type your share of the backup of %q", c.Name, m.KeyLabel), func(code string) error {
			s, err := quorum.ParseCode(code)
			if err == nil {
				if err = e.Accept(s, seen); err == nil {
					err = commits.Check(s, m.CeremonyID, c.Name)
				}
				if err == nil {
					number = s.Number
					seen = append(seen, &quorum.Share{Number: s.Number, Data: []byte{s.Data[len(s.Data)-1]}})
				}
				quorum.Zero(s)
			}
			if err != nil && !errors.Is(err, quorum.ErrIncomplete) {
				refusals++
				r.record(transcript.EventShareRefused, map[string]string{"custodian": c.Name, "reason": refusalReason(err)})
			}
			return err
		})
		if err != nil || number == 0 {
			if r.ctx.Err() != nil {
				return r.ctx.Err()
			}
			if _, abort := abortRequested(err); abort {
				return err // the room aborted the drill: not this custodian's doing
			}
			if _, err := r.record(transcript.EventShareNotProven, map[string]any{"custodian": c.Name, "refusals": refusals}); err != nil {
				return err
			}
			r.UI.Note(fmt.Sprintf("%s did not prove possession of a share.", c.Name))
			continue
		}
		proven = append(proven, c.Name)
		if _, err := r.record(transcript.EventShareProven, map[string]any{"custodian": c.Name, "number": number, "of": m.Shares, "refusals": refusals, "bag": c.Bag}); err != nil {
			return err
		}
		r.UI.Note(fmt.Sprintf("%s holds share %d of %d: checked against its commitment, and forgotten.", c.Name, number, m.Shares))
	}
	min := r.Script.Drill.Minimum
	if min == 0 {
		min = m.Threshold
	}
	healthy := len(proven) >= min
	verdict := fmt.Sprintf("healthy: %d custodians proved possession, %d needed; the backup's threshold is %d of %d", len(proven), min, m.Threshold, m.Shares)
	if !healthy {
		verdict = fmt.Sprintf("at risk: only %d custodians proved possession, %d needed (the backup's threshold is %d of %d); plan a reshare", len(proven), min, m.Threshold, m.Shares)
	}
	r.UI.Note("Quorum " + verdict + ".")
	_, err = r.record(transcript.EventDrillResult, map[string]any{"backup_ceremony": m.CeremonyID, "key_label": m.KeyLabel, "proven": proven,
		"custodians": len(r.Script.People("custodian")), "minimum": min, "threshold": m.Threshold, "shares": m.Shares, "healthy": healthy, "verdict": verdict})
	return err
}
