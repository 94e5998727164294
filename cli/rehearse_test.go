package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/internal/binarytest"
)

// runKeyrite runs the built binary in dir and returns its combined output.
func runKeyrite(bin, dir string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LANG=C.UTF-8")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The README's rehearsal commands run in any order, twice, on one machine with one
// rehearsal store: each run makes fresh tokens, so no run finds another's labels.
func TestREADMERehearsalsInAnyOrderTwice(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string][]string{"root": nil, "quorum": {"--quorum", "3-of-5"}, "transfer": {"--transfer"}}
	for _, want := range []string{"keyrite rehearse --out ", "keyrite rehearse --quorum 3-of-5 --out ", "keyrite rehearse --transfer --out "} {
		if !strings.Contains(string(readme), want) {
			t.Fatalf("the README no longer shows %q: update this test with it", want)
		}
	}
	order := []string{"quorum", "transfer", "root"} // the README's quorum-then-transfer order first
	if !testing.Short() {
		order = append(order, "transfer", "root", "quorum")
	}
	bin, work, store := binarytest.Build(t), t.TempDir(), filepath.Join(t.TempDir(), "store")
	for i, mode := range order {
		out := fmt.Sprintf("run-%d-%s", i+1, mode)
		args := append([]string{"rehearse", "--rehearsal-dir", store, "--out", out}, modes[mode]...)
		if log, err := runKeyrite(bin, work, args...); err != nil {
			t.Fatalf("run %d (%s): %v\n%s", i+1, mode, err, tail(log))
		}
		if log, err := runKeyrite(bin, work, "verify", out); err != nil {
			t.Fatalf("verify run %d (%s): %v\n%s", i+1, mode, err, tail(log))
		}
	}
	checkStore(t, bin, work, store)
}

// Two rehearsals at once, in two processes, on one store: both finish and verify, and the
// store is whole after (every token label once, a third rehearsal runs).
func TestTwoRehearsalsAtOnce(t *testing.T) {
	bin, work, store := binarytest.Build(t), t.TempDir(), filepath.Join(t.TempDir(), "store")
	runs := [][]string{{"--out", "a"}, {"--quorum", "2-of-3", "--out", "b"}}
	logs := make([]string, len(runs))
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			logs[i], errs[i] = runKeyrite(bin, work, append([]string{"rehearse", "--rehearsal-dir", store}, r...)...)
		}()
	}
	wg.Wait()
	for i := range runs {
		if errs[i] != nil {
			t.Fatalf("rehearsal %v: %v\n%s", runs[i], errs[i], tail(logs[i]))
		}
		if log, err := runKeyrite(bin, work, "verify", runs[i][len(runs[i])-1]); err != nil {
			t.Fatalf("verify %v: %v\n%s", runs[i], err, tail(log))
		}
	}
	if log, err := runKeyrite(bin, work, "rehearse", "--rehearsal-dir", store, "--out", "c"); err != nil {
		t.Fatalf("a third rehearsal after two at once: %v\n%s", err, tail(log))
	}
	checkStore(t, bin, work, store)
}

// checkStore lists the store's tokens: each label once, and only fresh-token labels.
func checkStore(t *testing.T, bin, work, store string) {
	t.Helper()
	list, err := runKeyrite(bin, work, "tokens", "--rehearsal", "--rehearsal-dir", store)
	if err != nil {
		t.Fatalf("tokens: %v\n%s", err, list)
	}
	labels := regexp.MustCompile(`(?m)^  "([^"]*)" \(`).FindAllStringSubmatch(list, -1)
	if len(labels) == 0 {
		t.Fatalf("the store lists no token:\n%s", list)
	}
	seen := map[string]bool{}
	for _, l := range labels {
		if seen[l[1]] || !regexp.MustCompile(`^keyrite-rehearsal(-region)?-\d{4}$`).MatchString(l[1]) {
			t.Errorf("token label %q repeated or not a fresh token's", l[1])
		}
		seen[l[1]] = true
	}
}

func tail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}

// storeWithTokens makes a rehearsal store in dir with the tokens labels, closes the module
// again, and points SoftHSM at the store for the rest of the test (as --module runs need).
func storeWithTokens(t *testing.T, dir string, labels ...string) *hsm.Rehearsal {
	t.Helper()
	r, err := hsm.PrepareRehearsal(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := hsm.Open(hsm.SoftHSMModule)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, l := range labels {
		if _, err := r.EnsureToken(m, l); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("SOFTHSM2_CONF", filepath.Join(dir, "softhsm2.conf"))
	return r
}

// pinFileOf writes the user PIN of the store's token label into a file only its owner reads.
func pinFileOf(t *testing.T, r *hsm.Rehearsal, label string) string {
	t.Helper()
	pin, err := r.PIN(label, hsm.User)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "pin-"+label)
	if err := os.WriteFile(f, pin, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Two ceremonies on one token, two processes: while the first waits for its witness, the
// second is refused at once, naming the first's process and folder, before it logs in or
// changes anything (the token's objects are as they were, no folder is made). The first then
// finishes.
func TestSecondProcessOnATokenIsRefused(t *testing.T) {
	bin, store := binarytest.Build(t), t.TempDir()
	r := storeWithTokens(t, store, "shared")
	ti := hsm.TokenInfo{Label: "shared"}
	pinFile := pinFileOf(t, r, ti.Label)
	objects := func() []hsm.Object {
		m, err := hsm.Open(hsm.SoftHSMModule)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		tok, err := m.OpenToken(hsm.Selector{Label: ti.Label})
		if err != nil {
			t.Fatal(err)
		}
		defer tok.Close()
		pin, _ := r.PIN(ti.Label, hsm.User)
		if err := tok.Login(hsm.User, pin); err != nil {
			t.Fatal(err)
		}
		objs, err := tok.Objects()
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	script := filepath.Join("..", "testdata", "root-ceremony.yaml")
	args := func(out string) []string {
		return []string{"run", script, "--module", hsm.SoftHSMModule, "--token", ti.Label, "--pin-file", pinFile, "--out", out}
	}

	first := filepath.Join(t.TempDir(), "first")
	a := exec.Command(bin, args(first)...)
	stdin, err := a.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var aOut lockedBuffer
	a.Stdout, a.Stderr = &aOut, &aOut
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	defer a.Process.Kill()
	fmt.Fprint(stdin, strings.Repeat("yes\n", 7)) // the roll call of five, the clock, the first gate
	for deadline := time.Now().Add(2 * time.Minute); !strings.Contains(aOut.String(), `did "Generate the root key" happen`); {
		if time.Now().After(deadline) {
			t.Fatalf("the first ceremony never reached its first witness:\n%s", tail(aOut.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	before := objects()

	second := filepath.Join(t.TempDir(), "second")
	b := exec.Command(bin, args(second)...)
	b.Stdin = strings.NewReader(strings.Repeat("yes\n", 10))
	out, err := b.CombinedOutput()
	want := fmt.Sprintf("is in use by another Keyrite ceremony (pid %d, ceremony example-root-2026 in %s", a.Process.Pid, first)
	if err == nil || !strings.Contains(string(out), want) || !strings.Contains(string(out), "hint: only one ceremony may use a token at a time") {
		t.Fatalf("second ceremony: %v\n%s\nwant %q", err, tail(string(out)), want)
	}
	if _, err := os.Stat(second); !os.IsNotExist(err) {
		t.Fatalf("the refused ceremony left %s", second)
	}
	if after := objects(); !reflect.DeepEqual(before, after) {
		t.Fatalf("the refused ceremony changed the token:\nbefore %v\nafter  %v", before, after)
	}

	fmt.Fprint(stdin, strings.Repeat("yes\n", 14))
	stdin.Close()
	if err := a.Wait(); err != nil {
		t.Fatalf("the first ceremony: %v\n%s", err, tail(aOut.String()))
	}
	if log, err := runKeyrite(bin, t.TempDir(), "verify", first); err != nil {
		t.Fatalf("verify the first: %v\n%s", err, tail(log))
	}
}
