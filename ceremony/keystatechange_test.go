package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	evid "github.com/keyrite/keyrite/evidence"
)

// A root declared compromised, under witness with the reason, refuses to sign an intermediate
// or a CRL before the HSM is touched (the token's objects unchanged), naming its state and the
// ceremony that set it; it is never reactivated; the inventory shows it compromised by that
// ceremony.
func TestCompromisedKeyRefusesToSign(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	state := mustRun(t, "key-state-ceremony.yaml", root.b, Options{Previous: root.dir})
	data, _ := os.ReadFile(filepath.Join(state, "transcript.jsonl"))
	for _, want := range []string{`"event":"key.identified"`, `"event":"key.state"`, `"state":"compromised"`, `"reason":"the HSM's audit log shows`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("transcript lacks %s", want)
		}
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := writeCSR(t, key, "Example Issuing CA 2026")
	dir := filepath.Join(t.TempDir(), "intermediate")
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, loadTestScript(t, "sign-intermediate-ceremony.yaml"), dir, root.b, ui, Options{Previous: state, CSR: csr})
	}, "intermediate.root_key", `"example-root-2026" is compromised`, "example-root-2026-compromised", "audit log")
	dir = filepath.Join(t.TempDir(), "crl")
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, loadTestScript(t, "sign-crl-ceremony.yaml"), dir, root.b, ui, Options{Previous: state})
	}, "crl.root_key", `"example-root-2026" is compromised`)
	// A compromised key is never active again.
	again := edited(t, loadTestScript(t, "key-state-ceremony.yaml"), func(s *Script) {
		s.ID, s.KeyState.State, s.KeyState.Reason = "reactivate", "reactivated", "found"
	})
	dir = filepath.Join(t.TempDir(), "again")
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, again, dir, root.b, ui, Options{Previous: state})
	}, "key_state.state", "never becomes active again")

	tree := t.TempDir()
	os.Rename(root.dir, filepath.Join(tree, "1-root"))
	os.Rename(state, filepath.Join(tree, "2-state"))
	inv, err := evid.InventoryTree(tree, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range inv.Keys {
		if k.Label == "example-root-2026" {
			found = true
			if k.State != "compromised" || k.SetBy != "example-root-2026-compromised" || len(inv.Unverified) != 0 {
				t.Fatalf("inventory: %+v\n%s", k, inv)
			}
		}
	}
	if !found {
		t.Fatalf("no root in the inventory:\n%s", inv)
	}
}

// A suspended root refuses to sign; reactivated, it signs again.
func TestSuspendedKeyIsReactivated(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	suspend := edited(t, loadTestScript(t, "key-state-ceremony.yaml"), func(s *Script) {
		s.ID, s.KeyState.State, s.KeyState.Reason = "suspend", "suspended", "the HSM is under investigation"
	})
	suspended := mustRunScript(t, suspend, root.b, Options{Previous: root.dir})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := writeCSR(t, key, "Example Issuing CA 2026")
	dir := filepath.Join(t.TempDir(), "intermediate")
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, loadTestScript(t, "sign-intermediate-ceremony.yaml"), dir, root.b, ui, Options{Previous: suspended, CSR: csr})
	}, `"example-root-2026" is suspended`, "suspend: the HSM is under investigation")
	reactivate := edited(t, suspend, func(s *Script) {
		s.ID, s.KeyState.State, s.KeyState.Reason = "reactivate", "reactivated", "the investigation found nothing"
	})
	active := mustRunScript(t, reactivate, root.b, Options{Previous: suspended})
	inter := mustRun(t, "sign-intermediate-ceremony.yaml", root.b, Options{Previous: active, CSR: csr})

	// The inventory shows the root active again, and the intermediate it signed as a use.
	tree := t.TempDir()
	for i, d := range []string{root.dir, suspended, active, inter} {
		os.MkdirAll(filepath.Join(tree, fmt.Sprint(i)), 0o755)
		if err := os.Rename(d, filepath.Join(tree, fmt.Sprint(i), filepath.Base(d))); err != nil {
			t.Fatal(err)
		}
	}
	inv, err := evid.InventoryTree(tree, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range inv.Keys {
		if k.Label != "example-root-2026" {
			continue
		}
		var uses []string
		for _, e := range k.Events {
			uses = append(uses, e.What)
		}
		all := strings.Join(uses, "\n")
		if k.State != "active" || !strings.Contains(all, "now suspended: the HSM is under investigation") || !strings.Contains(all, "now active: the investigation found nothing") || !strings.Contains(all, "signed certificate intermediate") {
			t.Fatalf("root %s, uses:\n%s", k.State, all)
		}
		return
	}
	t.Fatalf("no root in the inventory:\n%s", inv)
}

func TestKeyStateScriptValidation(t *testing.T) {
	src, _ := os.ReadFile(filepath.Join("..", "testdata", "key-state-ceremony.yaml"))
	for _, c := range []struct{ from, to, want string }{
		{"state: compromised", "state: lost", "not a state change"},
		{"reason: the HSM's audit log shows a signing operation no ceremony recorded", "reason: ' '", "say why"},
		{"  - {name: Jean Dupont, role: security-officer}\n", "", "security-officer"},
	} {
		if _, err := ParseScript("s.yaml", []byte(strings.Replace(string(src), c.from, c.to, 1))); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v", c.to, err)
		}
	}
}

// A root whose cryptoperiod (key.cryptoperiod in its script) has ended is flagged at the start
// of the next ceremony — told to the room and recorded in the pre-flight's record — and in the
// inventory; a cryptoperiod that is not a number of years, months or days is refused.
func TestOverdueCryptoperiodIsFlagged(t *testing.T) {
	s := edited(t, loadTestScript(t, "root-ceremony.yaml"), func(s *Script) { s.Key.Cryptoperiod = "1d" })
	b := freshToken(t)
	rootDir := filepath.Join(t.TempDir(), "root")
	past := func() time.Time { return time.Now().Add(-72 * time.Hour) }
	if err := start(t, s, rootDir, b, &scriptedUI{}, Options{Clock: past}); err != nil {
		t.Fatal(err)
	}
	ui := &scriptedUI{}
	crl := filepath.Join(t.TempDir(), "crl")
	if err := start(t, loadTestScript(t, "sign-crl-ceremony.yaml"), crl, b, ui, Options{Previous: rootDir}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(crl, "transcript.jsonl"))
	if !strings.Contains(string(data), `OVERDUE: the cryptoperiod of key \"example-root-2026\" ended`) {
		t.Fatalf("the pre-flight record does not flag the overdue root:\n%s", data)
	}
	if !strings.Contains(strings.Join(ui.notes, "\n"), "OVERDUE") {
		t.Errorf("the room was not told: %q", ui.notes)
	}
	inv, err := evid.InventoryTree(filepath.Dir(rootDir), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if k := inv.Keys[0]; k.Label != "example-root-2026" || !k.Overdue || !strings.Contains(inv.String(), "CRYPTOPERIOD OVERDUE") {
		t.Fatalf("inventory:\n%s", inv)
	}
	src, _ := os.ReadFile(filepath.Join("..", "testdata", "root-ceremony.yaml"))
	bad := strings.Replace(string(src), "  backup: false\n", "  backup: false\n  cryptoperiod: 10 years\n", 1)
	if _, err := ParseScript("s.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "key.cryptoperiod") {
		t.Fatalf("a bad cryptoperiod: %v", err)
	}
}
