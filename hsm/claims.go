package hsm

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/pkcs11"
)

// Label claims in bulk. A key Keyrite creates is checked before (no object carries its label)
// and after (no object but the new one carries it): claimLabel and recheckLabel. Each check is
// a C_FindObjectsInit, and a token may read every object it holds to answer one: SoftHSM 2.6's
// file store opens and reads each object's file (ObjectFile::isValid → refresh, SoftHSM.cpp
// C_FindObjectsInit), so two searches per key make a bulk move of n keys cost O(n²).
//
// LabelClaims keeps the same two checks for many keys at the cost of listing the token's
// labels now and then: it lists them once when made (the check before, for every label it will
// be asked for), and Recheck lists them again (the check after, for every key made since).
// A key is vouched for only once Recheck has passed it; a caller records nothing about a key
// before. Between the listing and Recheck another writer may create an object with one of
// the labels, exactly as between a per-key check and its recheck: Recheck finds it, destroys
// the new key and reports a *DuplicateLabelError. If the token cannot read back an object's
// label, so that a listing cannot say what it carries, LabelClaims asks the token per label
// instead, as claimLabel and recheckLabel do. So it does when the keys to be made are few
// beside the objects on the token: a listing reads every object (one call each), and a token
// that indexes its labels answers a few searches faster than that.
type LabelClaims struct {
	t       *Token
	taken   map[string]int  // objects carrying each label, as the last listing saw them
	pending []*SecretKey    // keys made since the last Recheck, in order
	made    map[string]bool // their labels
	listed  int             // objects the last listing saw
	exact   bool            // check per label: few keys, or an object whose label could not be read
}

// minClaimBatch is the fewest keys Due waits for before a Recheck.
const minClaimBatch = 64

// ClaimLabels prepares claims for about planned new keys. It lists the labels on the token,
// unless planned is under half the objects there: then each label is checked with a search.
func (t *Token) ClaimLabels(planned int) (*LabelClaims, error) {
	c, _, err := t.ClaimLabelsAndList(planned, nil)
	return c, err
}

// KeyList collects, from a listing of a token's labels, the AES secret keys whose label starts
// with Prefix (Keys, in the token's order), as Token.SecretKeys lists them.
type KeyList struct {
	Prefix     string
	Keys       []SecretKeyInfo
	incomplete bool // an object might be such a key, and the listing could not tell
}

// ClaimLabelsAndList is ClaimLabels that also fills keys (if not nil) from the same listing:
// each object is read once, in one call, for its label and, if it is a key, its class, key
// type and ID. It returns false when it did not list (the claims check each label with a
// search): then keys is left empty and the caller lists them with SecretKeys.
func (t *Token) ClaimLabelsAndList(planned int, keys *KeyList) (*LabelClaims, bool, error) {
	c := &LabelClaims{t: t, made: map[string]bool{}}
	t.mu.Lock()
	hs, err := t.find(nil)
	t.mu.Unlock()
	if err != nil {
		return nil, false, wrap("list labels on token", t.Info.Label, err)
	}
	if hs == nil {
		hs = []pkcs11.ObjectHandle{} // an empty token, listed: list must not search again
	}
	if c.exact = 2*planned < len(hs); c.exact {
		return c, false, nil
	}
	c.list(nil, hs, keys)
	if keys != nil && (c.exact || keys.incomplete) { // only a search can say what an object is
		keys.Keys = nil
		return c, false, nil
	}
	return c, true, nil
}

// list reads the label of every object on the token (hs, or those a search finds), and returns
// the objects carrying each of the labels in watch; keys, if not nil, collects the keys it
// names. An object whose label cannot be read switches the claims to per-label checks.
func (c *LabelClaims) list(watch map[string]bool, hs []pkcs11.ObjectHandle, keys *KeyList) (map[string][]pkcs11.ObjectHandle, error) {
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if hs == nil {
		var err error
		if hs, err = t.find(nil); err != nil {
			return nil, wrap("list labels on token", t.Info.Label, err)
		}
	}
	c.taken, c.listed = make(map[string]int, len(hs)), len(hs)
	holders := map[string][]pkcs11.ObjectHandle{}
	for _, h := range hs {
		label, err := t.listedLabel(h, keys)
		if err != nil {
			c.exact = true // only the token can say whether this object carries a label
			continue
		}
		c.taken[label]++
		if watch[label] {
			holders[label] = append(holders[label], h)
		}
	}
	return holders, nil
}

// claim is the check before: no object carries label.
func (c *LabelClaims) claim(what, label string) error {
	if c.exact {
		return c.t.claimLabel(what, label)
	}
	if c.taken[label] > 0 || c.made[label] {
		return errorf(ErrLabelTaken, "%s %q: token %q already holds an object with this label; Keyrite never creates a second (choose another label)", what, label, c.t.Info.Label)
	}
	return nil
}

// claimed makes a key with create under label, claimed in bulk: checked free now (claim), and
// checked again with the other keys made since at the next Recheck, which vouches for it.
func (c *LabelClaims) claimed(what, label string, create func() (*SecretKey, error)) (*SecretKey, error) {
	if err := c.claim(what, label); err != nil {
		return nil, err
	}
	k, err := create()
	if err == nil {
		c.pending = append(c.pending, k)
		c.made[k.Label] = true
	}
	return k, err
}

// GenerateDEK is Token.GenerateDEK with the label claimed in bulk: the key is not vouched for
// until Recheck passes it.
func (c *LabelClaims) GenerateDEK(s DEKSpec) (*SecretKey, error) {
	return c.claimed("generate key", s.Label, func() (*SecretKey, error) { return c.t.generateDEK(s) })
}

// UnwrapDEK is Token.UnwrapDEK with the label claimed in bulk: the key is not vouched for until
// Recheck passes it.
func (c *LabelClaims) UnwrapDEK(kek *SecretKey, wrapped []byte, s DEKSpec) (*SecretKey, error) {
	return c.claimed("unwrap key", s.Label, func() (*SecretKey, error) { return c.t.unwrapDEK(kek, wrapped, s) })
}

// DestroyLabel is Token.DestroyLabel; the label is free to claim again afterwards.
func (c *LabelClaims) DestroyLabel(label string) (int, error) {
	n, err := c.t.DestroyLabel(label)
	if err == nil {
		delete(c.taken, label)
	}
	return n, err
}

// Pending is how many keys were made since the last Recheck.
func (c *LabelClaims) Pending() int { return len(c.pending) }

// Due says a Recheck is worth its listing: the keys made since the last one are at least as
// many as the objects that listing saw (and at least minClaimBatch), so that a bulk move's
// listings read about two objects per key however full the token. Recheck may be called at
// any time; a caller must call it before vouching for a key.
func (c *LabelClaims) Due() bool {
	if c.exact { // a search per key: each key checked again at once, as Token.UnwrapDEK does
		return len(c.pending) > 0
	}
	return len(c.pending) >= max(minClaimBatch, c.listed)
}

// Recheck is the check after for every key made since the last Recheck: it returns the labels
// of the keys that are the only objects carrying their label, in the order they were made; each
// other key it destroys, joining a *DuplicateLabelError (matching ErrLabelTaken) into err.
func (c *LabelClaims) Recheck() (passed []string, err error) {
	pending, made := c.pending, c.made
	c.pending, c.made = nil, map[string]bool{}
	if len(pending) == 0 {
		return nil, nil
	}
	var holders map[string][]pkcs11.ObjectHandle
	if !c.exact {
		holders, err = c.list(made, nil, nil)
	}
	if err != nil {
		for _, k := range pending {
			k.Destroy()
		}
		return nil, fmt.Errorf("%w (the %d new keys were destroyed: their labels could not be checked again)", err, len(pending))
	}
	for _, k := range pending {
		if kerr := c.recheck(k, holders[k.Label]); kerr != nil {
			err = errors.Join(err, kerr)
			continue
		}
		passed = append(passed, k.Label)
	}
	return passed, err
}

// recheck is recheckLabel for k, made since the last listing; holders are the objects the
// listing found carrying k's label. k must be one of them, and the only one.
func (c *LabelClaims) recheck(k *SecretKey, holders []pkcs11.ObjectHandle) error {
	t := c.t
	t.mu.Lock()
	h, err := k.handle() // found again if the login changed since k was made
	t.mu.Unlock()
	if err != nil {
		return err
	}
	if c.exact { // the token says who carries the label
		return t.recheckLabel(k.Label, h)
	}
	if !slices.Contains(holders, h) {
		return errorf(ErrNotFound, "token %q: the new key %q is no longer on the token (another program or machine removed it): find out who before going on", t.Info.Label, k.Label)
	}
	if others := len(holders) - 1; others > 0 {
		return &DuplicateLabelError{Token: t.Info.Label, Label: k.Label, Others: others, DestroyErr: k.Destroy()}
	}
	return nil
}

// listedLabel reads h's label. With keys, it reads in the same call the object's class, key
// type and ID, and adds it to keys if it is an AES secret key with keys' prefix; an object
// without a key type has its label and class read; a secret key whose key type cannot be read
// leaves keys incomplete (the caller lists them with a search). Call with t.mu held.
func (t *Token) listedLabel(h pkcs11.ObjectHandle, keys *KeyList) (string, error) {
	read := func(types ...uint) ([]*pkcs11.Attribute, error) {
		tmpl := make([]*pkcs11.Attribute, len(types))
		for i, ty := range types {
			tmpl[i] = pkcs11.NewAttribute(ty, nil)
		}
		return t.m.ctx.GetAttributeValue(t.session, h, tmpl)
	}
	if keys == nil {
		a, err := read(pkcs11.CKA_LABEL)
		if err != nil {
			return "", err
		}
		return string(a[0].Value), nil
	}
	a, err := read(pkcs11.CKA_LABEL, pkcs11.CKA_CLASS, pkcs11.CKA_KEY_TYPE, pkcs11.CKA_ID)
	if err == nil && len(a[1].Value) > 0 && len(a[2].Value) > 0 {
		label := string(a[0].Value)
		if ulong(a[1].Value) == pkcs11.CKO_SECRET_KEY && ulong(a[2].Value) == pkcs11.CKK_AES && strings.HasPrefix(label, keys.Prefix) {
			keys.Keys = append(keys.Keys, SecretKeyInfo{Label: label, ID: a[3].Value, key: t.newSecretKey(label, a[3].Value, h, true)})
		}
		return label, nil
	}
	if a, err = read(pkcs11.CKA_LABEL, pkcs11.CKA_CLASS); err == nil && ulong(a[1].Value) != pkcs11.CKO_SECRET_KEY {
		return string(a[0].Value), nil // not a secret key: not one of keys
	}
	keys.incomplete = true
	if a, err = read(pkcs11.CKA_LABEL); err != nil {
		return "", err
	}
	return string(a[0].Value), nil
}
