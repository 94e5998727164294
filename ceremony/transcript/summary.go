package transcript

import (
	"fmt"
	"strings"
)

// Summary is the human-readable result of a successful Verify.
func Summary(res *Result) string {
	var b strings.Builder
	first, last := res.Entries[0], res.Entries[len(res.Entries)-1]
	fmt.Fprintf(&b, "Verified: ceremony %s (%s), %d records, opened %s, closed %s\n", res.Opening.CeremonyID, res.Opening.Type, res.Records, first.Time, last.Time)
	fmt.Fprintf(&b, "Sealed by %q, certified by %q\n", res.Signer.Subject.CommonName, res.Root.Subject.CommonName)
	fmt.Fprintf(&b, "Root public key SHA-256: %s\n", res.RootSPKI.Grouped())
	fmt.Fprintf(&b, "  read aloud: %s\n", res.RootSPKI.Words())
	fmt.Fprintf(&b, "Outputs checked: %d\n", len(res.Outputs))
	for _, o := range res.Outputs {
		fmt.Fprintf(&b, "  %-28s %s\n", o.File, o.SHA256)
	}
	fmt.Fprintf(&b, "Seal (compare with the printed report):\n%s", res.Seal.Text)
	if res.Opening.RehearsalToken {
		b.WriteString("Note: this ceremony ran on a rehearsal token; it proves the procedure, not a production key.\n")
	}
	return b.String()
}
