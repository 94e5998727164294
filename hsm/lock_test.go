package hsm

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"
)

// One holder at a time: a second lock on the token is refused at once, naming the holder;
// closing the first token frees it.
func TestTokenLockIsExclusive(t *testing.T) {
	first := loggedIn(t, "lock-test")
	if err := first.Lock("ceremony first in /evidence/first"); err != nil {
		t.Fatal(err)
	}
	m, _ := module(t)
	second, err := m.OpenToken(Selector{Label: "lock-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	err = second.Lock("ceremony second")
	if !errors.Is(err, ErrTokenInUse) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d, ceremony first in /evidence/first", os.Getpid())) {
		t.Fatalf("second lock: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := second.Lock("ceremony second"); err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	// Another token is not affected.
	other := loggedIn(t, "lock-test-other")
	if err := other.Lock("ceremony other"); err != nil {
		t.Fatalf("another token: %v", err)
	}
}

// A lock folder someone else could write is refused, not used.
func TestLockFolderMustBeOwnedAndPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keyrite", "locks")
	if err := ownDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := ownDir(dir); err == nil || !strings.Contains(err.Error(), "others cannot write") {
		t.Fatalf("a world-writable lock folder: %v", err)
	}
}

// intruder is another writer on the token: just before Keyrite's key is created, it creates
// an object with the same label, as a second process or machine racing the label check would.
type intruder struct {
	p11
	label string
}

func (i *intruder) GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, pub, priv []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	i.sneak(sh)
	return i.p11.GenerateKeyPair(sh, m, pub, priv)
}

func (i *intruder) GenerateKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, t []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	i.sneak(sh)
	return i.p11.GenerateKey(sh, m, t)
}

func (i *intruder) sneak(sh pkcs11.SessionHandle) {
	i.p11.CreateObject(sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_VALUE, make([]byte, 16)),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, i.label), pkcs11.NewAttribute(pkcs11.CKA_ID, []byte("intruder")),
	})
}

// Check, create, check again: when another object with the label appears while Keyrite
// creates its key, Keyrite's key is destroyed and the caller told; the other is left alone.
func TestLabelClaimDestroysADuplicate(t *testing.T) {
	m, r := module(t)
	if _, err := r.EnsureToken(m, "claim-test"); err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"raced-pair", "raced-dek"} {
		racy := WithSeam(m, func(c p11) p11 { return &intruder{p11: c, label: label} })
		tok, err := racy.OpenToken(Selector{Label: "claim-test"})
		if err != nil {
			t.Fatal(err)
		}
		pin, _ := r.PIN("claim-test", User)
		if err := tok.Login(User, pin); err != nil {
			t.Fatal(err)
		}
		if label == "raced-pair" {
			_, err = tok.GenerateKeyPair(KeySpec{Label: label, Algorithm: ECDSAP256})
		} else {
			_, err = tok.GenerateDEK(DEKSpec{Label: label, ID: []byte{1}})
		}
		var dup *DuplicateLabelError
		if !errors.As(err, &dup) || !errors.Is(err, ErrLabelTaken) || dup.Others != 1 || !strings.Contains(err.Error(), "the new key was destroyed") {
			t.Fatalf("%s: err = %v", label, err)
		}
		objs, err := tok.Objects()
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, o := range objs {
			if o.Label == label {
				left = append(left, o.Class)
			}
		}
		if len(left) != 1 || left[0] != "secret key" {
			t.Fatalf("%s: objects left with the label: %v, want only the intruder's secret key (all: %+v)", label, left, objs)
		}
		tok.Close()
	}
}

// Several threads make fresh rehearsal tokens at once: every label is new, every PIN opens
// its token.
func TestNewTokensAreFreshAndDistinct(t *testing.T) {
	m, r := module(t)
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ti, err := r.NewToken(m, "fresh")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			if seen[ti.Label] || !strings.HasPrefix(ti.Label, "fresh-") || len(ti.Label) != len("fresh-0001") {
				t.Errorf("label %q: repeated or malformed", ti.Label)
			}
			seen[ti.Label] = true
		}()
	}
	wg.Wait()
	for label := range seen {
		tok, err := m.OpenToken(Selector{Label: label})
		if err != nil {
			t.Fatal(err)
		}
		for _, role := range []Role{SO, User} {
			pin, _ := r.PIN(label, role)
			if err := tok.Login(role, pin); err != nil {
				t.Fatalf("%s %s: %v", label, role, err)
			}
			tok.Logout()
		}
		if objs, _ := tok.Objects(); len(objs) != 0 {
			t.Errorf("fresh token %s holds %d objects", label, len(objs))
		}
		tok.Close()
	}
}

// Processes share one rehearsal store: each makes fresh tokens at once, and each asks for
// one token with a fixed label. The store stays whole: every label exists once, and both
// PINs of every token open it (no login spent an attempt on another token's PIN). A process
// that cannot see the fixed token another made after it loaded the module says so.
func TestRehearsalStoreUnderConcurrentProcesses(t *testing.T) {
	if os.Getenv("KEYRITE_STORE_CHILD") != "" {
		return // the child's work is in TestMain's helper
	}
	store := t.TempDir()
	var wg sync.WaitGroup
	outs := make([]string, 4)
	errs := make([]error, 4)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "KEYRITE_STORE_CHILD=make", "KEYRITE_STORE_DIR="+store)
			out, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(out), err
		}()
	}
	wg.Wait()
	for i := range outs {
		if errs[i] != nil {
			t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KEYRITE_STORE_CHILD=check", "KEYRITE_STORE_DIR="+store)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "store ok: 13 tokens") {
		t.Fatalf("check: %v\n%s", err, out)
	}
}

func TestMain(m *testing.M) {
	if job := os.Getenv("KEYRITE_STORE_CHILD"); job != "" {
		if err := storeChild(job, os.Getenv("KEYRITE_STORE_DIR")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// storeChild is one process of TestRehearsalStoreUnderConcurrentProcesses: "make" prepares
// the store and makes three fresh tokens; "check" opens every token with its PINs.
func storeChild(job, dir string) error {
	r, err := PrepareRehearsal(dir)
	if err != nil {
		return err
	}
	m, err := Open(SoftHSMModule)
	if err != nil {
		return err
	}
	defer m.Close()
	if job == "make" {
		for i := 0; i < 3; i++ {
			if _, err := r.NewToken(m, "parallel"); err != nil {
				return err
			}
		}
		if _, err := r.EnsureToken(m, "one-for-all"); err != nil && !strings.Contains(err.Error(), "was made by another process after this one loaded the module") {
			return err
		}
		return nil
	}
	tokens, err := m.Tokens()
	if err != nil {
		return err
	}
	labels := map[string]bool{}
	for _, ti := range tokens {
		if !ti.Initialized {
			continue
		}
		if labels[ti.Label] {
			return fmt.Errorf("two tokens are labelled %q", ti.Label)
		}
		labels[ti.Label] = true
		tok, err := m.OpenToken(Selector{Label: ti.Label})
		if err != nil {
			return err
		}
		for _, role := range []Role{SO, User} {
			pin, err := r.PIN(ti.Label, role)
			if err == nil {
				err = tok.Login(role, pin)
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", ti.Label, role, err)
			}
			tok.Logout()
		}
		tok.Close()
	}
	fmt.Printf("store ok: %d tokens\n", len(labels))
	return nil
}
