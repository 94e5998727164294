package reports

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// nbsp keeps a number with its unit on one line ("88 bytes").
const nbsp = "\u00a0"

func bytesOf(n int64) string {
	return strconv.FormatInt(n, 10) + nbsp + plural(int(n), "byte", "bytes")
}

func hash16(h string) string { return prefix(h, 16) + "…" }

// sentence says in plain English what a record means. The raw event name is kept for the
// appendix; it never appears here.
func sentence(e *transcript.Record, data any) string {
	for _, part := range []func(*transcript.Record, any) string{sentence1, sentence2, sentence3, sentence4, sentence5, sentence6, sentence7, sentence8, tokenSentence} {
		if s := part(e, data); s != "" {
			return s
		}
	}
	switch e.Event {
	case transcript.EventStepCompleted:
		return "The step completed."
	}
	return fmt.Sprintf("An event this version of Keyrite does not describe was recorded (record #%d; see the appendix).", e.Seq)
}

// sentence1 is part 1 of sentence's table: "" when data is none of its types.
func sentence1(e *transcript.Record, data any) string {
	switch d := data.(type) {
	case *transcript.Opening:
		return fmt.Sprintf("%s opened ceremony %s (%s).", e.Actor, d.CeremonyID, d.Type)
	case *transcript.Closing:
		return fmt.Sprintf("The ceremony closed: %s.", d.Result)
	case *transcript.Resumption:
		s := "A new Keyrite process resumed the ceremony"
		if d.InFlightStep != "" {
			s += fmt.Sprintf(" at the interrupted step %q", d.InFlightStep)
		}
		return s + fmt.Sprintf("; decision: %s.", d.Decision)
	case *transcript.StepStart:
		return fmt.Sprintf("Step %q began, performed by %s.", d.Title, d.Actor)
	case *transcript.StepFailure:
		return "The step failed: " + d.Error
	case *transcript.Output:
		return fmt.Sprintf("Keyrite wrote %s (%s, SHA-256 %s).", d.File, bytesOf(d.Size), hash16(d.SHA256))
	case *transcript.Superseded:
		return fmt.Sprintf("The earlier %s was moved aside to %s before its step ran again.", d.File, d.MovedTo)
	case *transcript.Signer:
		return fmt.Sprintf("The transcript-signing key %s was certified by the root key %s.", d.Name, hash16(d.Issuer))
	case *transcript.Discarded:
		return fmt.Sprintf("An incomplete last record (%s) left by an interruption was cut off.", bytesOf(int64(d.Bytes)))
	case *transcript.Rotation:
		return fmt.Sprintf("The hierarchy's root was rotated to the key %s (public key %s); transcript signer %s.", d.NewRootKey, hash16(d.NewRootSPKI), d.NewSigner)
	case *transcript.Presence:
		if e.Event == transcript.EventParticipantAbsent {
			return fmt.Sprintf("%s (%s) was absent at the roll call.", d.Name, d.Role)
		}
		return fmt.Sprintf("%s confirmed present as %s.", d.Name, d.Role)
	case *transcript.ClockCheck:
		if e.Event == transcript.EventClockDisputed {
			return fmt.Sprintf("%s disputed the machine's clock, which read %s.", d.Witness, d.MachineTime)
		}
		return fmt.Sprintf("%s confirmed the machine's clock reads %s.", d.Witness, d.MachineTime)
	case *transcript.Witnessing:
		if e.Event == transcript.EventWitnessDeclined {
			return fmt.Sprintf("%s declined to confirm the step: %s.", d.Witness, d.Reason)
		}
		return fmt.Sprintf("%s witnessed the step and confirmed it.", d.Witness)
	}
	return ""
}

// sentence2 is part 2 of sentence's table: "" when data is none of its types.
func sentence2(e *transcript.Record, data any) string {
	switch d := data.(type) {
	case *transcript.Bags:
		if e.Event == transcript.EventBagsDisputed {
			return fmt.Sprintf("%s disputed the sealing of %s %s: %s.", d.Witness, plural(len(d.Bags), "bag", "bags"), list(d.Bags), d.Reason)
		}
		return fmt.Sprintf("%s %s sealed in front of %s.", capital(plural(len(d.Bags), "bag", "bags")), list(d.Bags)+plural(len(d.Bags), " was", " were"), d.Witness)
	case *transcript.ScriptLoaded:
		return fmt.Sprintf("The script %q was loaded; it names %d participants.", d.Title, len(d.Participants))
	case *transcript.HSMIdentified:
		tok := d.Token
		s := fmt.Sprintf("Token %q (%s %s, serial %s, firmware %s) was identified", tok.Label, tok.Manufacturer, tok.Model, tok.Serial, tok.Firmware)
		if d.Role == "target" {
			s = "The target t" + s[1:]
		}
		if d.Module != nil {
			s += fmt.Sprintf(" through the PKCS#11 module %s (%s %s)", d.ModulePath, d.Module.Manufacturer, d.Module.Version)
		}
		return s + "."
	case *transcript.Login:
		return fmt.Sprintf("Logged in to token %s as %s.", d.TokenSerial, d.Role)
	case *transcript.TokenInventory:
		s := fmt.Sprintf("%s the ceremony token %s held ", capital(d.When), d.TokenSerial)
		if d.Role != "" {
			s = fmt.Sprintf("%s the ceremony the %s token %s held ", capital(d.When), d.Role, d.TokenSerial)
		}
		if d.Objects.List == nil {
			return s + fmt.Sprintf("%d %s (not listed).", d.Objects.Count, plural(d.Objects.Count, "object", "objects"))
		}
		if len(d.Objects.List) == 0 {
			return s + "no objects."
		}
		var objs []string
		for _, o := range d.Objects.List {
			objs = append(objs, objectName(o))
		}
		return s + fmt.Sprintf("%d %s: %s.", len(objs), plural(len(objs), "object", "objects"), list(objs))
	case *transcript.Key:
		verb := map[string]string{transcript.EventKeyGenerated: "generated on the token", transcript.EventKeyRestored: "restored onto the token from its backup",
			transcript.EventKeyImported: "imported onto the token"}[e.Event]
		if d.SPKISHA256 == "" {
			return fmt.Sprintf("Key %s (%s) was %s; check value %s (%s).", d.Label, d.Kind, verb, d.KCV, d.KCVMethod)
		}
		s := fmt.Sprintf("Key pair %s (%s) was %s; public key SHA-256 %s", d.Label, d.Algorithm, verb, hash16(d.SPKISHA256))
		if d.SelfTest != "" {
			s += "; self-test: " + d.SelfTest
		}
		return s + "."
	case *transcript.KeyVerified:
		return fmt.Sprintf("Key %s was proved to be the backed-up key (%s).", d.Label, d.Check)
	case *transcript.KeyChecked:
		return fmt.Sprintf("Key %s was found and its attributes read (%s).", d.Label, attributes(d.Attributes))
	}
	return ""
}

// sentence3 is part 3 of sentence's table: "" when data is none of its types.
func sentence3(e *transcript.Record, data any) string {
	switch d := data.(type) {
	case *transcript.KeyIdentified:
		return fmt.Sprintf("Key %s (%s) was identified for destruction.", d.Label, orKind(d.Algorithm, d.Kind))
	case *transcript.KeyDestroyed:
		s := fmt.Sprintf("Key %s (%d %s on token %s) was destroyed, confirmed by %s: %s.", d.Label, d.Objects, plural(d.Objects, "object", "objects"), d.TokenSerial, d.ConfirmedBy, d.Reason)
		if d.VerifiedAbsent {
			s += " Keyrite checked that it is gone."
		}
		return s
	case *transcript.KeyExported:
		return fmt.Sprintf("Key %s was wrapped for %s with %s (OAEP %s) into %s (%s, SHA-256 %s).", d.Label, d.Provider, d.Method, d.OAEPHash, d.File, bytesOf(d.Bytes), hash16(d.FileSHA256))
	case *transcript.KeyMigrated:
		return fmt.Sprintf("Key %s was moved to the target token; both check values are %s (%s).", d.Label, d.KCV, d.KCVMethod)
	case *transcript.KeyState:
		s := fmt.Sprintf("Key %s is %s from %s", d.Label, d.State, d.Since)
		if d.Reason != "" {
			s += ": " + d.Reason
		}
		return s + "."
	case *transcript.KeyWrapped:
		return fmt.Sprintf("Key %s was wrapped under the backup key (check value %s) with %s: %s, SHA-256 %s.", d.Label, d.UnderKEKKCV.Value, d.Mechanism, bytesOf(d.BlobSize), hash16(d.BlobSHA256))
	case *transcript.KEKGenerated:
		return fmt.Sprintf("A %d-bit backup key (KEK) was made from the %s of token %s; check value %s (%s).", d.Bits, d.Source, d.TokenSerial, d.KCV.Value, d.KCV.Method)
	case *transcript.KEKSplit:
		return fmt.Sprintf("The backup key was split into %d shares, any %d of which rebuild it (%s); all %d subsets of %d shares were tested.", d.Shares, d.Threshold, d.Scheme, d.SelfTestSubsets, d.Threshold)
	case *transcript.KEKInstalled:
		s := fmt.Sprintf("The backup key was installed on the token as the session object %s", d.Label)
		if d.By != "" {
			s += " by " + d.By
		}
		return s + "."
	case *transcript.KEKDestroyed:
		return fmt.Sprintf("The backup key %s was removed from the token.", d.Label)
	case *transcript.KEKRebuilt:
		m := "matches the one recorded at the split"
		if !d.KCVMatches {
			m = "does NOT match the one recorded at the split"
		}
		return fmt.Sprintf("The backup key was rebuilt from %d shares; its check value %s %s.", d.Shares, d.KCV.Value, m)
	}
	return ""
}

// sentence4 is part 4 of sentence's table: "" when data is none of its types.
func sentence4(e *transcript.Record, data any) string {
	switch d := data.(type) {
	case *transcript.KEKRejected:
		return fmt.Sprintf("A backup key rebuilt from shares was rejected: %s (expected check value %s).", d.Reason, d.ExpectedKCV.Value)
	case *transcript.ShareIssued:
		s := fmt.Sprintf("Share %d of %d was handed to %s", d.Number, d.Of, d.Custodian)
		if d.Destination != "" {
			s += ", its sheet " + d.Destination
		}
		if d.Bag != "" {
			s += ", to be sealed in bag " + d.Bag
		}
		if d.Witness != "" {
			s += "; witnessed by " + d.Witness
		}
		return s + "."
	case *transcript.ShareProof:
		s := fmt.Sprintf("%s proved possession of share %d of %d: it matches its commitment (not combined, then forgotten)", d.Custodian, d.Number, d.Of)
		if d.Bag != "" {
			s += "; resealed in bag " + d.Bag
		}
		return s + "."
	case *transcript.DrillResult:
		return fmt.Sprintf("Drill of the backup of ceremony %s: %s. Proved possession: %s.", d.BackupCeremony, d.Verdict, orDash(strings.Join(d.Proven, ", ")))
	case *transcript.ShareDestruction:
		if e.Event == transcript.EventShareNotDestroyed {
			return fmt.Sprintf("%s's old share sheet %d (bag %s) was not seen destroyed: %s.", d.Custodian, d.Number, orDash(d.Bag), orDash(d.Reason))
		}
		return fmt.Sprintf("%s's old share sheet %d (bag %s) was destroyed, witnessed by %s.", d.Custodian, d.Number, orDash(d.Bag), d.Witness)
	case *transcript.BackupRetired:
		return fmt.Sprintf("The backup of ceremony %s (SHA-256 %s) is retired: %d old share %s and %s, witnessed by %s.", d.PreviousCeremony, hash16(d.PreviousBlobSHA256), d.SheetsDestroyed, plural(d.SheetsDestroyed, "sheet destroyed", "sheets destroyed"), d.Media, d.Witness)
	case *transcript.RetiredOverride:
		return fmt.Sprintf("Disaster recovery: the backup of ceremony %s, retired by reshare %s, was used because %s; witnessed by %s.", d.BackupCeremony, d.RetiredBy, d.Reason, d.Witness)
	case *transcript.ShareConfirmation:
		if e.Event == transcript.EventShareNotConfirmed {
			return fmt.Sprintf("%s could not type share %d back (%d failed %s).", d.Custodian, d.Number, d.FailedAttempts, plural(d.FailedAttempts, "attempt", "attempts"))
		}
		s := fmt.Sprintf("%s typed share %d back correctly", d.Custodian, d.Number)
		if d.FailedAttempts > 0 {
			s += fmt.Sprintf(" after %d failed %s", d.FailedAttempts, plural(d.FailedAttempts, "attempt", "attempts"))
		}
		return s + "."
	case *transcript.ShareRefusal:
		return fmt.Sprintf("A share entered by %s was refused: %s.", d.Custodian, d.Reason)
	case *transcript.ShareNotEntered:
		return fmt.Sprintf("%s gave up entering a share after %d %s.", d.Custodian, d.Refusals, plural(d.Refusals, "refusal", "refusals"))
	}
	return ""
}

// sentence5 is part 5 of sentence's table: "" when data is none of its types.
func sentence5(e *transcript.Record, data any) string {
	switch d := data.(type) {
	case *transcript.ShareAccepted:
		return fmt.Sprintf("%s's share (%d of %d) was accepted.", d.Custodian, d.Number, d.Of)
	case *transcript.SharesVoided:
		var ns []string
		for _, n := range d.Numbers {
			ns = append(ns, strconv.Itoa(n))
		}
		return fmt.Sprintf("%s %s void: %s.", capital(plural(len(ns), "share", "shares")), list(ns)+plural(len(ns), " is", " are"), d.Reason)
	case *transcript.SharesCommitted:
		return fmt.Sprintf("A commitment to each of the %d shares, bound to its custodian, was recorded (%s); a share entered later is checked against it.", len(d.Shares), d.Scheme)
	case *transcript.SharesUncommitted:
		return fmt.Sprintf("The backup of ceremony %s has no share commitments: %s.", d.BackupCeremony, d.Consequence)
	case *transcript.ShareBagged:
		return fmt.Sprintf("%s sealed share sheet %d in bag %s in front of %s.", d.Custodian, d.Number, d.Bag, d.Witness)
	case *transcript.ShareCopies:
		return fmt.Sprintf("The share sheets' electronic copies in %s: %s; witnessed by %s.", d.Destination, d.Copies, d.Witness)
	case *transcript.BackupSuperseded:
		return fmt.Sprintf("The backup made by ceremony %s (SHA-256 %s) is superseded: %s.", d.PreviousCeremony, hash16(d.PreviousBlobSHA256), d.Note)
	case *transcript.CertificateIssued:
		return fmt.Sprintf("Certificate %s was signed: subject %s, issuer %s, serial %s, valid from %s to %s.", d.Name, d.Subject, d.Issuer, d.Serial, d.NotBefore, d.NotAfter)
	case *transcript.CertificateLinted:
		s := fmt.Sprintf("%s ran %d lints on the certificate before it was signed: %s.", d.Linter, d.LintsRun, findings(d.Findings))
		if len(d.Waived) > 0 {
			names := make([]string, 0, len(d.Waived))
			for n := range d.Waived {
				names = append(names, n)
			}
			sort.Strings(names)
			s += fmt.Sprintf(" Waived by the private profile (reasons in the transcript): %s.", strings.Join(names, ", "))
		}
		return s
	case *transcript.CRLIssued:
		return crlSentence(d)
	case *transcript.CRLLinted:
		return fmt.Sprintf("%s ran %d lints on the CRL: %s.", d.Linter, d.LintsRun, findings(map[string][]string{"error": d.Errors, "warn": d.Warnings}))
	case *transcript.CSRChecked:
		return fmt.Sprintf("The certificate request for %s was checked: signature %s (%s).", d.Subject, d.Signature, d.SignatureAlgorithm)
	case *transcript.PreviousVerified:
		return fmt.Sprintf("The sealed ceremony %s this one continues verified (%d records).", d.CeremonyID, d.Records)
	case *transcript.HierarchyRotated:
		return fmt.Sprintf("This ceremony continues the hierarchy under its new root %s.", hash16(d.ToRootSPKI))
	case *transcript.TransferVerified:
		return fmt.Sprintf("The export ceremony %s verified: key %s, wrapped with %s.", d.ExportCeremony, d.KeyLabel, d.Method)
	}
	return ""
}

// sentence6 is part 6 of sentence's table: "" when data is none of its types.
func sentence6(e *transcript.Record, data any) string {
	switch d := data.(type) {
	case *transcript.TransportEstablished:
		return fmt.Sprintf("A transport key was established on tokens %s and %s; check value %s.", d.SourceToken, d.TargetToken, d.KCV.Value)
	case *transcript.ImportJobCreated:
		return fmt.Sprintf("The import job's wrapping key %s was generated; it expires %s.", d.KeyLabel, d.Expires)
	case *transcript.MigrationStarted:
		return fmt.Sprintf("A migration of %d keys began (%d already moved, %d already on the target).", d.Keys, d.AlreadyMoved, d.AlreadyOnTarget)
	case *transcript.Reconciliation:
		return fmt.Sprintf("Source (%d keys) and target (%d keys) were compared: %d match; missing: %s; different: %s.", d.SourceKeys, d.TargetKeys, d.Matching, list(d.Missing), list(d.Different))
	case *transcript.CleanupDestroyed:
		return fmt.Sprintf("%s (%d %s) left by an interruption was destroyed with the consent of %s.", d.Label, d.Objects, plural(d.Objects, "object", "objects"), list(d.ConfirmedBy))
	case *transcript.CleanupRemovedFile:
		return fmt.Sprintf("The file %s (%s) left by an interruption was removed.", d.File, bytesOf(d.Size))
	case *transcript.CleanupDeclined:
		what := append(append([]string(nil), d.Labels...), d.Files...)
		if d.Label != "" {
			what = append(what, d.Label)
		}
		return fmt.Sprintf("%s declined the clean-up of %s: %s.", d.By, list(what), d.Reason)
	case *transcript.PreflightPassed:
		s := fmt.Sprintf("The pre-flight passed before the first change to the token: %s", list(d.Checks))
		if len(d.Mechanisms) > 0 {
			s += "; mechanisms offered: " + strings.Join(d.Mechanisms, ", ")
		}
		for _, l := range d.Lints {
			s += fmt.Sprintf("; %s (%s) linted with %d lints, %s", l.Name, l.Shape, l.LintsRun, findings(l.Findings))
		}
		return s + "."
	case *transcript.HierarchyState:
		var ks []string
		for _, k := range d.Keys {
			ks = append(ks, fmt.Sprintf("%s %s", k.Label, k.State))
		}
		var cs []string
		for _, c := range d.CRLs {
			cs = append(cs, fmt.Sprintf("%s's last CRL number %d (ceremony %s)", c.Issuer, c.Number, c.Ceremony))
		}
		s := "The hierarchy's keys, as the sealed ceremonies before this one leave them: " + list(ks)
		if len(cs) > 0 {
			s += "; " + list(cs)
		}
		return s + "."
	case *transcript.Aborted:
		return fmt.Sprintf("The ceremony was aborted at step %q: %s.", d.Step, d.Reason)
	}
	return ""
}

// sentence7 is part 7 of sentence's table: "" when data is none of its types.
func sentence7(e *transcript.Record, data any) string {
	switch d := data.(type) {
	case *transcript.OCSPSigned:
		st := d.Status
		if d.RevokedAt != "" {
			st += " since " + d.RevokedAt
			if d.Reason != "" {
				st += " (" + d.Reason + ")"
			}
		}
		return fmt.Sprintf("%s signed the OCSP response %s about serial %s (%s): %s, valid from %s to %s.", d.Responder, d.File, d.Serial, d.Subject, st, d.ThisUpdate, d.NextUpdate)
	case *transcript.OCSPLinted:
		return fmt.Sprintf("%s ran %d lints on the OCSP response %s once signed: %s.", d.Linter, d.LintsRun, d.Name, findings(d.Findings))
	case *transcript.Relinted:
		if !d.Same {
			return fmt.Sprintf("%s, once signed, was linted again (%d lints) and differed from its lint before signing (%s): the ceremony stopped.", d.Name, d.LintsRun, strings.Join(d.Differences, ", "))
		}
		return fmt.Sprintf("%s, once signed, was linted again (%d lints, its real keys): the same result as before signing.", d.Name, d.LintsRun)
	case *transcript.OutsideCAChecked:
		s := fmt.Sprintf("The outside CA %s was checked from its %s (%s): signature %s (%s); its key's SHA-256 is %s", d.Subject, d.Kind, d.File, d.Signature, d.SignatureAlgorithm, hash16(d.SPKISHA256))
		if d.NameConstraints != "" {
			s += "; name constraints: " + d.NameConstraints
		}
		return s + "."
	case *transcript.KeyLeft:
		s := fmt.Sprintf("%s (%d %s) was left on token %s: %s declined its destruction", d.Label, d.Objects, plural(d.Objects, "object", "objects"), d.TokenSerial, d.DeclinedBy)
		if d.Reason != "" {
			s += " (" + d.Reason + ")"
		}
		return s + "."
	case *transcript.Refusal:
		return fmt.Sprintf("%s declined the key destruction: %s.", d.By, d.Reason)
	}
	return ""
}

// crlSentence says what a CRL holds: each entry's serial, revocation time and reason where
// the record lists them (it does since per-entry dates), and its scope.
func crlSentence(d *transcript.CRLIssued) string {
	s := fmt.Sprintf("CRL number %d was signed by %s, %d revoked, valid from %s to %s", d.Number, d.Issuer, d.Revoked, d.ThisUpdate, d.NextUpdate)
	var es []string
	for _, e := range d.Entries {
		x := fmt.Sprintf("serial %s revoked at %s", e.Serial, e.RevokedAt)
		if e.Reason != "" {
			x += " (" + e.Reason + ")"
		}
		es = append(es, x)
	}
	if len(es) > 0 {
		s += ": " + strings.Join(es, "; ")
	}
	if d.DistributionPoint != "" {
		s += "; issuing distribution point " + d.DistributionPoint
	}
	return s + "."
}

func objectName(o transcript.Object) string {
	s := o.Label
	if s == "" {
		s = "(no label)"
	}
	kind := o.Class
	if o.KeyType != "" {
		kind = o.KeyType + " " + o.Class
	}
	if o.Error != "" {
		kind += ", unreadable: " + o.Error
	}
	return s + " (" + kind + ")"
}

func findings(f map[string][]string) string {
	var parts []string
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	names := map[string]string{"error": "errors", "fatal": "fatal", "warn": "warnings", "notice": "notices", "info": "for information"}
	for _, k := range keys {
		if len(f[k]) == 0 {
			continue
		}
		n := names[k]
		if n == "" {
			n = k
		}
		parts = append(parts, fmt.Sprintf("%s %s", n, strings.Join(f[k], ", ")))
	}
	if len(parts) == 0 {
		return "no findings"
	}
	return strings.Join(parts, "; ")
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
