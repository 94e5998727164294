package ceremony

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/quorum"
	"go.yaml.in/yaml/v3"
)

func loadTestScript(t testing.TB, name string) *Script {
	t.Helper()
	s, err := LoadScript(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// edited re-encodes a script after edit changes it, as a person editing the YAML would.
func edited(t *testing.T, s *Script, edit func(*Script)) *Script {
	t.Helper()
	c := *s
	c.Participants = append([]Participant(nil), s.Participants...)
	edit(&c)
	src, err := yaml.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ParseScript("edited.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// restoreBy is the restore script with exactly these custodians present.
func restoreBy(t *testing.T, custodians ...string) *Script {
	return edited(t, loadTestScript(t, "restore-ceremony.yaml"), func(s *Script) {
		var ps []Participant
		for _, p := range s.Participants {
			if p.Role != "custodian" {
				ps = append(ps, p)
			}
		}
		for _, c := range custodians {
			ps = append(ps, Participant{Name: c, Role: "custodian"})
		}
		s.Participants = ps
	})
}

var custodians = []string{"Łukasz Wróbel", "Χριστίνα Παπαδοπούλου", "Aoife Ní Bhriain", "Mateo García", "Sanna Virtanen"}

// backedUp runs the 3-of-5 root and backup ceremony and returns its folder and the custodians.
func backedUp(t *testing.T, edit func(*Script)) (string, *scriptedUI, Binding) {
	t.Helper()
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "backup")
	s := loadTestScript(t, "root-quorum-ceremony.yaml")
	if edit != nil {
		s = edited(t, s, edit)
	}
	ui := &scriptedUI{}
	if err := start(t, s, dir, b, ui, Options{}); err != nil {
		t.Fatal(err)
	}
	if len(ui.shares) != 5 {
		t.Fatalf("%d shares handed out", len(ui.shares))
	}
	return dir, ui, b
}

func restoredSPKI(t *testing.T, dir string) string {
	res := verified(t, dir)
	for _, e := range res.Entries {
		if e.Event == "key.restored" {
			var k keyRecord
			e.DecodeData(&k)
			return k.SPKISHA256
		}
	}
	t.Fatal("no key.restored record")
	return ""
}

func TestEveryThreeOfFiveRestore(t *testing.T) {
	backup, holders, _ := backedUp(t, nil)
	res := verified(t, backup)
	meta := readMeta(t, backup)
	n := 0
	for i := 0; i < 5; i++ {
		for j := i + 1; j < 5; j++ {
			for k := j + 1; k < 5; k++ {
				ui := &scriptedUI{shares: holders.shares}
				dir := filepath.Join(t.TempDir(), "restore")
				if err := start(t, restoreBy(t, custodians[i], custodians[j], custodians[k]), dir, freshToken(t), ui, Options{Previous: backup}); err != nil {
					t.Fatalf("restore with %s, %s, %s: %v", custodians[i], custodians[j], custodians[k], err)
				}
				if got := restoredSPKI(t, dir); got != meta.SPKISHA256 {
					t.Fatalf("restored fingerprint %s, original %s", got, meta.SPKISHA256)
				}
				r := verified(t, dir)
				if r.Opening.Previous == nil || r.Opening.Previous.Checkpoint != res.Seal.Text {
					t.Fatal("the restore is not chained to the backup's seal")
				}
				if r.RootSPKI != res.RootSPKI {
					t.Fatal("the restore's signer does not chain to the same root")
				}
				n++
			}
		}
	}
	if n != 10 {
		t.Fatalf("%d subsets", n)
	}
}

func readMeta(t *testing.T, dir string) BackupMeta {
	t.Helper()
	var m BackupMeta
	b, err := os.ReadFile(filepath.Join(dir, "backup", "example-root-2026.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func tokenObjects(t *testing.T, b Binding) []hsm.Object {
	t.Helper()
	tok := openLoggedIn(t, b)
	defer tok.Close()
	objs, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// Each bad input is refused with its own message before anything is created on the target.
func TestRestoreRefusesBadInput(t *testing.T) {
	backup, holders, _ := backedUp(t, nil)
	// Shares of other splits: another ceremony, the same ceremony ID split 2-of-5, and the same
	// ceremony ID and threshold but another KEK (a second run of the same script elsewhere).
	_, foreign, _ := backedUp(t, func(s *Script) { s.ID = "another-ceremony" })
	_, twoOfFive, _ := backedUp(t, func(s *Script) { s.Backup = &BackupConfig{Threshold: 2, LossContact: s.Backup.LossContact} })
	_, otherKEK, _ := backedUp(t, nil)
	a, b, c := custodians[0], custodians[1], custodians[2]
	typo := func(code string) string {
		g := strings.Fields(code)
		r := []rune(g[6])
		r[1] = map[bool]rune{true: 'X', false: 'Y'}[r[1] != 'X']
		g[6] = string(r)
		return strings.Join(g, " ")
	}
	tests := []struct {
		name      string
		present   []string
		typeFirst map[string][]string
		own       map[string]string // replaces what a custodian holds
		want      string
		wantErr   error
	}{
		{"mistyped symbol, corrected", []string{a, b, c}, map[string][]string{b: {typo(holders.shares[b])}}, nil, "group 7", nil},
		{"share from another ceremony", []string{a, b, c}, nil, map[string]string{b: foreign.shares[b]}, "another ceremony", quorum.ErrTooFew},
		{"duplicate share", []string{a, b, c}, nil, map[string]string{b: holders.shares[a]}, "already entered", quorum.ErrTooFew},
		{"too few custodians", []string{a, b}, nil, nil, "", quorum.ErrTooFew},
		{"share with a different threshold", []string{a, b, c}, nil, map[string]string{c: twoOfFive.shares[c]}, "different split", quorum.ErrTooFew},
		// Refused by its commitment as it is typed, naming the share, not only by the KCV.
		{"share of another split with the same ceremony ID", []string{a, b, c}, nil, map[string]string{c: otherKEK.shares[c]}, "share 3: share does not match the commitment recorded at the split of ceremony \"example-root-2026\"", quorum.ErrTooFew},
		{"share of another custodian", []string{a, b, c}, nil, map[string]string{c: holders.shares[custodians[3]]}, "share 4: share belongs to another custodian: it was handed to Mateo García, and Aoife Ní Bhriain typed it", quorum.ErrTooFew},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			held := map[string]string{}
			for k, v := range holders.shares {
				held[k] = v
			}
			for k, v := range tc.own {
				held[k] = v
			}
			ui := &scriptedUI{shares: held, typeFirst: tc.typeFirst}
			target := freshToken(t)
			dir := filepath.Join(t.TempDir(), "restore")
			err := start(t, restoreBy(t, tc.present...), dir, target, ui, Options{Previous: backup})
			if tc.wantErr == nil && err != nil {
				t.Fatalf("restore: %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.want != "" && !strings.Contains(strings.Join(ui.refused, "\n"), tc.want) {
				t.Fatalf("the custodian was not told %q; refusals: %q", tc.want, ui.refused)
			}
			if tc.wantErr != nil {
				if objs := tokenObjects(t, target); len(objs) != 0 {
					t.Fatalf("the refused restore left %v on the target", objs)
				}
			}
		})
	}
}

func TestRestoreRefusesDamagedBackupOrTakenLabel(t *testing.T) {
	backup, holders, _ := backedUp(t, nil)
	blob := filepath.Join(backup, "backup", "example-root-2026.wrapped")
	orig, _ := os.ReadFile(blob)
	for name, damage := range map[string][]byte{"truncated": orig[:len(orig)-8], "corrupt": append([]byte{orig[0] ^ 1}, orig[1:]...)} {
		t.Run(name, func(t *testing.T) {
			os.WriteFile(blob, damage, 0o644)
			defer os.WriteFile(blob, orig, 0o644)
			target := freshToken(t)
			dir := filepath.Join(t.TempDir(), "restore")
			err := start(t, restoreBy(t, custodians[:3]...), dir, target, &scriptedUI{shares: holders.shares}, Options{Previous: backup})
			if err == nil || !strings.Contains(err.Error(), "example-root-2026.wrapped") {
				t.Fatalf("err = %v", err)
			}
			if _, serr := os.Stat(dir); !os.IsNotExist(serr) || len(tokenObjects(t, target)) != 0 {
				t.Fatal("a refused restore left a trace")
			}
		})
	}
	t.Run("label taken on the target", func(t *testing.T) {
		target := freshToken(t)
		tok := openLoggedIn(t, target)
		tok.GenerateKeyPair(hsm.KeySpec{Label: "example-root-2026", Algorithm: hsm.ECDSAP256})
		tok.Close()
		err := start(t, restoreBy(t, custodians[:3]...), filepath.Join(t.TempDir(), "r"), target, &scriptedUI{shares: holders.shares}, Options{Previous: backup})
		if err == nil || !strings.Contains(err.Error(), `already holds a key labelled "example-root-2026"`) {
			t.Fatalf("err = %v", err)
		}
		if n := len(tokenObjects(t, target)); n != 2 {
			t.Fatalf("target has %d objects, want the 2 it had", n)
		}
	})
}

// After a reshare, the new shares restore the key and the old ones open nothing; the old
// wrapped key is not carried forward, the old sheets and media are recorded destroyed, and a
// restore from the old backup with old shares is refused unless it is declared disaster
// recovery, which is recorded as a deviation.
func TestReshareRetiresOldSplit(t *testing.T) {
	backup, holders, source := backedUp(t, nil)
	ui := &scriptedUI{shares: copyMap(holders.shares)}
	reshare := filepath.Join(filepath.Dir(backup), "reshare") // beside the backup, in its evidence root
	if err := start(t, loadTestScript(t, "reshare-ceremony.yaml"), reshare, source, ui, Options{Previous: backup}); err != nil {
		t.Fatal(err)
	}
	res := verified(t, reshare)
	if wrapped, _ := filepath.Glob(filepath.Join(reshare, "previous", "backup", "*.wrapped")); len(wrapped) != 0 {
		t.Fatalf("the reshare carried the old wrapped key forward: %v", wrapped)
	}
	if n := strings.Count(events(res), transcript.EventShareDestroyed+" "); n != 5 || !strings.Contains(events(res), transcript.EventBackupRetired) {
		t.Fatalf("%d old sheets recorded destroyed; events: %s", n, events(res))
	}
	if inv := inventoryOf(t, filepath.Dir(backup)); !strings.Contains(inv, "backup of example-root-2026 retired") {
		t.Fatalf("the inventory does not show the old backup retired:\n%s", inv)
	}
	newHolders := []string{"Łukasz Wróbel", "Aoife Ní Bhriain", "Nour El-Amin"}
	if ui.shares["Nour El-Amin"] == "" || ui.shares["Łukasz Wróbel"] == holders.shares["Łukasz Wróbel"] {
		t.Fatal("the new custodians did not receive new shares")
	}
	// 2 of the 3 new shares restore the key.
	restore := func(t *testing.T, prev string, s *Script, shares map[string]string) (string, error) {
		dir := filepath.Join(t.TempDir(), "restore")
		return dir, start(t, s, dir, freshToken(t), &scriptedUI{shares: shares}, Options{Previous: prev})
	}
	if _, err := restore(t, reshare, restoreBy(t, newHolders[1], newHolders[2]), ui.shares); err != nil {
		t.Fatalf("restore with new shares: %v", err)
	}
	// Three old shares, enough for the old backup, open nothing in the new one.
	if _, err := restore(t, reshare, restoreBy(t, custodians[0], custodians[3], custodians[4]), holders.shares); !errors.Is(err, quorum.ErrTooFew) {
		t.Fatalf("restore of the new backup with old shares: %v", err)
	}
	// The old backup with the old shares: refused before anything happens.
	target := freshToken(t)
	err := start(t, restoreBy(t, custodians[:3]...), filepath.Join(t.TempDir(), "r"), target, &scriptedUI{shares: holders.shares}, Options{Previous: backup})
	if err == nil || !strings.Contains(err.Error(), "was retired by reshare example-root-2026-reshare-1") || !strings.Contains(err.Error(), "restore.disaster_recovery") {
		t.Fatalf("restore from the retired backup: %v", err)
	}
	if objs := tokenObjects(t, target); len(objs) != 0 {
		t.Fatalf("the refused restore left %v on the target", objs)
	}
	// Declared disaster recovery, it goes ahead, witnessed and recorded as a deviation.
	dr := edited(t, restoreBy(t, custodians[:3]...), func(s *Script) {
		r := *s.Restore
		r.DisasterRecovery = "the 2027 backup media were lost in the fire at site B (incident 4711)"
		s.Restore = &r
	})
	dir, err := restore(t, backup, dr, holders.shares)
	if err != nil {
		t.Fatalf("disaster-recovery restore: %v", err)
	}
	if ev := events(verified(t, dir)); !strings.Contains(ev, transcript.EventRetiredOverride) {
		t.Fatalf("the override is not recorded: %s", ev)
	}
	// Nor drilled, nor reshared again.
	err = start(t, loadTestScript(t, "drill-ceremony.yaml"), filepath.Join(t.TempDir(), "drill"), source, &scriptedUI{shares: holders.shares}, Options{Previous: backup})
	if err == nil || !strings.Contains(err.Error(), "was retired") {
		t.Fatalf("drill of a retired backup: %v", err)
	}
	err = start(t, loadTestScript(t, "reshare-ceremony.yaml"), filepath.Join(t.TempDir(), "again"), source, &scriptedUI{shares: holders.shares}, Options{Previous: backup})
	if err == nil || !strings.Contains(err.Error(), "was retired") {
		t.Fatalf("reshare of a retired backup: %v", err)
	}
	// Combined directly against the new backup, they are another ceremony's shares.
	meta := readMeta(t, reshare)
	var old []*quorum.Share
	for _, c := range custodians[:3] {
		s, _ := quorum.ParseCode(holders.shares[c])
		old = append(old, s)
	}
	e := quorum.Expect{CeremonyID: meta.CeremonyID, Threshold: meta.Threshold, Total: meta.Shares, KCV: meta.KEKKCV}
	if _, err := e.Combine(old); !errors.Is(err, quorum.ErrOtherCeremony) {
		t.Fatalf("old shares against the new backup: %v", err)
	}
}

// No share code and no KEK (hex or base64) appears in any file of the ceremonies but the share
// sheets, in the temp directory, or in anything shown on screen outside RevealShare.
func TestSharesAndKEKNeverLeak(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	backup, holders, _ := backedUp(t, nil)
	ui := &scriptedUI{shares: holders.shares}
	restore := filepath.Join(t.TempDir(), "restore")
	if err := start(t, restoreBy(t, custodians[:3]...), restore, freshToken(t), ui, Options{Previous: backup}); err != nil {
		t.Fatal(err)
	}
	meta := readMeta(t, backup)
	var shares []*quorum.Share
	var secrets []string
	for _, c := range custodians {
		code := holders.shares[c]
		s, _ := quorum.ParseCode(code)
		shares = append(shares, s)
		secrets = append(secrets, code, strings.ReplaceAll(code, " ", ""), strings.Fields(code)[5]+" "+strings.Fields(code)[6],
			hex.EncodeToString(s.Data), base64.StdEncoding.EncodeToString(s.Data))
	}
	kek, err := quorum.Expect{CeremonyID: meta.CeremonyID, Threshold: 3, Total: 5, KCV: meta.KEKKCV}.Combine(shares[:3])
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, hex.EncodeToString(kek), strings.ToUpper(hex.EncodeToString(kek)), base64.StdEncoding.EncodeToString(kek), base64.RawURLEncoding.EncodeToString(kek))
	scan := func(what string, data []byte) {
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("a secret appears in %s", what)
			}
		}
	}
	sheetDir := sheetsOf(backup)
	for _, root := range []string{backup, restore, tmp} {
		filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.IsDir() && p == sheetDir {
				return filepath.SkipDir // the custodians' media, not evidence and not a temp file
			}
			if err == nil && !fi.IsDir() {
				data, _ := os.ReadFile(p)
				scan(p, data)
			}
			return nil
		})
	}
	scan("the notes shown on screen", []byte(strings.Join(append(ui.notes, holders.notes...), "\n")))
	// The share sheets exist, one per custodian, and each holds only its own share.
	sheets, _ := filepath.Glob(filepath.Join(sheetDir, "*.pdf"))
	if len(sheets) != 5 {
		t.Fatalf("%d share sheets", len(sheets))
	}
}

// A backup interrupted after the shares were handed out, before the key was wrapped, is
// resumed by splitting a new KEK: the old shares are void and the verifier follows the
// superseded files.
func TestBackupResumeVoidsShares(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "backup")
	first := &scriptedUI{decline: []string{`did "Back up the root key" happen`}}
	if err := start(t, loadTestScript(t, "root-quorum-ceremony.yaml"), dir, b, first, Options{}); !errors.Is(err, ErrDeclined) {
		t.Fatalf("Start: %v", err)
	}
	second := &scriptedUI{}
	if err := resume(t, dir, b, second, Options{}); err != nil {
		t.Fatal(err)
	}
	res := verified(t, dir)
	ev := events(res)
	for _, want := range []string{"shares.voided", transcript.EventSuperseded} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %s", want)
		}
	}
	if n := strings.Count(ev, "kek.split"); n != 2 {
		t.Errorf("the KEK was split %d times, want 2 (once before, once after the resume)", n)
	}
	for _, c := range custodians {
		if first.shares[c] == second.shares[c] {
			t.Fatal("a voided share was handed out again")
		}
	}
	// The first attempt's shares do not open the backup that was made.
	meta := readMeta(t, dir)
	var old []*quorum.Share
	for _, c := range custodians[:3] {
		s, _ := quorum.ParseCode(first.shares[c])
		old = append(old, s)
	}
	if _, err := (quorum.Expect{CeremonyID: meta.CeremonyID, Threshold: 3, Total: 5, KCV: meta.KEKKCV}).Combine(old); !errors.Is(err, quorum.ErrKCVMismatch) {
		t.Fatalf("voided shares: %v", err)
	}
}

func copyMap(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// A backup made before Keyrite recorded share commitments still restores: its shares are
// checked by the key check value alone, and the transcript says so.
func TestRestoreBackupWithoutCommitments(t *testing.T) {
	recordCommitments = false
	backup, holders, _ := backedUp(t, nil)
	_, otherKEK, _ := backedUp(t, nil)
	recordCommitments = true
	if strings.Contains(events(verified(t, backup)), transcript.EventSharesCommitted) {
		t.Fatal("the old-style backup recorded commitments")
	}
	dir := filepath.Join(t.TempDir(), "restore")
	if err := start(t, restoreBy(t, custodians[:3]...), dir, freshToken(t), &scriptedUI{shares: holders.shares}, Options{Previous: backup}); err != nil {
		t.Fatalf("restore of a backup without commitments: %v", err)
	}
	if !strings.Contains(events(verified(t, dir)), transcript.EventSharesUncommitted) {
		t.Error("the restore does not record that the shares were checked by KCV only")
	}
	held := map[string]string{}
	for k, v := range holders.shares {
		held[k] = v
	}
	held[custodians[2]] = otherKEK.shares[custodians[2]]
	err := start(t, restoreBy(t, custodians[:3]...), filepath.Join(t.TempDir(), "r2"), freshToken(t), &scriptedUI{shares: held}, Options{Previous: backup})
	if !errors.Is(err, quorum.ErrKCVMismatch) {
		t.Fatalf("a share of another KEK without commitments: %v, want the KCV mismatch", err)
	}
}

// A reshare stopped at the retirement of the old split (the witness declines) resumes and
// finishes: the new backup stands, and the old split is retired once it is.
func TestReshareResumesAtRetirement(t *testing.T) {
	backup, holders, source := backedUp(t, nil)
	reshare := filepath.Join(filepath.Dir(backup), "reshare")
	first := &scriptedUI{shares: copyMap(holders.shares), decline: []string{`did "Retire the previous split" happen`}}
	if err := start(t, loadTestScript(t, "reshare-ceremony.yaml"), reshare, source, first, Options{Previous: backup}); !errors.Is(err, ErrDeclined) {
		t.Fatalf("Start: %v", err)
	}
	if err := resume(t, reshare, source, &scriptedUI{shares: copyMap(first.shares)}, Options{Previous: backup}); err != nil {
		t.Fatal(err)
	}
	if ev := events(verified(t, reshare)); strings.Count(ev, transcript.EventBackupRetired) != 2 || strings.Contains(ev, transcript.EventSharesVoided) {
		t.Fatalf("events: %s", ev)
	}
}
