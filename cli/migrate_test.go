package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyrite/keyrite/hsm"
)

// TestMain lets the test binary run as keyrite itself, for tests that kill a real process.
func TestMain(m *testing.M) {
	if os.Getenv("KEYRITE_TEST_MAIN") == "1" {
		ex := map[string][]byte{}
		for _, n := range []string{"root", "root-quorum", "restore", "region-root", "import-job", "export", "import"} {
			ex[n], _ = os.ReadFile(filepath.Join("..", "testdata", n+"-ceremony.yaml"))
		}
		os.Exit(Main(os.Args[1:], Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Examples: ex}))
	}
	os.Exit(m.Run())
}

func keyriteProcess(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "KEYRITE_TEST_MAIN=1")
	return cmd
}

func TestRehearseTransfer(t *testing.T) {
	out := filepath.Join(t.TempDir(), "transfer")
	code, stdout, stderr := keyrite(t, "", "rehearse", "--rehearsal-dir", t.TempDir(), "--transfer", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "== 5-import ==") || !strings.Contains(stdout, "Continues ceremony example-region-import-job-1") {
		t.Fatalf("output:\n%s", stdout)
	}
	if code, _, stderr := keyrite(t, "", "verify", out); code != 0 {
		t.Fatal(stderr)
	}
	// The inventory follows the root key from its generation to its import elsewhere.
	code, inv, stderr := keyrite(t, "", "inventory", out)
	if code != 0 {
		t.Fatal(stderr)
	}
	for _, want := range []string{"example-root-2026 — active", "generated, root", "backed up under a split KEK", "exported for pkcs11", "imported, imported from example-root-2026-export-1"} {
		if !strings.Contains(inv, want) {
			t.Errorf("inventory lacks %q:\n%s", want, inv)
		}
	}
	// The bundles hold no wrapped key material.
	for _, b := range []string{"4-export/evidence-example-root-2026-export-1.tar", "5-import/evidence-example-region-import-1.tar"} {
		data, err := os.ReadFile(filepath.Join(out, b))
		if err != nil {
			t.Fatal(err)
		}
		var o bytes.Buffer
		if err := VerifyCommand(&o, filepath.Join(out, b), ""); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(o.String(), "withheld: ") || strings.Contains(o.String(), "withheld: \n") {
			t.Fatalf("%s withholds nothing:\n%s", b, o.String())
		}
		_ = data
	}
}

// A migration of 1,000 keys is killed in the middle; `keyrite resume` finishes it, every key
// moved exactly once, and the reconciliation shows all 1,000 matching.
func TestMigrationSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 1,000 keys")
	}
	const n = 1000
	store := t.TempDir()
	root := filepath.Join(t.TempDir(), "root")
	if code, stdout, stderr := keyrite(t, "", "rehearse", "--rehearsal-dir", store, "--out", root); code != 0 {
		t.Fatalf("rehearse: %s %s", stdout, stderr)
	}
	r, err := hsm.PrepareRehearsal(store)
	if err != nil {
		t.Fatal(err)
	}
	m, err := hsm.Open(hsm.SoftHSMModule)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.EnsureToken(m, "keyrite-target"); err != nil {
		t.Fatal(err)
	}
	label := tokenLabel(t, root)
	tok, _ := m.OpenToken(hsm.Selector{Label: label})
	pin, _ := r.PIN(label, hsm.User)
	if err := tok.Login(hsm.User, pin); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := tok.GenerateDEK(hsm.DEKSpec{Label: fmt.Sprintf("dek-%05d", i), ID: []byte(fmt.Sprint(i)), Extractable: true}); err != nil {
			t.Fatal(err)
		}
	}
	tok.Close()
	m.Close()

	dir := filepath.Join(t.TempDir(), "migration")
	flags := []string{"--rehearsal", "--rehearsal-dir", store, "--previous", root, "--target-token", "keyrite-target", "--yes"}
	cmd := keyriteProcess(append([]string{"run", filepath.Join("..", "testdata", "migrate-ceremony.yaml"), "--out", dir}, flags...)...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "transcript.jsonl"))
		if c := bytes.Count(b, []byte(`"event":"key.migrated"`)); c >= n/3 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the migration did not get a third of the way:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	killedAt := bytes.Count(mustRead(t, filepath.Join(dir, "transcript.jsonl")), []byte(`"event":"key.migrated"`))

	resume := keyriteProcess(append([]string{"resume", dir}, flags...)...)
	if out, err := resume.CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	data := mustRead(t, filepath.Join(dir, "transcript.jsonl"))
	seen := map[string]int{}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if i := bytes.Index(line, []byte(`"event":"key.migrated","data":{"id":"`)); i >= 0 {
			l := line[bytes.Index(line, []byte(`"label":"`))+9:]
			seen[string(l[:bytes.IndexByte(l, '"')])]++
		}
	}
	if len(seen) != n {
		t.Fatalf("%d keys recorded as moved, want %d (killed after %d)", len(seen), n, killedAt)
	}
	for l, c := range seen {
		if c != 1 {
			t.Fatalf("%s recorded %d times", l, c)
		}
	}
	csv := mustRead(t, filepath.Join(dir, "reconciliation.csv"))
	if c := bytes.Count(csv, []byte(",true\n")); c != n {
		t.Fatalf("reconciliation: %d matching, want %d", c, n)
	}
	if code, _, stderr := keyrite(t, "", "verify", dir); code != 0 {
		t.Fatal(stderr)
	}
	t.Logf("killed after %d keys; resumed and finished all %d", killedAt, n)
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
