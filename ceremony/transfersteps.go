package ceremony

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/ceremony/transfer"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/quorum"
)

// ImportJob describes an import job: the wrapping key a token issued for keys coming in. It is
// written as import-job.json beside wrapping-key.pem and holds no secret.
type ImportJob struct {
	Format     string         `json:"format"` // "keyrite-import-job/v1"
	CeremonyID string         `json:"ceremony_id"`
	KeyLabel   string         `json:"key_label"`
	Algorithm  string         `json:"algorithm"`
	SPKISHA256 string         `json:"spki_sha256"`
	Words      string         `json:"spki_sha256_words"`
	OAEPHashes []hsm.OAEPHash `json:"oaep_hashes"` // the token passed its unwrap test with these
	Created    time.Time      `json:"created"`
	Expires    time.Time      `json:"expires"`
	Token      string         `json:"token_serial"`
}

const (
	importJobFormat = "keyrite-import-job/v1"
	importJobFile   = "import-job.json"
	wrappingKeyFile = "wrapping-key.pem"
)

// transferInputs are the checked inputs of a transfer ceremony.
type transferInputs struct {
	wrappingKey *rsa.PublicKey
	method      transfer.Method
	issued      time.Time
	job         *ImportJob         // export to pkcs11: the import job; import: this token's
	meta        *transfer.Metadata // import: what was exported
	blob        []byte             // import: the wrapped key
	exportRes   *transcript.Result // import: the verified export ceremony
	files       map[string][]byte  // files to carry into this ceremony's folder
	transport   [2]*hsm.SecretKey  // migrate: on the source and the target
	migrated    map[string]string  // migrate: label -> KCV already recorded
}

// preflightInputs checks a transfer ceremony's inputs before the HSM is touched.
func (r *Run) preflightInputs() error {
	in := &transferInputs{files: map[string][]byte{}, migrated: map[string]string{}}
	r.xfer = in
	now := r.Clock()
	switch r.Script.Type {
	case TypeExport:
		e := r.Script.Export
		p := transfer.Provider(e.Provider)
		spec := transfer.Specs[p]
		if p == transfer.PKCS11 {
			if r.opt.ImportJob == "" {
				return errors.New("an export to another HSM is wrapped for its import job: name the import-job ceremony's folder (--import-job DIR)")
			}
			job, pub, files, err := loadImportJob(r.opt.ImportJob)
			if err != nil {
				return err
			}
			if now.After(job.Expires) {
				return fmt.Errorf("import job %s expired at %s: the target must run a new import-job ceremony; nothing was exported", job.CeremonyID, job.Expires.UTC().Format(time.RFC3339))
			}
			in.job, in.wrappingKey, in.issued = job, pub, job.Created
			for name, b := range files {
				in.files[path.Join("import-job", name)] = b
			}
		} else {
			if r.opt.WrappingKey == "" {
				return fmt.Errorf("an export to %s is wrapped for the provider's wrapping public key: give it (--wrapping-key FILE)", p)
			}
			b, err := os.ReadFile(r.opt.WrappingKey)
			if err != nil {
				return fmt.Errorf("read the wrapping key: %w", err)
			}
			pub, err := parseRSAPublicKey(b)
			if err != nil {
				return fmt.Errorf("wrapping key %s: %w", r.opt.WrappingKey, err)
			}
			if err := spec.CheckWrappingKey(pub, r.opt.IssuedAt, now); err != nil {
				return err
			}
			if p == transfer.Azure && r.opt.AzureKEKID == "" {
				_, err := transfer.File(p, nil, "", "")
				return err
			}
			in.wrappingKey, in.issued = pub, r.opt.IssuedAt
			in.files["wrapping-key.pem"] = b
		}
		m, err := spec.Method(e.Method, in.wrappingKey.N.BitLen())
		if err != nil {
			return err
		}
		in.method = m
	case TypeImport:
		if r.opt.Transfer == "" {
			return errors.New("an import reads a sealed export ceremony: name its folder (--transfer DIR)")
		}
		job, pub, _, err := loadImportJob(r.opt.Previous)
		if err != nil {
			return fmt.Errorf("an import continues this token's import-job ceremony (--previous): %w", err)
		}
		if now.After(job.Expires) {
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
	case TypeMigrate:
		if r.opt.Target == nil {
			return errors.New("a migration moves keys to a second token: name it (--target-token LABEL)")
		}
	case TypeIntermediate:
		if r.opt.CSR == "" {
			return errors.New("the root signs an intermediate CA from its certificate signing request: give it (--csr FILE)")
		}
		b, err := os.ReadFile(r.opt.CSR)
		if err != nil {
			return fmt.Errorf("read the certificate request: %w", err)
		}
		if _, err := readCSR(b); err != nil {
			return fmt.Errorf("certificate request %s: %w; nothing was done", r.opt.CSR, err)
		}
	}
	return nil
}

func parseRSAPublicKey(b []byte) (*rsa.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM \"PUBLIC KEY\"")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a wrapping key is RSA, this is %T", k)
	}
	return pub, nil
}

// loadImportJob verifies an import-job ceremony and reads its job and wrapping key.
func loadImportJob(dir string) (*ImportJob, *rsa.PublicKey, map[string][]byte, error) {
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the import-job ceremony %s does not verify: %w", dir, err)
	}
	if res.Opening.Type != TypeImportJob {
		return nil, nil, nil, fmt.Errorf("%s is a %s ceremony, not an import job", dir, res.Opening.Type)
	}
	jb, err := os.ReadFile(filepath.Join(dir, importJobFile))
	if err != nil {
		return nil, nil, nil, err
	}
	var job ImportJob
	if err := json.Unmarshal(jb, &job); err != nil || job.Format != importJobFormat {
		return nil, nil, nil, fmt.Errorf("%s/%s is not a Keyrite import job", dir, importJobFile)
	}
	kb, err := os.ReadFile(filepath.Join(dir, wrappingKeyFile))
	if err != nil {
		return nil, nil, nil, err
	}
	pub, err := parseRSAPublicKey(kb)
	if err != nil {
		return nil, nil, nil, err
	}
	if fp, _ := fingerprint.OfPublicKey(pub); fp.Hex() != job.SPKISHA256 {
		return nil, nil, nil, fmt.Errorf("%s/%s is not the key the import job recorded", dir, wrappingKeyFile)
	}
	return &job, pub, map[string][]byte{importJobFile: jb, wrappingKeyFile: kb}, nil
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

func sha256Hex(b []byte) string { return hex.EncodeToString(sha256Sum(b)) }

// continueStep continues an earlier ceremony's key hierarchy: it records that ceremony,
// carries its root certificate, and adopts its transcript signer, which must be on this token.
func continueStep() step {
	return step{id: "continue-hierarchy", title: "Continue the key hierarchy", actorRole: "administrator",
		explain: "The earlier ceremony on this key hierarchy is verified and quoted; its transcript-signing key, on this HSM, will seal this ceremony too.",
		run: func(r *Run) error {
			p := r.previous
			if _, err := r.record("previous.verified", map[string]any{"ceremony_id": p.result.Opening.CeremonyID, "checkpoint": p.result.Seal.Text,
				"records": len(p.result.Entries), "root_spki_sha256": p.result.RootSPKI.Hex()}); err != nil {
				return err
			}
			// After a rotation, the new hierarchy's signer and root take over.
			root, signer := p.root, p.signer
			if rot := rotationOf(p.result); rot != nil && r.Script.Signer.Label == rot.NewSigner {
				certs, err := parseChain(rot.NewSignerChain)
				if err != nil {
					return fmt.Errorf("the rotation recorded in %s: %w", p.result.Opening.CeremonyID, err)
				}
				signer, root = certs[0], certs[1]
				if _, err := r.record("hierarchy.rotated", map[string]string{"from_root_spki_sha256": rot.OldRootSPKI, "to_root_spki_sha256": rot.NewRootSPKI}); err != nil {
					return err
				}
			}
			if err := r.writeOutput(rootDER, root.Raw); err != nil {
				return err
			}
			if err := r.writeOutput(rootPEM, certPEM(root)); err != nil {
				return err
			}
			r.rootCert = root
			for name, b := range r.xfer.files {
				if err := os.MkdirAll(filepath.Join(r.Dir, filepath.Dir(filepath.FromSlash(name))), 0o755); err != nil {
					return err
				}
				if err := r.writeOutput(name, b); err != nil {
					return err
				}
			}
			return r.adoptSigner(signer)
		},
		restore: func(r *Run, e []transcript.Entry) error {
			if err := r.reloadRootCert(e); err != nil {
				return err
			}
			return r.reloadSigner(e)
		}}
}

// adoptSigner finds the transcript signer whose certificate is cert (the previous ceremony's,
// or after a rotation the new hierarchy's) on this token, and records it as this ceremony's.
func (r *Run) adoptSigner(cert *x509.Certificate) error {
	id := r.previous.result.Opening.CeremonyID
	s, err := r.keyPairOf(r.Script.Signer.Label, cert.PublicKey, "the one that ceremony certified")
	if err != nil {
		return fmt.Errorf("the transcript signer of ceremony %s must be on this token: %w", id, err)
	}
	r.signer, r.signerCert = s, cert
	if err := r.writeOutput(signerPEM, certPEM(r.signerCert)); err != nil {
		return err
	}
	_, err = r.record(transcript.EventSigner, transcript.Signer{
		Name:        s.Label,
		Certificate: string(certPEM(r.signerCert, r.rootCert)),
		Issuer:      spkiHex(r.rootCert),
	})
	return err
}

func spkiHex(c *x509.Certificate) string {
	fp, _ := fingerprint.OfPublicKey(c.PublicKey)
	return fp.Hex()
}

// parseChain reads PEM certificates: a signer, then its root.
func parseChain(p string) ([]*x509.Certificate, error) {
	out, err := transcript.ParseCertificates(p)
	if err != nil {
		return nil, err
	}
	if len(out) != 2 {
		return nil, fmt.Errorf("a signer chain holds the signer and its root, not %d certificates", len(out))
	}
	return out, nil
}

// reloadSigner finds, on a resume, the signer this transcript recorded.
func (r *Run) reloadSigner(e []transcript.Entry) error {
	for i := len(e) - 1; i >= 0; i-- {
		if e[i].Event != transcript.EventSigner {
			continue
		}
		var d transcript.Signer
		if err := e[i].DecodeData(&d); err != nil {
			return err
		}
		certs, err := transcript.ParseCertificates(d.Certificate)
		if err == nil && len(certs) == 0 {
			err = errors.New("it holds no certificate")
		}
		if err != nil {
			return fmt.Errorf("the signer record: %w", err)
		}
		c := certs[0]
		s, err := r.keyPairOf(d.Name, c.PublicKey, "the recorded transcript signer")
		if err != nil {
			return err
		}
		r.signer, r.signerCert = s, c
		return nil
	}
	return errors.New("the transcript records no signer")
}

func importJobSteps(s *Script) []step {
	root := rootSteps(s)
	j := s.ImportJob
	return []step{root[0], continueStep(),
		{id: "create-import-key", title: "Create the import wrapping key", actorRole: "administrator", witness: true,
			labels: []string{j.Label}, outputs: []string{wrappingKeyFile, importJobFile},
			explain: fmt.Sprintf("The HSM generates the %s key pair %q that can only unwrap: keys sent to this HSM are wrapped to its public key, valid %d hours.", j.Algorithm, j.Label, j.ValidHours),
			run:     (*Run).createImportJob},
		root[4]}
}

func (r *Run) createImportJob() error {
	j := r.Script.ImportJob
	k, err := r.generate(hsm.KeySpec{Label: j.Label, Algorithm: hsm.Algorithm(j.Algorithm), Use: hsm.UseUnwrap}, "import-job")
	if err != nil {
		return err
	}
	fp, _ := fingerprint.OfPublicKey(k.Public())
	pemKey := publicKeyPEM(k)
	now := r.Clock().UTC().Truncate(time.Second)
	job := ImportJob{Format: importJobFormat, CeremonyID: r.Script.ID, KeyLabel: j.Label, Algorithm: string(k.Algorithm), SPKISHA256: fp.Hex(), Words: fp.Words(),
		OAEPHashes: k.UnwrapHashes, Created: now, Expires: now.Add(time.Duration(j.ValidHours) * time.Hour), Token: r.token.Info.Serial}
	jb, _ := json.MarshalIndent(job, "", "  ")
	if err := r.writeOutput(wrappingKeyFile, pemKey); err != nil {
		return err
	}
	if err := r.writeOutput(importJobFile, append(jb, '\n')); err != nil {
		return err
	}
	_, err = r.record("import-job.created", map[string]any{"key_label": j.Label, "spki_sha256": fp.Hex(), "expires": job.Expires.Format(time.RFC3339), "oaep_hashes": k.UnwrapHashes})
	r.UI.Note(fmt.Sprintf("Import wrapping key %q (fingerprint above) is valid until %s.", j.Label, job.Expires.Format(time.RFC3339)))
	return err
}

func exportSteps(s *Script) []step {
	root := rootSteps(s)
	e := s.Export
	return []step{root[0], continueStep(),
		{id: "check-key", title: "Check the key may leave", actorRole: "administrator",
			explain: fmt.Sprintf("The key %q is read from the HSM with its attributes; a key generated non-extractable never leaves.", e.Key),
			run:     (*Run).checkExportable},
		{id: "export-key", title: "Export the key", actorRole: "security-officer", witness: true,
			explain: fmt.Sprintf("The Security Officer has the HSM make an ephemeral AES-256 key, trusted to wrap; it is wrapped with RSA-OAEP under the %s wrapping key and wraps %q (RFC 5649), in the layout %s imports.", e.Provider, e.Key, e.Provider),
			run:     (*Run).exportKey},
		root[4]}
}

func (r *Run) checkExportable() error {
	label := r.Script.Export.Key
	k, err := r.token.FindKeyPair(label)
	if err != nil {
		// Not a key pair: an AES secret key, checked by its check value.
		sk, serr := r.token.FindSecretKey(label)
		if serr != nil {
			return fmt.Errorf("no key pair or secret key %q on token %q: %v; %v", label, r.token.Info.Label, err, serr)
		}
		if _, err := r.record("key.checked", map[string]any{"label": label, "kind": "secret", "attributes": sk.Attributes}); err != nil {
			return err
		}
		if !sk.Attributes["CKA_EXTRACTABLE"] {
			return fmt.Errorf("key %q was generated non-extractable (CKA_EXTRACTABLE=false): it was never meant to leave this HSM, and cannot; nothing was exported", label)
		}
		r.secret = sk
		return nil
	}
	fp, _ := fingerprint.OfPublicKey(k.Public())
	if _, err := r.record("key.checked", map[string]any{"label": label, "algorithm": k.Algorithm, "spki_sha256": fp.Hex(), "attributes": k.Attributes}); err != nil {
		return err
	}
	if !k.Attributes["CKA_EXTRACTABLE"] {
		return fmt.Errorf("key %q was generated non-extractable (CKA_EXTRACTABLE=false): it was never meant to leave this HSM, and cannot; nothing was exported", label)
	}
	r.root = k
	return nil
}

func (r *Run) exportKey() error {
	in, e := r.xfer, r.Script.Export
	provider := transfer.Provider(e.Provider)
	if r.root == nil && r.secret == nil { // resumed after check-key
		if err := r.checkExportable(); err != nil {
			return err
		}
	}
	key := r.root
	methods := []transfer.Method{in.method}
	if provider == transfer.PKCS11 {
		// Between two Keyrite HSMs, use the best OAEP hash the import job's token accepted.
		methods = nil
		for _, h := range in.job.OAEPHashes {
			m, _ := transfer.Specs[transfer.PKCS11].Method("CKM_RSA_AES_KEY_WRAP/OAEP-"+string(h), in.wrappingKey.N.BitLen())
			methods = append(methods, m)
		}
	}
	if err := r.asSO(); err != nil {
		return err
	}
	tk, err := r.token.GenerateTransportKey("export-transport")
	if err != nil {
		r.relogin()
		return err
	}
	wk, err := r.token.ImportWrappingKey(in.wrappingKey, "export-wrapping-key")
	if err != nil {
		tk.Destroy()
		r.relogin()
		return err
	}
	defer tk.Destroy()
	defer wk.Destroy()
	if err := r.relogin(); err != nil {
		return err
	}
	var head []byte
	var method transfer.Method
	for _, m := range methods {
		head, err = r.token.WrapUnderRSA(wk, tk, hsm.OAEPHash(m.OAEPHash))
		var he *hsm.OAEPHashError
		if errors.As(err, &he) && provider == transfer.PKCS11 {
			continue // try the import job's next hash
		}
		method = m
		break
	}
	if err != nil {
		var he *hsm.OAEPHashError
		if errors.As(err, &he) {
			var alt []string
			for _, m := range transfer.Specs[provider].Methods {
				if m.OAEPHash != in.method.OAEPHash {
					alt = append(alt, strings.ReplaceAll(m.Name, "%d", fmt.Sprint(in.wrappingKey.N.BitLen())))
				}
			}
			return fmt.Errorf("%w; request the wrapping key from %s for another method it documents (%s) and export again; nothing was exported", err, provider, strings.Join(alt, ", "))
		}
		return err
	}
	var tail []byte
	if r.secret != nil {
		tail, err = r.token.WrapSecretKey(tk, r.secret)
	} else {
		tail, err = r.token.WrapPrivateKey(tk, key)
	}
	if err != nil {
		return err
	}
	blob := append(head, tail...)
	file, err := transfer.File(provider, blob, r.opt.AzureKEKID, "Keyrite "+Version+"; "+r.token.Info.Manufacturer+" "+r.token.Info.Model+" firmware "+r.token.Info.Firmware)
	if err != nil {
		return err
	}
	spec := transfer.Specs[provider]
	label := r.Script.Export.Key
	name := path.Join("export", label+spec.Extension)
	if err := os.MkdirAll(filepath.Join(r.Dir, "export"), 0o755); err != nil {
		return err
	}
	if err := r.writeOutput(name, file); err != nil {
		return err
	}
	wfp, _ := fingerprint.OfPublicKey(in.wrappingKey)
	meta := transfer.Metadata{Format: transfer.MetadataFormat, Provider: provider, Method: method.Name, OAEPHash: method.OAEPHash,
		Mechanism: "CKM_RSA_AES_KEY_WRAP, composed from CKM_RSA_PKCS_OAEP and CKM_AES_KEY_WRAP_PAD in the HSM", KeyLabel: label,
		WrappingKeySPKI: wfp.Hex(), WrappingKeyBits: in.wrappingKey.N.BitLen(), WrappingIssued: in.issued,
		File: name, FileSHA256: sha256Hex(file), AzureKEKID: r.opt.AzureKEKID, ExportedAt: r.Clock().UTC().Truncate(time.Second), SourceCeremonyID: r.Script.ID}
	identity := map[string]any{}
	if r.secret != nil {
		kcv, err := r.secret.CheckValueECB()
		if err != nil {
			return fmt.Errorf("%w (a secret key is identified by its check value, which needs CKA_ENCRYPT)", err)
		}
		meta.KeyKind, meta.Algorithm, meta.Payload, meta.KCV, meta.KCVMethod = "secret", "aes", "raw key bytes", kcv, quorum.KCVECB
		identity["kcv"], identity["kcv_method"] = kcv, quorum.KCVECB
	} else {
		fp, _ := fingerprint.OfPublicKey(key.Public())
		meta.KeyKind, meta.Algorithm, meta.Payload, meta.SPKISHA256 = "private", string(key.Algorithm), "PKCS #8 PrivateKeyInfo", fp.Hex()
		meta.PublicKey = string(publicKeyPEM(key))
		identity["spki_sha256"] = fp.Hex()
	}
	if spec.Validity > 0 {
		meta.WrappingExpires = in.issued.Add(spec.Validity)
	}
	if in.job != nil {
		meta.ImportJob, meta.ImportJobKey, meta.WrappingExpires = in.job.CeremonyID, in.job.KeyLabel, in.job.Expires
	}
	mb, _ := json.MarshalIndent(meta, "", "  ")
	if err := r.writeOutput(path.Join("export", label+"."+string(provider)+".json"), append(mb, '\n')); err != nil {
		return err
	}
	for k, v := range map[string]any{"label": label, "kind": meta.KeyKind, "provider": provider, "method": method.Name, "oaep_hash": method.OAEPHash,
		"wrapping_key_spki_sha256": wfp.Hex(), "file": name, "file_sha256": meta.FileSHA256, "bytes": len(file)} {
		identity[k] = v
	}
	_, err = r.record("key.exported", identity)
	r.UI.Note(fmt.Sprintf("Key %q exported for %s (%s) into %s.", label, provider, method.Name, name))
	return err
}

// asSO logs the Security Officer in, for trusted keys.
func (r *Run) asSO() error {
	if r.binding.SOPIN == nil {
		return errors.New("this step needs the Security Officer's PIN, and none was given")
	}
	if err := r.token.Logout(); err != nil {
		return err
	}
	pin, err := r.binding.SOPIN()
	if err != nil {
		return fmt.Errorf("read the Security Officer's PIN: %w", err)
	}
	if err := r.token.Login(hsm.SO, pin); err != nil {
		r.relogin()
		return err
	}
	return nil
}

func importSteps(s *Script) []step {
	root := rootSteps(s)
	label := s.Import.Label
	return []step{root[0], continueStep(),
		{id: "import-key", title: "Import the key", actorRole: "administrator", witness: true, labels: []string{label},
			explain: fmt.Sprintf("The export ceremony was verified. The import job's key unwraps the ephemeral AES key, which unwraps the key into %q, forced sensitive and non-extractable; the key must sign under its original public key.", label),
			run:     (*Run).importKey,
			restore: func(r *Run, e []transcript.Entry) (err error) { r.root, err = r.reloadKey(e, label); return }},
		root[4]}
}

func (r *Run) importKey() error {
	in := r.xfer
	if _, err := r.record("transfer.verified", map[string]any{"export_ceremony": in.exportRes.Opening.CeremonyID, "checkpoint": in.exportRes.Seal.Text,
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
	err = r.recordKey("key.imported", key, fp, "passed: a signature by the imported key verifies under the exported public key", "imported from "+in.meta.SourceCeremonyID)
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

func migrateSteps(s *Script) []step {
	root := rootSteps(s)
	return []step{root[0], continueStep(),
		{id: "establish-transport", title: "Set up the transport key", actorRole: "security-officer", witness: true, volatile: true,
			explain: "A fresh AES-256 transport key from the source HSM's random number generator is installed as a trusted wrap-only key on the source (by the Security Officer) and as an unwrap-only key on the target. It exists in the clear only in memory, only now.",
			run:     (*Run).establishTransport},
		{id: "migrate-keys", title: "Move the keys", actorRole: "administrator",
			explain: fmt.Sprintf("Every secret key labelled %q… is wrapped on the source and unwrapped on the target, non-extractable; its check values on both sides must match. One record per key: an interrupted move continues where it stopped.", s.Migrate.Keys),
			run:     (*Run).migrateKeys},
		{id: "reconcile", title: "Reconcile", actorRole: "administrator", witness: true, outputs: []string{"reconciliation.csv"},
			explain: "Every key on both HSMs is listed with its check value; all must match.",
			run:     (*Run).reconcile},
		root[4]}
}

func (r *Run) establishTransport() error {
	value, err := r.token.Random(32)
	if err != nil {
		return err
	}
	defer quorum.ZeroKey(value)
	kcv, _ := quorum.CheckValue(value, quorum.KCVCMAC)
	if err := r.asSO(); err != nil {
		return err
	}
	src, err := r.token.ImportKEK(value, "migration-transport", hsm.WrapOnly)
	if err != nil {
		r.relogin()
		return err
	}
	if err := r.relogin(); err != nil {
		return err
	}
	dst, err := r.target.ImportKEK(value, "migration-transport", hsm.UnwrapOnly)
	if err != nil {
		return err
	}
	r.xfer.transport = [2]*hsm.SecretKey{src, dst}
	_, err = r.record("transport.established", map[string]any{"kcv": kcv, "source_token": r.token.Info.Serial, "target_token": r.target.Info.Serial,
		"source_attributes": src.Attributes, "target_attributes": dst.Attributes})
	return err
}

// migrationKeys lists the keys the migration moves: those on the source, sorted by label, and
// those already on the target by label. A label the target holds twice is refused: no check
// value could say which of the two is the migrated key.
func (r *Run) migrationKeys() ([]hsm.SecretKeyInfo, map[string]hsm.SecretKeyInfo, error) {
	prefix := r.Script.Migrate.Keys
	srcKeys, err := r.token.SecretKeys(prefix)
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(srcKeys, func(i, j int) bool { return srcKeys[i].Label < srcKeys[j].Label })
	dstKeys, err := r.target.SecretKeys(prefix)
	if err != nil {
		return nil, nil, err
	}
	dst := map[string]hsm.SecretKeyInfo{}
	for _, k := range dstKeys {
		if _, dup := dst[k.Label]; dup {
			return nil, nil, fmt.Errorf("the target holds key %q twice", k.Label)
		}
		dst[k.Label] = k
	}
	return srcKeys, dst, nil
}

func (r *Run) migrateKeys() error {
	srcKeys, onTarget, err := r.migrationKeys()
	if err != nil {
		return err
	}
	moved := r.xfer.migrated
	if _, err := r.record("migration.started", map[string]any{"keys": len(srcKeys), "already_moved": len(moved), "already_on_target": len(onTarget)}); err != nil {
		return err
	}
	src, dst := r.xfer.transport[0], r.xfer.transport[1]
	for i, k := range srcKeys {
		r.UI.Progress("Moving keys", i, len(srcKeys))
		if _, done := moved[k.Label]; done {
			continue
		}
		kcv, err := k.Key().CheckValueECB()
		if err != nil {
			return err
		}
		note := ""
		t, onTgt := onTarget[k.Label]
		if onTgt {
			// Moved before an interruption, not yet recorded: it must be the same key.
			tk, err := t.Key().CheckValueECB()
			if err != nil {
				// Half-written by the interruption: the transcript cannot vouch for it.
				if err := r.destroyUnverifiable(k.Label, err); err != nil {
					return err
				}
				onTgt = false
			} else if tk != kcv {
				return fmt.Errorf("the target already holds a different key labelled %q (check value %s, source %s): stop and investigate", k.Label, tk, kcv)
			} else {
				note = "found on the target after an interruption; check values match"
			}
		}
		if !onTgt {
			blob, err := r.token.WrapSecretKey(src, k.Key())
			if err != nil {
				return err
			}
			nk, err := r.target.UnwrapDEK(dst, blob, hsm.DEKSpec{Label: k.Label, ID: k.ID})
			if err != nil {
				return err
			}
			tk, err := nk.CheckValueECB()
			if err != nil {
				return err
			}
			if tk != kcv {
				return fmt.Errorf("key %q arrived with check value %s, the source has %s", k.Label, tk, kcv)
			}
		}
		data := map[string]string{"label": k.Label, "id": hex.EncodeToString(k.ID), "kcv": kcv, "kcv_method": quorum.KCVECB}
		if note != "" {
			data["note"] = note
		}
		if _, err := r.record("key.migrated", data); err != nil {
			return err
		}
		moved[k.Label] = kcv
	}
	r.UI.Progress("Moving keys", len(srcKeys), len(srcKeys))
	r.UI.Note(fmt.Sprintf("%d keys moved.", len(srcKeys)))
	return nil
}

func (r *Run) reconcile() error {
	srcKeys, dst, err := r.migrationKeys()
	if err != nil {
		return err
	}
	var csv bytes.Buffer
	csv.WriteString("label,id,source_kcv,target_kcv,kcv_method,match\n")
	matching, missing, differ := 0, []string{}, []string{}
	for _, k := range srcKeys {
		skcv, err := k.Key().CheckValueECB()
		if err != nil {
			return err
		}
		tkcv := ""
		if t, ok := dst[k.Label]; ok {
			if tkcv, err = t.Key().CheckValueECB(); err != nil {
				return err
			}
		}
		ok := tkcv == skcv
		switch {
		case ok:
			matching++
		case tkcv == "":
			missing = append(missing, k.Label)
		default:
			differ = append(differ, k.Label)
		}
		fmt.Fprintf(&csv, "%s,%x,%s,%s,%s,%v\n", k.Label, k.ID, skcv, tkcv, quorum.KCVECB, ok)
	}
	if err := r.writeOutput("reconciliation.csv", csv.Bytes()); err != nil {
		return err
	}
	if _, err := r.record("reconciliation", map[string]any{"source_keys": len(srcKeys), "target_keys": len(dst), "matching": matching, "missing": missing, "different": differ}); err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("Reconciliation: %d of %d keys match on both HSMs.", matching, len(srcKeys)))
	if len(missing)+len(differ) > 0 || len(dst) != len(srcKeys) {
		return fmt.Errorf("reconciliation failed: %d missing, %d different, %d keys on the target for %d on the source", len(missing), len(differ), len(dst), len(srcKeys))
	}
	return nil
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
		err = fmt.Errorf("imported key %q has check value %s (%s), the export recorded %s: it was destroyed", label, kcv, quorum.KCVECB, in.meta.KCV)
	}
	if err != nil {
		return err
	}
	_, err = r.record("key.imported", map[string]any{"label": label, "kind": "secret", "kcv": kcv, "kcv_method": quorum.KCVECB,
		"matches_export": true, "attributes_forced": "CKA_SENSITIVE=true, CKA_EXTRACTABLE=false"})
	r.UI.Note(fmt.Sprintf("Key %q imported; its check value %s (%s of a zero block) equals the exported key's.", label, kcv, quorum.KCVECB))
	return err
}

// destroyUnverifiable removes, with the administrator's and a witness's consent, a target
// object an interruption left half-written, so the key can be moved again.
func (r *Run) destroyUnverifiable(label string, cause error) error {
	q := fmt.Sprintf("The target holds an object labelled %q that the interruption left unreadable (%v). Destroy it and move the key again?", label, cause)
	confirmedBy, err := r.confirmCleanup(q, map[string]any{"label": label})
	if err != nil {
		return fmt.Errorf("%w (the unreadable object %q on the target); the migration stops here and can be resumed", err, label)
	}
	n, err := r.target.DestroyLabel(label)
	if err != nil {
		return err
	}
	_, err = r.record("cleanup.destroyed", map[string]any{"label": label, "objects": n, "token_serial": r.target.Info.Serial, "confirmed_by": confirmedBy,
		"reason": "left unreadable on the target by an interruption: " + cause.Error()})
	return err
}
