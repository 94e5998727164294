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
