package hsm

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Exclusive use of a token. A ceremony holds an OS file lock (flock) on its token for its
// whole life, resume included, so that a second Keyrite process on the same machine is
// refused at once, naming the holder, before it changes anything. The lock is keyed by the
// module file (symlinks resolved) and the token's serial, and lives in LockDir. The kernel
// drops it when the holder exits, however it exits: a killed ceremony never leaves the token
// locked. It cannot see processes on other machines sharing a network HSM; the label claims
// in GenerateKeyPair and the unwrap calls (check, create, check again) are the defence there.

// LockDir is the folder Keyrite keeps token locks in: $XDG_RUNTIME_DIR/keyrite/locks, or
// /tmp/keyrite-<uid>/locks where there is no runtime directory. It is the same for every
// Keyrite process of a user, whatever its TMPDIR.
func LockDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "keyrite", "locks")
	}
	return filepath.Join("/tmp", fmt.Sprintf("keyrite-%d", os.Getuid()), "locks")
}

// Lock takes the exclusive lock on the token for holder (who uses it, shown to a second
// process that asks: for example "ceremony root-2026 in /media/evidence/root"). It fails at
// once, never waiting, with an error that matches ErrTokenInUse and names the other holder.
// Close releases it.
func (t *Token) Lock(holder string) error {
	path, err := t.lockPath()
	if err != nil {
		return err
	}
	f, err := lockFile(path, fmt.Sprintf("pid %d, %s, since %s", os.Getpid(), holder, time.Now().UTC().Format(time.RFC3339)))
	if errors.Is(err, ErrTokenInUse) {
		return errorf(ErrTokenInUse, "token %q (serial %s) is in use by another Keyrite ceremony (%s); only one ceremony may use a token at a time: wait for it to finish or stop it; nothing was done", t.Info.Label, t.Info.Serial, err.(*heldError).holder)
	}
	if err != nil {
		return fmt.Errorf("lock token %q: %w", t.Info.Label, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lock != nil {
		f.Close()
		return fmt.Errorf("lock token %q: this session already holds its lock", t.Info.Label)
	}
	t.lock = f
	return nil
}

// unlock releases the token's lock, if held. It must be called with t.mu held.
func (t *Token) unlock() {
	if t.lock != nil {
		t.lock.Close() // closing the descriptor releases the flock
		t.lock = nil
	}
}

// lockPath is the lock file of the token: a hash of the module file's real path and the
// token's serial (and label, for modules that give no serial).
func (t *Token) lockPath() (string, error) {
	dir := LockDir()
	if err := ownDir(dir); err != nil {
		return "", err
	}
	module := t.m.Path
	if real, err := filepath.EvalSymlinks(module); err == nil {
		module = real
	}
	if abs, err := filepath.Abs(module); err == nil {
		module = abs
	}
	sum := sha256.Sum256([]byte(module + "\x00" + t.Info.Serial + "\x00" + t.Info.Label))
	return filepath.Join(dir, "token-"+hex.EncodeToString(sum[:12])+".lock"), nil
}

// ownDir creates dir (mode 0700) if needed and checks that it is a folder only this user
// can write: a lock folder another user controls could be used to deny a ceremony.
func ownDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("lock folder: %w", err)
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		fi, err := os.Lstat(d)
		if err != nil {
			return fmt.Errorf("lock folder: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || !fi.IsDir() || int(st.Uid) != os.Getuid() || fi.Mode().Perm()&0o022 != 0 {
			return fmt.Errorf("lock folder %s: %s must be a folder owned by this user (uid %d) that others cannot write; remove it and try again", dir, d, os.Getuid())
		}
	}
	return nil
}

// heldError is a lock another process holds; holder is what it wrote in the file.
type heldError struct{ holder string }

func (e *heldError) Error() string        { return "held by " + e.holder }
func (e *heldError) Is(target error) bool { return target == ErrTokenInUse }

// lockFile opens path and takes an exclusive flock on it without waiting, then records
// holder in it. If another open file holds the lock, the error matches ErrTokenInUse and
// carries what the holder recorded.
func lockFile(path, holder string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flock(f, false); err != nil {
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, err
		}
		who, _ := os.ReadFile(path)
		h := strings.TrimSpace(string(who))
		if h == "" {
			h = "holder unknown"
		}
		return nil, &heldError{h}
	}
	// The file is ours now: say who holds it. Truncating only after the lock is taken keeps
	// a waiting process from erasing the holder's name.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(holder+"\n"), 0)
	}
	return f, nil
}

// flock takes an exclusive lock on f, waiting for it if wait is true, and retrying if a
// signal interrupts the wait.
func flock(f *os.File, wait bool) error {
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}
