package evidence_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/evidence"
)

func hsmOn(serial, role string) synthRecord {
	return synthRecord{transcript.EventHSMIdentified, transcript.HSMIdentified{Role: role, Token: transcript.TokenInfo{Label: "token-" + serial, Serial: serial}}}
}

func keyByIdentity(t *testing.T, inv *evidence.KeyInventory, id string) *evidence.KeyHistory {
	t.Helper()
	for _, k := range inv.Keys {
		if strings.Contains(k.Identity, id) {
			return k
		}
	}
	t.Fatalf("no key %s in the inventory:\n%s", id, inv)
	return nil
}

func copies(k *evidence.KeyHistory) map[string]string {
	m := map[string]string{}
	for _, c := range k.Copies {
		m[c.Token] = c.State
	}
	return m
}

// A folder tree of ceremonies in nested folders: two keys labelled "root" on two tokens, a
// secret key imported, migrated to a second token and then destroyed on the first, a
// rotation that deactivates one root, a CRL signed, a compromise recorded, and a ceremony
// whose transcript was changed. Every key, copy, state and use is right, and the changed
// ceremony is listed with its reason instead of failing the inventory.
func TestInventoryTree(t *testing.T) {
	tree := t.TempDir()
	s1, s2, s3 := strings.Repeat("a1", 32), strings.Repeat("b2", 32), strings.Repeat("c3", 32)
	at := time.Now().Add(-50 * time.Minute) // inside the synthetic certificates' validity
	next := func() time.Time { at = at.Add(2 * time.Minute); return at }
	make := func(where string, s synth) string {
		s.noBundle, s.start = true, next()
		dir, _ := s.make(t, filepath.Join(tree, where))
		return dir
	}
	make("site-a/2026", synth{id: "root-2026", records: []synthRecord{hsmOn("AAAA", ""),
		{transcript.EventKeyGenerated, map[string]any{"label": "root", "spki_sha256": s1, "token_serial": "AAAA", "purpose": "root", "cryptoperiod_end": "2020-01-01T00:00:00Z"}},
		{transcript.EventCertificateIssued, transcript.CertificateIssued{Name: "root.der", Subject: "CN=Root", Issuer: "CN=Root", Serial: "01", SPKISHA256: s1}},
	}})
	// The same ceremony ID and key label in another folder, on another token: another key.
	make("site-b/2026", synth{id: "root-2026", records: []synthRecord{hsmOn("BBBB", ""),
		{transcript.EventKeyGenerated, map[string]any{"label": "root", "spki_sha256": s2, "token_serial": "BBBB", "purpose": "root"}},
	}})
	imp := make("site-a/2026", synth{id: "import-data-key", records: []synthRecord{hsmOn("AAAA", ""),
		{transcript.EventKeyImported, map[string]any{"label": "data-key", "kind": "secret", "kcv": "ABC123", "kcv_method": "AES-ECB"}},
	}})
	make("site-a/transfer/2-migrate", synth{id: "migrate-1", records: []synthRecord{hsmOn("AAAA", "source"), hsmOn("CCCC", "target"),
		{transcript.EventKeyMigrated, transcript.KeyMigrated{Label: "data-key", KCV: "ABC123", KCVMethod: "AES-ECB"}},
	}})
	make("site-a/transfer/3-destroy", synth{id: "destroy-1", records: []synthRecord{hsmOn("AAAA", ""),
		{transcript.EventKeyIdentified, transcript.KeyIdentified{Label: "data-key", Kind: "secret", KCV: "ABC123", KCVMethod: "AES-ECB"}},
		{transcript.EventKeyDestroyed, transcript.KeyDestroyed{Label: "data-key", Reason: "migrated away", TokenSerial: "AAAA", VerifiedAbsent: true}},
	}})
	make("site-a/2031", synth{id: "rotate-1", records: []synthRecord{hsmOn("AAAA", ""),
		{transcript.EventKeyGenerated, map[string]any{"label": "root-2031", "spki_sha256": s3, "token_serial": "AAAA", "purpose": "root", "cryptoperiod_end": "2020-06-01T00:00:00Z"}},
		{transcript.EventKeyState, transcript.KeyState{Label: "root", SPKISHA256: s1, State: "deactivated", Reason: "rotated to root-2031"}},
		{transcript.EventKeyState, transcript.KeyState{Label: "root-2031", SPKISHA256: s3, State: "active"}},
	}})
	make("site-a/2031", synth{id: "crl-3", records: []synthRecord{hsmOn("AAAA", ""),
		{transcript.EventCRLIssued, transcript.CRLIssued{Number: 3, Issuer: "CN=Root", NextUpdate: "2027-01-01T00:00:00Z"}},
	}})
	make("site-b/incidents", synth{id: "compromise-1", records: []synthRecord{hsmOn("BBBB", ""),
		{transcript.EventKeyState, transcript.KeyState{Label: "root", SPKISHA256: s2, State: "compromised", Reason: "token left unattended"}},
	}})
	// A copy of the import ceremony, changed after its seal: it cannot be verified.
	broken := filepath.Join(tree, "archive", "import-data-key")
	os.MkdirAll(broken, 0o755)
	for _, f := range []string{transcript.FileName, transcript.SealFileName, "script.yaml", "root.pem", "transcript-signer.pem"} {
		b, _ := os.ReadFile(filepath.Join(imp, f))
		if f == transcript.FileName {
			b = bytes.Replace(b, []byte("ABC123"), []byte("ABC124"), 1)
		}
		os.WriteFile(filepath.Join(broken, f), b, 0o644)
	}

	inv, err := evidence.InventoryTree(tree, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Keys) != 4 {
		t.Fatalf("%d keys, want 4:\n%s", len(inv.Keys), inv)
	}
	r1, r2, r3 := keyByIdentity(t, inv, s1), keyByIdentity(t, inv, s2), keyByIdentity(t, inv, s3)
	dk := keyByIdentity(t, inv, "KCV ABC123")
	if r1.Label != "root" || r1.State != "deactivated" || r1.SetBy != "rotate-1" || r1.Overdue {
		t.Errorf("first root: %+v", r1)
	}
	if r2.Label != "root" || r2.State != "compromised" || r2.SetBy != "compromise-1" || r2.Reason != "token left unattended" {
		t.Errorf("second root: %+v", r2)
	}
	if r3.State != "active" || !r3.Overdue || r3.CryptoEnd != "2020-06-01T00:00:00Z" {
		t.Errorf("new root: %+v", r3)
	}
	if c := copies(r1); len(c) != 1 || c["AAAA"] != "present" {
		t.Errorf("first root's copies %v", c)
	}
	if c := copies(r2); len(c) != 1 || c["BBBB"] != "present" {
		t.Errorf("second root's copies %v", c)
	}
	// Destroying the source copy leaves the migrated copy, and the key, as they were.
	if c := copies(dk); len(c) != 2 || c["AAAA"] != "destroyed" || c["CCCC"] != "present" || dk.State != "active" {
		t.Errorf("data key: state %s copies %v", dk.State, c)
	}
	if dk.Kind != "secret key" || dk.Origin != "import-data-key" || !strings.HasSuffix(dk.Identity, "from import-data-key") {
		t.Errorf("data key identity: %+v", dk)
	}
	var whats []string
	for _, e := range dk.Events {
		whats = append(whats, e.Ceremony+": "+e.What)
	}
	want := []string{"import-data-key: imported", "migrate-1: migrated to token-CCCC (serial CCCC)", "destroy-1: destroyed on token AAAA: migrated away"}
	if strings.Join(whats, "|") != strings.Join(want, "|") {
		t.Errorf("data key uses\n%q\nwant\n%q", whats, want)
	}
	signed := false
	for _, e := range r1.Events {
		signed = signed || (e.Ceremony == "crl-3" && strings.HasPrefix(e.What, "signed CRL number 3"))
	}
	if !signed {
		t.Errorf("the CRL is not a use of the root that signed it: %+v", r1.Events)
	}
	if len(inv.Unverified) != 1 || !strings.Contains(inv.Unverified[0].Folder, "archive") || inv.Unverified[0].Reason == "" {
		t.Fatalf("unverified %+v", inv.Unverified)
	}
	text := inv.String()
	for _, w := range []string{"4 keys", "root — deactivated since", "root — compromised since", "CRYPTOPERIOD OVERDUE since 2020-06-01", "copy on token CCCC", "1 ceremonies could not be verified"} {
		if !strings.Contains(text, w) {
			t.Errorf("text lacks %q:\n%s", w, text)
		}
	}

	var js bytes.Buffer
	if err := inv.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back evidence.KeyInventory
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Keys) != 4 || len(back.Unverified) != 1 {
		t.Fatalf("JSON: %v %+v", err, back)
	}
	var cs bytes.Buffer
	if err := inv.WriteCSV(&cs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	uses := 0
	for _, k := range inv.Keys {
		uses += len(k.Events)
	}
	if len(rows) != 1+uses+1 || strings.Join(rows[0], ",") != strings.Join(evidence.CSVHeader, ",") || rows[len(rows)-1][0] != "UNVERIFIED" {
		t.Fatalf("CSV rows %d, want %d:\n%s", len(rows), 2+uses, cs.String())
	}
}

// A cell a spreadsheet would run as a formula is written as text.
func TestInventoryCSVNeutralisesFormulas(t *testing.T) {
	inv := &evidence.KeyInventory{Keys: []*evidence.KeyHistory{{Label: "=HYPERLINK(\"x\")", Identity: "SPKI SHA-256 00", State: "active"}}}
	var b bytes.Buffer
	inv.WriteCSV(&b)
	rows, _ := csv.NewReader(&b).ReadAll()
	if rows[1][1] != "'=HYPERLINK(\"x\")" {
		t.Fatalf("label cell %q", rows[1][1])
	}
}

// The compatibility fixtures of every version, side by side and once more as an archive copy:
// the same ceremony IDs name different ceremonies in v1 and v2, and each restore still holds
// to its own backup (no false "quotes a seal that differs"); the archive copy adds nothing.
func TestInventoryOfCompatFixturesSideBySide(t *testing.T) {
	tree := t.TempDir()
	var roots int
	for _, v := range []string{"v1", "v2"} {
		dst := copyTree(t, filepath.Join("..", "testdata", "compat", v))
		os.Rename(dst, filepath.Join(tree, v))
		roots += 2 // a root ceremony and a quorum backup, each with its own root key
	}
	arch := copyTree(t, filepath.Join("..", "testdata", "compat", "v2", "root"))
	os.MkdirAll(filepath.Join(tree, "archive"), 0o755)
	os.Rename(arch, filepath.Join(tree, "archive", "root"))
	inv, err := evidence.InventoryTree(tree, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Unverified) != 0 {
		t.Fatalf("unverified: %+v", inv.Unverified)
	}
	n := 0
	for _, k := range inv.Keys {
		if k.Label == "example-root-2026" {
			n++
			if len(k.Events) == 0 || !strings.HasPrefix(k.Events[0].What, "generated") {
				t.Errorf("%s: %+v", k.Identity, k.Events)
			}
		}
	}
	if n != roots {
		t.Fatalf("%d keys labelled example-root-2026, want %d:\n%s", n, roots, inv)
	}
}
