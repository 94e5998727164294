package ceremony

import (
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// Key states as ceremonies record them (NIST SP 800-57 names). A key with no recorded state
// is active.
const (
	keyActive      = "active"
	keyDeactivated = "deactivated"
	keySuspended   = "suspended"
	keyCompromised = "compromised"
	keyDestroyed   = "destroyed"
)

// hierarchyState is what the sealed ceremonies of a key hierarchy say of its keys and CRLs,
// read from the last one: the state it inherited (its hierarchy.state record, which the one
// before it computed the same way) with its own key.state, key.destroyed and crl.issued
// records applied. A ceremony written before hierarchy.state existed gives only its own.
type hierarchyState struct {
	keys []transcript.KeyState // in the order they were first recorded
	crls []transcript.CRLCount
}

// hierarchyStateOf reads the state a sealed ceremony leaves its hierarchy in.
func hierarchyStateOf(res *transcript.Result) *hierarchyState {
	st := &hierarchyState{}
	id := res.Opening.CeremonyID
	identified := map[string]string{} // label -> SPKI of the key a destruction identified
	for i := range res.Entries {
		e := &res.Entries[i].Record
		switch e.Event {
		case transcript.EventHierarchyState:
			if h, err := transcript.Data[transcript.HierarchyState](e); err == nil {
				st = &hierarchyState{keys: h.Keys, crls: h.CRLs}
			}
		case transcript.EventKeyGenerated:
			st.generated(e, id)
		case transcript.EventKeyState:
			if k, err := transcript.Data[transcript.KeyState](e); err == nil {
				k.Ceremony = id
				st.set(k)
			}
		case transcript.EventKeyIdentified:
			if k, err := transcript.Data[transcript.KeyIdentified](e); err == nil {
				identified[k.Label] = k.SPKISHA256
			}
		case transcript.EventKeyDestroyed:
			if k, err := transcript.Data[transcript.KeyDestroyed](e); err == nil {
				st.set(transcript.KeyState{Label: k.Label, SPKISHA256: identified[k.Label], State: keyDestroyed, Since: e.Time, Reason: k.Reason, Ceremony: id})
			}
		case transcript.EventTokenObjectDestroyed:
			// A decommission destroyed the last recorded copy of a key this state tracks. A key
			// it does not track is not added: its label could stand for one of this hierarchy's.
			if k, err := transcript.Data[transcript.TokenObjectDestroyed](e); err == nil && k.LastCopy && st.key(k.Label, k.SPKISHA256) != nil {
				st.set(transcript.KeyState{Label: k.Label, SPKISHA256: k.SPKISHA256, State: keyDestroyed, Since: e.Time, Reason: "token decommissioned: " + k.Reason, Ceremony: id})
			}
		case transcript.EventCRLIssued:
			if c, err := transcript.Data[transcript.CRLIssued](e); err == nil {
				st.crl(transcript.CRLCount{Issuer: c.Issuer, Number: c.Number, Ceremony: id})
			}
		}
	}
	return st
}

// set records k as the latest state of its key (by SPKI where known, else by label).
func (st *hierarchyState) set(k transcript.KeyState) {
	for i, old := range st.keys {
		if (k.SPKISHA256 != "" && old.SPKISHA256 == k.SPKISHA256) || (k.SPKISHA256 == "" && old.Label == k.Label) {
			if k.CryptoperiodEnd == "" {
				k.CryptoperiodEnd = old.CryptoperiodEnd
			}
			st.keys[i] = k
			return
		}
	}
	st.keys = append(st.keys, k)
}

func (st *hierarchyState) crl(c transcript.CRLCount) {
	for i, old := range st.crls {
		if old.Issuer == c.Issuer {
			if c.Number > old.Number {
				st.crls[i] = c
			}
			return
		}
	}
	st.crls = append(st.crls, c)
}

// key is the recorded state of the key with SPKI spki (if given and recorded), else of the
// last key recorded with label; nil if none was recorded.
func (st *hierarchyState) key(label, spki string) *transcript.KeyState {
	if spki != "" {
		for i := range st.keys {
			if st.keys[i].SPKISHA256 == spki {
				return &st.keys[i]
			}
		}
	}
	for i := len(st.keys) - 1; i >= 0; i-- {
		if st.keys[i].Label == label && (spki == "" || st.keys[i].SPKISHA256 == "") {
			return &st.keys[i]
		}
	}
	return nil
}

// lastCRL is the last CRL number recorded for issuer.
func (st *hierarchyState) lastCRL(issuer string) (transcript.CRLCount, bool) {
	for _, c := range st.crls {
		if c.Issuer == issuer {
			return c, true
		}
	}
	return transcript.CRLCount{}, false
}

// record is the state as a continuing ceremony records it (EventHierarchyState).
func (st *hierarchyState) record() transcript.HierarchyState {
	keys := st.keys
	if keys == nil {
		keys = []transcript.KeyState{}
	}
	return transcript.HierarchyState{Keys: keys, CRLs: st.crls}
}
