package evidence

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// KeyInventory is every key a set of verified ceremonies created, copied, moved, used or
// destroyed, read from the transcripts alone.
//
// A key is its identity, never its label: a key pair is its public key's SPKI SHA-256, a
// secret key its check value together with the ceremony that made it (two keys may share a
// label, and two secret keys a 24-bit check value). Each copy of a key is tracked per token
// serial, so destroying one copy (the source of a migration) leaves the others as they are.
// Ceremonies that could not be verified are listed in Unverified with the reason; they add
// nothing to the keys.
type KeyInventory struct {
	Keys       []*KeyHistory `json:"keys"`
	Unverified []Unverified  `json:"unverified,omitempty"`
	// Tokens are the tokens the token ceremonies initialised, changed PINs of or
	// decommissioned (inventorytokens.go).
	Tokens []*TokenHistory `json:"tokens,omitempty"`
	// Now is the time overdue cryptoperiods were judged against (RFC 3339).
	Now string `json:"now"`
}

// Unverified is a ceremony folder the inventory left out, and why.
type Unverified struct {
	Folder string `json:"folder"`
	Reason string `json:"reason"`
}

// KeyHistory is one key: its identity, its NIST SP 800-57 state, its copies and every use.
type KeyHistory struct {
	Label     string `json:"label"`             // the label it was last recorded under
	Identity  string `json:"identity"`          // "SPKI SHA-256 <hex>" or "KCV <value> (<method>) from <ceremony>"
	Kind      string `json:"kind"`              // "key pair" or "secret key"
	Origin    string `json:"origin,omitempty"`  // the ceremony that made it, if in the set
	Created   string `json:"created,omitempty"` // when it was generated, imported or first seen
	Purpose   string `json:"purpose,omitempty"` // as its generation recorded it
	Parent    string `json:"parent,omitempty"`  // identity of the key that certified it
	State     string `json:"state"`             // active, suspended, deactivated, compromised, destroyed
	Since     string `json:"since,omitempty"`   // when it entered that state
	SetBy     string `json:"set_by,omitempty"`  // the ceremony that set the state
	Reason    string `json:"reason,omitempty"`  // why, as recorded
	Overdue   bool   `json:"overdue,omitempty"` // its cryptoperiod ended while it was still active
	CryptoEnd string `json:"cryptoperiod_end,omitempty"`
	// WrappedBy names the keys that wrapped a copy of it (split KEKs, export wrapping keys).
	WrappedBy []string   `json:"wrapped_by,omitempty"`
	Copies    []*KeyCopy `json:"copies"`
	Events    []KeyEvent `json:"uses"`
	spki, kcv string
	labels    map[string]bool
}

// KeyCopy is one copy of a key on one token.
type KeyCopy struct {
	Token      string `json:"token_serial"`
	TokenLabel string `json:"token_label,omitempty"`
	State      string `json:"state"` // "present" or "destroyed"
	Since      string `json:"since"`
	Ceremony   string `json:"ceremony"` // the ceremony that made or removed it
}

// KeyEvent is one thing that happened to a key: a use, a copy, a change of state.
type KeyEvent struct {
	Time     string `json:"time"`
	Ceremony string `json:"ceremony"`
	Folder   string `json:"folder,omitempty"`
	Token    string `json:"token,omitempty"` // "<label> (serial <serial>)"
	What     string `json:"what"`
}

// Key states (NIST SP 800-57 part 1, 5.3) as ceremonies record them.
const (
	StateActive      = "active"
	StateSuspended   = "suspended"
	StateDeactivated = "deactivated"
	StateCompromised = "compromised"
	StateDestroyed   = "destroyed"
)

// keyFacts is what the inventory reads from any key record: the union of the fields the
// key events' schema types carry that it shows.
type keyFacts struct {
	Label           string `json:"label"`
	Kind            string `json:"kind"`
	SPKISHA256      string `json:"spki_sha256"`
	KCV             string `json:"kcv"`
	KCVMethod       string `json:"kcv_method"`
	State           string `json:"state"`
	Since           string `json:"since"`
	Reason          string `json:"reason"`
	Purpose         string `json:"purpose"`
	Provider        string `json:"provider"`
	Token           string `json:"token_serial"`
	WrappingKeySPKI string `json:"wrapping_key_spki_sha256"`
	CryptoEnd       string `json:"cryptoperiod_end"`
	UnderKEKKCV     struct {
		Value  string `json:"value"`
		Method string `json:"method"`
	} `json:"under_kek_kcv"`
}

// Inventory builds the key inventory of verified ceremonies, judging cryptoperiods against
// the current time.
func Inventory(folders []transcript.Folder) *KeyInventory {
	return InventoryAt(folders, time.Now())
}

// InventoryAt builds the key inventory of verified ceremonies as of now. A ceremony present
// twice (the same sealed transcript in two folders) is read once.
func InventoryAt(folders []transcript.Folder, now time.Time) *KeyInventory {
	b := &builder{inv: &KeyInventory{Now: now.UTC().Format(time.RFC3339)}, bySPKI: map[string]*KeyHistory{}}
	type item struct {
		f *transcript.Folder
		e *transcript.Entry
		t time.Time
	}
	var all []item
	seen := map[string]bool{}
	for fi := range folders {
		f := &folders[fi]
		if f.Result.Seal != nil {
			if seen[f.Result.Seal.Text] {
				continue
			}
			seen[f.Result.Seal.Text] = true
		}
		for i := range f.Result.Entries {
			e := &f.Result.Entries[i]
			t, _ := time.Parse(time.RFC3339Nano, e.Time) // the verifier checked the format
			all = append(all, item{f, e, t})
		}
	}
	// By instant, not by text: "…00.03Z" is later than "…00.029Z".
	sort.SliceStable(all, func(i, j int) bool { return all[i].t.Before(all[j].t) })
	var cur *transcript.Folder
	for _, it := range all {
		if cur != it.f {
			cur = it.f
			b.enter(it.f)
		}
		b.apply(it.f, it.e)
	}
	for _, k := range b.inv.Keys {
		if k.CryptoEnd != "" && k.State == StateActive {
			if end, err := time.Parse(time.RFC3339, k.CryptoEnd); err == nil && now.After(end) {
				k.Overdue = true
			}
		}
	}
	sort.SliceStable(b.inv.Keys, func(i, j int) bool {
		if b.inv.Keys[i].Label != b.inv.Keys[j].Label {
			return b.inv.Keys[i].Label < b.inv.Keys[j].Label
		}
		return b.inv.Keys[i].Created < b.inv.Keys[j].Created
	})
	return b.inv
}

// builder applies records in time order. Ceremonies may interleave (a fixed rehearsal clock,
// two sites at once), so what a ceremony named so far is kept per folder.
type builder struct {
	inv     *KeyInventory
	bySPKI  map[string]*KeyHistory
	byKCV   []*KeyHistory            // secret keys, in the order they were made
	subject map[string][]*KeyHistory // certificate subject DN -> the keys certified under it
	cer     map[*transcript.Folder]*ceremonyState
	*ceremonyState
}

// ceremonyState is what one ceremony named so far: its tokens and the keys it identified.
type ceremonyState struct {
	id, folder     string
	root           string // the SPKI its seal chains to
	source, target transcript.TokenInfo
	identified     map[string]*KeyHistory // label -> key this ceremony identified
}

func (b *builder) enter(f *transcript.Folder) {
	if b.cer == nil {
		b.cer, b.subject = map[*transcript.Folder]*ceremonyState{}, map[string][]*KeyHistory{}
	}
	st := b.cer[f]
	if st == nil {
		st = &ceremonyState{id: f.Result.Opening.CeremonyID, folder: f.Dir, root: f.Result.RootSPKI.Hex(), identified: map[string]*KeyHistory{}}
		b.cer[f] = st
	}
	b.ceremonyState = st
}

func tokenName(t transcript.TokenInfo) string {
	if t.Serial == "" {
		return ""
	}
	return fmt.Sprintf("%s (serial %s)", t.Label, t.Serial)
}

// key finds or makes the key a record names. made is true for a record that creates a key
// (a secret key made twice with the same check value is two keys).
func (b *builder) key(d *keyFacts, t string, made bool) *KeyHistory {
	var k *KeyHistory
	switch {
	case d.SPKISHA256 != "":
		k = b.bySPKI[d.SPKISHA256]
		if k == nil {
			k = &KeyHistory{Identity: "SPKI SHA-256 " + d.SPKISHA256, Kind: "key pair", spki: d.SPKISHA256}
			b.bySPKI[d.SPKISHA256] = k
		}
	case d.KCV != "":
		kcv := strings.ToUpper(d.KCV) + "/" + d.KCVMethod
		if !made {
			for i := len(b.byKCV) - 1; i >= 0; i-- {
				if b.byKCV[i].kcv == kcv {
					k = b.byKCV[i]
					break
				}
			}
		}
		if k == nil {
			// A secret key is its check value and the ceremony that made it; a key first seen
			// in a ceremony that did not make it (a migration of keys made elsewhere) is
			// named by that ceremony, and says so.
			from := "from"
			if !made {
				from = "first recorded in"
			}
			k = &KeyHistory{Identity: fmt.Sprintf("KCV %s (%s) %s %s", d.KCV, d.KCVMethod, from, b.id), Kind: "secret key", kcv: kcv}
			b.byKCV = append(b.byKCV, k)
		}
	default:
		if k = b.identified[d.Label]; k == nil {
			k = b.byLabel(d.Label)
		}
		if k == nil {
			k = &KeyHistory{Identity: fmt.Sprintf("label %s in %s (no fingerprint recorded)", d.Label, b.id), Kind: "unknown"}
			b.identified[d.Label] = k
		}
	}
	if k.labels == nil {
		k.labels = map[string]bool{}
		k.State, k.Created = StateActive, t
		b.inv.Keys = append(b.inv.Keys, k)
	}
	if d.Label != "" {
		k.Label = d.Label
		k.labels[d.Label] = true
		b.identified[d.Label] = k
	}
	return k
}

// byLabel is the key last recorded under label with a copy on this ceremony's token, or else
// the last key recorded under label.
func (b *builder) byLabel(label string) *KeyHistory {
	var any *KeyHistory
	for i := len(b.inv.Keys) - 1; i >= 0; i-- {
		k := b.inv.Keys[i]
		if !k.labels[label] {
			continue
		}
		if k.copy(b.source.Serial) != nil {
			return k
		}
		if any == nil {
			any = k
		}
	}
	return any
}

func (k *KeyHistory) copy(serial string) *KeyCopy {
	for _, c := range k.Copies {
		if c.Token == serial {
			return c
		}
	}
	return nil
}

func (k *KeyHistory) place(tok transcript.TokenInfo, serial, state, t, ceremony string) {
	if serial == "" {
		serial = tok.Serial
	}
	if serial == "" {
		return
	}
	c := k.copy(serial)
	if c == nil {
		c = &KeyCopy{Token: serial}
		k.Copies = append(k.Copies, c)
	}
	if tok.Serial == serial {
		c.TokenLabel = tok.Label
	}
	c.State, c.Since, c.Ceremony = state, t, ceremony
}

func (k *KeyHistory) wrappedBy(w string) {
	for _, x := range k.WrappedBy {
		if x == w {
			return
		}
	}
	k.WrappedBy = append(k.WrappedBy, w)
}

func (b *builder) event(k *KeyHistory, t, token, what string) {
	k.Events = append(k.Events, KeyEvent{Time: t, Ceremony: b.id, Folder: b.folder, Token: token, What: what})
}

func (b *builder) apply(f *transcript.Folder, e *transcript.Entry) {
	r, t := &e.Record, e.Time
	if b.context(e) || b.tokenRecord(e) {
		return
	}
	d, err := transcript.Data[keyFacts](r)
	if err != nil || d.Label == "" {
		return
	}
	tok := tokenName(b.source)
	switch e.Event {
	case transcript.EventKeyIdentified, transcript.EventKeyChecked:
		if d.SPKISHA256 != "" || d.KCV != "" {
			b.key(&d, t, false)
		}
	case transcript.EventKeyGenerated, transcript.EventKeyRestored, transcript.EventKeyImported:
		b.made(e.Event, &d, t, tok)
	case transcript.EventKeyWrapped:
		k := b.key(&d, t, false)
		kek := fmt.Sprintf("split KEK with KCV %s (%s)", d.UnderKEKKCV.Value, d.UnderKEKKCV.Method)
		k.wrappedBy(kek)
		b.event(k, t, tok, "backed up under a split KEK ("+kek+")")
	case transcript.EventKeyExported:
		b.exported(&d, t, tok)
	case transcript.EventKeyMigrated:
		k := b.key(&d, t, false)
		k.place(b.target, "", "present", t, b.id)
		b.event(k, t, tok, "migrated to "+tokenName(b.target))
	case transcript.EventKeyDestroyed:
		b.destroyed(&d, t, tok)
	case transcript.EventKeyState:
		b.stateSet(&d, t, tok)
	}
}

// context follows what is not a key's own record: the HSMs in use, certificates, CRLs and OCSP
// responses a key signed, drills and retired backups. It reports whether e was one of those.
func (b *builder) context(e *transcript.Entry) bool {
	r, t := &e.Record, e.Time
	switch e.Event {
	case transcript.EventHSMIdentified:
		if h, err := transcript.Data[transcript.HSMIdentified](r); err == nil {
			if h.Role == "target" {
				b.target = h.Token
			} else {
				b.source = h.Token
			}
		}
		return true
	case transcript.EventCertificateIssued:
		b.certificate(r, t)
		return true
	case transcript.EventCRLIssued:
		if c, err := transcript.Data[transcript.CRLIssued](r); err == nil {
			if k := b.issuer(c.Issuer); k != nil {
				b.event(k, t, tokenName(b.source), fmt.Sprintf("signed CRL number %d (%d revoked, next update %s)", c.Number, c.Revoked, c.NextUpdate))
			}
		}
		return true
	case transcript.EventOCSPSigned:
		if o, err := transcript.Data[transcript.OCSPSigned](r); err == nil {
			if k := b.bySPKI[o.ResponderSPKI]; k != nil {
				b.event(k, t, tokenName(b.source), fmt.Sprintf("signed the OCSP response about serial %s (%s, next update %s)", o.Serial, o.Status, o.NextUpdate))
			}
		}
		return true
	case transcript.EventDrillResult, transcript.EventBackupRetired:
		if label, what := quorumEvent(r); label != "" {
			if k := b.byLabel(label); k != nil {
				b.event(k, t, tokenName(b.source), what)
			}
		}
		return true
	}
	return false
}

// made records a key generated, restored or imported.
func (b *builder) made(event string, d *keyFacts, t, tok string) {
	made := event != transcript.EventKeyRestored
	k := b.key(d, t, made && d.SPKISHA256 == "")
	what := map[string]string{transcript.EventKeyGenerated: "generated", transcript.EventKeyRestored: "restored from its backup", transcript.EventKeyImported: "imported"}[event]
	if event == transcript.EventKeyGenerated || (event == transcript.EventKeyImported && k.Origin == "") {
		k.Origin, k.Created = b.id, t
		if d.Purpose != "" {
			k.Purpose = d.Purpose
		}
	}
	if d.CryptoEnd != "" {
		k.CryptoEnd = d.CryptoEnd
	}
	if d.Purpose != "" {
		what += ", " + d.Purpose
	}
	k.place(b.source, d.Token, "present", t, b.id)
	b.event(k, t, tok, what)
}

// exported records a key exported, and what wrapped it.
func (b *builder) exported(d *keyFacts, t, tok string) {
	k := b.key(d, t, false)
	what := "exported"
	if d.Provider != "" {
		what += " for " + d.Provider
	}
	if d.WrappingKeySPKI != "" {
		w := "SPKI SHA-256 " + d.WrappingKeySPKI
		k.wrappedBy(w)
		what += ", wrapped under " + w
	}
	b.event(k, t, tok, what)
}

// destroyed records a copy destroyed; the key is destroyed when no copy is left.
func (b *builder) destroyed(d *keyFacts, t, tok string) {
	k := b.key(d, t, false)
	serial := d.Token
	if serial == "" {
		serial = b.source.Serial
	}
	k.place(b.source, serial, StateDestroyed, t, b.id)
	what := "destroyed on token " + serial
	if d.Reason != "" {
		what += ": " + d.Reason
	}
	b.event(k, t, tok, what)
	live := false
	for _, c := range k.Copies {
		live = live || c.State != StateDestroyed
	}
	if !live {
		k.State, k.Since, k.SetBy, k.Reason = StateDestroyed, t, b.id, d.Reason
	}
}

// stateSet records a state change (compromised, suspended, reactivated, deactivated).
func (b *builder) stateSet(d *keyFacts, t, tok string) {
	k := b.key(d, t, false)
	since := d.Since
	if since == "" {
		since = t
	}
	if k.State != StateDestroyed {
		k.State, k.Since, k.SetBy, k.Reason = d.State, since, b.id, d.Reason
	}
	what := "now " + d.State
	if d.Reason != "" {
		what += ": " + d.Reason
	}
	b.event(k, t, tok, what)
}

// certificate records a certificate as a use of the key that signed it (found by its
// issuer's name) and as the parent of the key it certifies.
func (b *builder) certificate(r *transcript.Record, t string) {
	c, err := transcript.Data[transcript.CertificateIssued](r)
	if err != nil {
		return
	}
	subject := b.bySPKI[c.SPKISHA256]
	var issuer *KeyHistory
	if c.Subject == c.Issuer {
		issuer = subject
	} else {
		issuer = b.issuer(c.Issuer)
	}
	if subject != nil {
		known := false
		for _, k := range b.subject[c.Subject] {
			known = known || k == subject
		}
		if !known {
			b.subject[c.Subject] = append(b.subject[c.Subject], subject)
		}
	}
	if issuer == nil {
		return
	}
	what := fmt.Sprintf("signed certificate %s for %s (serial %s)", c.Name, c.Subject, c.Serial)
	if issuer == subject {
		what = fmt.Sprintf("self-signed certificate %s (serial %s)", c.Name, c.Serial)
	} else if subject != nil {
		if subject.Parent == "" {
			subject.Parent = issuer.Identity
		}
		b.event(subject, t, tokenName(b.source), fmt.Sprintf("certified by %s in certificate %s", issuer.Label, c.Name))
	}
	b.event(issuer, t, tokenName(b.source), what)
}

// issuer is the key that signs as dn in this ceremony: of the keys certified under that name,
// the one this ceremony's seal chains to, else one this ceremony made or identified, else the
// last one certified.
func (b *builder) issuer(dn string) *KeyHistory {
	ks := b.subject[dn]
	for _, k := range ks {
		if k.spki == b.root {
			return k
		}
	}
	for _, k := range ks {
		if b.identified[k.Label] == k {
			return k
		}
	}
	if len(ks) > 0 {
		return ks[len(ks)-1]
	}
	return nil
}

// quorumEvent reads what a quorum drill or a reshare's retirement of a backup says about the
// backed-up key: its label and what happened, or "" for any other record.
func quorumEvent(r *transcript.Record) (label, what string) {
	switch r.Event {
	case transcript.EventDrillResult:
		if d, err := transcript.Data[transcript.DrillResult](r); err == nil {
			return d.KeyLabel, fmt.Sprintf("quorum drill of the backup of %s: %s", d.BackupCeremony, d.Verdict)
		}
	case transcript.EventBackupRetired:
		if d, err := transcript.Data[transcript.BackupRetired](r); err == nil && d.KeyLabel != "" {
			return d.KeyLabel, fmt.Sprintf("backup of %s retired: its share sheets and wrapped key destroyed", d.PreviousCeremony)
		}
	}
	return "", ""
}

// oneLine quotes a value read from a transcript if it holds anything but visible text (a
// newline, a control character), so that one value can never pass for a line of its own.
func oneLine(s string) string {
	for _, r := range s {
		if !unicode.IsGraphic(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func short(t string) string {
	if len(t) > 19 {
		return t[:19]
	}
	return t
}

func (inv *KeyInventory) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d keys\n", len(inv.Keys))
	for _, k := range inv.Keys {
		fmt.Fprintf(&b, "\n%s — %s", oneLine(k.Label), oneLine(k.State))
		if k.State != StateActive && k.SetBy != "" {
			fmt.Fprintf(&b, " since %s (ceremony %s)", oneLine(short(k.Since)), oneLine(k.SetBy))
		}
		if k.Overdue {
			fmt.Fprintf(&b, " — CRYPTOPERIOD OVERDUE since %s", oneLine(k.CryptoEnd))
		}
		fmt.Fprintf(&b, "\n  %s, %s\n", oneLine(k.Kind), oneLine(k.Identity))
		if k.Origin != "" {
			fmt.Fprintf(&b, "  made %s in %s\n", oneLine(short(k.Created)), oneLine(k.Origin))
		}
		if k.CryptoEnd != "" && !k.Overdue {
			fmt.Fprintf(&b, "  cryptoperiod ends %s\n", oneLine(k.CryptoEnd))
		}
		if k.Parent != "" {
			fmt.Fprintf(&b, "  certified by %s\n", oneLine(k.Parent))
		}
		for _, w := range k.WrappedBy {
			fmt.Fprintf(&b, "  wrapped by %s\n", oneLine(w))
		}
		for _, c := range k.Copies {
			fmt.Fprintf(&b, "  copy on token %s %s: %s since %s (%s)\n", oneLine(c.Token), oneLine(c.TokenLabel), oneLine(c.State), oneLine(short(c.Since)), oneLine(c.Ceremony))
		}
		for _, e := range k.Events {
			fmt.Fprintf(&b, "  %s  %-34s %s on %s\n", oneLine(short(e.Time)), oneLine(e.Ceremony), oneLine(e.What), oneLine(e.Token))
		}
	}
	inv.tokensString(&b)
	if len(inv.Unverified) > 0 {
		fmt.Fprintf(&b, "\n%d ceremonies could not be verified and are left out:\n", len(inv.Unverified))
		for _, u := range inv.Unverified {
			fmt.Fprintf(&b, "  %s: %s\n", oneLine(u.Folder), oneLine(u.Reason))
		}
	}
	return b.String()
}
