package ceremony

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/hsm/hsmtest"
)

// The migration claims its labels on the target in bulk (hsm.LabelClaims), and still refuses
// to vouch for a key whose label another writer gave an object on the target while the key
// moved: the 4th key's label is taken by another session between its wrap on the source and
// its unwrap on the target. The moved copy is destroyed, the other writer's object left, the
// key never recorded as migrated, and the ceremony fails saying so; the keys that passed are
// recorded.
func TestMigrationRefusesALabelTakenWhileMoving(t *testing.T) {
	src := rootOn(t, "root-ceremony.yaml")
	makeDEKs(t, src.b, 10)
	target := freshToken(t)
	other := openLoggedIn(t, target) // another writer on the target token
	defer other.Close()
	dir := filepath.Join(t.TempDir(), "migration")
	const raced = "dek-00003" // keys move in label order
	wraps := 0
	racing := src.b
	racing.Module = hsmtest.WithFaults(src.b.Module, func(call string) error {
		if _, err := os.Stat(filepath.Join(dir, transcript.FileName)); err != nil || call != "WrapKey" {
			return nil
		}
		if wraps++; wraps == 4 {
			if _, err := other.GenerateDEK(hsm.DEKSpec{Label: raced, ID: []byte("other writer")}); err != nil {
				t.Errorf("the other writer: %v", err)
			}
		}
		return nil
	})
	err := start(t, loadTestScript(t, "migrate-ceremony.yaml"), dir, racing, &scriptedUI{}, Options{Previous: src.dir, Target: &target})
	if wraps < 4 {
		t.Fatalf("the migration wrapped %d keys: the race was never run (err %v)", wraps, err)
	}
	var dup *hsm.DuplicateLabelError
	if !errors.As(err, &dup) || dup.Label != raced || !strings.Contains(err.Error(), "the new key was destroyed") {
		t.Fatalf("err = %v, want the duplicate label %s reported", err, raced)
	}
	data, rerr := os.ReadFile(filepath.Join(dir, transcript.FileName))
	if rerr != nil {
		t.Fatal(rerr)
	}
	entries, perr := transcript.Parse(data)
	if perr != nil {
		t.Fatal(perr)
	}
	var recorded []string
	for _, e := range entries {
		if e.Event == transcript.EventKeyMigrated {
			var d map[string]string
			e.DecodeData(&d)
			recorded = append(recorded, d["label"])
		}
	}
	if len(recorded) != 9 || strings.Contains(strings.Join(recorded, ","), raced) {
		t.Fatalf("key.migrated for %v: want the 9 keys but %s", recorded, raced)
	}
	check := openLoggedIn(t, target) // the ceremony's logout ended the other writer's login
	defer check.Close()
	objs, oerr := check.Objects()
	if oerr != nil {
		t.Fatal(oerr)
	}
	var ids []string
	for _, o := range objs {
		if o.Label == raced {
			ids = append(ids, o.ID)
		}
	}
	if len(ids) != 1 || ids[0] != hex.EncodeToString([]byte("other writer")) {
		t.Fatalf("objects labelled %s on the target: IDs %v, want only the other writer's", raced, ids)
	}
}

// swapUI replaces keys on the tokens once the move has recorded every key, before the
// reconciliation: each listed key is destroyed and a different key made with its label and ID.
type swapUI struct {
	scriptedUI
	t    *testing.T
	swap map[*hsm.Token]string // token -> label of the key to replace
	done bool
}

func (u *swapUI) Progress(what string, done, total int) {
	if u.done || total == 0 || done != total || !strings.HasPrefix(what, "Moving") {
		return
	}
	u.done = true
	for tok, label := range u.swap {
		k, err := tok.FindSecretKey(label)
		if err == nil {
			err = k.Destroy()
		}
		if err == nil {
			_, err = tok.GenerateDEK(hsm.DEKSpec{Label: label, ID: k.ID})
		}
		if err != nil {
			u.t.Errorf("replace %s: %v", label, err)
		}
	}
}

// The reconciliation computes every check value again inside the tokens: a key another writer
// replaced after the move, with the same label and ID, on either token, is found different.
func TestReconciliationFindsAKeyReplacedAfterTheMove(t *testing.T) {
	src := rootOn(t, "root-ceremony.yaml")
	makeDEKs(t, src.b, 8)
	target := freshToken(t)
	onSrc, onTgt := openLoggedIn(t, src.b), openLoggedIn(t, target)
	defer onSrc.Close()
	defer onTgt.Close()
	ui := &swapUI{t: t, swap: map[*hsm.Token]string{onSrc: "dek-00005", onTgt: "dek-00002"}}
	dir := filepath.Join(t.TempDir(), "migration")
	err := start(t, loadTestScript(t, "migrate-ceremony.yaml"), dir, src.b, ui, Options{Previous: src.dir, Target: &target})
	if !ui.done {
		t.Fatalf("no key was replaced (err %v)", err)
	}
	if err == nil || !strings.Contains(err.Error(), "0 missing, 2 different") {
		t.Fatalf("err = %v, want the reconciliation to find the 2 replaced keys different", err)
	}
	csv, rerr := os.ReadFile(filepath.Join(dir, "reconciliation.csv"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(csv)), "\n")[1:] {
		replaced := strings.HasPrefix(line, "dek-00002,") || strings.HasPrefix(line, "dek-00005,")
		if strings.HasSuffix(line, ",true") == replaced {
			t.Errorf("reconciliation row %q", line)
		}
	}
}

// The reconciliation reuses no check value the move computed: on the source, two encryptions
// per key, the move's check value and the reconciliation's own (a handle that matches says
// nothing on a token that reuses the handles of destroyed objects).
func TestReconciliationComputesEveryCheckValueAgain(t *testing.T) {
	const n = 12
	src := rootOn(t, "root-ceremony.yaml")
	makeDEKs(t, src.b, n)
	target := freshToken(t)
	dir := filepath.Join(t.TempDir(), "migration")
	counted := src.b
	encryptions := 0
	counted.Module = hsmtest.WithFaults(src.b.Module, func(call string) error {
		if call == "EncryptInit" {
			encryptions++
		}
		return nil
	})
	if err := start(t, loadTestScript(t, "migrate-ceremony.yaml"), dir, counted, &scriptedUI{}, Options{Previous: src.dir, Target: &target}); err != nil {
		t.Fatal(err)
	}
	if encryptions != 2*n {
		t.Fatalf("%d encryptions on the source for %d keys moved and reconciled, want %d", encryptions, n, 2*n)
	}
}
