package ceremony

import (
	"fmt"
	"sort"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// A ceremony type is one unit: its file (root.go, restore.go, sign-crl's crl.go, …) holds its
// script section and that section's validation, its steps, its per-type state and outputs,
// the inputs it checks before the HSM is touched, and what the app and the CLI show for it.
// The file registers the type once; the engine, the CLI and the app enumerate the registry.
//
// Adding a type touches: its own file (calling register), the section's field in Script
// (script.go, one line), its example script testdata/<name>-ceremony.yaml (which the binary
// embeds by that name), and its tests.

// ceremonyType is everything the engine knows about one kind of ceremony.
type ceremonyType struct {
	TypeInfo
	// previous says which earlier ceremony this type continues (every type but root).
	previous previousNeed
	// validate checks the type's own script section(s); the fields every script has are
	// checked already.
	validate func(s *Script, v *validator)
	// steps lists the ceremony's steps, from the validated script.
	steps func(s *Script) []step
	// labels lists the token labels the ceremony creates; nil if it creates none.
	labels func(s *Script) []string
	// inputs checks the run-time inputs besides the script and the earlier ceremony (files,
	// a second token, …) before the HSM is touched; nil if there are none.
	inputs func(r *Run) error
	// needs lists the token capabilities the ceremony needs (capabilities.go); nil: none
	// beyond what the token has shown.
	needs func(r *Run) []Need
	// keyStates refuses, in the pre-flight, keys whose recorded state forbids their use here.
	keyStates func(k keyStateCheck)
	// tokenChecks checks, in the pre-flight, the token a token ceremony works on (token.go):
	// everything its flags, slots and the evidence tell without a secret; nil for other types.
	tokenChecks func(p *preflighter)
	// lints builds, in the pre-flight, every certificate and CRL the ceremony issues in its
	// real shape and lints it.
	lints func(l lintRun)
	// supports lists the options that change what the type needs, for `keyrite tokens
	// --capabilities` (Supports); nil: the type alone.
	supports func() []supportCase
	// profiles lists the certificates the ceremony issues and where their profiles are
	// written (profile.go); nil if it issues none.
	profiles func(s *Script) []profileSite
	// resumed reads back, on a resume, per-type progress the transcript records within a
	// step (a migration's keys already moved); nil if there is none.
	resumed func(r *Run, entries []transcript.Entry)
}

// previousNeed is what a ceremony type reads from the sealed ceremony it continues.
type previousNeed int

const (
	noPrevious     previousNeed = iota // it starts a hierarchy (root)
	previousSealed                     // a sealed ceremony of the same hierarchy
	previousBackup                     // ... that holds a quorum backup (restore, reshare)
)

// TypeInfo describes a ceremony type for people: the app's templates and the CLI's help.
type TypeInfo struct {
	Name        string  // the script's "type"
	Title       string  // a short title, as the app's start screen offers it
	Description string  // one sentence: what the ceremony does
	Example     string  // its example script: testdata/<Example>-ceremony.yaml
	Inputs      []Input // what it needs at run time besides the script and the HSM
	// AnotherToken: it runs on another token than the ceremony it continues (a restore into
	// a second HSM); a rehearsal gives it a fresh token.
	AnotherToken bool
}

// Input is a run-time input of a ceremony, named as the CLI flag that gives it.
type Input string

// The run-time inputs a ceremony type may need (see Options).
const (
	InputPrevious    Input = "previous"     // Options.Previous
	InputSharesDir   Input = "shares-dir"   // Options.SharesDir (optional)
	InputImportJob   Input = "import-job"   // Options.ImportJob (export to another HSM)
	InputWrappingKey Input = "wrapping-key" // Options.WrappingKey, IssuedAt, AzureKEKID (export to a cloud KMS)
	InputTransfer    Input = "transfer"     // Options.Transfer
	InputTarget      Input = "target-token" // Options.Target
	InputCSR         Input = "csr"          // Options.CSR
	InputRevoked     Input = "revoked"      // Options.Revoked (optional)
	InputIssued      Input = "issued"       // Options.Issued (optional)
	InputOutside     Input = "outside"      // Options.Outside
	InputInitSlot    Input = "init-slot"    // Options.InitSlot (optional: the only free slot)
	InputEvidence    Input = "evidence"     // Options.Evidence (optional: beside Previous)
)

var registry = map[string]*ceremonyType{}

// register adds a ceremony type; each type's file calls it once, from init.
func register(t ceremonyType) {
	if _, dup := registry[t.Name]; dup || t.validate == nil || t.steps == nil {
		panic(fmt.Sprintf("ceremony: type %q registered twice or incomplete", t.Name))
	}
	if t.previous != noPrevious {
		t.Inputs = append([]Input{InputPrevious}, t.Inputs...)
	}
	registry[t.Name] = &t
}

// typeOf returns the registered type of a validated script.
func typeOf(name string) *ceremonyType { return registry[name] }

// Types lists every ceremony type, by name.
func Types() []TypeInfo {
	out := make([]TypeInfo, 0, len(registry))
	for _, t := range registry {
		out = append(out, t.TypeInfo)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupType returns the description of the ceremony type name.
func LookupType(name string) (TypeInfo, bool) {
	t, ok := registry[name]
	if !ok {
		return TypeInfo{}, false
	}
	return t.TypeInfo, true
}

// typeNames lists the registered type names, sorted.
func typeNames() []string {
	var out []string
	for _, t := range Types() {
		out = append(out, t.Name)
	}
	return out
}

// Needs reports whether the type needs input in.
func (t TypeInfo) Needs(in Input) bool {
	for _, x := range t.Inputs {
		if x == in {
			return true
		}
	}
	return false
}
