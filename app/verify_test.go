package app

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/evidence"
	"github.com/keyrite/keyrite/evidence/evidencetest"
)

// fixtureCopy copies the sealed root ceremony of the compatibility fixtures (37 records: record
// 5 is a roll call entry, record 21 writes root.der, 22 root.pem, 29 names the signer).
func fixtureCopy(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	if out, err := exec.Command("cp", "-r", filepath.Join("..", "testdata", "compat", "v2", "root"), dir).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	return dir
}

// changeRecord changes record i of the transcript in dir.
func changeRecord(t *testing.T, dir string, i int, old, new string) {
	t.Helper()
	p := filepath.Join(dir, transcript.FileName)
	b, _ := os.ReadFile(p)
	lines := bytes.SplitAfter(b, []byte("\n"))
	if !bytes.Contains(lines[i], []byte(old)) {
		t.Fatalf("record %d does not hold %q", i, old)
	}
	lines[i] = bytes.Replace(lines[i], []byte(old), []byte(new), 1)
	os.WriteFile(p, bytes.Join(lines, nil), 0o644)
}

// verifyIn shows path in the verify view (with the expected root typed, if any) and waits for
// the verdict.
func verifyIn(t *testing.T, a *App, path, root string) string {
	t.Helper()
	doAndWait(func() {
		a.ShowVerify("")
		a.Verify.Root.SetText(root)
		a.Verify.Verdict.SetText("")
		a.Verify.Path.SetText(path)
		a.Verify.verify()
	})
	var verdict string
	waitFor(t, func() bool {
		verdict = a.Verify.Verdict.Text
		return strings.HasPrefix(verdict, "✓") || strings.HasPrefix(verdict, "✗")
	})
	return verdict
}

// row finds the row whose text starts with prefix and returns its index, or fails.
func row(t *testing.T, v *VerifyScreen, prefix string) int {
	t.Helper()
	for i, r := range v.rows {
		if strings.HasPrefix(r, prefix) {
			return i
		}
	}
	t.Fatalf("no row starts with %q:\n%s", prefix, strings.Join(v.rows, "\n"))
	return -1
}

// drawn is row i as the list draws it.
func drawn(v *VerifyScreen, i int) *widget.Label {
	l := widget.NewLabel("")
	doAndWait(func() { v.drawRow(i, l) })
	return l
}

// A changed record in the middle: the records before it good (plain), it bad (red, with the
// reason), every later one not checkable (amber), each with its word; the seal and chain still
// shown; a click and the keyboard each show the whole record.
func TestVerifyViewChangedRecord(t *testing.T) {
	dir := fixtureCopy(t)
	changeRecord(t, dir, 5, `"participant.present"`, `"participant.absent"`)
	a := newTestApp(t)
	if v := verifyIn(t, a, dir, ""); !strings.HasPrefix(v, "✗ NOT VERIFIED") {
		t.Fatalf("verdict %q", v)
	}
	v := a.Verify
	first := row(t, v, "✓ good #0 ")
	for i := 0; i < 37; i++ {
		want, imp := "✓ good #", widget.MediumImportance
		switch {
		case i == 5:
			want, imp = "✗ BAD #", widget.DangerImportance
		case i > 5:
			want, imp = "⚠ NOT CHECKABLE #", widget.WarningImportance
		}
		l := drawn(v, first+i)
		if !strings.HasPrefix(l.Text, want) || l.Importance != imp {
			t.Fatalf("record %d: %q (importance %v), want %q (%v)", i, l.Text, l.Importance, want, imp)
		}
	}
	if !strings.Contains(v.rows[first+5], "changed") {
		t.Fatalf("record 5 gives no reason: %q", v.rows[first+5])
	}
	if len(v.SealShort.Text) != 9 || !strings.Contains(v.Seal.Text, "signature verifies") || !strings.Contains(v.Chain.Text, "37 records") || !strings.Contains(v.Chain.Text, "Root \"") {
		t.Fatalf("seal %q %q, chain %q", v.SealShort.Text, v.Seal.Text, v.Chain.Text)
	}
	doAndWait(func() { v.Records.Select(first + 5) })
	if d := v.Detail.Text; !strings.Contains(d, "Record 5 — ✗ BAD") || !strings.Contains(d, `"event": "participant.absent"`) {
		t.Fatalf("a click on record 5 shows %q", d)
	}
	// By keyboard: focus the list, arrow down to record 7, Space.
	doAndWait(func() {
		v.Records.UnselectAll()
		a.Win.Canvas().Focus(v.Records)
		for range first + 7 {
			v.Records.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
		}
		v.Records.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	})
	if d := v.Detail.Text; !strings.Contains(d, "Record 7 — ⚠ NOT CHECKABLE") || !strings.Contains(d, "record 5 before it is bad") {
		t.Fatalf("the keyboard selection shows %q", d)
	}
}

// Each tampering of a folder: the record or file it touches is marked with its word and
// reason, and the verdict is the strict verifier's.
func TestVerifyViewTamperedFolder(t *testing.T) {
	a := newTestApp(t)
	tests := []struct {
		name   string
		tamper func(dir string)
		rows   []string // rows that must appear (prefixes)
		good   bool     // every record stays good
	}{
		{"changed root.pem", func(dir string) {
			os.WriteFile(filepath.Join(dir, "root.pem"), []byte("-----BEGIN CERTIFICATE-----\n"), 0o644)
		}, []string{"✗ BAD #22 ", "✗ BAD root.pem: output root.pem (record 22)"}, false},
		{"record appended after the seal", func(dir string) {
			p := filepath.Join(dir, transcript.FileName)
			b, _ := os.ReadFile(p)
			lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
			last := lines[len(lines)-1]
			var r transcript.Record
			json.Unmarshal(last, &r)
			h := sha256.Sum256(last)
			r.Seq, r.Prev = r.Seq+1, hex.EncodeToString(h[:])
			line, _ := json.Marshal(r)
			os.WriteFile(p, append(b, append(line, '\n')...), 0o644)
		}, []string{"✓ good #36 ", "✗ BAD #37 "}, false},
		{"deleted file", func(dir string) { os.Remove(filepath.Join(dir, "root.der")) },
			[]string{"✗ BAD #21 ", "✗ MISSING root.der"}, false},
		{"extra file", func(dir string) { os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644) },
			[]string{"✗ UNEXPECTED notes.txt: notes.txt is in the ceremony folder but no record"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := fixtureCopy(t)
			tc.tamper(dir)
			verdict := verifyIn(t, a, dir, "")
			strict := evidence.VerifyPath(io.Discard, dir, evidence.Options{})
			if strict == nil || !strings.HasPrefix(verdict, "✗ NOT VERIFIED: "+evidence.Printable(strict.Error())[:100]) {
				t.Fatalf("verdict %q, the strict verifier's %v", verdict, strict)
			}
			for _, p := range tc.rows {
				i := row(t, a.Verify, p)
				if want := strings.HasPrefix(p, "✓"); (drawn(a.Verify, i).Importance != widget.DangerImportance) != want {
					t.Fatalf("%q drawn with importance %v", p, drawn(a.Verify, i).Importance)
				}
			}
			if bad := strings.Contains(strings.Join(a.Verify.rows, "\n"), "✗ BAD #"); bad == tc.good {
				t.Fatalf("a record marked bad: %v, want %v", bad, !tc.good)
			}
			if a.Verify.SealShort.Text == "" || a.Verify.Chain.Text == "" {
				t.Fatal("the seal or chain pane is empty")
			}
		})
	}
}

// The expected root: every printed form of the right one matches; another is a MISMATCH (and
// the strict verdict); a typing error is refused before anything is checked.
func TestVerifyViewExpectedRoot(t *testing.T) {
	dir := fixtureCopy(t)
	a := newTestApp(t)
	verifyIn(t, a, dir, "")
	if a.Verify.RootResult.Text != "none given" {
		t.Fatalf("without a root: %q", a.Verify.RootResult.Text)
	}
	ins := evidence.Inspect(dir, evidence.Options{})
	fp := ins.Ceremonies[0].Chain.RootSPKI
	for _, form := range []string{fp.Grouped(), strings.ToLower(fp.Hex()), colons(fp.Hex())} {
		if v := verifyIn(t, a, dir, form); !strings.HasPrefix(v, "✓") || a.Verify.RootResult.Text != "✓ match" || a.Verify.RootResult.Importance != widget.SuccessImportance {
			t.Fatalf("root %q: verdict %q, root %q", form, v, a.Verify.RootResult.Text)
		}
	}
	other := strings.Repeat("AB12 ", 16)
	if v := verifyIn(t, a, dir, other); !strings.HasPrefix(v, "✗") || a.Verify.RootResult.Text != "✗ MISMATCH" || a.Verify.RootResult.Importance != widget.DangerImportance {
		t.Fatalf("another root: verdict %q, root %q", v, a.Verify.RootResult.Text)
	}
	if strings.Contains(strings.Join(a.Verify.rows, "\n"), "✗ BAD #") {
		t.Fatal("a record is marked bad for another root")
	}
	if v := verifyIn(t, a, dir, "not a fingerprint"); !strings.Contains(v, "Not checked") || a.Verify.RootResult.Text != "✗ not a fingerprint" {
		t.Fatalf("a typing error: verdict %q, root %q", v, a.Verify.RootResult.Text)
	}
}

func colons(h string) string {
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// A bundle with one member changed: that member bad, and the record that wrote it.
func TestVerifyViewTamperedBundle(t *testing.T) {
	dir := fixtureCopy(t)
	bundle := filepath.Join(dir, evidence.BundleName("example-root-2026"))
	b, _ := os.ReadFile(bundle)
	r := bytes.NewReader(b)
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatal("no root.pem member")
		}
		if strings.HasSuffix(h.Name, "/root.pem") {
			b[len(b)-r.Len()+40] ^= 1
			break
		}
	}
	os.WriteFile(bundle, b, 0o644)
	a := newTestApp(t)
	if v := verifyIn(t, a, bundle, ""); !strings.HasPrefix(v, "✗ NOT VERIFIED") {
		t.Fatalf("verdict %q", v)
	}
	row(t, a.Verify, "✗ BAD root.pem: its content differs from the signed manifest")
	row(t, a.Verify, "✗ BAD #22 ")
	row(t, a.Verify, "✓ good MANIFEST")
	if !strings.Contains(a.Verify.Seal.Text, "signature verifies") {
		t.Fatalf("seal %q", a.Verify.Seal.Text)
	}
}

// An evidence root with one bad ceremony: both listed, the bad one shown first with its bad
// record; the log's checkpoint and entries shown.
func TestVerifyViewEvidenceRoot(t *testing.T) {
	root := evidencetest.Root(t, "first", "second", "third")
	changeRecord(t, filepath.Join(root, "second"), 5, `"Witness"`, `"Witless"`)
	a := newTestApp(t)
	if v := verifyIn(t, a, root, ""); !strings.HasPrefix(v, "✗ NOT VERIFIED") {
		t.Fatalf("verdict %q", v)
	}
	v := a.Verify
	if !v.Ceremony.Visible() || len(v.Ceremony.Options) != 3 || v.Ceremony.Selected != "✗ second (ceremony second)" || !strings.HasPrefix(v.Ceremony.Options[0], "✓ first") {
		t.Fatalf("ceremonies %q, shown %q", v.Ceremony.Options, v.Ceremony.Selected)
	}
	row(t, v, "✗ BAD #5 ")
	row(t, v, "✓ good first: log entry 0")
	if !strings.Contains(v.Log.Text, "Newest checkpoint:\ntest.example/root") && !strings.Contains(v.Log.Text, "Newest checkpoint:\n") {
		t.Fatalf("log %q", v.Log.Text)
	}
	doAndWait(func() { v.Ceremony.SetSelectedIndex(0) })
	if strings.Contains(strings.Join(v.rows, "\n"), "✗ BAD #") || !strings.Contains(v.Chain.Text, "Ceremony first") {
		t.Fatalf("the first ceremony:\n%s", strings.Join(v.rows, "\n"))
	}
}
