package ceremony

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// A key's cryptoperiod (NIST SP 800-57 part 1, 5.3) is the optional script field
// key.cryptoperiod: a whole number of years, months or days ("10y", "18m", "90d"). Its end
// (generation time plus the period) is recorded with the key's generation as
// cryptoperiod_end, carried forward in every continuing ceremony's hierarchy.state, flagged
// at the start of every later ceremony of the hierarchy once it has passed while the key is
// still in use, and shown by the key inventory.

var cryptoperiodRE = regexp.MustCompile(`^([1-9][0-9]{0,3})([ymd])$`)

// cryptoperiodEnd is the end of a period given as "Ny", "Nm" or "Nd", counted from t.
func cryptoperiodEnd(period string, t time.Time) (time.Time, error) {
	m := cryptoperiodRE.FindStringSubmatch(period)
	if m == nil {
		return time.Time{}, fmt.Errorf("%q is not a cryptoperiod: write a whole number of years, months or days, such as 10y, 18m or 90d", period)
	}
	n, _ := strconv.Atoi(m[1])
	switch m[2] {
	case "y":
		return t.AddDate(n, 0, 0), nil
	case "m":
		return t.AddDate(0, n, 0), nil
	}
	return t.AddDate(0, 0, n), nil
}

// validateCryptoperiod checks the optional key.cryptoperiod.
func (s *Script) validateCryptoperiod(v *validator) {
	if s.Key.Cryptoperiod == "" {
		return
	}
	if _, err := cryptoperiodEnd(s.Key.Cryptoperiod, time.Now()); err != nil {
		v.errorf("key.cryptoperiod", "%v", err)
	}
}

// cryptoperiodOf is the recorded end of the cryptoperiod of the key labelled label if the
// script gives it one, counted from now; "" otherwise.
func (r *Run) cryptoperiodOf(label string) string {
	if label != r.Script.Key.Label || r.Script.Key.Cryptoperiod == "" {
		return ""
	}
	end, err := cryptoperiodEnd(r.Script.Key.Cryptoperiod, r.Clock().UTC())
	if err != nil {
		return ""
	}
	return end.Format(time.RFC3339)
}

// cryptoperiods flags, in the pre-flight, every key of the hierarchy whose recorded
// cryptoperiod has ended while it is still active or suspended: it is told to the room and
// recorded among the pre-flight's checks. It does not refuse the ceremony (a rotation or a
// CRL is what an overdue key needs), it makes the overdue key impossible to miss.
func (p *preflighter) cryptoperiods(st *hierarchyState) {
	now := p.r.Clock()
	for _, k := range st.keys {
		end, err := time.Parse(time.RFC3339, k.CryptoperiodEnd)
		if err != nil || !now.After(end) || (k.State != keyActive && k.State != keySuspended) {
			continue
		}
		msg := fmt.Sprintf("OVERDUE: the cryptoperiod of key %q ended %s (set by ceremony %s); plan its rotation", k.Label, k.CryptoperiodEnd, k.Ceremony)
		p.passed(msg)
		p.r.UI.Note(msg)
	}
}

// generated records, in a hierarchy's state, a key generated with a cryptoperiod.
func (st *hierarchyState) generated(e *transcript.Record, ceremony string) {
	k, err := transcript.Data[transcript.Key](e)
	if err != nil || k.CryptoperiodEnd == "" {
		return
	}
	st.set(transcript.KeyState{Label: k.Label, SPKISHA256: k.SPKISHA256, State: keyActive, Since: e.Time, Ceremony: ceremony, CryptoperiodEnd: k.CryptoperiodEnd})
}
