package hsm

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/miekg/pkcs11"
)

// SoftHSMModule is where Debian's softhsm2 package installs the rehearsal module.
const SoftHSMModule = "/usr/lib/softhsm/libsofthsm2.so"

// Rehearsal is Keyrite's own SoftHSM2 store: a token directory and softhsm2.conf under a folder
// the app owns, so rehearsals never touch the system token directory. Its PINs are random and
// kept beside it (mode 0600): a rehearsal token guards no real key.
//
// This is the only place Keyrite knows it is talking to SoftHSM; everything else is the same
// code path as a production HSM.
type Rehearsal struct {
	Dir string
}

// DefaultRehearsalDir is $XDG_DATA_HOME/keyrite/rehearsal, or ~/.local/share/keyrite/rehearsal.
func DefaultRehearsalDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "keyrite", "rehearsal")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "keyrite-rehearsal")
	}
	return filepath.Join(home, ".local", "share", "keyrite", "rehearsal")
}

// PrepareRehearsal creates the store if needed and points SoftHSM2 at it. It must run before
// the module is opened: SoftHSM reads SOFTHSM2_CONF when it is initialised.
func PrepareRehearsal(dir string) (*Rehearsal, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	r := &Rehearsal{Dir: abs}
	for _, d := range []string{abs, r.tokens(), r.pins()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("prepare rehearsal store: %w", err)
		}
	}
	conf := filepath.Join(abs, "softhsm2.conf")
	text := fmt.Sprintf("# Keyrite rehearsal token store; written by keyrite, safe to delete.\ndirectories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", r.tokens())
	if old, err := os.ReadFile(conf); err != nil || string(old) != text {
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return nil, fmt.Errorf("prepare rehearsal store: %w", err)
		}
	}
	loadedMu.Lock()
	defer loadedMu.Unlock()
	if cur := os.Getenv("SOFTHSM2_CONF"); cur != conf && len(loaded) > 0 {
		return nil, fmt.Errorf("prepare rehearsal store %s: a PKCS#11 module is still loaded with the configuration %q, and SoftHSM reads it only when loaded; close it first", abs, cur)
	}
	if err := os.Setenv("SOFTHSM2_CONF", conf); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Rehearsal) tokens() string { return filepath.Join(r.Dir, "tokens") }
func (r *Rehearsal) pins() string   { return filepath.Join(r.Dir, "pins") }

func (r *Rehearsal) pinFile(label string, role Role) string {
	suffix := "user"
	if role == SO {
		suffix = "so"
	}
	return filepath.Join(r.pins(), fmt.Sprintf("%x.%s", label, suffix))
}

// PIN returns the rehearsal token's PIN for role. The caller zeroes it (Token.Login does).
func (r *Rehearsal) PIN(label string, role Role) ([]byte, error) {
	b, err := os.ReadFile(r.pinFile(label, role))
	if err != nil {
		return nil, fmt.Errorf("rehearsal token %q: no %s PIN in %s: %w", label, role, r.Dir, err)
	}
	return b, nil
}

// EnsureToken returns the rehearsal token labelled label, initialising a free slot with fresh
// random SO and user PINs if there is no such token yet.
func (r *Rehearsal) EnsureToken(m *Module, label string) (TokenInfo, error) {
	if ti, err := m.Find(Selector{Label: label}); err == nil {
		return ti, nil
	}
	tokens, err := m.Tokens()
	if err != nil {
		return TokenInfo{}, err
	}
	var free *TokenInfo
	for i := range tokens {
		if !tokens[i].Initialized {
			free = &tokens[i]
			break
		}
	}
	if free == nil {
		return TokenInfo{}, errors.New("rehearsal store has no free slot for a new token")
	}
	so, user := randomPIN(), randomPIN()
	defer zero(so)
	defer zero(user)
	for role, pin := range map[Role][]byte{SO: so, User: user} {
		if err := os.WriteFile(r.pinFile(label, role), pin, 0o600); err != nil {
			return TokenInfo{}, fmt.Errorf("rehearsal token %q: save PIN: %w", label, err)
		}
	}
	if err := m.ctx.InitToken(free.Slot, string(so), label); err != nil {
		return TokenInfo{}, wrap("initialise rehearsal token", label, err)
	}
	ti, err := m.Find(Selector{Label: label})
	if err != nil {
		return TokenInfo{}, err
	}
	sh, err := m.ctx.OpenSession(ti.Slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return TokenInfo{}, wrap("open session on token", label, err)
	}
	defer m.ctx.CloseSession(sh)
	if err := m.ctx.Login(sh, pkcs11.CKU_SO, string(so)); err != nil {
		return TokenInfo{}, wrap("log in as Security Officer to token", label, err)
	}
	defer m.ctx.Logout(sh)
	if err := m.ctx.InitPIN(sh, string(user)); err != nil {
		return TokenInfo{}, wrap("set user PIN on token", label, err)
	}
	return m.Find(Selector{Label: label})
}

func randomPIN() []byte {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 20)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return b
}

// FreeToken returns the label of a rehearsal token that holds none of labels: the token named
// prefix if it is free, or else the next of "prefix-2", "prefix-3", ..., initialised if new.
// Rehearsals can so be repeated without clearing the store.
func (r *Rehearsal) FreeToken(m *Module, prefix string, labels []string) (string, error) {
	for i := 1; i < 100; i++ {
		label := prefix
		if i > 1 {
			label = fmt.Sprintf("%s-%d", prefix, i)
		}
		if _, err := r.EnsureToken(m, label); err != nil {
			return "", err
		}
		tok, err := m.OpenToken(Selector{Label: label})
		if err != nil {
			return "", err
		}
		pin, err := r.PIN(label, User)
		if err == nil {
			err = tok.Login(User, pin)
		}
		taken := false
		for _, l := range labels {
			if err == nil {
				var has bool
				has, err = tok.HasLabel(l)
				taken = taken || has
			}
		}
		tok.Close()
		if err != nil {
			return "", err
		}
		if !taken {
			return label, nil
		}
	}
	return "", fmt.Errorf("the rehearsal store %s has 99 used tokens named %s; delete the store to start afresh", r.Dir, prefix)
}
