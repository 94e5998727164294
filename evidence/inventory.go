package evidence

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// KeyInventory is every key a set of verified ceremonies created, copied, moved or destroyed,
// with its history in time order. It is read from the transcripts alone.
type KeyInventory struct {
	Keys []*KeyHistory
}

// KeyHistory is one key, identified by its label and its fingerprint or check value.
type KeyHistory struct {
	Label    string
	Identity string // "SPKI SHA-256 <hex>" or "KCV <value> (<method>)"
	State    string // the state after its last event
	Events   []KeyEvent
}

// KeyEvent is one thing that happened to a key.
type KeyEvent struct {
	Time, Ceremony, Token, What string
}

// inventoryEvents maps transcript events to what happened to the key and the state after.
var inventoryEvents = map[string][2]string{
	transcript.EventKeyGenerated: {"generated", "active"}, transcript.EventKeyRestored: {"restored from its backup", "active"},
	transcript.EventKeyImported: {"imported", "active"}, transcript.EventKeyWrapped: {"backed up under a split KEK", ""},
	transcript.EventKeyExported: {"exported", ""}, transcript.EventKeyMigrated: {"migrated to the target token", "active"},
	transcript.EventKeyDestroyed: {"destroyed", "destroyed"}, transcript.EventKeyState: {"state changed", ""},
}

// keyFacts is what the inventory reads from any key record: the union of the fields the
// key events' schema types carry that it shows.
type keyFacts struct {
	Label      string `json:"label"`
	SPKISHA256 string `json:"spki_sha256"`
	KCV        string `json:"kcv"`
	KCVMethod  string `json:"kcv_method"`
	State      string `json:"state"`
	Reason     string `json:"reason"`
	Purpose    string `json:"purpose"`
	Provider   string `json:"provider"`
}

// Inventory builds the key inventory of verified ceremonies.
func Inventory(folders []transcript.Folder) *KeyInventory {
	inv := &KeyInventory{}
	byKey := map[string]*KeyHistory{}
	type stamped struct {
		KeyEvent
		label, identity, state string
	}
	var all []stamped
	for _, f := range folders {
		token := ""
		for i := range f.Result.Entries {
			e := &f.Result.Entries[i]
			if e.Event == transcript.EventHSMIdentified {
				if h, err := transcript.Data[transcript.HSMIdentified](&e.Record); err == nil && h.Role != "target" {
					token = fmt.Sprintf("%s (serial %s)", h.Token.Label, h.Token.Serial)
				}
			}
			if label, what := quorumEvent(&e.Record); label != "" {
				all = append(all, stamped{KeyEvent{e.Time, f.Result.Opening.CeremonyID, token, what}, label, "", ""})
				continue
			}
			m, ok := inventoryEvents[e.Event]
			if !ok {
				continue
			}
			d, err := transcript.Data[keyFacts](&e.Record)
			if err != nil || d.Label == "" {
				continue
			}
			identity := ""
			if d.SPKISHA256 != "" {
				identity = "SPKI SHA-256 " + d.SPKISHA256
			} else if d.KCV != "" {
				identity = fmt.Sprintf("KCV %s (%s)", d.KCV, d.KCVMethod)
			}
			what, state := m[0], m[1]
			if e.Event == transcript.EventKeyState {
				state = d.State
				what = "now " + state
				if d.Reason != "" {
					what += ": " + d.Reason
				}
			}
			if d.Purpose != "" {
				what += ", " + d.Purpose
			}
			if d.Provider != "" {
				what += " for " + d.Provider
			}
			all = append(all, stamped{KeyEvent{e.Time, f.Result.Opening.CeremonyID, token, what}, d.Label, identity, state})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time < all[j].Time })
	for _, s := range all {
		k := byKey[s.label]
		if k == nil {
			k = &KeyHistory{Label: s.label, State: "active"}
			byKey[s.label] = k
			inv.Keys = append(inv.Keys, k)
		}
		if k.Identity == "" {
			k.Identity = s.identity
		}
		if s.state != "" {
			k.State = s.state
		}
		k.Events = append(k.Events, s.KeyEvent)
	}
	sort.Slice(inv.Keys, func(i, j int) bool { return inv.Keys[i].Label < inv.Keys[j].Label })
	return inv
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

func (inv *KeyInventory) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d keys\n", len(inv.Keys))
	for _, k := range inv.Keys {
		fmt.Fprintf(&b, "\n%s — %s\n  %s\n", oneLine(k.Label), oneLine(k.State), oneLine(k.Identity))
		for _, e := range k.Events {
			fmt.Fprintf(&b, "  %s  %-34s %s on %s\n", oneLine(e.Time[:19]), oneLine(e.Ceremony), oneLine(e.What), oneLine(e.Token))
		}
	}
	return b.String()
}
