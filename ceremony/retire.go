package ceremony

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// A reshare retires the split it replaces. It does not copy the old wrapped key forward, and
// it records, witnessed, the destruction of each old share sheet and of the old backup media
// (every copy of the old wrapped key outside the sealed evidence bundle, which withholds it).
// Afterwards a restore, drill or reshare of the retired backup is refused before the HSM is
// touched; a restore may still go ahead as disaster recovery, when its script gives the reason
// (restore.disaster_recovery), which is recorded as a deviation and witnessed.
//
// Keyrite finds the reshare that retired a backup among the sealed ceremonies beside the
// backup's folder (its evidence root): keep every ceremony of a key hierarchy in one folder.
// This is a safeguard against mistakes, not against an adversary: whoever kept an old wrapped
// key and enough old shares can unwrap it without Keyrite. Destroying them is what protects
// the key, which is why the reshare has it witnessed.

// retirement is a sealed reshare that retired a backup.
type retirement struct {
	dir, ceremonyID, sealed string
}

// retiredBy looks, among the sealed ceremonies beside the backup ceremony in dir, for a
// reshare that retired the backup of ceremony id whose wrapped key had hash blob.
func retiredBy(dir, id, blob string, skip string) (*retirement, error) {
	parent := filepath.Dir(filepath.Clean(dir))
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		cand := filepath.Join(parent, e.Name())
		if !e.IsDir() || cand == filepath.Clean(dir) || cand == filepath.Clean(skip) {
			continue
		}
		if _, err := os.Stat(filepath.Join(cand, transcript.SealFileName)); err != nil {
			continue
		}
		res, err := transcript.Verify(cand, transcript.Options{})
		if err != nil || res.Opening.Type != TypeReshare || res.Opening.Previous == nil || res.Opening.Previous.CeremonyID != id {
			continue
		}
		for _, en := range res.Entries {
			var d transcript.BackupRetired
			if en.Event == transcript.EventBackupRetired && en.DecodeData(&d) == nil && d.PreviousCeremony == id && d.PreviousBlobSHA256 == blob {
				return &retirement{dir: cand, ceremonyID: res.Opening.CeremonyID, sealed: en.Time}, nil
			}
		}
	}
	return nil, nil
}

// refuseRetired refuses, before the HSM is touched, to build on a backup a reshare retired,
// unless this is a restore whose script declares disaster recovery.
func (r *Run) refuseRetired() error {
	p := r.previous
	ret, err := retiredBy(p.dir, p.meta.CeremonyID, p.meta.BlobSHA256, r.Dir)
	if err != nil || ret == nil {
		return err
	}
	if r.Script.Type == TypeRestore && strings.TrimSpace(r.Script.Restore.DisasterRecovery) != "" {
		r.retired = ret
		return nil
	}
	hint := "use the backup of that reshare, with its shares"
	if r.Script.Type == TypeRestore {
		hint += "; if the new backup is lost and this is disaster recovery, give the reason in the script (restore.disaster_recovery): it is recorded as a deviation"
	}
	return fmt.Errorf("the backup of ceremony %s was retired by reshare %s (%s, recorded %s): its shares and wrapped key were to be destroyed; %s. Nothing was done", p.meta.CeremonyID, ret.ceremonyID, ret.dir, ret.sealed, hint)
}

// recordOverride records, witnessed, a restore from a retired backup as a deviation.
func (r *Run) recordOverride() error {
	if r.retired == nil {
		return nil
	}
	w := r.Script.People("witness")[0]
	reason := r.Script.Restore.DisasterRecovery
	if err := r.UI.Confirm(r.ctx, w.Name, fmt.Sprintf("Witness %s: the backup was retired by reshare %s. This restore goes ahead as disaster recovery because: %q. Do you witness this decision?", w.Name, r.retired.ceremonyID, reason)); err != nil {
		r.record(transcript.EventWitnessDeclined, map[string]string{"witness": w.Name, "reason": reasonOf(err)})
		return fmt.Errorf("the disaster-recovery restore from a retired backup was not witnessed: %w", err)
	}
	r.UI.Note(fmt.Sprintf("Disaster recovery: restoring from the backup reshare %s retired. Recorded as a deviation.", r.retired.ceremonyID))
	_, err := r.record(transcript.EventRetiredOverride, map[string]string{"backup_ceremony": r.backup.CeremonyID, "retired_by": r.retired.ceremonyID,
		"reason": reason, "witness": w.Name})
	return err
}

// retireStep has the witness confirm, in the reshare, that each old share sheet and every old
// backup medium was destroyed, and records the old backup retired.
func retireStep() step {
	return step{id: "retire-previous-split", title: "Retire the previous split", actorRole: "administrator", witness: true,
		explain: "The previous split no longer protects anything: each old share sheet is destroyed (shredded) in front of the witness, and every copy of the previous wrapped backup outside the sealed evidence bundle (which withholds it) is destroyed. A restore from the previous backup is refused from now on.",
		run:     (*Run).retirePrevious}
}

func (r *Run) retirePrevious() error {
	p := r.previous
	w := r.Script.People("witness")[0]
	var issued []transcript.ShareIssued
	for _, e := range p.result.Entries {
		var d transcript.ShareIssued
		if e.Event == transcript.EventShareIssued && e.DecodeData(&d) == nil {
			issued = append(issued, d)
		}
	}
	destroyed := 0
	for _, d := range lastSplit(issued) {
		bag := ""
		if d.Bag != "" {
			bag = " (bag " + d.Bag + ")"
		}
		err := r.UI.Confirm(r.ctx, w.Name, fmt.Sprintf("Witness %s: was %s's old share sheet %d of %d%s destroyed in front of you?", w.Name, d.Custodian, d.Number, d.Of, bag))
		if r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		if err != nil {
			if _, rerr := r.record(transcript.EventShareNotDestroyed, map[string]any{"custodian": d.Custodian, "number": d.Number, "bag": d.Bag, "witness": w.Name, "reason": reasonOf(err)}); rerr != nil {
				return rerr
			}
			continue
		}
		destroyed++
		if _, err := r.record(transcript.EventShareDestroyed, map[string]any{"custodian": d.Custodian, "number": d.Number, "bag": d.Bag, "witness": w.Name}); err != nil {
			return err
		}
	}
	media := fmt.Sprintf("every copy of the wrapped backup %s (SHA-256 %s) outside the sealed evidence bundle", p.meta.BlobFile, p.meta.BlobSHA256)
	if err := r.UI.Confirm(r.ctx, w.Name, fmt.Sprintf("Witness %s: was %s of ceremony %s destroyed in front of you (the backup media, and the file in that ceremony's folder; its evidence bundle withholds it)?", w.Name, media, p.meta.CeremonyID)); err != nil {
		r.record(transcript.EventWitnessDeclined, map[string]string{"witness": w.Name, "reason": reasonOf(err)})
		return fmt.Errorf("the destruction of the previous backup media was not witnessed: %w", err)
	}
	_, err := r.record(transcript.EventBackupRetired, map[string]any{"key_label": p.meta.KeyLabel, "previous_ceremony": p.meta.CeremonyID, "previous_blob_sha256": p.meta.BlobSHA256,
		"sheets_destroyed": destroyed, "media": media + ": destroyed", "witness": w.Name})
	r.UI.Note(fmt.Sprintf("The split of ceremony %s is retired: %d old share sheet(s) and the old backup media destroyed.", p.meta.CeremonyID, destroyed))
	return err
}

// lastSplit keeps the share.issued records of the split that was kept: a resumed backup
// hands out shares again after voiding the first ones, so the last record of each number wins.
func lastSplit(issued []transcript.ShareIssued) []transcript.ShareIssued {
	byNumber := map[int]int{}
	var out []transcript.ShareIssued
	for _, d := range issued {
		if i, ok := byNumber[d.Number]; ok {
			out[i] = d
			continue
		}
		byNumber[d.Number] = len(out)
		out = append(out, d)
	}
	return out
}
