package ceremony

import (
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/hsm/keycheck"
	"github.com/keyrite/keyrite/quorum"
)

// quorumState is what the quorum steps (backup, restore, reshare) share within a run. kek
// and shares are secrets: zeroed as soon as they are used.
type quorumState struct {
	kek    []byte
	kcv    keycheck.KCV
	shares []*quorum.Share
	backup *BackupMeta
	blob   []byte
	// retired is the reshare that retired the backup a disaster-recovery restore reads.
	retired *retirement
}

// BackupMeta describes a wrapped backup of a key: what it is, how it was wrapped and how to
// check the KEK rebuilt from shares. It is written beside the wrapped blob and recorded in the
// transcript. It holds no secret.
type BackupMeta struct {
	Format     string       `json:"format"` // "keyrite-backup/v1"
	CeremonyID string       `json:"ceremony_id"`
	KeyLabel   string       `json:"key_label"`
	Algorithm  string       `json:"algorithm"`
	SPKISHA256 string       `json:"spki_sha256"`
	PublicKey  string       `json:"public_key"` // PEM
	Mechanism  string       `json:"mechanism"`
	Payload    string       `json:"payload"`
	KEKKCV     keycheck.KCV `json:"kek_kcv"`
	Threshold  int          `json:"threshold"`
	Shares     int          `json:"shares"`
	BlobFile   string       `json:"blob_file"`
	BlobSHA256 string       `json:"blob_sha256"`
	BlobSize   int          `json:"blob_size"`
}

const backupFormat = "keyrite-backup/v1"

func backupFiles(label string) (meta, blob string) {
	return path.Join("backup", label+".json"), path.Join("backup", label+".wrapped")
}

func backupSteps(s *Script) []step {
	return []step{
		{id: "split-backup-key", title: "Create and split the backup key", actorRole: "administrator", witness: true, volatile: true,
			gate: func(*Run) string {
				return fmt.Sprintf("generate a fresh AES-256 backup key (KEK) from the HSM's random numbers and split it %d-of-%d among the custodians", s.Backup.Threshold, len(s.People("custodian")))
			},
			explain: fmt.Sprintf("A fresh AES-256 key-encryption key (KEK) comes from the HSM's random number generator. It is split %d-of-%d among the custodians; every %d of them are checked to rebuild it. It exists only in memory.", s.Backup.Threshold, len(s.People("custodian")), s.Backup.Threshold),
			run:     func(r *Run) error { return r.newSplit(s.Backup.Threshold) }},
		{id: "hand-out-shares", title: "Hand out the shares", actorRole: "administrator", volatile: true, sheets: true,
			explain: "Each custodian in turn receives their share sheet, printed or written to their own removable medium, never into the evidence folder. Only that custodian looks at it; the witness confirms where each sheet went.",
			run:     (*Run).handOutShares},
		{id: "confirm-shares", title: "Confirm every share", actorRole: "administrator", volatile: true,
			explain: "Each custodian types their share back, proving it was received and can be read, then seals the sheet in their tamper-evident bag in front of the witness. The witness confirms no electronic copy of any sheet remains.",
			run:     (*Run).confirmShares},
		{id: "wrap-root-key", title: "Back up the root key", actorRole: "security-officer", witness: true,
			gate: func(r *Run) string {
				return fmt.Sprintf("install the backup key (KEK) as a trusted wrapping key, wrap the key %q under it, then destroy the KEK", r.rootLabel())
			},
			outputs: []string{"backup/" + s.Key.Label + ".wrapped", "backup/" + s.Key.Label + ".json"},
			explain: fmt.Sprintf("The Security Officer installs the KEK in the HSM as a trusted wrapping key. The root key %q is wrapped under it (AES key wrap with padding, RFC 5649), the KEK is destroyed and the wrapped backup is written.", s.Key.Label),
			run:     func(r *Run) error { return r.wrapBackup(r.root) },
			restore: func(r *Run, e []transcript.Entry) error { return r.reloadBackup(e, "backup") }},
	}
}

// newSplit creates a KEK from the token's RNG and splits it among the custodians.
func (r *Run) newSplit(threshold int) error {
	custodians := r.Script.People("custodian")
	kek, err := r.token.Random(quorum.KEKSize)
	if err != nil {
		return err
	}
	r.kek = kek
	if r.kcv, err = keycheck.Compute(kek, keycheck.MethodCMAC); err != nil {
		return err
	}
	if _, err := r.record(transcript.EventKEKGenerated, map[string]any{"source": "token random number generator", "token_serial": r.token.Info.Serial, "bits": 8 * len(kek), "kcv": r.kcv}); err != nil {
		return err
	}
	shares, checked, err := quorum.Split(kek, threshold, len(custodians), r.Script.ID)
	if err != nil {
		return err
	}
	r.shares = shares
	names := make([]string, len(custodians))
	for i, c := range custodians {
		names[i] = c.Name
	}
	commits, err := quorum.Commit(shares, names, r.Script.ID)
	if err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("KEK check value: %s. Split %d-of-%d; all %d subsets of %d shares rebuild it.", r.kcv, threshold, len(shares), checked, threshold))
	if _, err = r.record(transcript.EventKEKSplit, map[string]any{"scheme": "Shamir over GF(2^8) (hashicorp/vault/shamir)", "threshold": threshold, "shares": len(shares), "self_test_subsets": checked, "share_code": "keyrite share code v1"}); err != nil {
		return err
	}
	if !recordCommitments {
		return nil
	}
	// Each share's commitment, bound to its custodian: what every later entry is checked against.
	_, err = r.record(transcript.EventSharesCommitted, commits)
	return err
}

// recordCommitments is turned off only by tests that make a backup as Keyrite did before it
// recorded share commitments, to prove such backups still restore.
var recordCommitments = true

func (r *Run) confirmShares() error {
	for i, c := range r.Script.People("custodian") {
		want := r.shares[i]
		attempts := 0
		_, err := r.UI.AskShare(r.ctx, c, fmt.Sprintf("%s: type share %d of %d from your sheet to confirm it", c.Name, want.Number, want.Total), func(code string) error {
			got, err := quorum.ParseCode(code)
			if err != nil {
				if !errors.Is(err, quorum.ErrIncomplete) {
					attempts++
				}
				return err
			}
			defer quorum.Zero(got)
			if got.Number != want.Number || got.CeremonyTag != want.CeremonyTag || subtle.ConstantTimeCompare(got.Data, want.Data) != 1 {
				attempts++
				return fmt.Errorf("this is not share %d as handed out; read your sheet again", want.Number)
			}
			return nil
		})
		if err != nil {
			r.record(transcript.EventShareNotConfirmed, map[string]any{"custodian": c.Name, "number": want.Number, "failed_attempts": attempts})
			return fmt.Errorf("%s could not confirm share %d: %w", c.Name, want.Number, err)
		}
		if _, err := r.record(transcript.EventShareConfirmed, map[string]any{"custodian": c.Name, "number": want.Number, "failed_attempts": attempts}); err != nil {
			return err
		}
	}
	return r.bagSheets()
}

// wrapBackup installs the KEK as a trusted wrapping key (as the Security Officer), wraps key
// under it, destroys it and writes the backup. The KEK and the shares are zeroed on return.
func (r *Run) wrapBackup(key *hsm.KeyPair) (err error) {
	defer r.forgetSecrets()
	so := r.Script.People("security-officer")[0]
	if err := r.asSO(); err != nil {
		return err
	}
	kekLabel := key.Label + "-backup-kek"
	kek, err := r.token.ImportKEK(r.kek, kekLabel, hsm.WrapOnly)
	if err != nil {
		r.relogin()
		return err
	}
	defer func() {
		if derr := kek.Destroy(); derr != nil && err == nil {
			err = derr
		} else if derr == nil {
			r.record(transcript.EventKEKDestroyed, map[string]string{"label": kekLabel})
		}
	}()
	if _, err := r.record(transcript.EventKEKInstalled, map[string]any{"label": kekLabel, "by": so.Name, "role": hsm.SO.String(), "session_object": true, "attributes": kek.Attributes}); err != nil {
		r.relogin()
		return err
	}
	if err := r.relogin(); err != nil {
		return err
	}
	blob, err := r.token.WrapPrivateKey(kek, key)
	if err != nil {
		return err
	}
	fp, err := fingerprint.OfPublicKey(key.Public())
	if err != nil {
		return err
	}
	metaFile, blobFile := backupFiles(key.Label)
	sum := sha256.Sum256(blob)
	meta := &BackupMeta{
		Format: backupFormat, CeremonyID: r.Script.ID, KeyLabel: key.Label, Algorithm: string(key.Algorithm), SPKISHA256: fp.Hex(),
		PublicKey: string(publicKeyPEM(key)),
		Mechanism: "CKM_AES_KEY_WRAP_PAD (RFC 5649)", Payload: "PKCS #8 PrivateKeyInfo", KEKKCV: r.kcv,
		Threshold: r.shares[0].Threshold, Shares: r.shares[0].Total, BlobFile: blobFile, BlobSHA256: hex.EncodeToString(sum[:]), BlobSize: len(blob),
	}
	if err := os.MkdirAll(filepath.Join(r.Dir, "backup"), 0o755); err != nil {
		return err
	}
	if err := r.writeOutput(blobFile, blob); err != nil {
		return err
	}
	mj, _ := json.MarshalIndent(meta, "", "  ")
	if err := r.writeOutput(metaFile, append(mj, '\n')); err != nil {
		return err
	}
	r.backup, r.blob = meta, blob
	_, err = r.record(transcript.EventKeyWrapped, map[string]any{"label": key.Label, "spki_sha256": fp.Hex(), "under_kek_kcv": r.kcv, "mechanism": meta.Mechanism, "blob_sha256": meta.BlobSHA256, "blob_size": len(blob)})
	r.UI.Note(fmt.Sprintf("Root key %q wrapped into %s (%d bytes).", key.Label, blobFile, len(blob)))
	return err
}

// relogin returns the session to the user after the Security Officer's part.
func (r *Run) relogin() error {
	r.token.Logout()
	pin, err := r.binding.PIN()
	if err != nil {
		return fmt.Errorf("read PIN: %w", err)
	}
	return r.token.Login(hsm.User, pin)
}

func (r *Run) forgetSecrets() {
	quorum.ZeroKey(r.kek)
	r.kek = nil
	quorum.Zero(r.shares...)
}

// reloadBackup reads a backup description and wrapped key this ceremony recorded in folder
// dir: "backup" for the backup it made, "previous/backup" for the one it continues.
func (r *Run) reloadBackup(e []transcript.Entry, dir string) error {
	var metaFile string
	for _, en := range e {
		var o transcript.Output
		if en.Event == transcript.EventOutput && en.DecodeData(&o) == nil && path.Dir(o.File) == dir && path.Ext(o.File) == ".json" {
			metaFile = o.File
		}
	}
	if metaFile == "" {
		return errors.New("the transcript records no backup description")
	}
	mj, err := r.readOutput(e, metaFile)
	if err != nil {
		return err
	}
	var m BackupMeta
	if err := json.Unmarshal(mj, &m); err != nil {
		return fmt.Errorf("%s: %w", metaFile, err)
	}
	r.backup = &m
	if r.Script.Type == TypeReshare && dir == "previous/backup" {
		return nil // a reshare does not carry the old wrapped key
	}
	r.blob, err = r.readOutput(e, path.Join(dir, path.Base(m.BlobFile)))
	return err
}

// previousCeremony is a verified, sealed ceremony that holds a backup.
type previousCeremony struct {
	dir    string
	result *transcript.Result
	meta   *BackupMeta
	blob   []byte
	root   *x509.Certificate
	signer *x509.Certificate
	files  map[string][]byte // outputs to carry into the new ceremony folder
}

// loadPrevious verifies a sealed earlier ceremony and, if needBackup, reads its backup,
// checking the blob against the metadata recorded there, before anything else happens.
func loadPrevious(dir string, needBackup bool) (*previousCeremony, error) {
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		return nil, fmt.Errorf("the previous ceremony %s does not verify, so nothing can be built on it: %w", dir, err)
	}
	if reason, aborted := res.Aborted(); aborted {
		return nil, fmt.Errorf("the previous ceremony %s was aborted (%s): nothing continues an aborted ceremony; name the last one that completed", dir, reason)
	}
	p := &previousCeremony{dir: dir, result: res, root: res.Root, signer: res.Signer, files: map[string][]byte{rootDER: res.Root.Raw}}
	if !needBackup {
		return p, nil
	}
	var metaName string
	for _, o := range res.Outputs {
		if path.Dir(o.File) == "backup" && path.Ext(o.File) == ".json" {
			metaName = o.File
		}
	}
	if metaName == "" {
		return nil, fmt.Errorf("the previous ceremony %s made no backup (no backup/*.json among its outputs)", dir)
	}
	mj, err := os.ReadFile(filepath.Join(dir, metaName))
	if err != nil {
		return nil, err
	}
	var m BackupMeta
	if err := json.Unmarshal(mj, &m); err != nil || m.Format != backupFormat {
		return nil, fmt.Errorf("%s in %s is not a Keyrite backup description", metaName, dir)
	}
	blob, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(m.BlobFile)))
	if err != nil {
		return nil, fmt.Errorf("the wrapped backup %s is missing from %s: %w", m.BlobFile, dir, err)
	}
	if sum := sha256.Sum256(blob); len(blob) != m.BlobSize || hex.EncodeToString(sum[:]) != m.BlobSHA256 {
		return nil, fmt.Errorf("the wrapped backup %s is corrupt or truncated (%d bytes, SHA-256 %x; the backup recorded %d bytes, %s); restore it from the evidence copy", m.BlobFile, len(blob), sum, m.BlobSize, m.BlobSHA256)
	}
	p.meta, p.blob = &m, blob
	p.files[metaName], p.files[m.BlobFile] = mj, blob
	return p, nil
}

// publicKey parses the backed-up key's public key.
func (m *BackupMeta) publicKey() (crypto.PublicKey, error) {
	b, _ := pem.Decode([]byte(m.PublicKey))
	if b == nil {
		return nil, errors.New("the backup's public key is not PEM")
	}
	return x509.ParsePKIXPublicKey(b.Bytes)
}

// BackupConfig splits a backup KEK among the script's custodians (role "custodian"), any
// Threshold of whom can restore the root key.
type BackupConfig struct {
	Threshold int `yaml:"threshold"`
	// LossContact is whom a custodian tells at once if their share sheet is lost or its bag
	// opened: a name or role and how to reach them. It is printed on every share sheet.
	LossContact string `yaml:"loss_contact"`
}

// validateLossContact requires the contact every share sheet names for a lost sheet.
func validateLossContact(v *validator, path, contact string) {
	if strings.TrimSpace(contact) == "" {
		v.errorf(path, "name whom a custodian tells at once if their share sheet is lost or its bag opened (a person or role and how to reach them); it is printed on every sheet")
	} else if len(contact) > 200 {
		v.errorf(path, "has %d characters; keep it to 200, it must fit on the share sheet", len(contact))
	}
}

// validateQuorum checks a threshold against the script's custodians and the people a KEK
// installation needs.
func (s *Script) validateQuorum(v *validator, path string, threshold int) {
	n := len(s.People("custodian"))
	if n < quorum.MinThreshold || n > quorum.MaxShares {
		v.errorf("participants", "a quorum needs %d to %d custodians, has %d", quorum.MinThreshold, quorum.MaxShares, n)
	}
	if threshold < quorum.MinThreshold || threshold > n {
		v.errorf(path, "%d must be between %d and the number of custodians (%d)", threshold, quorum.MinThreshold, n)
	}
	if len(s.People("security-officer")) == 0 {
		v.errorf("participants", "needs a security-officer: only the Security Officer may install the trusted wrapping key")
	}
}
