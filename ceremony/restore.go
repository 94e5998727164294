package ceremony

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/quorum"
)

// TypeRestore restores a backed-up key into another token, from M shares.
const TypeRestore = "restore"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeRestore, Title: "Restore a key from its quorum backup", Example: "restore", AnotherToken: true,
			Description: "M custodians type their shares; the rebuilt key-encryption key unwraps the backed-up key into this token, where it must sign under the original public key."},
		previous: previousBackup,
		validate: (*Script).validateRestore,
		steps:    restoreSteps,
		labels:   func(s *Script) []string { return []string{s.Restore.Label, s.Signer.Label} },
		inputs:   (*Run).refuseRetired,
		needs:    restoreNeeds,
		lints:    restoreLints,
		profiles: func(s *Script) []profileSite {
			return []profileSite{signerSite(s, "transcript_signer.validity_days", s.Signer.ValidityDays, false)}
		},
	})
}

func restoreSteps(s *Script) []step {
	root := rootSteps(s)
	open, signer, closing := root[0], root[3], root[4]
	label := s.Restore.Label
	return []step{
		open,
		verifyBackupStep(false),
		collectSharesStep(s.People("custodian")),
		rebuildKEKStep(false),
		{id: "unwrap-key", title: "Restore the key into this HSM", actorRole: "administrator", witness: true, labels: []string{label},
			gate: func(*Run) string {
				return fmt.Sprintf("load the rebuilt backup key (KEK), unwrap the backup into a new key %q, then destroy the KEK", label)
			},
			explain: fmt.Sprintf("The rebuilt KEK is loaded into this HSM as a sensitive, non-extractable, unwrap-only key; the backup is unwrapped into the key %q, forced non-extractable; the KEK is destroyed. The restored key must sign under the original public key.", label),
			run:     (*Run).unwrapBackup,
			restore: func(r *Run, e []transcript.Entry) (err error) { r.root, err = r.reloadKey(e, label); return }},
		signer,
		closing,
	}
}

// verifyBackupStep verifies the backup ceremony a restore or (reshare) a reshare continues.
func verifyBackupStep(reshare bool) step {
	return step{id: "verify-backup", title: "Verify the backup ceremony", actorRole: "administrator",
		explain: "The backup ceremony's transcript, seal and files are verified; its backup description and root certificate are copied into this ceremony, and for a restore its wrapped key.",
		run:     func(r *Run) error { return r.verifyBackup(reshare) },
		restore: func(r *Run, e []transcript.Entry) error {
			if err := r.reloadBackup(e, "previous/backup"); err != nil {
				return err
			}
			err := r.reloadRootCert(e)
			if err == nil && reshare {
				err = r.reshareKeys(e)
			}
			return err
		}}
}

func (r *Run) verifyBackup(reshare bool) error {
	p := r.previous
	res := p.result
	if _, err := r.record(transcript.EventPreviousVerified, map[string]any{
		"ceremony_id": res.Opening.CeremonyID, "checkpoint": res.Seal.Text, "records": len(res.Entries),
		"root_spki_sha256": res.RootSPKI.Hex(), "signer": res.Signer.Subject.CommonName,
		"backup": map[string]any{"key_label": p.meta.KeyLabel, "spki_sha256": p.meta.SPKISHA256, "threshold": p.meta.Threshold, "shares": p.meta.Shares, "kek_kcv": p.meta.KEKKCV, "blob_sha256": p.meta.BlobSHA256},
	}); err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("Backup ceremony %s verified: %d records, sealed.\nBackup of %q, %d-of-%d, KEK check value %s.", res.Opening.CeremonyID, len(res.Entries), p.meta.KeyLabel, p.meta.Threshold, p.meta.Shares, p.meta.KEKKCV))
	r.backup = p.meta
	if err := r.recordOverride(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(r.Dir, "previous", "backup"), 0o755); err != nil {
		return err
	}
	metaFile, blobFile := backupFiles(p.meta.KeyLabel)
	carry := []string{metaFile, blobFile}
	if reshare {
		carry = carry[:1] // the old wrapped key is retired, not carried forward
	}
	for _, name := range carry {
		if err := r.writeOutput(path.Join("previous", name), p.files[name]); err != nil {
			return err
		}
	}
	if err := r.writeOutput(rootDER, p.files[rootDER]); err != nil {
		return err
	}
	if err := r.writeOutput(rootPEM, certPEM(p.root)); err != nil {
		return err
	}
	r.backup, r.blob, r.rootCert = p.meta, p.blob, p.root
	if reshare {
		return r.reshareKeys(nil)
	}
	return nil
}

func (r *Run) expect() quorum.Expect {
	m := r.backup
	return quorum.Expect{CeremonyID: m.CeremonyID, Threshold: m.Threshold, Total: m.Shares, KCV: m.KEKKCV}
}

func collectSharesStep(holders []Participant) step {
	return step{id: "collect-shares", title: "Collect the shares", actorRole: "administrator", volatile: true,
		explain: "Custodians type their shares one at a time. Each share is checked as it is typed: a mistyped group, a share of another ceremony or split, or a share already entered is refused at once.",
		run:     func(r *Run) error { return r.collectShares(holders) }}
}

func (r *Run) collectShares(holders []Participant) error {
	e := r.expect()
	commits, err := r.previousCommitments()
	if err != nil {
		return err
	}
	var accepted []*quorum.Share
	for _, h := range holders {
		if len(accepted) == e.Threshold {
			break
		}
		var share *quorum.Share
		refusals := 0
		_, err := r.UI.AskShare(r.ctx, h, fmt.Sprintf("%s: type your share of the backup of %q", h.Name, r.backup.KeyLabel), func(code string) error {
			s, err := quorum.ParseCode(code)
			if err == nil {
				if err = e.Accept(s, accepted); err == nil && commits != nil {
					err = commits.Check(s, e.CeremonyID, h.Name)
				}
				if err != nil {
					quorum.Zero(s)
				}
			}
			if err != nil {
				if !errors.Is(err, quorum.ErrIncomplete) {
					refusals++
					r.record(transcript.EventShareRefused, map[string]string{"custodian": h.Name, "reason": refusalReason(err)})
				}
				return err
			}
			share = s
			return nil
		})
		if _, abort := abortRequested(err); abort || (err != nil && r.ctx.Err() != nil) {
			quorum.Zero(accepted...)
			return err // the room aborted or stopped the ceremony: not this custodian's doing
		}
		if err != nil || share == nil {
			r.record(transcript.EventShareNotEntered, map[string]any{"custodian": h.Name, "refusals": refusals})
			r.UI.Note(fmt.Sprintf("%s entered no share; continuing with the next custodian.", h.Name))
			continue
		}
		accepted = append(accepted, share)
		if _, err := r.record(transcript.EventShareAccepted, map[string]any{"custodian": h.Name, "number": share.Number, "of": share.Total, "refusals": refusals}); err != nil {
			quorum.Zero(accepted...)
			return err
		}
	}
	if len(accepted) < e.Threshold {
		quorum.Zero(accepted...)
		return fmt.Errorf("%w: %d of the %d needed were entered; bring more custodians and resume", quorum.ErrTooFew, len(accepted), e.Threshold)
	}
	r.shares = accepted
	return nil
}

// refusalReason says why a share was refused, for the transcript, without any of its content.
func refusalReason(err error) string {
	var ge *quorum.GroupError
	switch {
	case errors.As(err, &ge):
		return fmt.Sprintf("group %d mistyped", ge.Group)
	case errors.Is(err, quorum.ErrOtherCeremony):
		return "share of another ceremony"
	case errors.Is(err, quorum.ErrWrongThreshold):
		return "share of a different split"
	case errors.Is(err, quorum.ErrDuplicate):
		return "share already entered"
	case errors.Is(err, quorum.ErrWrongCustodian), errors.Is(err, quorum.ErrNotCommitted):
		return err.Error() // names the share and the custodians, never the share's content
	}
	return "not a valid share code"
}

// previousCommitments are the share commitments of the backup this ceremony reads, checked
// against as each share is entered. A backup made before Keyrite recorded commitments has
// none: its shares are then checked by the key check value alone, and the transcript says so.
func (r *Run) previousCommitments() (*quorum.Commitments, error) {
	c, err := commitmentsIn(r.previous.result.Entries)
	if err != nil || c != nil {
		return c, err
	}
	r.UI.Note("The backup ceremony recorded no share commitments (it was made by an earlier Keyrite): each share is checked by the key check value of the rebuilt key only.")
	_, err = r.record(transcript.EventSharesUncommitted, map[string]string{"backup_ceremony": r.backup.CeremonyID,
		"consequence": "shares are checked only by the key check value of the rebuilt key; a share of the wrong custodian cannot be named"})
	return nil, err
}

// rebuildKEKStep rebuilds the backup's KEK from the shares; for a reshare it is forgotten at
// once (it proved the quorum's consent).
func rebuildKEKStep(reshare bool) step {
	return step{id: "rebuild-kek", title: "Rebuild the backup key", actorRole: "administrator", volatile: true,
		explain: "The shares are combined into the KEK, which must match the key check value recorded at the backup before it may touch the HSM.",
		run: func(r *Run) error {
			kek, err := r.expect().Combine(r.shares)
			quorum.Zero(r.shares...)
			if err != nil {
				r.record(transcript.EventKEKRejected, map[string]any{"reason": "key check value does not match", "expected_kcv": r.backup.KEKKCV})
				return err
			}
			r.kek = kek
			_, err = r.record(transcript.EventKEKRebuilt, map[string]any{"shares": len(r.shares), "kcv": r.backup.KEKKCV, "kcv_matches": true})
			r.UI.Note(fmt.Sprintf("KEK rebuilt; its check value %s matches the backup.", r.backup.KEKKCV))
			if reshare {
				r.forgetSecrets() // the old KEK proved the quorum's consent; the key is re-wrapped under a new one
			}
			return err
		}}
}

func (r *Run) unwrapBackup() error {
	defer r.forgetSecrets()
	pub, err := r.backup.publicKey()
	if err != nil {
		return err
	}
	label := r.Script.Restore.Label
	kek, err := r.token.ImportKEK(r.kek, label+"-restore-kek", hsm.UnwrapOnly)
	if err != nil {
		return err
	}
	if _, err := r.record(transcript.EventKEKInstalled, map[string]any{"label": kek.Label, "session_object": true, "attributes": kek.Attributes}); err != nil {
		kek.Destroy()
		return err
	}
	k, err := r.token.UnwrapPrivateKey(kek, r.blob, label, pub)
	if derr := kek.Destroy(); derr != nil && err == nil {
		err = derr
	}
	r.record(transcript.EventKEKDestroyed, map[string]string{"label": kek.Label})
	if err != nil {
		return err
	}
	fp, _ := fingerprint.OfPublicKey(k.Public())
	if fp.Hex() != r.backup.SPKISHA256 {
		return fmt.Errorf("restored key %q has fingerprint %s, the backup %s", label, fp.Hex(), r.backup.SPKISHA256)
	}
	if err := r.recordKey(transcript.EventKeyRestored, k, fp, "passed: signature verifies under the backed-up public key", "restored "+r.backup.KeyLabel); err != nil {
		return err
	}
	// The restored key signs; the signature verifies under the root certificate.
	if err := hsm.SelfTestAgainst(k, r.rootCert.PublicKey); err != nil {
		return fmt.Errorf("restored key %q does not sign under root certificate %q: %w", label, r.rootCert.Subject.CommonName, err)
	}
	r.root = k
	_, err = r.record(transcript.EventKeyVerified, map[string]any{"label": label, "check": "signature by the restored key verifies under the root certificate", "certificate_sha256": hex.EncodeToString(sha256Sum(r.rootCert.Raw))})
	r.UI.Note(fmt.Sprintf("Key %q restored. Its fingerprint equals the original:\n%s\nRead aloud: %s", label, fp.Grouped(), fp.Words()))
	return err
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// RestoreConfig imports a backed-up key into this ceremony's token.
type RestoreConfig struct {
	Label string `yaml:"label"` // the restored key's label on the target token
	// DisasterRecovery, when set, is why this restore may read a backup a reshare retired
	// (the new backup is lost); it is recorded, witnessed, as a deviation. Without it a
	// retired backup is refused.
	DisasterRecovery string `yaml:"disaster_recovery,omitempty"`
}

func (s *Script) validateRestore(v *validator) {
	s.validateSignerDays(v, false)
	if s.Restore == nil {
		v.errorf("restore", "a restore ceremony needs a restore section")
		return
	}
	v.label("restore.label", s.Restore.Label)
	if len(s.People("custodian")) < quorum.MinThreshold {
		v.errorf("participants", "a restore needs the custodians who will enter their shares (at least %d)", quorum.MinThreshold)
	}
	if s.Backup != nil || s.Reshare != nil || s.Key.Label != "" {
		v.errorf("type", "a restore ceremony has only a restore section (no key, backup or reshare)")
	}
}

// restoreNeeds lists the token capabilities a restore ceremony needs (the pre-flight checks them).
func restoreNeeds(r *Run) []Need {
	var out []Need
	out = append(out, need(hsm.CapAESKWPUnwrap, "unwrapping the backed-up key (RFC 5649)"))
	if r.previous != nil && r.previous.meta != nil {
		out = append(out, keyPairNeed(r.previous.meta.Algorithm, "the restored key")...)
	}
	return out
}

// restoreLints builds every certificate and CRL a restore ceremony issues, in its real shape, and lints it.
func restoreLints(l lintRun) {
	s := l.p.r.Script
	if l.root != nil {
		site := signerSite(s, "transcript_signer.validity_days", s.Signer.ValidityDays, false)
		l.lintSite(site, signerPEM, l.root, l.rootAlg, nil, signerAlg, func(p Profile) (*x509.Certificate, error) {
			return signerTemplate(l.root, site.days, p, l.serial(), l.now)
		})
	}
}
