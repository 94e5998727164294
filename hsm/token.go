package hsm

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"

	"github.com/miekg/pkcs11"
)

// Role is who logs in: the normal user, or the Security Officer (who installs trusted keys).
type Role uint

const (
	User Role = pkcs11.CKU_USER
	SO   Role = pkcs11.CKU_SO
)

func (r Role) String() string {
	if r == SO {
		return "Security Officer"
	}
	return "user"
}

// Token is an open read-write session on one token.
type Token struct {
	Info    TokenInfo
	m       *Module
	mu      sync.Mutex
	session pkcs11.SessionHandle
	role    *Role
	lock    *os.File // the token's exclusive lock (Lock), released by Close
	// logins counts successful logins. Tokens may renumber private object handles when the
	// login changes (SoftHSM does), so key pairs re-find their handles when it moves on.
	logins int
}

// OpenToken opens a session on the token s selects.
func (m *Module) OpenToken(s Selector) (*Token, error) {
	ti, err := m.Find(s)
	if err != nil {
		return nil, err
	}
	sh, err := m.ctx.OpenSession(ti.Slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return nil, wrap("open session on token", ti.Label, err)
	}
	return &Token{Info: ti, m: m, session: sh}, nil
}

// Login logs role in with pin, then zeroes pin. The PIN never leaves this call in any other form
// than the PKCS#11 argument.
func (t *Token) Login(role Role, pin []byte) error {
	defer zero(pin)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(pin) == 0 {
		return fmt.Errorf("log in to token %q: the %s PIN is empty", t.Info.Label, role)
	}
	err := t.m.ctx.Login(t.session, uint(role), string(pin))
	if err != nil && !Is(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
		return wrap("log in as "+role.String()+" to token", t.Info.Label, err)
	}
	t.role = &role
	t.logins++
	return nil
}

// Logout logs out, if logged in.
func (t *Token) Logout() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.role == nil {
		return nil
	}
	t.role = nil
	err := t.m.ctx.Logout(t.session)
	if Is(err, pkcs11.CKR_USER_NOT_LOGGED_IN) {
		err = nil
	}
	return wrap("log out of token", t.Info.Label, err)
}

// Close logs out, closes the session and releases the token's lock.
func (t *Token) Close() error {
	err := t.Logout()
	t.mu.Lock()
	defer t.mu.Unlock()
	err = errors.Join(err, wrap("close session on token", t.Info.Label, t.m.ctx.CloseSession(t.session)))
	t.unlock()
	return err
}

// Random reads n bytes from the token's random number generator.
func (t *Token) Random(n int) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, err := t.m.ctx.GenerateRandom(t.session, n)
	return b, wrap("read random bytes from token", t.Info.Label, err)
}

// Mechanisms lists the mechanism numbers the token offers.
func (t *Token) Mechanisms() (map[uint]bool, error) {
	ms, err := t.m.ctx.GetMechanismList(t.Info.Slot)
	if err != nil {
		return nil, wrap("list mechanisms of token", t.Info.Label, err)
	}
	out := map[uint]bool{}
	for _, m := range ms {
		out[m.Mechanism] = true
	}
	return out, nil
}

// Object describes a token object for the slot inventory: no secret, no handle.
type Object struct {
	Class   string `json:"class"`
	KeyType string `json:"key_type,omitempty"`
	Label   string `json:"label"`
	ID      string `json:"id,omitempty"`    // hex CKA_ID
	Error   string `json:"error,omitempty"` // why the object could not be read
}

// Objects lists every object visible to the current session, sorted by label, class and ID.
func (t *Token) Objects() ([]Object, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hs, err := t.find(nil)
	if err != nil {
		return nil, wrap("list objects on token", t.Info.Label, err)
	}
	out := make([]Object, 0, len(hs))
	for _, h := range hs {
		o, _ := t.object(h)
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return objectLess(out[i], out[j]) })
	return out, nil
}

// object reads an object's class, label, ID and key type, and returns its CK_OBJECT_CLASS. An
// inventory records what is there, including an object the token cannot read back (one a
// crash left half-written, for example): its class is "unreadable". It must be called with
// t.mu held.
func (t *Token) object(h pkcs11.ObjectHandle) (Object, uint) {
	// A key's four attributes in one call: a token may read the object's store for each call
	// (SoftHSM's file store opens the object's file), and an inventory reads every object.
	if attrs, err := t.m.ctx.GetAttributeValue(t.session, h, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, nil), pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil), pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil),
	}); err == nil && len(attrs[3].Value) > 0 {
		class := ulong(attrs[0].Value)
		return Object{Class: className(class), Label: string(attrs[1].Value), ID: hex.EncodeToString(attrs[2].Value), KeyType: keyTypeName(ulong(attrs[3].Value))}, class
	}
	// Not a key (no CKA_KEY_TYPE), or unreadable: one call for what every object has.
	attrs, err := t.m.ctx.GetAttributeValue(t.session, h, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, nil), pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil), pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
	})
	if err != nil {
		return Object{Class: "unreadable", Error: wrap("read object attributes", "", err).Error()}, ^uint(0)
	}
	class := ulong(attrs[0].Value)
	o := Object{Class: className(class), Label: string(attrs[1].Value), ID: hex.EncodeToString(attrs[2].Value)}
	if kt, err := t.m.ctx.GetAttributeValue(t.session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil)}); err == nil {
		o.KeyType = keyTypeName(ulong(kt[0].Value))
	}
	return o, class
}

// HasLabel reports whether any object on the token carries label.
func (t *Token) HasLabel(label string) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hs, err := t.find([]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)})
	return len(hs) > 0, wrap("look up label on token", t.Info.Label, err)
}

// Label claims. Two writers must never both create an object with one label: Keyrite checks
// the label is free (claimLabel), creates the object, and checks again (recheckLabel). If
// another object with the label appeared in between, the new one is destroyed and the caller
// gets a *DuplicateLabelError, which the ceremony records as the step's failure.

// claimLabel refuses a label some object on the token already carries. what names the
// operation, for the error.
func (t *Token) claimLabel(what, label string) error {
	has, err := t.HasLabel(label)
	if err != nil {
		return err
	}
	if has {
		return errorf(ErrLabelTaken, "%s %q: token %q already holds an object with this label; Keyrite never creates a second (choose another label)", what, label, t.Info.Label)
	}
	return nil
}

// DuplicateLabelError says that while Keyrite created a key, another object with the same
// label appeared on the token: another writer raced it. The new key was destroyed.
type DuplicateLabelError struct {
	Token, Label string
	Others       int   // objects with the label that are not the new key
	DestroyErr   error // why the new key could not be destroyed, if it could not
}

func (e *DuplicateLabelError) Error() string {
	fate := "the new key was destroyed"
	if e.DestroyErr != nil {
		fate = fmt.Sprintf("destroying the new key failed (%v): remove it with the token's tools", e.DestroyErr)
	}
	return fmt.Sprintf("token %q: while Keyrite created %q, %d other object(s) with the same label appeared (another program or machine writing to the token); %s and the other left as it is: find out who made it before going on", e.Token, e.Label, e.Others, fate)
}

// Is matches ErrLabelTaken.
func (e *DuplicateLabelError) Is(target error) bool { return target == ErrLabelTaken }

// recheckLabel is the second half of a claim: once ours are created, no other object may
// carry label. If one does, ours are destroyed and a *DuplicateLabelError returned.
func (t *Token) recheckLabel(label string, ours ...pkcs11.ObjectHandle) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	hs, err := t.find([]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)})
	if err != nil {
		for _, h := range ours {
			t.m.ctx.DestroyObject(t.session, h)
		}
		return fmt.Errorf("%w (the new key was destroyed: its label could not be checked again)", wrap("look up label on token", label, err))
	}
	others := 0
	for _, h := range hs {
		if !slices.Contains(ours, h) {
			others++
		}
	}
	if others == 0 {
		return nil
	}
	var derr error
	for _, h := range ours {
		derr = errors.Join(derr, t.m.ctx.DestroyObject(t.session, h))
	}
	return &DuplicateLabelError{Token: t.Info.Label, Label: label, Others: others, DestroyErr: derr}
}

// DestroyLabel destroys every object carrying label and returns how many there were. It is
// meant for an operator-confirmed clean-up of a step that was interrupted.
func (t *Token) DestroyLabel(label string) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hs, err := t.find([]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)})
	if err != nil {
		return 0, wrap("look up key", label, err)
	}
	for _, h := range hs {
		if err := t.m.ctx.DestroyObject(t.session, h); err != nil {
			return 0, wrap("destroy key", label, err)
		}
	}
	return len(hs), nil
}

// discard destroys the objects of a key that failed its checks after it was made. It is best
// effort: the caller reports the check's error, which is what the custodian must act on.
func (t *Token) discard(hs ...pkcs11.ObjectHandle) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, h := range hs {
		t.m.ctx.DestroyObject(t.session, h)
	}
}

// findOne finds the one object tmpl matches, for re-finding a key whose handle may have
// changed. It must be called with t.mu held.
func (t *Token) findOne(tmpl []*pkcs11.Attribute, label string) (pkcs11.ObjectHandle, error) {
	hs, err := t.find(tmpl)
	if err != nil {
		return 0, wrap("find key", label, err)
	}
	if len(hs) != 1 {
		return 0, errorf(ErrNotFound, "find key %q on token %q: %d objects match, want 1 (was it removed?)", label, t.Info.Label, len(hs))
	}
	return hs[0], nil
}

// find must be called with t.mu held.
func (t *Token) find(tmpl []*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	if err := t.m.ctx.FindObjectsInit(t.session, tmpl); err != nil {
		return nil, err
	}
	var all []pkcs11.ObjectHandle
	for {
		hs, _, err := t.m.ctx.FindObjects(t.session, 100)
		if err != nil {
			t.m.ctx.FindObjectsFinal(t.session)
			return nil, err
		}
		all = append(all, hs...)
		if len(hs) < 100 {
			break
		}
	}
	return all, t.m.ctx.FindObjectsFinal(t.session)
}

func ulong(b []byte) uint {
	var n uint
	for i := len(b) - 1; i >= 0; i-- { // PKCS#11 CK_ULONG in host order (little-endian here)
		n = n<<8 | uint(b[i])
	}
	return n
}

func className(c uint) string {
	switch c {
	case pkcs11.CKO_PRIVATE_KEY:
		return "private key"
	case pkcs11.CKO_PUBLIC_KEY:
		return "public key"
	case pkcs11.CKO_SECRET_KEY:
		return "secret key"
	case pkcs11.CKO_CERTIFICATE:
		return "certificate"
	case pkcs11.CKO_DATA:
		return "data"
	}
	return fmt.Sprintf("class 0x%x", c)
}

func keyTypeName(k uint) string {
	switch k {
	case pkcs11.CKK_RSA:
		return "RSA"
	case pkcs11.CKK_EC:
		return "EC"
	case ckkEdwards:
		return "Ed25519"
	case pkcs11.CKK_AES:
		return "AES"
	}
	return fmt.Sprintf("0x%x", k)
}

func zero(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
