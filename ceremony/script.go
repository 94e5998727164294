package ceremony

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/keyrite/keyrite/ceremony/transfer"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/quorum"
	"go.yaml.in/yaml/v3"
)

// Script is a ceremony's declarative input: what will happen, to which keys, with whom and on
// what equipment. It says nothing about which HSM or PIN: the same script runs in rehearsal and
// in production, bound to an HSM at run time.
type Script struct {
	Version      int                 `yaml:"version"`
	Type         string              `yaml:"type"`
	ID           string              `yaml:"id"`
	Title        string              `yaml:"title"`
	Organization string              `yaml:"organization"`
	Location     string              `yaml:"location"`
	Participants []Participant       `yaml:"participants"`
	Equipment    Equipment           `yaml:"equipment"`
	Key          KeyConfig           `yaml:"key,omitempty"`
	Certificate  CertProfile         `yaml:"certificate,omitempty"`
	Backup       *BackupConfig       `yaml:"backup,omitempty"`
	Restore      *RestoreConfig      `yaml:"restore,omitempty"`
	Reshare      *ReshareConfig      `yaml:"reshare,omitempty"`
	ImportJob    *ImportJobConfig    `yaml:"import_job,omitempty"`
	Export       *ExportConfig       `yaml:"export,omitempty"`
	Import       *ImportConfig       `yaml:"import,omitempty"`
	Migrate      *MigrateConfig      `yaml:"migrate,omitempty"`
	Intermediate *IntermediateConfig `yaml:"intermediate,omitempty"`
	Destroy      *DestroyConfig      `yaml:"destroy,omitempty"`
	Rotate       *RotateConfig       `yaml:"rotate,omitempty"`
	CRL          *CRLConfig          `yaml:"crl,omitempty"`
	Signer       SignerConfig        `yaml:"transcript_signer"`

	// Source is the script file's exact bytes, Name its file name, SHA256 their hash.
	Source []byte   `yaml:"-"`
	Name   string   `yaml:"-"`
	SHA256 [32]byte `yaml:"-"`
}

// Participant is a person in the room and their role.
type Participant struct {
	Name string `yaml:"name" json:"name"`
	Role string `yaml:"role" json:"role"`
	Bag  string `yaml:"bag,omitempty" json:"bag,omitempty"` // a custodian's tamper-evident bag for their share
}

// Roles a participant may have.
var Roles = []string{"administrator", "custodian", "witness", "auditor", "security-officer"}

// Equipment is what is recorded about the hardware in the room.
type Equipment struct {
	HSM    string   `yaml:"hsm" json:"hsm"`
	Laptop string   `yaml:"laptop" json:"laptop"`
	Bags   []string `yaml:"bags,omitempty" json:"bags"`
}

// KeyConfig is the root key to generate.
type KeyConfig struct {
	Label     string `yaml:"label"`
	Algorithm string `yaml:"algorithm"`
	Backup    bool   `yaml:"backup"` // extractable, only under a trusted wrapping key
}

// BackupConfig splits a backup KEK among the script's custodians (role "custodian"), any
// Threshold of whom can restore the root key.
type BackupConfig struct {
	Threshold int `yaml:"threshold"`
}

// RestoreConfig imports a backed-up key into this ceremony's token.
type RestoreConfig struct {
	Label string `yaml:"label"` // the restored key's label on the target token
}

// ReshareConfig replaces a backup's shares: the listed holders of old shares rebuild the old
// KEK, then a new KEK is split among the script's custodians and the key is wrapped again.
type ReshareConfig struct {
	Threshold       int      `yaml:"threshold"`
	OldShareHolders []string `yaml:"old_share_holders"`
}

// CertProfile is the root certificate's profile.
type CertProfile struct {
	Subject      Subject `yaml:"subject"`
	ValidityDays int     `yaml:"validity_days"`
	PathLen      *int    `yaml:"path_length"`
}

// Subject is an X.509 distinguished name.
type Subject struct {
	CommonName   string `yaml:"common_name"`
	Organization string `yaml:"organization"`
	Country      string `yaml:"country"`
}

// SignerConfig is the transcript-signing key the root certifies.
type SignerConfig struct {
	Label        string `yaml:"label"`
	ValidityDays int    `yaml:"validity_days"`
}

// ImportJobConfig makes this token's wrapping key for imports (its local root of trust for
// keys arriving from elsewhere).
type ImportJobConfig struct {
	Label      string `yaml:"label"`
	Algorithm  string `yaml:"algorithm"` // rsa-3072 or rsa-4096
	ValidHours int    `yaml:"valid_hours"`
}

// ExportConfig exports one key, wrapped for a provider or another HSM.
type ExportConfig struct {
	Key      string `yaml:"key"`      // the key's label on this token
	Provider string `yaml:"provider"` // pkcs11, aws-kms, gcp-kms, azure-key-vault
	Method   string `yaml:"method"`   // the provider's import method; empty: its preferred one
}

// ImportConfig imports a key exported for this token's import job.
type ImportConfig struct {
	Label string `yaml:"label"` // the imported key's label on this token
}

// MigrateConfig moves many secret keys from this token to a target token.
type MigrateConfig struct {
	Keys string `yaml:"keys"` // label prefix of the secret keys to move
}

// IntermediateConfig is the profile the root signs an intermediate (issuing) CA with; the
// subject and key come from the CSR.
type IntermediateConfig struct {
	RootKey      string `yaml:"root_key"` // the root key's label on the token
	ValidityDays int    `yaml:"validity_days"`
	PathLen      int    `yaml:"path_length"`
}

// DestroyConfig names the key a destruction ceremony destroys, and why.
type DestroyConfig struct {
	Key    string `yaml:"key"`
	Reason string `yaml:"reason"`
}

// RotateConfig replaces the root: the old root key (on this token, signing) and the new one.
type RotateConfig struct {
	OldKey     string `yaml:"old_key"`
	NewKey     string `yaml:"new_key"`
	Algorithm  string `yaml:"algorithm"`
	NewSigner  string `yaml:"new_transcript_signer"` // the new hierarchy's transcript signer
	SignerDays int    `yaml:"new_signer_validity_days"`
	CrossDays  int    `yaml:"cross_certificate_validity_days"`
}

// CRLConfig is the certificate revocation list the root signs.
type CRLConfig struct {
	RootKey        string `yaml:"root_key"`
	Number         int64  `yaml:"number"` // the CRL number; each CRL's is higher than the last
	NextUpdateDays int    `yaml:"next_update_days"`
}

// Types of ceremony a script may declare.
const (
	TypeRoot         = "root"              // root key, certificate, transcript signer; with backup: also the quorum backup
	TypeRestore      = "restore"           // a backed-up key into another token, from M shares
	TypeReshare      = "reshare"           // new shares (new custodians or threshold) for an existing backup
	TypeImportJob    = "import-job"        // an unwrap-only wrapping key for imports into this token
	TypeExport       = "export"            // one key out, for a cloud KMS or another HSM's import job
	TypeImport       = "import"            // one key in, exported for this token's import job
	TypeMigrate      = "migrate"           // many secret keys from this token to another, reconciled
	TypeIntermediate = "sign-intermediate" // the root signs an intermediate CA from its CSR
	TypeDestroy      = "destroy"           // a key is destroyed on the HSM, provably
	TypeCRL          = "sign-crl"          // the root signs a certificate revocation list
	TypeRotate       = "rotate"            // a new root replaces the old, cross-certified both ways
)

// Types lists the ceremony types.
var Types = []string{TypeRoot, TypeRestore, TypeReshare, TypeImportJob, TypeExport, TypeImport, TypeMigrate, TypeIntermediate, TypeDestroy, TypeCRL, TypeRotate}

// FieldError is one problem in a script, at a line, named by its field path.
type FieldError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e FieldError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

// ScriptError lists every problem found in a script.
type ScriptError []FieldError

func (e ScriptError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the script has %d problem(s); nothing was done:", len(e))
	for _, f := range e {
		b.WriteString("\n  " + f.Error())
	}
	return b.String()
}

// LoadScript reads and validates a script file.
func LoadScript(path string) (*Script, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read script: %w", err)
	}
	return ParseScript(path, src)
}

var lineRE = regexp.MustCompile(`line (\d+): (.*)`)

// ParseScript decodes and validates a script strictly: unknown fields, wrong types and every
// semantic problem are reported together, each with its line and field path.
func ParseScript(name string, src []byte) (*Script, error) {
	s := &Script{Source: bytes.Clone(src), Name: name, SHA256: sha256.Sum256(src)}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, yamlError(name, err)
	}
	if len(root.Content) == 0 {
		return nil, ScriptError{{name, 1, "(script)", "the script is empty"}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(s); err != nil {
		return nil, yamlError(name, err)
	}
	v := validator{file: name, root: root.Content[0]}
	s.validate(&v)
	v.errs = append(v.errs, checkText(name, src, &root)...)
	if len(v.errs) > 0 {
		sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Line < v.errs[j].Line })
		return nil, v.errs
	}
	return s, nil
}

func yamlError(name string, err error) error {
	var te *yaml.TypeError
	var out ScriptError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		line := 1
		if g := lineRE.FindStringSubmatch(m); g != nil {
			line, _ = strconv.Atoi(g[1])
			m = g[2]
		}
		m = strings.Replace(m, "field ", "unknown field ", 1)
		out = append(out, FieldError{name, line, "(yaml)", strings.TrimPrefix(m, "yaml: ")})
	}
	return out
}

type validator struct {
	file string
	root *yaml.Node
	errs ScriptError
}

// line finds the line of a dotted field path such as "participants.2.role"; the nearest
// existing parent's line when the field is missing.
func (v *validator) line(path string) int {
	n := v.root
	line := n.Line
	for _, part := range strings.Split(path, ".") {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part {
					next = n.Content[i+1]
					line = n.Content[i].Line
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(part); err == nil && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

// label checks that value is a usable token label and says so at path if not.
func (v *validator) label(path, value string) bool {
	if labelRE.MatchString(value) {
		return true
	}
	v.errorf(path, "%q must be 1-64 letters, digits, '.', '_' or '-'", value)
	return false
}

func (v *validator) errorf(path, format string, a ...any) {
	v.errs = append(v.errs, FieldError{v.file, v.line(path), path, fmt.Sprintf(format, a...)})
}

var labelRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (s *Script) validate(v *validator) {
	if s.Version != 1 {
		v.errorf("version", "must be 1, got %d", s.Version)
	}
	if !contains(Types, s.Type) {
		v.errorf("type", "%q is not a ceremony type (want one of %s)", s.Type, strings.Join(Types, ", "))
	}
	if !labelRE.MatchString(s.ID) {
		v.errorf("id", "%q must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", s.ID)
	}
	if strings.TrimSpace(s.Organization) == "" {
		v.errorf("organization", "is required")
	}
	if strings.TrimSpace(s.Location) == "" {
		v.errorf("location", "is required (where the ceremony takes place)")
	}
	roles := map[string]int{}
	names := map[string]bool{}
	for i, p := range s.Participants {
		path := fmt.Sprintf("participants.%d", i)
		if strings.TrimSpace(p.Name) == "" {
			v.errorf(path+".name", "is required")
		} else if names[p.Name] {
			v.errorf(path+".name", "%q is listed twice", p.Name)
		}
		names[p.Name] = true
		if !contains(Roles, p.Role) {
			v.errorf(path+".role", "%q is not a role (want one of %s)", p.Role, strings.Join(Roles, ", "))
		}
		roles[p.Role]++
	}
	if roles["administrator"] != 1 {
		v.errorf("participants", "needs exactly one administrator, has %d", roles["administrator"])
	}
	if roles["witness"] < 1 {
		v.errorf("participants", "needs at least one witness: sensitive steps must be witnessed")
	}
	for i, b := range s.Equipment.Bags {
		if strings.TrimSpace(b) == "" {
			v.errorf(fmt.Sprintf("equipment.bags.%d", i), "tamper-evident bag number is empty")
		}
	}
	switch s.Type {
	case TypeRoot:
		s.validateRoot(v)
	case TypeRestore:
		s.validateRestore(v)
	case TypeReshare:
		s.validateReshare(v)
	case TypeImportJob, TypeExport, TypeImport, TypeMigrate:
		s.validateTransfer(v)
	case TypeIntermediate:
		s.validateIntermediate(v)
	case TypeDestroy:
		if s.Destroy == nil || !labelRE.MatchString(s.Destroy.Key) {
			v.errorf("destroy.key", "name the label of the key to destroy")
		} else if s.Destroy.Key == s.Signer.Label {
			v.errorf("destroy.key", "%q is the transcript signer that seals this ceremony; it cannot destroy itself", s.Destroy.Key)
		}
		if s.Destroy != nil && strings.TrimSpace(s.Destroy.Reason) == "" {
			v.errorf("destroy.reason", "say why the key is destroyed (it is recorded)")
		}
	case TypeRotate:
		r := s.Rotate
		if r == nil {
			v.errorf("rotate", "a rotate ceremony needs a rotate section")
			break
		}
		v.label("rotate.old_key", r.OldKey)
		v.label("rotate.new_key", r.NewKey)
		v.label("rotate.new_transcript_signer", r.NewSigner)
		if !contains(algNames(), r.Algorithm) {
			v.errorf("rotate.algorithm", "%q is not one of %s", r.Algorithm, strings.Join(algNames(), ", "))
		}
		if r.NewKey == r.OldKey || r.NewSigner == s.Signer.Label {
			v.errorf("rotate", "the new root key and transcript signer need labels of their own")
		}
		if r.SignerDays < 1 || r.SignerDays > s.Certificate.ValidityDays {
			v.errorf("rotate.new_signer_validity_days", "%d must be between 1 and the new root's validity (%d)", r.SignerDays, s.Certificate.ValidityDays)
		}
		if r.CrossDays < 1 || r.CrossDays > 10*366 {
			v.errorf("rotate.cross_certificate_validity_days", "%d must be between 1 and %d", r.CrossDays, 10*366)
		}
		if strings.TrimSpace(s.Certificate.Subject.CommonName) == "" || s.Certificate.ValidityDays < 1 {
			v.errorf("certificate", "the new root's profile needs a subject common name and validity_days")
		}
	case TypeCRL:
		c := s.CRL
		if c == nil {
			v.errorf("crl", "a sign-crl ceremony needs a crl section")
			break
		}
		if !labelRE.MatchString(c.RootKey) {
			v.errorf("crl.root_key", "%q must be the root key's label on the token", c.RootKey)
		}
		if c.Number < 1 {
			v.errorf("crl.number", "%d: the CRL number must be positive and higher than the last CRL's", c.Number)
		}
		if c.NextUpdateDays < 1 || c.NextUpdateDays > 365 {
			v.errorf("crl.next_update_days", "%d must be between 1 and 365 (12 months for a CRL of CA certificates)", c.NextUpdateDays)
		}
	}
	if v.label("transcript_signer.label", s.Signer.Label) && (s.Signer.Label == s.Key.Label || (s.Restore != nil && s.Signer.Label == s.Restore.Label)) {
		v.errorf("transcript_signer.label", "must differ from the key's label")
	}
	if s.Type != TypeRoot && s.Type != TypeRestore {
		// The other ceremonies continue a hierarchy whose signer already exists on the token.
	} else if s.Signer.ValidityDays < 1 || (s.Type == TypeRoot && s.Signer.ValidityDays > s.Certificate.ValidityDays) {
		v.errorf("transcript_signer.validity_days", "%d must be at least 1 and at most the root's validity (%d)", s.Signer.ValidityDays, s.Certificate.ValidityDays)
	}
}

func (s *Script) validateRoot(v *validator) {
	v.label("key.label", s.Key.Label)
	if !contains(algNames(), s.Key.Algorithm) {
		v.errorf("key.algorithm", "%q is not one of %s", s.Key.Algorithm, strings.Join(algNames(), ", "))
	}
	c := s.Certificate
	if strings.TrimSpace(c.Subject.CommonName) == "" {
		v.errorf("certificate.subject.common_name", "is required")
	}
	if c.Subject.Country != "" && (len(c.Subject.Country) != 2 || strings.ToUpper(c.Subject.Country) != c.Subject.Country) {
		v.errorf("certificate.subject.country", "%q must be a two-letter upper-case ISO 3166 code", c.Subject.Country)
	}
	if c.ValidityDays < 1 || c.ValidityDays > 25*366 {
		v.errorf("certificate.validity_days", "%d must be between 1 and %d", c.ValidityDays, 25*366)
	}
	if c.PathLen != nil && (*c.PathLen < 0 || *c.PathLen > 8) {
		v.errorf("certificate.path_length", "%d must be between 0 and 8", *c.PathLen)
	}
	if s.Restore != nil || s.Reshare != nil {
		v.errorf("type", "a root ceremony has no restore or reshare section")
	}
	if s.Backup != nil || s.Key.Backup {
		if !s.Key.Backup {
			v.errorf("key.backup", "must be true when the script has a backup section")
		}
		if s.Backup == nil {
			v.errorf("key.backup", "a key generated for backup needs a backup section with its threshold")
		} else {
			s.validateQuorum(v, "backup.threshold", s.Backup.Threshold)
		}
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

func (s *Script) validateRestore(v *validator) {
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

func (s *Script) validateReshare(v *validator) {
	if s.Reshare == nil {
		v.errorf("reshare", "a reshare ceremony needs a reshare section")
		return
	}
	s.validateQuorum(v, "reshare.threshold", s.Reshare.Threshold)
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

func algNames() []string {
	out := make([]string, len(hsm.Algorithms))
	for i, a := range hsm.Algorithms {
		out[i] = string(a)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// People returns the participants with the given role.
func (s *Script) People(role string) []Participant {
	var out []Participant
	for _, p := range s.Participants {
		if p.Role == role {
			out = append(out, p)
		}
	}
	return out
}

// Labels lists the token labels the ceremony will create.
func (s *Script) Labels() []string {
	var out []string
	switch s.Type {
	case TypeRoot:
		out = append(out, s.Key.Label, s.Signer.Label)
	case TypeRestore:
		out = append(out, s.Restore.Label, s.Signer.Label)
	case TypeImportJob:
		out = append(out, s.ImportJob.Label)
	case TypeImport:
		out = append(out, s.Import.Label)
	case TypeRotate:
		out = append(out, s.Rotate.NewKey, s.Rotate.NewSigner)
	}
	return out
}

func (s *Script) validateTransfer(v *validator) {
	sections := 0
	for _, set := range []bool{s.ImportJob != nil, s.Export != nil, s.Import != nil, s.Migrate != nil, s.Backup != nil, s.Restore != nil, s.Reshare != nil, s.Key.Label != ""} {
		if set {
			sections++
		}
	}
	if sections != 1 {
		v.errorf("type", "a %s ceremony has exactly one section, %s", s.Type, strings.ReplaceAll(s.Type, "-", "_"))
	}
	switch s.Type {
	case TypeImportJob:
		j := s.ImportJob
		if j == nil {
			v.errorf("import_job", "is required")
			return
		}
		v.label("import_job.label", j.Label)
		if j.Algorithm != string(hsm.RSA3072) && j.Algorithm != string(hsm.RSA4096) {
			v.errorf("import_job.algorithm", "%q: an import job's wrapping key is rsa-3072 or rsa-4096", j.Algorithm)
		}
		if j.ValidHours < 1 || j.ValidHours > 24*365 {
			v.errorf("import_job.valid_hours", "%d must be between 1 and %d", j.ValidHours, 24*365)
		}
	case TypeExport:
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
	case TypeImport:
		if s.Import == nil {
			v.errorf("import", "is required")
		} else if !labelRE.MatchString(s.Import.Label) {
			v.errorf("import.label", "%q must be 1-64 letters, digits, '.', '_' or '-'", s.Import.Label)
		}
	case TypeMigrate:
		if s.Migrate == nil || strings.TrimSpace(s.Migrate.Keys) == "" {
			v.errorf("migrate.keys", "name the label prefix of the keys to move")
		}
	}
}

func (s *Script) validateIntermediate(v *validator) {
	in := s.Intermediate
	if in == nil {
		v.errorf("intermediate", "a sign-intermediate ceremony needs an intermediate section")
		return
	}
	if s.Key.Label != "" || s.Backup != nil || s.Restore != nil || s.Reshare != nil || s.ImportJob != nil || s.Export != nil || s.Import != nil || s.Migrate != nil {
		v.errorf("type", "a sign-intermediate ceremony has only an intermediate section")
	}
	if !labelRE.MatchString(in.RootKey) {
		v.errorf("intermediate.root_key", "%q must be the root key's label on the token", in.RootKey)
	}
	if in.ValidityDays < 1 || in.ValidityDays > 15*366 {
		v.errorf("intermediate.validity_days", "%d must be between 1 and %d", in.ValidityDays, 15*366)
	}
	if in.PathLen < 0 || in.PathLen > 4 {
		v.errorf("intermediate.path_length", "%d must be between 0 and 4", in.PathLen)
	}
}
