package hsm

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/keyrite/keyrite/internal/atomicfile"
)

// SoftHSMModule is where Debian's softhsm2 package installs the rehearsal module.
const SoftHSMModule = "/usr/lib/softhsm/libsofthsm2.so"

// Rehearsal is Keyrite's own SoftHSM2 store: a token directory and softhsm2.conf under a folder
// the app owns, so rehearsals never touch the system token directory. Its PINs are random and
// kept beside it (mode 0600): a rehearsal token guards no real key. Each rehearsal makes
// fresh tokens (NewToken), so every rehearsal runs any number of times, in any order, and
// several processes may use one store at once.
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
// the module is opened: SoftHSM reads SOFTHSM2_CONF when it is initialised. Several processes
// may prepare and use one store at once: creating it and making tokens in it take the store's
// lock, and its configuration file is replaced atomically.
func PrepareRehearsal(dir string) (*Rehearsal, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	r := &Rehearsal{Dir: abs}
	conf := filepath.Join(abs, "softhsm2.conf")
	err = r.locked(func() error {
		for _, d := range []string{r.tokens(), r.pins()} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return err
			}
		}
		text := fmt.Sprintf("# Keyrite rehearsal token store; written by keyrite, safe to delete.\ndirectories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", r.tokens())
		if old, err := os.ReadFile(conf); err == nil && string(old) == text {
			return nil
		}
		// Another process's SoftHSM may read the file at any moment: never let it see half.
		tmp := conf + ".tmp"
		if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
			return err
		}
		return os.Rename(tmp, conf)
	})
	if err != nil {
		return nil, fmt.Errorf("prepare rehearsal store: %w", err)
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

// locked runs f holding the store's lock (an flock on DIR/store.lock, waited for: what it
// guards takes milliseconds). It serialises creating the store and its tokens among processes.
func (r *Rehearsal) locked(f func() error) error {
	if err := os.MkdirAll(r.Dir, 0o700); err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(r.Dir, "store.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close() // releases the lock
	if err := flock(lf, true); err != nil {
		return fmt.Errorf("lock rehearsal store %s: %w", r.Dir, err)
	}
	return f()
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

// ErrRehearsalTokenUnseen is returned by EnsureToken for a rehearsal token whose PINs the
// store holds but which SoftHSM does not list.
var ErrRehearsalTokenUnseen = errors.New("was made by another process after this one loaded the module")

// EnsureToken returns the rehearsal token labelled label, initialising a free slot with fresh
// random SO and user PINs if there is no such token yet.
func (r *Rehearsal) EnsureToken(m *Module, label string) (TokenInfo, error) {
	var ti TokenInfo
	err := r.locked(func() error {
		var err error
		if ti, err = m.Find(Selector{Label: label}); err == nil {
			return nil
		}
		if _, err := os.Stat(r.pinFile(label, SO)); err == nil {
			// Its PINs are here but this process does not see it: another process made it
			// after this one loaded the module (SoftHSM reads its token folder only then), or a
			// kill tore SoftHSM's files for it (SoftHSM 2.6.1 does not fsync its store).
			return fmt.Errorf("rehearsal token %q in %s %w: start again to see it; if it stays unseen, a crash tore SoftHSM's files for it, and a new rehearsal makes a fresh token", label, r.Dir, ErrRehearsalTokenUnseen)
		}
		ti, err = r.initToken(m, label)
		return err
	})
	return ti, err
}

// NewToken makes a fresh rehearsal token labelled prefix-NNNN, numbered after every token the
// store ever made with that prefix, so that each rehearsal starts on an empty token and no
// two processes ever make tokens with one label. No label is a prefix of another (tools such
// as pkcs11-tool match label prefixes): numbers have four digits, and the store holds 9999
// tokens per prefix.
func (r *Rehearsal) NewToken(m *Module, prefix string) (TokenInfo, error) {
	var ti TokenInfo
	err := r.locked(func() error {
		entries, err := os.ReadDir(r.pins())
		if err != nil {
			return err
		}
		last := 0
		for _, e := range entries {
			name, ok := strings.CutSuffix(e.Name(), ".so")
			if !ok {
				continue
			}
			label, err := hex.DecodeString(name)
			if err != nil {
				continue
			}
			if num, ok := strings.CutPrefix(string(label), prefix+"-"); ok && len(num) == 4 {
				if n, err := strconv.Atoi(num); err == nil && n > last {
					last = n
				}
			}
		}
		if last >= 9999 {
			return fmt.Errorf("the rehearsal store %s holds 9999 tokens named %s-NNNN; delete the store (or give another --rehearsal-dir) to start afresh", r.Dir, prefix)
		}
		ti, err = r.initToken(m, fmt.Sprintf("%s-%04d", prefix, last+1))
		return err
	})
	return ti, err
}

// initToken initialises a free slot as label with fresh random PINs, saved in the store
// first: a token whose PIN is not kept is a token nobody can use. It must be called holding
// the store's lock. The PIN files are created exclusively, so a PIN is never overwritten and
// no login ever spends an attempt on another token's PIN.
func (r *Rehearsal) initToken(m *Module, label string) (TokenInfo, error) {
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
	if err := r.ClaimPINs(label, so, user); err != nil {
		return TokenInfo{}, err
	}
	ti, err := m.InitToken(free.Slot, label, bytes.Clone(so), bytes.Clone(user))
	if _, ferr := m.Find(Selector{Label: label}); err != nil && ferr != nil {
		r.ForgetPINs(label) // no token was made: its PINs guard nothing
	}
	if err != nil {
		return TokenInfo{}, fmt.Errorf("rehearsal token: %w", err)
	}
	return ti, nil
}

// ClaimPINs keeps the PINs of a new rehearsal token labelled label, before the token is made:
// a token whose PIN is not kept is a token nobody can use. The PIN files are created
// exclusively, so a label is claimed once in a store shared by several processes, a PIN is
// never overwritten and no login ever spends an attempt on another token's PIN. It fails
// with ErrLabelTaken if the store kept PINs for label already.
func (r *Rehearsal) ClaimPINs(label string, so, user []byte) error {
	for _, p := range []struct {
		role Role
		pin  []byte
	}{{SO, so}, {User, user}} {
		f, err := os.OpenFile(r.pinFile(label, p.role), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) && p.role == SO {
			return errorf(ErrLabelTaken, "rehearsal token %q: the store %s holds a token with this label already (choose another label, or another --rehearsal-dir)", label, r.Dir)
		}
		if err == nil {
			_, err = f.Write(p.pin)
			err = errors.Join(err, f.Sync(), f.Close())
		}
		if err != nil {
			r.ForgetPINs(label)
			return fmt.Errorf("rehearsal token %q: save PIN: %w", label, err)
		}
	}
	return atomicfile.SyncDir(r.pins())
}

// ForgetPINs removes the PINs kept for label, for a token that was never made.
func (r *Rehearsal) ForgetPINs(label string) {
	os.Remove(r.pinFile(label, SO))
	os.Remove(r.pinFile(label, User))
}

// ReplacePIN keeps pin as the rehearsal token's PIN for role after a PIN change: the file is
// replaced whole (temporary file, fsync, rename), never half written.
func (r *Rehearsal) ReplacePIN(label string, role Role, pin []byte) error {
	if _, err := os.Stat(r.pinFile(label, role)); err != nil {
		return fmt.Errorf("rehearsal token %q: no %s PIN kept in %s: %w", label, role, r.Dir, err)
	}
	return atomicfile.WriteFile(r.pinFile(label, role), pin, 0o600)
}

// NewPIN is a fresh random PIN for a rehearsal token; a rehearsal's PIN holders are simulated.
// The caller zeroes it.
func NewPIN() []byte { return randomPIN() }

func randomPIN() []byte {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 20)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return b
}
