package ceremony

import (
	"fmt"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/quorum"
)

// TypeReshare hands out new shares (new custodians or threshold) for an existing backup.
const TypeReshare = "reshare"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeReshare, Title: "Reshare a quorum backup", Example: "reshare", Inputs: []Input{InputSharesDir},
			Description: "Holders of the old shares rebuild the old key-encryption key; a new one is split among the script's custodians and the key is wrapped again. The old split is retired: its sheets and wrapped key are destroyed under witness, and a restore from it is refused."},
		previous: previousBackup,
		validate: (*Script).validateReshare,
		steps:    reshareSteps,
		inputs:   (*Run).refuseRetired,
		needs:    reshareNeeds,
	})
}

// ReshareConfig replaces a backup's shares: the listed holders of old shares rebuild the old
// KEK, then a new KEK is split among the script's custodians and the key is wrapped again.
type ReshareConfig struct {
	Threshold       int      `yaml:"threshold"`
	OldShareHolders []string `yaml:"old_share_holders"`
	LossContact     string   `yaml:"loss_contact"` // as in BackupConfig, for the new sheets
}

func (s *Script) validateReshare(v *validator) {
	if s.Reshare == nil {
		v.errorf("reshare", "a reshare ceremony needs a reshare section")
		return
	}
	s.validateQuorum(v, "reshare.threshold", s.Reshare.Threshold)
	validateLossContact(v, "reshare.loss_contact", s.Reshare.LossContact)
	names := map[string]bool{}
	for _, p := range s.Participants {
		names[p.Name] = true
	}
	if len(s.Reshare.OldShareHolders) < quorum.MinThreshold {
		v.errorf("reshare.old_share_holders", "list the holders of the old shares who are present (at least %d)", quorum.MinThreshold)
	}
	for i, h := range s.Reshare.OldShareHolders {
		if !names[h] {
			v.errorf(fmt.Sprintf("reshare.old_share_holders.%d", i), "%q is not a participant", h)
		}
	}
	if s.Backup != nil || s.Restore != nil || s.Key.Label != "" {
		v.errorf("type", "a reshare ceremony has only a reshare section (no key, backup or restore)")
	}
}

func reshareSteps(s *Script) []step {
	root := rootSteps(s)
	open, closing := root[0], root[4]
	backup := backupSteps(&Script{Backup: &BackupConfig{Threshold: s.Reshare.Threshold}, Participants: s.Participants})
	var holders []Participant
	for _, name := range s.Reshare.OldShareHolders {
		for _, p := range s.Participants {
			if p.Name == name {
				holders = append(holders, p)
			}
		}
	}
	wrap := backup[3]
	wrap.title = "Back up the key again under the new KEK"
	wrap.outputs = nil // named after the previous backup's key at run time; see Run.stepOutputs
	wrap.run = func(r *Run) error {
		if err := r.wrapBackup(r.root); err != nil {
			return err
		}
		_, err := r.record(transcript.EventBackupSuperseded, map[string]any{"previous_ceremony": r.previous.meta.CeremonyID, "previous_blob_sha256": r.previous.meta.BlobSHA256,
			"note": "shares of the previous backup no longer open the current backup; the previous wrapped key was not carried into this ceremony, and its share sheets and media are destroyed in the next step"})
		return err
	}
	return []step{open, verifyBackupStep(true), collectSharesStep(holders), rebuildKEKStep(true), backup[0], backup[1], backup[2], wrap, retireStep(), closing}
}

// reshareKeys finds, on this token, the key the backup protects and the transcript signer of
// the backup ceremony, and checks both against the recorded public keys. On a resume (entries
// given) the signer is the one this transcript already recorded.
func (r *Run) reshareKeys(entries []transcript.Entry) error {
	k, err := r.token.FindKeyPair(r.backup.KeyLabel)
	if err != nil {
		return fmt.Errorf("a reshare runs on the token that holds the key: %w", err)
	}
	if fp, _ := fingerprint.OfPublicKey(k.Public()); fp.Hex() != r.backup.SPKISHA256 {
		return fmt.Errorf("key %q on token %q is not the backed-up key (fingerprint %s, backup %s)", k.Label, r.token.Info.Label, fp.Hex(), r.backup.SPKISHA256)
	}
	r.root = k
	if entries != nil {
		return r.reloadSigner(entries)
	}
	return r.adoptSigner(r.previous.signer)
}

// reshareNeeds lists the token capabilities a reshare ceremony needs (the pre-flight checks them).
func reshareNeeds(r *Run) []Need {
	var out []Need
	out = append(out,
		need(hsm.CapRandom, "the new key-encryption key, from the token's random number generator"),
		need(hsm.CapAESKWPUnwrap, "unwrapping the backed-up key under the old key-encryption key (RFC 5649)"),
		need(hsm.CapTrusted, "the new key-encryption key, which the Security Officer installs as a trusted wrapping key"),
		need(hsm.CapAESKWPWrap, "wrapping the key again under the new key-encryption key (RFC 5649)"))
	return out
}
