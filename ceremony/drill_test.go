package ceremony

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
	evid "github.com/keyrite/keyrite/evidence"
)

// A drill: every custodian proves possession, one by one, checked against the commitments;
// nothing is combined, nothing on the HSM changes, and the sealed transcript says who proved
// possession and when.
func TestDrill(t *testing.T) {
	backup, holders, source := backedUp(t, nil)
	before := tokenObjects(t, source)
	dir := filepath.Join(t.TempDir(), "drill")
	if err := start(t, loadTestScript(t, "drill-ceremony.yaml"), dir, source, &scriptedUI{shares: holders.shares}, Options{Previous: backup}); err != nil {
		t.Fatal(err)
	}
	res := verified(t, dir)
	if after := tokenObjects(t, source); !reflect.DeepEqual(before, after) {
		t.Fatalf("the drill changed the token:\nbefore %v\nafter  %v", before, after)
	}
	var proven []string
	var result transcript.DrillResult
	for _, e := range res.Entries {
		if strings.HasPrefix(e.Event, "kek.") {
			t.Fatalf("the drill touched a backup key: %s", e.Event)
		}
		switch e.Event {
		case transcript.EventShareProven:
			var d transcript.ShareProof
			e.DecodeData(&d)
			if e.Time == "" || d.Bag == "" {
				t.Fatalf("record %d: no time or new bag", e.Seq)
			}
			proven = append(proven, fmt.Sprintf("%s:%d", d.Custodian, d.Number))
		case transcript.EventDrillResult:
			e.DecodeData(&result)
		}
	}
	if len(proven) != 5 || proven[1] != "Χριστίνα Παπαδοπούλου:2" {
		t.Fatalf("proven: %v", proven)
	}
	if !result.Healthy || len(result.Proven) != 5 || result.Minimum != 3 {
		t.Fatalf("drill result: %+v", result)
	}
	drills := filepath.Join(t.TempDir(), "hierarchy")
	os.Mkdir(drills, 0o755)
	os.Rename(backup, filepath.Join(drills, "backup"))
	os.Rename(dir, filepath.Join(drills, "drill"))
	if inv := inventoryOf(t, drills); !strings.Contains(inv, "quorum drill of the backup of example-root-2026: healthy: 5 custodians proved possession") {
		t.Fatalf("the inventory does not show the drill:\n%s", inv)
	}
}

// inventoryOf is `keyrite inventory DIR`'s text for the ceremonies in dir.
func inventoryOf(t *testing.T, dir string) string {
	t.Helper()
	folders, err := transcript.VerifyTree(dir, transcript.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return evid.Inventory(folders).String()
}

// A share typed by the wrong custodian is refused naming both; too few proofs leave the quorum
// "at risk", which is sealed as the drill's finding, not hidden as a failure.
func TestDrillFindsQuorumAtRisk(t *testing.T) {
	backup, holders, source := backedUp(t, nil)
	held := copyMap(holders.shares)
	held[custodians[0]] = holders.shares[custodians[1]] // Łukasz brings Χριστίνα's sheet
	delete(held, custodians[2])
	delete(held, custodians[3])
	ui := &scriptedUI{shares: held}
	dir := filepath.Join(t.TempDir(), "drill")
	if err := start(t, loadTestScript(t, "drill-ceremony.yaml"), dir, source, ui, Options{Previous: backup}); err != nil {
		t.Fatal(err)
	}
	if r := strings.Join(ui.refused, "\n"); !strings.Contains(r, "it was handed to Χριστίνα Παπαδοπούλου, and Łukasz Wróbel typed it") {
		t.Fatalf("refusals: %s", r)
	}
	var result transcript.DrillResult
	for _, e := range verified(t, dir).Entries {
		if e.Event == transcript.EventDrillResult {
			e.DecodeData(&result)
		}
	}
	if result.Healthy || !strings.Contains(result.Verdict, "at risk: only 2") {
		t.Fatalf("drill result: %+v", result)
	}
}

// A backup made before commitments cannot be drilled: refused before the HSM is touched.
func TestDrillNeedsCommitments(t *testing.T) {
	recordCommitments = false
	backup, holders, source := backedUp(t, nil)
	recordCommitments = true
	dir := filepath.Join(t.TempDir(), "drill")
	err := start(t, loadTestScript(t, "drill-ceremony.yaml"), dir, source, &scriptedUI{shares: holders.shares}, Options{Previous: backup})
	if err == nil || !strings.Contains(err.Error(), "recorded no share commitments") {
		t.Fatalf("err = %v", err)
	}
}
