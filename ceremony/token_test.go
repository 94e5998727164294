package ceremony

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
	evid "github.com/keyrite/keyrite/evidence"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/hsm/hsmtest"
	"github.com/miekg/pkcs11"
)

var tokenLabelN int

// tokenLabel is a token label no other test in this process uses (the store is shared).
func tokenLabel(t *testing.T) string {
	tokenLabelN++
	return fmt.Sprintf("tok-%d-%d", os.Getpid()%100000, tokenLabelN)
}

// tokenScript is the example script of a token ceremony, for token label and with id.
func tokenScript(t *testing.T, name, id, label string) *Script {
	return edited(t, loadTestScript(t, name), func(s *Script) {
		s.ID = id
		switch {
		case s.TokenInit != nil:
			c := *s.TokenInit
			c.Label, s.TokenInit = label, &c
		case s.PINChange != nil:
			c := *s.PINChange
			c.Token, s.PINChange = label, &c
		case s.Decommission != nil:
			c := *s.Decommission
			c.Token, s.Decommission = label, &c
		}
	})
}

// storePIN is a rehearsal token's PIN as the store keeps it.
func storePIN(t *testing.T, label string, role hsm.Role) string {
	t.Helper()
	pin, err := store.PIN(label, role)
	if err != nil {
		t.Fatal(err)
	}
	return string(pin)
}

// logsIn reports whether role logs in to the token labelled label with pin.
func logsIn(t *testing.T, label string, role hsm.Role, pin string) bool {
	t.Helper()
	tok, err := module.OpenToken(hsm.Selector{Label: label})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	err = tok.Login(role, []byte(pin))
	if err != nil && !errors.Is(err, hsm.ErrPINIncorrect) {
		t.Fatal(err)
	}
	return err == nil
}

// assertNoPINs fails if any file under dir holds one of pins, PDF text included.
func assertNoPINs(t *testing.T, dir string, pins []string) {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext (poppler-utils, ./scripts/install-deps) is needed to read the reports' text")
	}
	files := 0
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		files++
		data, _ := os.ReadFile(p)
		texts := [][]byte{data}
		if bytes.HasPrefix(data, []byte("%PDF")) {
			out, err := exec.Command("pdftotext", "-raw", p, "-").Output()
			if err != nil {
				t.Fatalf("pdftotext %s: %v", p, err)
			}
			texts = append(texts, out)
		}
		for _, text := range texts {
			for _, pin := range pins {
				if pin == "" {
					t.Fatal("no PIN to look for")
				}
				if bytes.Contains(text, []byte(pin)) {
					t.Errorf("%s holds a PIN", p)
				}
			}
		}
		return nil
	})
	if files < 5 {
		t.Fatalf("only %d files under %s to scan", files, dir)
	}
}

// The three token ceremonies run on rehearsal tokens and verify: a token is initialised on the
// free slot, its user and Security Officer PINs change, and its decommission destroys every
// object (a key put there outside any ceremony included), re-initialises it and shows it empty;
// no PIN ever set or used appears in any transcript, report or bundle; the inventory shows the
// token's history.
func TestTokenCeremonies(t *testing.T) {
	tree := t.TempDir()
	rootDir := filepath.Join(tree, "1-root")
	b := freshToken(t)
	if err := start(t, loadTestScript(t, "root-ceremony.yaml"), rootDir, b, &scriptedUI{}, Options{AfterSeal: writeEvidence}); err != nil {
		t.Fatal(err)
	}
	label := tokenLabel(t)
	run := func(name, id, prev string, opt Options) string {
		t.Helper()
		dir := filepath.Join(tree, id)
		opt.Previous, opt.AfterSeal = prev, writeEvidence
		if err := start(t, tokenScript(t, name, id, label), dir, b, &scriptedUI{}, opt); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		bundleVerifies(t, dir)
		return dir
	}
	var pins []string
	initDir := run("token-init-ceremony.yaml", "2-init", rootDir, Options{})
	pins = append(pins, storePIN(t, label, hsm.SO), storePIN(t, label, hsm.User))
	ti := recordsOf(t, initDir, transcript.EventTokenInitialised)
	if len(ti) != 1 {
		t.Fatalf("%d token.initialised records", len(ti))
	}
	tok := ti[0]["token"].(map[string]any)
	if tok["label"] != label || tok["serial"] == "" || tok["model"] == "" || tok["manufacturer"] == "" || tok["firmware"] == "" ||
		len(ti[0]["mechanisms_sha256"].(string)) != 64 || len(ti[0]["objects"].([]any)) != 0 || ti[0]["pin_entry"] != transcript.PINFromRehearsalStore {
		t.Fatalf("token.initialised: %v", ti[0])
	}
	if !logsIn(t, label, hsm.User, pins[1]) || !logsIn(t, label, hsm.SO, pins[0]) {
		t.Fatal("the new token's PINs do not log in")
	}

	userDir := run("token-pin-change-ceremony.yaml", "3-user-pin", initDir, Options{})
	newUser := storePIN(t, label, hsm.User)
	if newUser == pins[1] || !logsIn(t, label, hsm.User, newUser) || logsIn(t, label, hsm.User, pins[1]) {
		t.Fatal("the user PIN did not change")
	}
	if c := recordsOf(t, userDir, transcript.EventPINChanged); len(c) != 1 || c[0]["role"] != "user" || c[0]["holder"] != "Amara Okafor" || c[0]["verified"] != true {
		t.Fatalf("token.pin-changed: %v", c)
	}
	soScript := edited(t, tokenScript(t, "token-pin-change-ceremony.yaml", "4-so-pin", label), func(s *Script) {
		s.Participants = append(s.Participants, Participant{Name: "Jean Dupont", Role: "security-officer"})
		c := *s.PINChange
		c.Role, c.Holder, s.PINChange = "security-officer", "Jean Dupont", &c
	})
	soDir := filepath.Join(tree, "4-so-pin")
	if err := start(t, soScript, soDir, b, &scriptedUI{}, Options{Previous: userDir, AfterSeal: writeEvidence}); err != nil {
		t.Fatal(err)
	}
	newSO := storePIN(t, label, hsm.SO)
	if newSO == pins[0] || !logsIn(t, label, hsm.SO, newSO) || logsIn(t, label, hsm.SO, pins[0]) {
		t.Fatal("the Security Officer PIN did not change")
	}
	pins = append(pins, newUser, newSO)

	// A key made outside any ceremony is on the token too: the decommission lists and destroys it.
	other, err := module.OpenToken(hsm.Selector{Label: label})
	if err != nil {
		t.Fatal(err)
	}
	other.Login(hsm.User, []byte(newUser))
	if _, err := other.GenerateKeyPair(hsm.KeySpec{Label: "stray-key", Algorithm: hsm.ECDSAP256}); err != nil {
		t.Fatal(err)
	}
	other.Close()
	decDir := run("token-decommission-ceremony.yaml", "5-decommission", soDir, Options{})
	pins = append(pins, storePIN(t, label, hsm.User))
	listed := recordsOf(t, decDir, transcript.EventTokenObjectsListed)
	if len(listed) != 1 || len(listed[0]["objects"].([]any)) != 2 || !strings.Contains(fmt.Sprint(listed[0]["objects"]), "spki_sha256") {
		t.Fatalf("token.objects-listed: %v", listed)
	}
	if nie := listed[0]["not_in_evidence"]; fmt.Sprint(nie) != "[stray-key]" {
		t.Errorf("the key made outside any ceremony is not named as such: %v", nie)
	}
	if d := recordsOf(t, decDir, transcript.EventTokenObjectDestroyed); len(d) != 2 {
		t.Fatalf("%d token.object-destroyed records, want 2", len(d))
	}
	done := recordsOf(t, decDir, transcript.EventTokenDecommissioned)
	if len(done) != 1 || done[0]["user_objects"] != float64(0) || done[0]["public_objects"] != float64(0) || done[0]["objects_destroyed"] != float64(2) {
		t.Fatalf("token.decommissioned: %v", done)
	}
	// Independently of the ceremony: the token holds nothing, as its user or in public.
	tok2, err := module.OpenToken(hsm.Selector{Label: label})
	if err != nil {
		t.Fatal(err)
	}
	defer tok2.Close()
	if n, err := tok2.Count(); err != nil || n != 0 {
		t.Fatalf("a public session sees %d objects (%v)", n, err)
	}
	if err := tok2.Login(hsm.User, []byte(pins[len(pins)-1])); err != nil {
		t.Fatal(err)
	}
	if n, err := tok2.Count(); err != nil || n != 0 {
		t.Fatalf("the user sees %d objects (%v)", n, err)
	}

	assertNoPINs(t, tree, pins)
	inv, err := evid.InventoryTree(tree, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	text := inv.String()
	for _, want := range []string{"initialised", "user PIN changed by Amara Okafor", "Security Officer PIN changed by Jean Dupont", "decommissioned"} {
		if !strings.Contains(text, want) {
			t.Errorf("the inventory lacks %q:\n%s", want, text)
		}
	}
}

// pinUI types PINs as a holder would at the masked prompt: each prompt containing a key gets
// the next of its answers.
type pinUI struct {
	scriptedUI
	mu      sync.Mutex
	answers map[string][]string
	prompts []string
}

func (u *pinUI) AskSecret(_ context.Context, prompt string) ([]byte, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.prompts = append(u.prompts, prompt)
	for k, list := range u.answers {
		if strings.Contains(prompt, k) && len(list) > 0 {
			u.answers[k] = list[1:]
			return []byte(list[0]), nil
		}
	}
	return nil, fmt.Errorf("no answer for %q", prompt)
}

// heldBinding is b as on a real HSM: the ceremony's token's PIN from a file (here the
// store), every other PIN typed by its holder at the UI's prompt.
func heldBinding(b Binding) Binding {
	b.Store, b.Rehearsal = nil, false
	return b
}

// A holder types PINs at the masked prompt: new PINs twice (a mismatch is asked again); a
// wrong old PIN changes nothing and closes the ceremony aborted and sealed, saying so.
func TestPINChangeByHolder(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	label := tokenLabel(t)
	initDir := filepath.Join(t.TempDir(), "init")
	ui := &pinUI{answers: map[string][]string{
		"new Security Officer PIN": {"so-secret-1", "so-secret-1"},
		"new user PIN":             {"user-secret-1", "user-secret-typo", "user-secret-1", "user-secret-1"},
	}}
	if err := start(t, tokenScript(t, "token-init-ceremony.yaml", "init", label), initDir, heldBinding(root.b), ui, Options{Previous: root.dir}); err != nil {
		t.Fatal(err)
	}
	if !logsIn(t, label, hsm.User, "user-secret-1") || !logsIn(t, label, hsm.SO, "so-secret-1") {
		t.Fatalf("the PINs the holders chose do not log in (prompts %q)", ui.prompts)
	}
	if !strings.Contains(strings.Join(ui.notes, "\n"), "differ") {
		t.Errorf("a mismatched second entry was not said: %q", ui.notes)
	}
	if ti := recordsOf(t, initDir, transcript.EventTokenInitialised); ti[0]["pin_entry"] != transcript.PINEnteredByHolder {
		t.Errorf("pin_entry %v", ti[0]["pin_entry"])
	}

	dir := filepath.Join(t.TempDir(), "wrong")
	ui = &pinUI{answers: map[string][]string{
		"current user PIN": {"not-the-pin"},
		"new user PIN":     {"user-secret-2", "user-secret-2"},
	}}
	err := start(t, tokenScript(t, "token-pin-change-ceremony.yaml", "wrong-old", label), dir, heldBinding(root.b), ui, Options{Previous: initDir})
	var ae *AbortedError
	if !errors.As(err, &ae) || ae.Sealed != nil || !errors.Is(err, hsm.ErrPINIncorrect) || !strings.Contains(err.Error(), "nothing on the token was changed") {
		t.Fatalf("a wrong old PIN: %v", err)
	}
	res := verified(t, dir)
	if ev := events(res); !strings.Contains(ev, transcript.EventAborted) || strings.Contains(ev, transcript.EventPINChanged) {
		t.Fatalf("events: %s", ev)
	}
	if !logsIn(t, label, hsm.User, "user-secret-1") || logsIn(t, label, hsm.User, "user-secret-2") {
		t.Fatal("a refused PIN change changed the PIN")
	}
	assertNoPINs(t, filepath.Dir(dir), []string{"not-the-pin", "user-secret-2"})
	assertNoPINs(t, filepath.Dir(initDir), []string{"so-secret-1", "user-secret-1", "user-secret-typo"})

	// The ceremony's own token: its user PIN changes and the ceremony still seals with it.
	own := edited(t, loadTestScript(t, "token-pin-change-ceremony.yaml"), func(s *Script) {
		s.ID = "own-user-pin"
		c := *s.PINChange
		c.Token, s.PINChange = "", &c
	})
	old := storePIN(t, root.b.Token.Label, hsm.User)
	ui = &pinUI{answers: map[string][]string{"current user PIN": {old}, "new user PIN": {"own-secret-1", "own-secret-1"}}}
	ownDir := filepath.Join(t.TempDir(), "own")
	if err := start(t, own, ownDir, heldBinding(root.b), ui, Options{Previous: root.dir}); err != nil {
		t.Fatal(err)
	}
	verified(t, ownDir)
	if !logsIn(t, root.b.Token.Label, hsm.User, "own-secret-1") {
		t.Fatal("the own token's user PIN did not change")
	}
	// Put the store's PIN back, for the other tests on this token's binding.
	tok, _ := module.OpenToken(root.b.Token)
	tok.Login(hsm.User, []byte("own-secret-1"))
	if err := tok.SetPIN([]byte("own-secret-1"), []byte(old)); err != nil {
		t.Fatal(err)
	}
	tok.Close()
}

// A decommission is refused before anything changes while a key's only recorded copy is on
// the token, naming it; an accept_loss_of naming no such key is refused too; with the loss
// accepted and its reason, every key is destroyed and the inventory shows them destroyed with
// the token.
func TestDecommissionRefusesOnlyCopy(t *testing.T) {
	tree := t.TempDir()
	a := freshToken(t)
	aDir := filepath.Join(tree, "a-root")
	if err := start(t, loadTestScript(t, "root-ceremony.yaml"), aDir, a, &scriptedUI{}, Options{}); err != nil {
		t.Fatal(err)
	}
	b := freshToken(t)
	bDir := filepath.Join(tree, "b-root")
	bRoot := edited(t, loadTestScript(t, "root-ceremony.yaml"), func(s *Script) { s.ID = "b-root" })
	if err := start(t, bRoot, bDir, b, &scriptedUI{}, Options{}); err != nil {
		t.Fatal(err)
	}
	bLabel := b.Token.Label
	dec := func(edit func(c *DecommissionConfig)) *Script {
		return edited(t, tokenScript(t, "token-decommission-ceremony.yaml", "decommission-b", bLabel), func(s *Script) {
			c := *s.Decommission
			edit(&c)
			s.Decommission = &c
		})
	}
	dir := filepath.Join(tree, "c-decommission")
	refusedBeforeHSM(t, b, dir, func(ui UI) error {
		return start(t, dec(func(*DecommissionConfig) {}), dir, a, ui, Options{Previous: aDir})
	}, `key "example-root-2026"`, `key "example-root-2026-transcript"`, "only recorded copy", "accept_loss_of")
	refusedBeforeHSM(t, b, dir, func(ui UI) error {
		return start(t, dec(func(c *DecommissionConfig) {
			c.AcceptLossOf, c.AcceptLossReason = []string{"example-root-2026", "example-root-2026-transcript", "example-root-2062"}, "a test hierarchy"
		}), dir, a, ui, Options{Previous: aDir})
	}, `"example-root-2062" names no key`)
	// Its own token is never decommissioned by a ceremony it seals.
	refusedBeforeHSM(t, a, dir, func(ui UI) error {
		return start(t, edited(t, dec(func(*DecommissionConfig) {}), func(s *Script) {
			c := *s.Decommission
			c.Token, s.Decommission = a.Token.Label, &c
		}), dir, a, ui, Options{Previous: aDir})
	}, "this ceremony's own token")

	accepted := dec(func(c *DecommissionConfig) {
		c.AcceptLossOf, c.AcceptLossReason = []string{"example-root-2026", "example-root-2026-transcript"}, "hierarchy B was a test and is retired"
	})
	// Another ceremony using token B now: refused before anything changes.
	busy, err := module.OpenToken(b.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := busy.Lock("ceremony other in /elsewhere"); err != nil {
		t.Fatal(err)
	}
	refusedBeforeHSM(t, b, dir, func(ui UI) error { return start(t, accepted, dir, a, ui, Options{Previous: aDir}) },
		"in use by another Keyrite ceremony", "ceremony other in /elsewhere")
	busy.Close()
	if err := start(t, accepted, dir, a, &scriptedUI{}, Options{Previous: aDir}); err != nil {
		t.Fatal(err)
	}
	verified(t, dir)
	if n := len(tokenObjects(t, b)); n != 0 {
		t.Fatalf("%d objects left on the decommissioned token", n)
	}
	inv, err := evid.InventoryTree(tree, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range inv.Keys {
		onB := false
		for _, c := range k.Copies {
			onB = onB || c.Token == b.Token.Serial || c.TokenLabel == bLabel
		}
		if onB && (k.State != evid.StateDestroyed || k.SetBy != "decommission-b") {
			t.Errorf("key %s on the decommissioned token: %s by %s", k.Label, k.State, k.SetBy)
		}
		if !onB && k.State != evid.StateActive {
			t.Errorf("key %s on token A: %s", k.Label, k.State)
		}
	}
}

// A decommission that destroyed the last recorded copy of a key the hierarchy's state tracks
// (here: one with a cryptoperiod) leaves it destroyed in the state the next ceremony inherits;
// a copy that was not the last does not. Keys the state does not track are not added: a label
// of another hierarchy's key must never stand for one of this hierarchy.
func TestDecommissionedLastCopyInHierarchyState(t *testing.T) {
	rec := func(event string, data any) transcript.Entry {
		b, _ := json.Marshal(data)
		return transcript.Entry{Record: transcript.Record{Event: event, Time: "2026-11-25T10:00:00Z", Data: b}}
	}
	for _, last := range []bool{false, true} {
		res := &transcript.Result{Entries: []transcript.Entry{
			rec(transcript.EventKeyGenerated, keyRecord{Label: "dek", SPKISHA256: "aa", CryptoperiodEnd: "2036-11-25T10:00:00Z"}),
			rec(transcript.EventTokenObjectDestroyed, transcript.TokenObjectDestroyed{TokenObject: transcript.TokenObject{Class: "private key", Label: "dek", SPKISHA256: "aa"}, LastCopy: last}),
		}}
		res.Opening.CeremonyID = "decommission"
		st := hierarchyStateOf(res)
		if k := st.key("dek", "aa"); k == nil || (k.State == keyDestroyed) != last {
			t.Errorf("last copy %v: %+v", last, k)
		}
		res.Entries = res.Entries[1:]
		if k := hierarchyStateOf(res).key("dek", "aa"); k != nil {
			t.Errorf("a key the state did not track was added: %+v", k)
		}
	}
}

// A token initialisation stopped by the token going away — before its user PIN was set, or
// after, before the new token was recorded — resumes unaided: the resumed step finds the
// token the interrupted one made, sets the user PIN if it was not, checks it empty, records
// it once and seals.
func TestTokenInitResumes(t *testing.T) {
	for _, c := range []struct {
		call       string
		nth        int
		userPINSet bool
	}{{"InitPIN", 1, false}, {"Login", 2, true}} { // Login 1 is the SO's, to set the user PIN
		at := c.call
		t.Run(at, func(t *testing.T) {
			root := rootOn(t, "root-ceremony.yaml")
			label := tokenLabel(t)
			dir := filepath.Join(t.TempDir(), "init")
			var mu sync.Mutex
			initialised, seen := false, 0
			faulty := root.b
			faulty.Module = hsmtest.WithFaults(root.b.Module, func(call string) error {
				mu.Lock()
				defer mu.Unlock()
				if call == "InitToken" {
					initialised = true
				}
				if initialised && call == at {
					if seen++; seen == c.nth {
						return hsmtest.ErrDeviceRemoved
					}
				}
				return nil
			})
			err := start(t, tokenScript(t, "token-init-ceremony.yaml", "init-"+at, label), dir, faulty, &scriptedUI{}, Options{Previous: root.dir})
			if !errors.Is(err, hsm.ErrTokenNotPresent) {
				t.Fatalf("the stopped initialisation: %v", err)
			}
			if ti, err := module.Find(hsm.Selector{Label: label}); err != nil || ti.UserPINSet != c.userPINSet {
				t.Fatalf("before the resume: %+v %v", ti, err)
			}
			if err := resume(t, dir, root.b, &scriptedUI{}, Options{Previous: root.dir}); err != nil {
				t.Fatal(err)
			}
			res := verified(t, dir)
			if n := strings.Count(events(res), transcript.EventTokenInitialised); n != 1 {
				t.Fatalf("%d token.initialised records: %s", n, events(res))
			}
			if !logsIn(t, label, hsm.User, storePIN(t, label, hsm.User)) {
				t.Fatal("the resumed token's user PIN does not log in")
			}
		})
	}
}

// A module that refuses C_InitToken (many network HSMs initialise partitions with their own
// tools) ends the ceremony aborted and sealed with the slot left as it was; the rehearsal
// store forgets the PINs it kept, so the same initialisation runs again.
func TestTokenInitRefusedByModule(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	label := tokenLabel(t)
	faulty := root.b
	faulty.Module = hsmtest.WithFaults(root.b.Module, func(call string) error {
		if call == "InitToken" {
			return pkcs11.Error(pkcs11.CKR_FUNCTION_NOT_SUPPORTED)
		}
		return nil
	})
	dir := filepath.Join(t.TempDir(), "refused")
	err := start(t, tokenScript(t, "token-init-ceremony.yaml", "refused", label), dir, faulty, &scriptedUI{}, Options{Previous: root.dir})
	var ae *AbortedError
	if !errors.As(err, &ae) || ae.Sealed != nil || !strings.Contains(err.Error(), "vendor's tools") {
		t.Fatalf("a refused C_InitToken: %v", err)
	}
	verified(t, dir)
	if _, err := module.Find(hsm.Selector{Label: label}); err == nil {
		t.Fatal("a token carries the label after a refused initialisation")
	}
	mustRunScript(t, tokenScript(t, "token-init-ceremony.yaml", "again", label), root.b, Options{Previous: root.dir})
}

// A wrong Security Officer PIN stops a decommission before anything is destroyed: the
// ceremony closes aborted and sealed, and every object is still on the token.
func TestDecommissionWrongSOPINDestroysNothing(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	label := tokenLabel(t)
	initDir := mustRunScript(t, tokenScript(t, "token-init-ceremony.yaml", "init", label), root.b, Options{Previous: root.dir})
	user := storePIN(t, label, hsm.User)
	tok, err := module.OpenToken(hsm.Selector{Label: label})
	if err != nil {
		t.Fatal(err)
	}
	tok.Login(hsm.User, []byte(user))
	if _, err := tok.GenerateKeyPair(hsm.KeySpec{Label: "kept-key", Algorithm: hsm.ECDSAP256}); err != nil {
		t.Fatal(err)
	}
	tok.Close()
	ui := &pinUI{answers: map[string][]string{
		"current user PIN":             {user, user},
		"current Security Officer PIN": {"not-the-so-pin"},
	}}
	dir := filepath.Join(t.TempDir(), "decommission")
	err = start(t, tokenScript(t, "token-decommission-ceremony.yaml", "decommission", label), dir, heldBinding(root.b), ui, Options{Previous: initDir})
	var ae *AbortedError
	if !errors.As(err, &ae) || ae.Sealed != nil || !errors.Is(err, hsm.ErrPINIncorrect) || ae.Step != "destroy-token-objects" {
		t.Fatalf("a wrong SO PIN: %v", err)
	}
	if ev := events(verified(t, dir)); strings.Contains(ev, transcript.EventTokenObjectDestroyed) {
		t.Fatalf("objects destroyed despite a wrong SO PIN: %s", ev)
	}
	tok, err = module.OpenToken(hsm.Selector{Label: label})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	tok.Login(hsm.User, []byte(user))
	if n, err := tok.Count(); err != nil || n != 2 {
		t.Fatalf("%d objects on the token after the refusal (%v), want 2", n, err)
	}
}
