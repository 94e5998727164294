package ceremony

import (
	"encoding/json"
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

// TypeExport exports one key, for a cloud KMS or another HSM's import job.
const TypeExport = "export"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeExport, Title: "Export a key to another HSM or a cloud KMS (BYOK)", Example: "export", Inputs: []Input{InputImportJob, InputWrappingKey},
			Description: "One extractable key leaves the HSM wrapped for another HSM's import job or a cloud KMS's wrapping key, in the layout the provider imports."},
		previous:  previousSealed,
		validate:  (*Script).validateExport,
		steps:     exportSteps,
		inputs:    (*Run).exportInputs,
		needs:     exportNeeds,
		keyStates: exportKeyStates,
		supports:  exportSupports,
	})
}

func (s *Script) validateExport(v *validator) {
	s.onlySection(v)
	e := s.Export
	if e == nil {
		v.errorf("export", "is required")
		return
	}
	if !labelRE.MatchString(e.Key) {
		v.errorf("export.key", "%q must be the label of a key on the token", e.Key)
	}
	known := false
	for _, p := range transfer.Providers {
		known = known || string(p) == e.Provider
	}
	if !known {
		v.errorf("export.provider", "%q is not one of %v", e.Provider, transfer.Providers)
	} else if e.Method != "" {
		spec, found := transfer.Specs[transfer.Provider(e.Provider)], false
		var err error
		for _, bits := range spec.RSABits {
			if _, err = spec.Method(e.Method, bits); err == nil {
				found = true
			}
		}
		if !found {
			v.errorf("export.method", "%v", err)
		}
	}
}

// exportInputs checks, before the HSM is touched, what the key is wrapped for: the import
// job of another HSM, or a cloud provider's wrapping key.
func (r *Run) exportInputs() error {
	in, e := r.xfer, r.Script.Export
	p := transfer.Provider(e.Provider)
	spec := transfer.Specs[p]
	var err error
	if p == transfer.PKCS11 {
		err = r.exportToImportJob()
	} else {
		err = r.exportToProvider(p)
	}
	if err != nil {
		return err
	}
	in.method, err = spec.Method(e.Method, in.wrappingKey.N.BitLen())
	return err
}

func (r *Run) exportToImportJob() error {
	in := r.xfer
	if r.opt.ImportJob == "" {
		return errors.New("an export to another HSM is wrapped for its import job: name the import-job ceremony's folder (--import-job DIR)")
	}
	job, pub, files, err := loadImportJob(r.opt.ImportJob)
	if err != nil {
		return err
	}
	if r.Clock().After(job.Expires) {
		return fmt.Errorf("import job %s expired at %s: the target must run a new import-job ceremony; nothing was exported", job.CeremonyID, job.Expires.UTC().Format(time.RFC3339))
	}
	in.job, in.wrappingKey, in.issued = job, pub, job.Created
	for name, b := range files {
		in.files[path.Join("import-job", name)] = b
	}
	return nil
}

func (r *Run) exportToProvider(p transfer.Provider) error {
	in := r.xfer
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
	if err := transfer.Specs[p].CheckWrappingKey(pub, r.opt.IssuedAt, r.Clock()); err != nil {
		return err
	}
	if p == transfer.Azure && r.opt.AzureKEKID == "" {
		_, err := transfer.File(p, nil, "", "")
		return err
	}
	in.wrappingKey, in.issued = pub, r.opt.IssuedAt
	in.files["wrapping-key.pem"] = b
	return nil
}

// ExportConfig exports one key, wrapped for a provider or another HSM.
type ExportConfig struct {
	Key      string `yaml:"key"`      // the key's label on this token
	Provider string `yaml:"provider"` // pkcs11, aws-kms, gcp-kms, azure-key-vault
	Method   string `yaml:"method"`   // the provider's import method; empty: its preferred one
}

// exporting is an export ceremony's own state: the key that leaves, a key pair or a secret key.
type exporting struct {
	key    *hsm.KeyPair
	secret *hsm.SecretKey
}

func exportSteps(s *Script) []step {
	x := &exporting{}
	root := rootSteps(s)
	e := s.Export
	return []step{root[0], continueStep(),
		{id: "check-key", title: "Check the key may leave", actorRole: "administrator",
			explain: fmt.Sprintf("The key %q is read from the HSM with its attributes; a key generated non-extractable never leaves.", e.Key),
			run:     x.checkExportable},
		{id: "export-key", title: "Export the key", actorRole: "security-officer", witness: true,
			gate:    func(*Run) string { return fmt.Sprintf("wrap the key %q for %s and export it", e.Key, e.Provider) },
			explain: fmt.Sprintf("The Security Officer has the HSM make an ephemeral AES-256 key, trusted to wrap; it is wrapped with RSA-OAEP under the %s wrapping key and wraps %q (RFC 5649), in the layout %s imports.", e.Provider, e.Key, e.Provider),
			run:     x.exportKey},
		root[4]}
}

func (x *exporting) checkExportable(r *Run) error {
	label := r.Script.Export.Key
	k, err := r.token.FindKeyPair(label)
	if err != nil {
		// Not a key pair: an AES secret key, checked by its check value.
		sk, serr := r.token.FindSecretKey(label)
		if serr != nil {
			return fmt.Errorf("no key pair or secret key %q on token %q: %v; %v", label, r.token.Info.Label, err, serr)
		}
		if _, err := r.record(transcript.EventKeyChecked, map[string]any{"label": label, "kind": "secret", "attributes": sk.Attributes}); err != nil {
			return err
		}
		if !sk.Attributes["CKA_EXTRACTABLE"] {
			return fmt.Errorf("key %q was generated non-extractable (CKA_EXTRACTABLE=false): it was never meant to leave this HSM, and cannot; nothing was exported", label)
		}
		x.secret = sk
		return nil
	}
	fp, _ := fingerprint.OfPublicKey(k.Public())
	if _, err := r.record(transcript.EventKeyChecked, map[string]any{"label": label, "algorithm": k.Algorithm, "spki_sha256": fp.Hex(), "attributes": k.Attributes}); err != nil {
		return err
	}
	if !k.Attributes["CKA_EXTRACTABLE"] {
		return fmt.Errorf("key %q was generated non-extractable (CKA_EXTRACTABLE=false): it was never meant to leave this HSM, and cannot; nothing was exported", label)
	}
	x.key = k
	return nil
}

func (x *exporting) exportKey(r *Run) error {
	e := r.Script.Export
	provider := transfer.Provider(e.Provider)
	if x.key == nil && x.secret == nil { // resumed after check-key
		if err := x.checkExportable(r); err != nil {
			return err
		}
	}
	blob, method, form, err := x.wrapForExport(r, provider)
	if err != nil {
		return err
	}
	file, err := transfer.File(provider, blob, r.opt.AzureKEKID, "Keyrite "+Version+"; "+r.token.Info.Manufacturer+" "+r.token.Info.Model+" firmware "+r.token.Info.Firmware)
	if err != nil {
		return err
	}
	label := e.Key
	name := path.Join("export", label+transfer.Specs[provider].Extension)
	if err := os.MkdirAll(filepath.Join(r.Dir, "export"), 0o755); err != nil {
		return err
	}
	if err := r.writeOutput(name, file); err != nil {
		return err
	}
	meta, identity, err := x.exportMetadata(r, provider, method, form, name, file)
	if err != nil {
		return err
	}
	mb, _ := json.MarshalIndent(meta, "", "  ")
	if err := r.writeOutput(path.Join("export", label+"."+string(provider)+".json"), append(mb, '\n')); err != nil {
		return err
	}
	for k, v := range map[string]any{"label": label, "kind": meta.KeyKind, "provider": provider, "method": method.Name, "oaep_hash": method.OAEPHash,
		"wrapping_key_spki_sha256": meta.WrappingKeySPKI, "file": name, "file_sha256": meta.FileSHA256, "bytes": len(file)} {
		identity[k] = v
	}
	_, err = r.record(transcript.EventKeyExported, identity)
	r.UI.Note(fmt.Sprintf("Key %q exported for %s (%s) into %s.", label, provider, method.Name, name))
	return err
}

// exportMethods lists the wrapping methods to try, best first: between two Keyrite HSMs the
// OAEP hashes the import job's token accepted, for a provider the method checked up front.
func (r *Run) exportMethods(provider transfer.Provider) []transfer.Method {
	in := r.xfer
	if provider != transfer.PKCS11 {
		return []transfer.Method{in.method}
	}
	var methods []transfer.Method
	for _, h := range in.job.OAEPHashes {
		m, _ := transfer.Specs[transfer.PKCS11].Method("CKM_RSA_AES_KEY_WRAP/OAEP-"+string(h), in.wrappingKey.N.BitLen())
		methods = append(methods, m)
	}
	return methods
}

// wrapForExport has the Security Officer import the wrapping key and make an ephemeral
// transport key, both trusted to wrap (hsm.PrepareRSAAESWrap); the user then wraps the key in
// the CKM_RSA_AES_KEY_WRAP layout, natively or composed. Both session keys are destroyed on
// return.
func (x *exporting) wrapForExport(r *Run, provider transfer.Provider) ([]byte, transfer.Method, string, error) {
	if err := r.asSO(); err != nil {
		return nil, transfer.Method{}, "", err
	}
	w, err := r.token.PrepareRSAAESWrap(r.xfer.wrappingKey, "export-wrapping-key")
	if err != nil {
		r.relogin()
		return nil, transfer.Method{}, "", err
	}
	defer w.Destroy()
	if err := r.relogin(); err != nil {
		return nil, transfer.Method{}, "", err
	}
	var key hsm.Wrappable = x.key
	if x.secret != nil {
		key = x.secret
	}
	return r.wrapWith(provider, w, key)
}

// wrapWith wraps the key for the wrapping key with the first method the token supports, in
// the token's own CKM_RSA_AES_KEY_WRAP or composed (the form is returned for the metadata); a
// refused OAEP hash names the provider's other methods.
func (r *Run) wrapWith(provider transfer.Provider, w *hsm.RSAAESWrapper, key hsm.Wrappable) ([]byte, transfer.Method, string, error) {
	var err error
	for _, m := range r.exportMethods(provider) {
		var blob []byte
		var form string
		blob, form, err = w.Wrap(key, hsm.OAEPHash(m.OAEPHash))
		var he *hsm.OAEPHashError
		if errors.As(err, &he) && provider == transfer.PKCS11 {
			continue // try the import job's next hash
		}
		if err == nil {
			return blob, m, form, nil
		}
		break
	}
	var he *hsm.OAEPHashError
	if !errors.As(err, &he) {
		return nil, transfer.Method{}, "", err
	}
	in := r.xfer
	var alt []string
	for _, m := range transfer.Specs[provider].Methods {
		if m.OAEPHash != in.method.OAEPHash {
			alt = append(alt, strings.ReplaceAll(m.Name, "%d", fmt.Sprint(in.wrappingKey.N.BitLen())))
		}
	}
	return nil, transfer.Method{}, "", fmt.Errorf("%w; request the wrapping key from %s for another method it documents (%s) and export again; nothing was exported", err, provider, strings.Join(alt, ", "))
}

// exportMetadata describes an export: the transfer metadata written beside the file, and the
// key's identity for the key.exported record.
func (x *exporting) exportMetadata(r *Run, provider transfer.Provider, method transfer.Method, form, name string, file []byte) (*transfer.Metadata, map[string]any, error) {
	in := r.xfer
	wfp, _ := fingerprint.OfPublicKey(in.wrappingKey)
	meta := &transfer.Metadata{Format: transfer.MetadataFormat, Provider: provider, Method: method.Name, OAEPHash: method.OAEPHash,
		Mechanism: form, KeyLabel: r.Script.Export.Key,
		WrappingKeySPKI: wfp.Hex(), WrappingKeyBits: in.wrappingKey.N.BitLen(), WrappingIssued: in.issued,
		File: name, FileSHA256: sha256Hex(file), AzureKEKID: r.opt.AzureKEKID, ExportedAt: r.Clock().UTC().Truncate(time.Second), SourceCeremonyID: r.Script.ID}
	identity := map[string]any{}
	if x.secret != nil {
		kcv, err := x.secret.CheckValueECB()
		if err != nil {
			return nil, nil, fmt.Errorf("%w (a secret key is identified by its check value, which needs CKA_ENCRYPT)", err)
		}
		meta.KeyKind, meta.Algorithm, meta.Payload, meta.KCV, meta.KCVMethod = "secret", "aes", "raw key bytes", kcv, keycheck.MethodECB
		identity["kcv"], identity["kcv_method"] = kcv, keycheck.MethodECB
	} else {
		key := x.key
		fp, _ := fingerprint.OfPublicKey(key.Public())
		meta.KeyKind, meta.Algorithm, meta.Payload, meta.SPKISHA256 = "private", string(key.Algorithm), "PKCS #8 PrivateKeyInfo", fp.Hex()
		meta.PublicKey = string(publicKeyPEM(key))
		identity["spki_sha256"] = fp.Hex()
	}
	if v := transfer.Specs[provider].Validity; v > 0 {
		meta.WrappingExpires = in.issued.Add(v)
	}
	if in.job != nil {
		meta.ImportJob, meta.ImportJobKey, meta.WrappingExpires = in.job.CeremonyID, in.job.KeyLabel, in.job.Expires
	}
	return meta, identity, nil
}

// exportNeeds lists the token capabilities an export ceremony needs (the pre-flight checks them).
func exportNeeds(r *Run) []Need {
	s := r.Script
	var out []Need
	// The token's own CKM_RSA_AES_KEY_WRAP, where it has it, stands in for each part of
	// the composed form.
	native := hsm.CapRSAAESKeyWrap
	out = append(out,
		Need{AnyOf: []hsm.Capability{hsm.CapAESKeyGen, native}, For: "the ephemeral AES-256 transport key"},
		need(hsm.CapTrusted, "the transport key, which the Security Officer makes trusted so it may wrap the exported key"),
		Need{AnyOf: []hsm.Capability{hsm.CapAESKWPWrap, native}, For: "wrapping the exported key under the transport key (RFC 5649)"})
	if in := r.xfer; in != nil && in.job != nil && transfer.Provider(s.Export.Provider) == transfer.PKCS11 {
		var any []hsm.Capability
		for _, h := range in.job.OAEPHashes {
			any = append(any, hsm.CapOAEPWrap(h))
		}
		out = append(out, Need{AnyOf: append(any, native), For: "wrapping the transport key with an RSA-OAEP hash the import job's token accepts"})
	} else if in != nil && in.method.OAEPHash != "" {
		out = append(out, Need{AnyOf: []hsm.Capability{hsm.CapOAEPWrap(hsm.OAEPHash(in.method.OAEPHash)), native},
			For: fmt.Sprintf("the %s method's RSA-OAEP wrap of the transport key", in.method.Name)})
	}
	return out
}

// exportKeyStates refuses, in the pre-flight, keys whose recorded state forbids what an export ceremony does with them.
func exportKeyStates(k keyStateCheck) {
	s := k.p.r.Script
	k.refuse("export.key", s.Export.Key, "", true, "leave the token") // a deactivated key may move, to be kept
}

// exportSupports are an export's capability cases: each RSA-OAEP hash.
func exportSupports() []supportCase { return oaepSupports(TypeExport) }

// oaepSupports are the capability cases of a transfer type: each RSA-OAEP hash.
func oaepSupports(typ string) []supportCase {
	var out []supportCase
	for _, h := range []hsm.OAEPHash{hsm.OAEPSHA1, hsm.OAEPSHA256} {
		m := transfer.Method{Name: "RSA-OAEP " + string(h), OAEPHash: string(h)}
		out = append(out, supportCase{typ + ", RSA-OAEP " + string(h), &Run{Script: supportScript(typ), xfer: &transferInputs{method: m}}})
	}
	return out
}
