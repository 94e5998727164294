package reports

import (
	"encoding/json"
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
	"key.generated": {"generated", "active"}, "key.restored": {"restored from its backup", "active"},
	"key.imported": {"imported", "active"}, "key.wrapped": {"backed up under a split KEK", ""},
	"key.exported": {"exported", ""}, "key.migrated": {"migrated to the target token", "active"},
	"key.destroyed": {"destroyed", "destroyed"}, "key.state": {"state changed", ""},
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
		for _, e := range f.Result.Entries {
			var d map[string]any
			json.Unmarshal(e.Data, &d)
			if e.Event == "hsm.identified" {
				if t, ok := d["token"].(map[string]any); ok && d["role"] != "target" {
					token = fmt.Sprintf("%v (serial %v)", t["label"], t["serial"])
				}
			}
			m, ok := inventoryEvents[e.Event]
			if !ok {
				continue
			}
			label, _ := d["label"].(string)
			if label == "" {
				continue
			}
			identity := ""
			if v, _ := d["spki_sha256"].(string); v != "" {
				identity = "SPKI SHA-256 " + v
			} else if v, _ := d["kcv"].(string); v != "" {
				method, _ := d["kcv_method"].(string)
				identity = fmt.Sprintf("KCV %s (%s)", v, method)
			}
			what, state := m[0], m[1]
			if e.Event == "key.state" {
				state, _ = d["state"].(string)
				what = "now " + state
				if why, _ := d["reason"].(string); why != "" {
					what += ": " + why
				}
			}
			if p, _ := d["purpose"].(string); p != "" {
				what += ", " + p
			}
			if p, _ := d["provider"]; p != nil {
				what += fmt.Sprintf(" for %v", p)
			}
			all = append(all, stamped{KeyEvent{e.Time, f.Result.Opening.CeremonyID, token, what}, label, identity, state})
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
