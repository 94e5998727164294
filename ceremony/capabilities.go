package ceremony

import (
	"fmt"
	"strings"

	"github.com/keyrite/keyrite/ceremony/transfer"
	"github.com/keyrite/keyrite/hsm"
)

// Need is a capability a ceremony needs from a token, and what for. AnyOf lists alternatives
// of which one suffices (the OAEP hashes an import job accepts); Target says it is needed on a
// migration's target token rather than the ceremony's own.
type Need struct {
	AnyOf  []hsm.Capability
	For    string
	Target bool
}

// keyPairNeed is the need for a key pair of algorithm a, if a is named.
func keyPairNeed(a string, purpose string) []Need {
	if a == "" {
		return nil
	}
	return []Need{need(hsm.CapKeyPair(hsm.Algorithm(a)), purpose)}
}

func need(cp hsm.Capability, purpose string) Need {
	return Need{AnyOf: []hsm.Capability{cp}, For: purpose}
}

// Needs maps a ceremony type and its options (backup, export method, algorithms) to the token
// capabilities it needs; each type's file says its own (its needs hook). What a ceremony does
// only with keys that already exist on the token (signing a CRL, destroying a key) needs
// nothing the token has not shown already.
func (r *Run) Needs() []Need {
	if t := typeOf(r.Script.Type); t.needs != nil {
		return t.needs(r)
	}
	return nil
}

// checkCapabilities is the pre-flight's capability check: it asks each token for what the
// ceremony needs (queries and trials on session objects only) and refuses, naming every
// missing capability and why it is needed, before the first state-changing HSM call. What
// neither the token's reports nor a trial can establish is told to the room, not refused.
func (r *Run) checkCapabilities() error {
	needs := r.Needs()
	if len(needs) == 0 {
		return nil
	}
	var missing, unsure []string
	for _, target := range []bool{false, true} {
		tok := r.token
		if target {
			tok = r.target
		}
		var want []hsm.Capability
		for _, n := range needs {
			if n.Target == target {
				want = append(want, n.AnyOf...)
			}
		}
		if len(want) == 0 || tok == nil {
			continue
		}
		caps, err := tok.CapabilitiesFor(want)
		if err != nil {
			return err
		}
		m, u := CheckNeeds(caps, needs, target)
		missing, unsure = append(missing, m...), append(unsure, u...)
	}
	for _, u := range unsure {
		r.UI.Note("Pre-flight could not establish " + u)
	}
	if len(missing) > 0 {
		return fmt.Errorf("pre-flight: %s; nothing was done (use a token that offers it, or change the script)", strings.Join(missing, "; "))
	}
	return nil
}

// CheckNeeds compares a token's capabilities with the needs (those for the target token if
// target) and returns one sentence for each need the token lacks ("token X lacks
// CKM_AES_KEY_WRAP_PAD (wrap), needed for the backup's RFC 5649 wrap (evidence)") and for
// each it could not establish.
func CheckNeeds(c *hsm.Capabilities, needs []Need, target bool) (missing, unsure []string) {
	for _, n := range needs {
		if n.Target != target {
			continue
		}
		var no, unknown []hsm.Finding
		ok := false
		for _, cp := range n.AnyOf {
			switch f := c.Find(cp); f.Status {
			case hsm.Yes:
				ok = true
			case hsm.No:
				no = append(no, f)
			default:
				unknown = append(unknown, f)
			}
		}
		switch {
		case ok:
		case len(unknown) > 0:
			unsure = append(unsure, fmt.Sprintf("that token %q has %s, needed for %s (%s)", c.Token.Label, names(unknown, " or "), n.For, evidence(unknown)))
		default:
			missing = append(missing, fmt.Sprintf("token %q lacks %s, needed for %s (%s)", c.Token.Label, names(no, " and "), n.For, evidence(no)))
		}
	}
	return missing, unsure
}

func names(fs []hsm.Finding, sep string) string {
	var s []string
	for _, f := range fs {
		s = append(s, string(f.Capability))
	}
	return strings.Join(s, sep)
}

func evidence(fs []hsm.Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Evidence)
	}
	return strings.Join(s, "; ")
}

// Support says whether a token can run one ceremony type with given options, and if not why.
type Support struct {
	Ceremony string   // the type and its options, as a person would say them
	Missing  []string // what the token lacks, each with what it is needed for
	Unsure   []string // what neither the token's reports nor a trial could establish
}

// OK reports whether nothing is missing.
func (s Support) OK() bool { return len(s.Missing) == 0 }

// Supports lists, for every ceremony type and the options that change what it needs (key
// algorithm, backup, OAEP hash), whether the token whose capabilities c describes can run it.
// A migration's target is assumed to be a token like this one.
func Supports(c *hsm.Capabilities) []Support {
	var out []Support
	for _, info := range Types() {
		t := typeOf(info.Name)
		cases := []supportCase{{info.Name, &Run{Script: supportScript(info.Name)}}}
		if t.supports != nil {
			cases = t.supports()
		}
		for _, sc := range cases {
			needs := sc.run.Needs()
			for i := range needs {
				needs[i].Target = false
			}
			m, u := CheckNeeds(c, needs, false)
			out = append(out, Support{Ceremony: sc.name, Missing: m, Unsure: u})
		}
	}
	return out
}

// supportCase is one ceremony type with options that change what it needs, named as a person
// would say them, as a run whose Needs says what it needs.
type supportCase struct {
	name string
	run  *Run
}

// supportScript is a script of type typ with the sections Needs reads.
func supportScript(typ string) *Script {
	return &Script{Type: typ, Export: &ExportConfig{Provider: string(transfer.AWS)}, ImportJob: &ImportJobConfig{}, Rotate: &RotateConfig{}}
}

// onTokenCases is the support case of a type that only uses keys already on the token.
func onTokenCases(typ string) func() []supportCase {
	return func() []supportCase {
		return []supportCase{{typ + " (with the root key already on the token)", &Run{Script: supportScript(typ)}}}
	}
}
