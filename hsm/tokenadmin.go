package hsm

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/miekg/pkcs11"
)

// Token administration: initialising a token, changing its PINs, listing and destroying every
// object on it. These are the calls of Keyrite's token ceremonies; the ceremony decides what
// may be called when, and checks everything the flags below tell before it calls any of them.
// Every PIN is a byte slice the call zeroes before it returns.

// TokenFlags are what a token's CK_TOKEN_INFO flags say about how it is administered.
type TokenFlags struct {
	LoginRequired      bool `json:"login_required"`      // CKF_LOGIN_REQUIRED
	WriteProtected     bool `json:"write_protected"`     // CKF_WRITE_PROTECTED
	ProtectedAuthPath  bool `json:"protected_auth_path"` // CKF_PROTECTED_AUTHENTICATION_PATH: PINs on a PIN pad
	UserPINLocked      bool `json:"user_pin_locked"`     // CKF_USER_PIN_LOCKED
	SOPINLocked        bool `json:"so_pin_locked"`       // CKF_SO_PIN_LOCKED
	UserPINFinalTry    bool `json:"user_pin_final_try"`  // CKF_USER_PIN_FINAL_TRY
	SOPINFinalTry      bool `json:"so_pin_final_try"`    // CKF_SO_PIN_FINAL_TRY
	UserPINToBeChanged bool `json:"user_pin_to_be_changed"`
	MinPIN             uint `json:"min_pin_len"`
	MaxPIN             uint `json:"max_pin_len"`
}

func flagsOf(ti pkcs11.TokenInfo) TokenFlags {
	f := ti.Flags
	return TokenFlags{
		LoginRequired: f&pkcs11.CKF_LOGIN_REQUIRED != 0, WriteProtected: f&pkcs11.CKF_WRITE_PROTECTED != 0,
		ProtectedAuthPath: f&pkcs11.CKF_PROTECTED_AUTHENTICATION_PATH != 0,
		UserPINLocked:     f&pkcs11.CKF_USER_PIN_LOCKED != 0, SOPINLocked: f&pkcs11.CKF_SO_PIN_LOCKED != 0,
		UserPINFinalTry: f&pkcs11.CKF_USER_PIN_FINAL_TRY != 0, SOPINFinalTry: f&pkcs11.CKF_SO_PIN_FINAL_TRY != 0,
		UserPINToBeChanged: f&pkcs11.CKF_USER_PIN_TO_BE_CHANGED != 0,
		MinPIN:             ti.MinPinLen, MaxPIN: ti.MaxPinLen,
	}
}

// CheckPINLength refuses a PIN the token's flags say it will not take, before any call.
func (f TokenFlags) CheckPINLength(pin []byte) error {
	if len(pin) == 0 || (f.MinPIN > 0 && uint(len(pin)) < f.MinPIN) || (f.MaxPIN > 0 && uint(len(pin)) > f.MaxPIN) {
		return errorf(ErrPINIncorrect, "the token takes PINs of %d to %d characters, this one has %d", f.MinPIN, f.MaxPIN, len(pin))
	}
	return nil
}

// Uninitialised lists the slots whose token is present but not initialised.
func (m *Module) Uninitialised() ([]TokenInfo, error) {
	all, err := m.Tokens()
	if err != nil {
		return nil, err
	}
	var out []TokenInfo
	for _, t := range all {
		if !t.Initialized {
			out = append(out, t)
		}
	}
	return out, nil
}

// InitToken initialises the uninitialised token in slot as label with the Security Officer's
// PIN so, then sets the user PIN user (C_InitToken, C_Login as SO, C_InitPIN). The label is
// claimed: it is refused if an initialised token already carries it, and checked again after
// the call, so two tokens never share a label unnoticed. Both PINs are zeroed.
func (m *Module) InitToken(slot uint, label string, so, user []byte) (TokenInfo, error) {
	defer zero(so)
	defer zero(user)
	if err := m.claimTokenLabel(label); err != nil {
		return TokenInfo{}, err
	}
	if err := m.ctx.InitToken(slot, string(so), label); err != nil {
		if Is(err, pkcs11.CKR_FUNCTION_NOT_SUPPORTED) {
			return TokenInfo{}, fmt.Errorf("%w: this module does not initialise tokens through PKCS#11 (many network HSMs make partitions with their own tools); initialise it with the vendor's tools, then record it with a PIN change", wrap("initialise token", label, err))
		}
		return TokenInfo{}, wrap("initialise token", label, err)
	}
	ti, err := m.Find(Selector{Label: label})
	if err != nil {
		return TokenInfo{}, fmt.Errorf("token %q was initialised but is not found once (another token with its label appeared?): %w", label, err)
	}
	if err := m.setUserPIN(ti, so, user); err != nil {
		return ti, err
	}
	return m.Find(Selector{Label: label, Serial: ti.Serial})
}

// claimTokenLabel refuses a label an initialised token already carries.
func (m *Module) claimTokenLabel(label string) error {
	all, err := m.Tokens()
	if err != nil {
		return err
	}
	for _, t := range all {
		if t.Initialized && t.Label == label {
			return errorf(ErrLabelTaken, "token label %q: the token with serial %s already carries it; Keyrite never gives two tokens one label (choose another label)", label, t.Serial)
		}
	}
	return nil
}

// SetUserPIN sets the user PIN of token ti, logged in as its Security Officer with so
// (C_InitPIN): for a token whose initialisation stopped before its user PIN was set. Both
// PINs are zeroed.
func (m *Module) SetUserPIN(ti TokenInfo, so, user []byte) error {
	defer zero(so)
	defer zero(user)
	return m.setUserPIN(ti, so, user)
}

// setUserPIN logs in to ti as the Security Officer with so in a session of its own and sets
// the user PIN (C_InitPIN).
func (m *Module) setUserPIN(ti TokenInfo, so, user []byte) error {
	sh, err := m.ctx.OpenSession(ti.Slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return wrap("open session on token", ti.Label, err)
	}
	defer m.ctx.CloseSession(sh)
	if err := m.ctx.Login(sh, pkcs11.CKU_SO, string(so)); err != nil {
		return wrap("log in as Security Officer to token", ti.Label, err)
	}
	defer m.ctx.Logout(sh)
	return wrap("set the user PIN of token", ti.Label, m.ctx.InitPIN(sh, string(user)))
}

// ReinitToken re-initialises the token ti names in place with its Security Officer's PIN so
// (C_InitToken): every object on it is destroyed and the user PIN is cleared; then user is set
// as the new user PIN. No session may be open on the token (close every Token first). Both
// PINs are zeroed.
func (m *Module) ReinitToken(ti TokenInfo, so, user []byte) (TokenInfo, error) {
	defer zero(so)
	defer zero(user)
	if err := m.ctx.InitToken(ti.Slot, string(so), ti.Label); err != nil {
		return TokenInfo{}, wrap("re-initialise token", ti.Label, err)
	}
	now, err := m.Find(Selector{Label: ti.Label, Serial: ti.Serial})
	if err != nil {
		return TokenInfo{}, fmt.Errorf("token %q was re-initialised but is not found with serial %s: %w", ti.Label, ti.Serial, err)
	}
	return now, m.setUserPIN(now, so, user)
}

// Flags reads the token's administration flags now (they change with wrong PINs).
func (m *Module) Flags(ti TokenInfo) (TokenFlags, error) {
	info, err := m.ctx.GetTokenInfo(ti.Slot)
	if err != nil {
		return TokenFlags{}, wrap("read token information", ti.Label, err)
	}
	return flagsOf(info), nil
}

// MechanismDigest lists the token's mechanisms, sorted, as one "0x%08x" line each, and
// returns their number and the SHA-256 of the list: two tokens offer the same mechanisms if
// and only if their digests are equal.
func (m *Module) MechanismDigest(ti TokenInfo) (int, string, error) {
	ms, err := m.ctx.GetMechanismList(ti.Slot)
	if err != nil {
		return 0, "", wrap("list mechanisms of token", ti.Label, err)
	}
	nums := make([]uint, len(ms))
	for i, x := range ms {
		nums[i] = x.Mechanism
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	h := sha256.New()
	for _, n := range nums {
		fmt.Fprintf(h, "0x%08x\n", n)
	}
	return len(nums), hex.EncodeToString(h.Sum(nil)), nil
}

// SetPIN changes the PIN of whoever is logged in (C_SetPIN): role must be logged in with old.
// A wrong old PIN changes nothing and matches ErrPINIncorrect. Both PINs are zeroed.
func (t *Token) SetPIN(old, pin []byte) error {
	defer zero(old)
	defer zero(pin)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.role == nil {
		return fmt.Errorf("change a PIN on token %q: nobody is logged in", t.Info.Label)
	}
	return wrap("change the "+t.role.String()+" PIN of token", t.Info.Label, t.m.ctx.SetPIN(t.session, string(old), string(pin)))
}

// Role is who is logged in to the token's session, or nil.
func (t *Token) Role() *Role {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.role
}

// ObjectInfo describes one object on a token for a decommission: its class, key type, label
// and ID, and what identifies a key without a secret: a key pair's public key (from its
// public object, or the private object's public attributes), a secret key's check value as
// the token reports it (CKA_CHECK_VALUE, AES-ECB of a zero block). It holds no handle.
type ObjectInfo struct {
	Object
	Public crypto.PublicKey `json:"-"`
	KCV    string           `json:"kcv,omitempty"`
}

// Describe lists every object the session sees, sorted as Objects sorts them, each with the
// public key or check value that identifies it where the token gives one.
func (t *Token) Describe() ([]ObjectInfo, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hs, err := t.find(nil)
	if err != nil {
		return nil, wrap("list objects on token", t.Info.Label, err)
	}
	out := make([]ObjectInfo, 0, len(hs))
	pubByID := map[string]crypto.PublicKey{}
	for _, h := range hs {
		o := t.describe(h)
		if o.Class == "public key" && o.Public != nil {
			pubByID[o.ID+"\x00"+o.Label] = o.Public
		}
		out = append(out, o)
	}
	for i := range out {
		if out[i].Class == "private key" && out[i].Public == nil {
			out[i].Public = pubByID[out[i].ID+"\x00"+out[i].Label]
		}
	}
	sort.Slice(out, func(i, j int) bool { return objectLess(out[i].Object, out[j].Object) })
	return out, nil
}

func objectLess(a, b Object) bool {
	if a.Label != b.Label {
		return a.Label < b.Label
	}
	if a.Class != b.Class {
		return a.Class < b.Class
	}
	return a.ID < b.ID
}

// describe reads one object; it must be called with t.mu held.
func (t *Token) describe(h pkcs11.ObjectHandle) ObjectInfo {
	obj, class := t.object(h)
	o := ObjectInfo{Object: obj}
	switch class {
	case pkcs11.CKO_PUBLIC_KEY, pkcs11.CKO_PRIVATE_KEY:
		if pub, _, err := t.publicKey(h); err == nil {
			o.Public = pub
		}
	case pkcs11.CKO_SECRET_KEY:
		if cv, err := t.m.ctx.GetAttributeValue(t.session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CHECK_VALUE, nil)}); err == nil && len(cv[0].Value) >= 3 {
			o.KCV = fmt.Sprintf("%X", cv[0].Value[:3])
		}
	}
	return o
}

// DestroyEvery destroys every object the session sees, one by one, calling each with the
// object just destroyed (described before its destruction). It stops at the first failure.
func (t *Token) DestroyEvery(each func(ObjectInfo) error) error {
	t.mu.Lock()
	hs, err := t.find(nil)
	t.mu.Unlock()
	if err != nil {
		return wrap("list objects on token", t.Info.Label, err)
	}
	for _, h := range hs {
		t.mu.Lock()
		o := t.describe(h)
		err := t.m.ctx.DestroyObject(t.session, h)
		t.mu.Unlock()
		if err != nil {
			return wrap(fmt.Sprintf("destroy object %q (%s) on token", o.Label, o.Class), t.Info.Label, err)
		}
		if err := each(o); err != nil {
			return err
		}
	}
	return nil
}

// Count is the number of objects the session sees now.
func (t *Token) Count() (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hs, err := t.find(nil)
	return len(hs), wrap("count objects on token", t.Info.Label, err)
}
