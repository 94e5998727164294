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
	if reason, ok := res.Aborted(); ok {
		fmt.Fprintf(&b, "ABORTED: the ceremony was stopped and closed as aborted: %s\n", reason)
		b.WriteString("  The transcript is whole and sealed: it is evidence of what happened up to the abort, and of nothing after.\n")
	}
	if res.OneTimeSeal() {
		fmt.Fprintf(&b, "Sealed by a one-time key, made for this close because no transcript signer existed yet (public key SHA-256 %s).\n", res.RootSPKI.Grouped())
		b.WriteString("  It proves the record whole, not who sealed it: compare its fingerprint with the one read aloud and written down in the room.\n")
	} else {
		fmt.Fprintf(&b, "Sealed by %q, certified by %q\n", res.Signer.Subject.CommonName, res.Root.Subject.CommonName)
	}
	fmt.Fprintf(&b, "Root public key SHA-256: %s\n", res.RootSPKI.Grouped())
	fmt.Fprintf(&b, "  read aloud: %s\n", res.RootSPKI.Words())
	fmt.Fprintf(&b, "Outputs checked: %d\n", len(res.Outputs))
	for _, o := range res.Outputs {
		fmt.Fprintf(&b, "  %-28s %s\n", o.File, o.SHA256)
	}
	fmt.Fprintf(&b, "Seal short hash (on every report page): %s\n", res.Seal.ShortHashGrouped())
	fmt.Fprintf(&b, "Seal (compare with the printed report):\n%s", res.Seal.Text)
	if res.Opening.RehearsalToken {
		b.WriteString("Note: this ceremony ran on a rehearsal token; it proves the procedure, not a production key.\n")
	}
	return b.String()
}

// Aborted reports whether the ceremony closed as aborted, and why.
func (res *Result) Aborted() (reason string, ok bool) {
	c, err := Data[Closing](&res.last.Record)
	if err != nil || c.Result != ResultAborted {
		return "", false
	}
	return c.Reason, true
}

// OneTimeSeal reports whether the seal's key is a one-time key (Signer.OneTime), which only an
// aborted ceremony may use: it is its own root.
func (res *Result) OneTimeSeal() bool {
	s, err := Data[Signer](&res.signer.Record)
	return err == nil && s.OneTime
}
