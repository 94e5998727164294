// Package hsm is Keyrite's only door to a hardware security module. It speaks PKCS#11 through
// github.com/miekg/pkcs11 and hands out standard types: crypto.Signer, crypto.PublicKey,
// token and object descriptions. Nothing above it sees a PKCS#11 handle.
//
// Configuration: a module is opened by path (or an RFC 7512 URI's module-path) and a token is
// selected by label and/or serial; a selector that matches no token or several is an error.
//
// Sessions: a Token holds one read-write session, guarded by a mutex; PKCS#11 sessions are not
// safe for concurrent use. Logging in applies to the whole application, as PKCS#11 defines.
//
// Guarantees: keys are generated from explicit templates, every attribute is read back and the
// generation fails if the token did not honour the template; every new key pair passes a
// pairwise sign/verify self-test before it is returned. PINs are taken as byte slices and zeroed
// after use. Labels are claimed: a key is made only under a label no object carries, and if
// another object with its label appears while it is made, the new key is destroyed
// (*DuplicateLabelError). Token.Lock gives one process exclusive use of a token (lock.go).
//
// Errors: failures match the sentinels of errors.go (ErrPINIncorrect, ErrTokenNotPresent, ...)
// with errors.Is and keep their CKR code; callers branch on the sentinels.
//
// Limitations: github.com/ThalesGroup/crypto11 is not used. It calls C_Initialize itself and
// fails when another context in the process (ours, needed for token information, wrapping and
// Ed25519, which crypto11 lacks) already initialised the module, and it keeps the PIN as an
// immutable string. The crypto.Signer here is the few lines of C_Sign it would have given us.
package hsm

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/keyrite/keyrite/hsm/internal/seam"
	"github.com/miekg/pkcs11"
)

// p11 is the narrow seam of PKCS#11 calls Keyrite makes; *pkcs11.Ctx satisfies it. Tests wrap
// the real module to make any one call fail (hsm/hsmtest, through WithSeam).
type p11 = seam.Ctx

// Module is a loaded PKCS#11 library.
type Module struct {
	Path   string
	SHA256 [32]byte // of the library file, for the transcript
	Info   ModuleInfo
	ctx    p11
	raw    *pkcs11.Ctx
	closed bool
}

// PKCS#11 allows one C_Initialize per library per process: every Open of the same path shares
// one initialised library, and the last Close finalises it.
var (
	loadedMu sync.Mutex
	loaded   = map[string]*loadedModule{}
)

type loadedModule struct {
	m    *Module
	refs int
}

// ModuleInfo describes the library.
type ModuleInfo struct {
	Manufacturer string `json:"manufacturer"`
	Description  string `json:"description"`
	Version      string `json:"version"`
	Cryptoki     string `json:"cryptoki"`
}

// Open loads the PKCS#11 library at path and initialises it.
func Open(path string) (*Module, error) {
	if path == "" {
		return nil, errors.New("open PKCS#11 module: no module path; give --module PATH or a pkcs11: URI with module-path")
	}
	sum, err := hashFile(path)
	if err != nil {
		return nil, fmt.Errorf("open PKCS#11 module: %w", err)
	}
	loadedMu.Lock()
	defer loadedMu.Unlock()
	if l, ok := loaded[path]; ok {
		if l.m.SHA256 != sum {
			return nil, fmt.Errorf("open PKCS#11 module %s: the file changed since it was loaded; restart Keyrite", path)
		}
		l.refs++
		c := *l.m
		return &c, nil
	}
	raw := pkcs11.New(path)
	if raw == nil {
		return nil, fmt.Errorf("open PKCS#11 module %s: the file is not a loadable PKCS#11 library", path)
	}
	m, err := openWith(path, raw, raw)
	if err != nil {
		raw.Destroy()
		return nil, err
	}
	m.SHA256 = sum
	loaded[path] = &loadedModule{m: m, refs: 1}
	c := *m
	return &c, nil
}

func openWith(path string, ctx p11, raw *pkcs11.Ctx) (*Module, error) {
	if err := ctx.Initialize(); err != nil && !Is(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		return nil, wrap("initialise PKCS#11 module", path, err)
	}
	info, err := ctx.GetInfo()
	if err != nil {
		return nil, wrap("read module information", path, err)
	}
	return &Module{Path: path, ctx: policed{ctx}, raw: raw, Info: ModuleInfo{
		Manufacturer: trim(info.ManufacturerID),
		Description:  trim(info.LibraryDescription),
		Version:      fmt.Sprintf("%d.%d", info.LibraryVersion.Major, info.LibraryVersion.Minor),
		Cryptoki:     fmt.Sprintf("%d.%d", info.CryptokiVersion.Major, info.CryptokiVersion.Minor),
	}}, nil
}

// WithSeam returns a copy of m whose PKCS#11 calls go through wrap(m's calls). Only packages
// under hsm can name the seam's type: hsm/hsmtest uses it to make chosen calls fail in tests.
// The copy never finalises the module; close m itself. It is a function, not a method, so
// that the linker drops it from a binary that never calls it.
func WithSeam(m *Module, wrap func(seam.Ctx) seam.Ctx) *Module {
	c := *m
	c.ctx = wrap(m.ctx)
	c.raw = nil
	c.closed = true
	return &c
}

// Close releases the module; the last Close of a path finalises it. Tokens opened from it
// must be closed first.
func (m *Module) Close() error {
	loadedMu.Lock()
	defer loadedMu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	l, ok := loaded[m.Path]
	if !ok {
		return nil
	}
	if l.refs--; l.refs > 0 {
		return nil
	}
	delete(loaded, m.Path)
	err := m.ctx.Finalize()
	if m.raw != nil {
		m.raw.Destroy()
	}
	return wrap("finalise PKCS#11 module", m.Path, err)
}

// TokenInfo identifies a token, as recorded in transcripts.
type TokenInfo struct {
	Slot         uint   `json:"-"` // slot IDs change between runs on some modules; never record them
	Label        string `json:"label"`
	Manufacturer string `json:"manufacturer"`
	Model        string `json:"model"`
	Serial       string `json:"serial"`
	Firmware     string `json:"firmware"`
	Hardware     string `json:"hardware"`
	Initialized  bool   `json:"initialized"`
	UserPINSet   bool   `json:"user_pin_initialized"`
	// Flags are the token's administration flags when it was listed (token ceremonies);
	// never recorded with the token, whose record predates them.
	Flags TokenFlags `json:"-"`
}

func (t TokenInfo) String() string {
	return fmt.Sprintf("%q (%s %s, serial %s, firmware %s)", t.Label, t.Manufacturer, t.Model, t.Serial, t.Firmware)
}

// Tokens lists the tokens present in the module's slots, including uninitialised ones.
func (m *Module) Tokens() ([]TokenInfo, error) {
	slots, err := m.ctx.GetSlotList(true)
	if err != nil {
		return nil, wrap("list slots", m.Path, err)
	}
	var out []TokenInfo
	for _, s := range slots {
		ti, err := m.ctx.GetTokenInfo(s)
		if err != nil {
			return nil, wrap("read token information", fmt.Sprintf("slot %d", s), err)
		}
		out = append(out, TokenInfo{
			Slot: s, Label: trim(ti.Label), Manufacturer: trim(ti.ManufacturerID), Model: trim(ti.Model),
			Serial: trim(ti.SerialNumber), Firmware: fmt.Sprintf("%d.%d", ti.FirmwareVersion.Major, ti.FirmwareVersion.Minor),
			Hardware:    fmt.Sprintf("%d.%d", ti.HardwareVersion.Major, ti.HardwareVersion.Minor),
			Initialized: ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED != 0, UserPINSet: ti.Flags&pkcs11.CKF_USER_PIN_INITIALIZED != 0,
			Flags: flagsOf(ti),
		})
	}
	return out, nil
}

// Selector chooses one token. Empty fields match anything; at least Label or Serial is needed.
type Selector struct {
	Label, Serial, Manufacturer, Model string
}

func (s Selector) String() string {
	var parts []string
	for _, p := range [][2]string{{"label", s.Label}, {"serial", s.Serial}, {"manufacturer", s.Manufacturer}, {"model", s.Model}} {
		if p[1] != "" {
			parts = append(parts, fmt.Sprintf("%s %q", p[0], p[1]))
		}
	}
	return strings.Join(parts, ", ")
}

func (s Selector) matches(t TokenInfo) bool {
	return t.Initialized && (s.Label == "" || s.Label == t.Label) && (s.Serial == "" || s.Serial == t.Serial) &&
		(s.Manufacturer == "" || s.Manufacturer == t.Manufacturer) && (s.Model == "" || s.Model == t.Model)
}

// Find returns the one token s selects; none or several is an error that lists what was found.
func (m *Module) Find(s Selector) (TokenInfo, error) {
	if s.Label == "" && s.Serial == "" {
		return TokenInfo{}, errors.New("select a token by label or serial (--token LABEL, or token= / serial= in the pkcs11: URI)")
	}
	all, err := m.Tokens()
	if err != nil {
		return TokenInfo{}, err
	}
	var found []TokenInfo
	for _, t := range all {
		if s.matches(t) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		var names []string
		for _, t := range all {
			if t.Initialized {
				names = append(names, t.String())
			}
		}
		return TokenInfo{}, errorf(ErrTokenNotPresent, "no token with %s in %s; tokens present: %s (connect the token, or check the label or serial)", s, m.Path, orNone(names))
	default:
		return TokenInfo{}, fmt.Errorf("%d tokens match %s; select by serial as well", len(found), s)
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}

func trim(s string) string { return strings.TrimRight(strings.TrimSpace(s), "\x00") }

func hashFile(path string) ([32]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h.Sum(nil)), nil
}
