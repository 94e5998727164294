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

	"github.com/keyrite/keyrite/hsm"
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
	KeyState     *KeyStateConfig     `yaml:"key_state,omitempty"`
	Rotate       *RotateConfig       `yaml:"rotate,omitempty"`
	CRL          *CRLConfig          `yaml:"crl,omitempty"`
	Drill        *DrillConfig        `yaml:"drill,omitempty"`
	// The in-region PKI's delegated certificates, OCSP responses and cross-certificates.
	OCSPResponder *DelegatedConfig    `yaml:"ocsp_responder,omitempty"`
	CRLSigner     *DelegatedConfig    `yaml:"crl_signer,omitempty"`
	OCSP          *OCSPConfig         `yaml:"ocsp,omitempty"`
	TokenInit     *TokenInitConfig    `yaml:"token_init,omitempty"`
	PINChange     *PINChangeConfig    `yaml:"pin_change,omitempty"`
	Decommission  *DecommissionConfig `yaml:"decommission,omitempty"`
	Cross         *CrossConfig        `yaml:"cross_certify,omitempty"`
	Signer        SignerConfig        `yaml:"transcript_signer"`
	// Profile is the preset, waivers and issuer facts of every certificate the ceremony
	// issues (profile.go); a certificate's own section may override them.
	Profile *Profile `yaml:"profile,omitempty"`

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
	s.validateHeader(v)
	s.validateParticipants(v)
	if t := typeOf(s.Type); t != nil {
		t.validate(s, v)
	}
	s.validateProfiles(v)
	if v.label("transcript_signer.label", s.Signer.Label) && (s.Signer.Label == s.Key.Label || (s.Restore != nil && s.Signer.Label == s.Restore.Label)) {
		v.errorf("transcript_signer.label", "must differ from the key's label")
	}
}

// validateHeader checks what names the ceremony: version, type, id, organization, location.
func (s *Script) validateHeader(v *validator) {
	if s.Version != 1 {
		v.errorf("version", "must be 1, got %d", s.Version)
	}
	if typeOf(s.Type) == nil {
		v.errorf("type", "%q is not a ceremony type (want one of %s)", s.Type, strings.Join(typeNames(), ", "))
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
}

// validateParticipants checks the people in the room and the equipment's bags.
func (s *Script) validateParticipants(v *validator) {
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
}

// validateSignerDays checks the validity of a transcript signer the ceremony creates: at
// least a day and, if capped, at most the root's validity.
func (s *Script) validateSignerDays(v *validator, capped bool) {
	if s.Signer.Profile.windowed() {
		return // the profile's validity, within the root's (checked in the pre-flight)
	}
	if s.Signer.ValidityDays < 1 || (capped && !s.Certificate.Profile.windowed() && s.Signer.ValidityDays > s.Certificate.ValidityDays) {
		v.errorf("transcript_signer.validity_days", "%d must be at least 1 and at most the root's validity (%d)", s.Signer.ValidityDays, s.Certificate.ValidityDays)
	}
}

// algorithm checks a key algorithm named at path.
func (v *validator) algorithm(path, value string) {
	if !contains(algNames(), value) {
		v.errorf(path, "%q is not one of %s", value, strings.Join(algNames(), ", "))
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
	if t := typeOf(s.Type); t != nil && t.labels != nil {
		return t.labels(s)
	}
	return nil
}

// Info describes the script's ceremony type.
func (s *Script) Info() TypeInfo {
	info, _ := LookupType(s.Type)
	return info
}

// SignerConfig is the transcript-signing key the root certifies.
type SignerConfig struct {
	Label        string   `yaml:"label"`
	ValidityDays int      `yaml:"validity_days"`
	Profile      *Profile `yaml:"profile,omitempty"` // the signer certificate's own profile fields
}
