// Package ceremonytest runs real ceremonies on real SoftHSM2 for tests of the packages built
// on the ceremony engine (reports, app, cli): rehearsal tokens in a throw-away store, and a
// UI that plays everyone in the room.
package ceremonytest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/hsm"
)

// UI answers every confirmation yes and plays the custodians: it remembers each share it is
// shown and types it back when asked.
type UI struct {
	mu     sync.Mutex
	Shares map[string]string // custodian name -> share code
	Notes  []string
}

func (u *UI) Show(ceremony.Screen)                          {}
func (u *UI) Progress(string, int, int)                     {}
func (u *UI) Confirm(context.Context, string, string) error { return nil }
func (u *UI) AskSecret(context.Context, string) ([]byte, error) {
	return nil, errors.New("no secrets asked in tests")
}
func (u *UI) Note(s string) { u.mu.Lock(); u.Notes = append(u.Notes, s); u.mu.Unlock() }
func (u *UI) RevealShare(_ context.Context, c ceremony.Participant, _, _ int, code string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.Shares == nil {
		u.Shares = map[string]string{}
	}
	u.Shares[c.Name] = code
	return nil
}
func (u *UI) AskShare(_ context.Context, c ceremony.Participant, _ string, check func(string) error) (string, error) {
	u.mu.Lock()
	code := u.Shares[c.Name]
	u.mu.Unlock()
	if code == "" {
		return "", fmt.Errorf("%s holds no share", c.Name)
	}
	return code, check(code)
}

var (
	once   sync.Once
	store  *hsm.Rehearsal
	module *hsm.Module
	err    error
	mu     sync.Mutex
	n      int
)

// Token returns a binding to a new, empty rehearsal token.
func Token(t testing.TB) ceremony.Binding {
	t.Helper()
	once.Do(func() {
		dir, e := os.MkdirTemp("", "keyrite-ceremonytest-")
		if e == nil {
			store, e = hsm.PrepareRehearsal(dir)
		}
		if e == nil {
			module, e = hsm.Open(hsm.SoftHSMModule)
		}
		err = e
	})
	if err != nil {
		t.Fatalf("SoftHSM2 is needed (apt-get install softhsm2): %v", err)
	}
	mu.Lock()
	n++
	label := fmt.Sprintf("test-%d-%d", os.Getpid(), n)
	mu.Unlock()
	if _, err := store.EnsureToken(module, label); err != nil {
		t.Fatal(err)
	}
	return ceremony.RehearsalBinding(module, store, label)
}

// Script loads a script from the repository's testdata folder.
func Script(t testing.TB, repoRoot, name string) *ceremony.Script {
	t.Helper()
	s, err := ceremony.LoadScript(filepath.Join(repoRoot, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Run runs script on a fresh token into a new folder and returns the folder.
func Run(t testing.TB, s *ceremony.Script, ui ceremony.UI, opt ceremony.Options) string {
	t.Helper()
	return RunOn(t, Token(t), s, ui, opt)
}

// RunOn runs script on the given token into a new folder and returns the folder. Without
// opt.ShareSheet, share sheets are TextSheet's plain text (this package cannot import the
// PDF renderer, whose tests use it).
func RunOn(t testing.TB, b ceremony.Binding, s *ceremony.Script, ui ceremony.UI, opt ceremony.Options) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), s.ID)
	if opt.ShareSheet == nil {
		opt.ShareSheet = TextSheet
	}
	if s.IssuesShares() && opt.SharesDir == "" && opt.SharesPrinter == "" {
		opt.SharesDir = SheetsOf(dir)
	}
	if err := ceremony.Start(t.Context(), s, dir, b, ui, opt); err != nil {
		t.Fatal(err)
	}
	return dir
}

// SheetsOf is the folder RunOn writes a ceremony's share sheets to, unless told otherwise:
// beside the ceremony folder, never inside it.
func SheetsOf(dir string) string { return dir + ".share-sheets" }

// Signer opens the key labelled label on the token, logged in as the user, until the test ends.
func Signer(t testing.TB, b ceremony.Binding, label string) *hsm.KeyPair {
	t.Helper()
	tok, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tok.Close() })
	k, err := tok.FindKeyPair(label)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TextSheet renders a share sheet as plain text, a stand-in for the PDF in tests.
func TextSheet(s ceremony.ShareSheet) ([]byte, error) {
	return fmt.Appendf(nil, "Share %d of %d (any %d) of ceremony %s for %s\nKCV %s\n%s\n", s.Number, s.Total, s.Threshold, s.CeremonyID, s.Custodian, s.KCV, s.Code), nil
}
