package ceremony

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/ceremony/transfer"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/hsm/keycheck"
)

// TypeImport imports one key, exported for this token's import job.
const TypeImport = "import"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeImport, Title: "Import a key exported for this HSM", Example: "import", Inputs: []Input{InputTransfer},
			Description: "The sealed export ceremony is verified; the import job's key unwraps the key into this HSM, non-extractable, where it must match what was exported."},
		previous: previousSealed,
		validate: (*Script).validateImport,
		steps:    importSteps,
		labels:   func(s *Script) []string { return []string{s.Import.Label} },
		inputs:   (*Run).importInputs,
		needs:    importNeeds,
		supports: func() []supportCase { return oaepSupports(TypeImport) },
	})
}

func (s *Script) validateImport(v *validator) {
	s.onlySection(v)
	if s.Import == nil {
		v.errorf("import", "is required")
	} else if !labelRE.MatchString(s.Import.Label) {
		v.errorf("import.label", "%q must be 1-64 letters, digits, '.', '_' or '-'", s.Import.Label)
	}
}

// importInputs verifies, before the HSM is touched, this token's import job (--previous) and
// the export ceremony (--transfer), and that the export was wrapped for that job.
func (r *Run) importInputs() error {
	in := r.xfer
	if r.opt.Transfer == "" {
		return errors.New("an import reads a sealed export ceremony: name its folder (--transfer DIR)")
	}
	job, pub, _, err := loadImportJob(r.opt.Previous)
	if err != nil {
		return fmt.Errorf("an import continues this token's import-job ceremony (--previous): %w", err)
	}
	if r.Clock().After(job.Expires) {
		return fmt.Errorf("import job %s expired at %s; nothing was imported", job.CeremonyID, job.Expires.UTC().Format(time.RFC3339))
	}
	res, meta, blob, err := loadExport(r.opt.Transfer)
	if err != nil {
		return err
	}
	jobFP, _ := fingerprint.OfPublicKey(pub)
	if meta.Provider != transfer.PKCS11 || meta.WrappingKeySPKI != jobFP.Hex() {
		return fmt.Errorf("the export in %s was wrapped for wrapping key %s, not for this import job's key %s: it cannot be imported here; nothing was imported", r.opt.Transfer, meta.WrappingKeySPKI, jobFP.Hex())
	}
	in.job, in.wrappingKey, in.meta, in.blob, in.exportRes = job, pub, meta, blob, res
	in.method = transfer.Method{Name: meta.Method, OAEPHash: meta.OAEPHash}
	in.files[path.Join("transfer", path.Base(meta.File))] = blob
	mj, _ := json.MarshalIndent(meta, "", "  ")
	in.files[path.Join("transfer", path.Base(meta.File)+".json")] = append(mj, '\n')
	return nil
}

// ImportConfig imports a key exported for this token's import job.
type ImportConfig struct {
	Label string `yaml:"label"` // the imported key's label on this token
}

// loadExport verifies an export ceremony and reads what it exported.
func loadExport(dir string) (*transcript.Result, *transfer.Metadata, []byte, error) {
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the export ceremony %s does not verify: %w", dir, err)
	}
	var metaName string
	for _, o := range res.Outputs {
		if strings.HasPrefix(o.File, "export/") && strings.HasSuffix(o.File, ".json") {
			metaName = o.File
		}
	}
	if metaName == "" {
		return nil, nil, nil, fmt.Errorf("%s exported nothing", dir)
	}
	mb, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(metaName)))
	var m transfer.Metadata
	if err := json.Unmarshal(mb, &m); err != nil || m.Format != transfer.MetadataFormat {
		return nil, nil, nil, fmt.Errorf("%s is not Keyrite transfer metadata", metaName)
	}
	file, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(m.File)))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the exported file %s is missing: %w", m.File, err)
	}
	if sha256Hex(file) != m.FileSHA256 {
		return nil, nil, nil, fmt.Errorf("the exported file %s is corrupt or truncated (its SHA-256 differs from the one recorded); nothing was imported", m.File)
	}
	blob, err := transfer.Blob(m.Provider, file)
	return res, &m, blob, err
}

func importSteps(s *Script) []step {
	root := rootSteps(s)
	label := s.Import.Label
	return []step{root[0], continueStep(),
		{id: "import-key", title: "Import the key", actorRole: "administrator", witness: true, labels: []string{label},
			gate:    func(*Run) string { return fmt.Sprintf("unwrap the exported key into a new key %q", label) },
			explain: fmt.Sprintf("The export ceremony was verified. The import job's key unwraps the ephemeral AES key, which unwraps the key into %q, forced sensitive and non-extractable; the key must sign under its original public key.", label),
			run:     (*Run).importKey,
			restore: func(r *Run, e []transcript.Entry) (err error) { r.root, err = r.reloadKey(e, label); return }},
		root[4]}
}

func (r *Run) importKey() error {
	in := r.xfer
	if _, err := r.record(transcript.EventTransferVerified, map[string]any{"export_ceremony": in.exportRes.Opening.CeremonyID, "checkpoint": in.exportRes.Seal.Text,
		"key_label": in.meta.KeyLabel, "spki_sha256": in.meta.SPKISHA256, "method": in.meta.Method, "file_sha256": in.meta.FileSHA256}); err != nil {
		return err
	}
	job, err := r.token.FindKeyPair(in.job.KeyLabel)
	if err != nil {
		return err
	}
	k := in.wrappingKey.Size()
	tk, err := r.token.UnwrapFromRSA(job, in.blob[:k], hsm.OAEPHash(in.meta.OAEPHash), "import-transport")
	if err != nil {
		return fmt.Errorf("%w; nothing was imported", err)
	}
	label := r.Script.Import.Label
	if in.meta.KeyKind == "secret" {
		return r.importSecret(tk, in.blob[k:], label)
	}
	pub, err := parseAnyPublicKey(in.meta.PublicKey)
	if err != nil {
		tk.Destroy()
		return err
	}
	key, err := r.token.UnwrapPrivateKey(tk, in.blob[k:], label, pub)
	if derr := tk.Destroy(); derr != nil && err == nil {
		err = derr
	}
	if err != nil {
		return err
	}
	fp, _ := fingerprint.OfPublicKey(key.Public())
	if fp.Hex() != in.meta.SPKISHA256 {
		return fmt.Errorf("imported key %q has fingerprint %s, the export recorded %s", label, fp.Hex(), in.meta.SPKISHA256)
	}
	r.root = key
	err = r.recordKey(transcript.EventKeyImported, key, fp, "passed: a signature by the imported key verifies under the exported public key", "imported from "+in.meta.SourceCeremonyID)
	r.UI.Note(fmt.Sprintf("Key %q imported; its fingerprint equals the exported key's:\n%s\nRead aloud: %s", label, fp.Grouped(), fp.Words()))
	return err
}

func parseAnyPublicKey(p string) (crypto.PublicKey, error) {
	blk, _ := pem.Decode([]byte(p))
	if blk == nil {
		return nil, errors.New("the transfer metadata's public key is not PEM")
	}
	return x509.ParsePKIXPublicKey(blk.Bytes)
}

// importSecret imports an AES key and proves it by its check value.
func (r *Run) importSecret(tk *hsm.SecretKey, wrapped []byte, label string) error {
	in := r.xfer
	key, err := r.token.UnwrapDEK(tk, wrapped, hsm.DEKSpec{Label: label})
	if derr := tk.Destroy(); derr != nil && err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("%w; nothing was imported", err)
	}
	kcv, err := key.CheckValueECB()
	if err == nil && kcv != in.meta.KCV {
		key.Destroy()
		err = fmt.Errorf("imported key %q has check value %s (%s), the export recorded %s: it was destroyed", label, kcv, keycheck.MethodECB, in.meta.KCV)
	}
	if err != nil {
		return err
	}
	_, err = r.record(transcript.EventKeyImported, map[string]any{"label": label, "kind": "secret", "kcv": kcv, "kcv_method": keycheck.MethodECB,
		"matches_export": true, "attributes_forced": "CKA_SENSITIVE=true, CKA_EXTRACTABLE=false"})
	r.UI.Note(fmt.Sprintf("Key %q imported; its check value %s (%s of a zero block) equals the exported key's.", label, kcv, keycheck.MethodECB))
	return err
}

// importNeeds lists the token capabilities an import ceremony needs (the pre-flight checks them).
func importNeeds(r *Run) []Need {
	var out []Need
	if in := r.xfer; in != nil && in.method.OAEPHash != "" {
		out = append(out, need(hsm.CapOAEPUnwrap(hsm.OAEPHash(in.method.OAEPHash)), "unwrapping the transport key ("+in.method.Name+")"))
	}
	out = append(out, need(hsm.CapAESKWPUnwrap, "unwrapping the imported key under the transport key (RFC 5649)"))
	return out
}
