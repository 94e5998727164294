package evidence_test

import (
	"archive/tar"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/evidence"
	"github.com/keyrite/keyrite/evidence/evidencetest"
)

// states is one letter per record: Good, Bad, Unchecked (not checkable), Missing.
func states(c evidence.Ceremony) string {
	var b strings.Builder
	for _, r := range c.Records {
		b.WriteByte("GBUMXW"[r.State])
	}
	return b.String()
}

func fileState(t *testing.T, c evidence.Ceremony, name string) evidence.Item {
	t.Helper()
	for _, f := range c.Files {
		if f.Path == name {
			return f
		}
	}
	t.Fatalf("no item for %s in %+v", name, c.Files)
	return evidence.Item{}
}

// inspect inspects path and checks what holds in every case: the verdict is VerifyPath's, and
// a refused verdict is explained by at least one record, file, seal, root or log entry found
// wrong (a verified one by none).
func inspect(t *testing.T, path string, opt evidence.Options) *evidence.Inspection {
	t.Helper()
	ins := evidence.Inspect(path, opt)
	strict := evidence.VerifyPath(io.Discard, path, opt)
	if (strict == nil) != (ins.Err == nil) || strict != nil && strict.Error() != ins.Err.Error() {
		t.Fatalf("the inspection's verdict %v differs from the strict verifier's %v", ins.Err, strict)
	}
	if n := ins.Problems(); (n == 0) != (strict == nil) || ins.Unattributed != "" {
		t.Fatalf("verdict %v, but %d problems found (unattributed %q)", strict, n, ins.Unattributed)
	}
	return ins
}

// changeLine changes the first line of the transcript in dir that holds old.
func changeLine(t *testing.T, dir, old, new string) int {
	t.Helper()
	p := filepath.Join(dir, transcript.FileName)
	b, _ := os.ReadFile(p)
	lines := bytes.SplitAfter(b, []byte("\n"))
	for i, l := range lines {
		if bytes.Contains(l, []byte(old)) {
			lines[i] = bytes.Replace(l, []byte(old), []byte(new), 1)
			os.WriteFile(p, bytes.Join(lines, nil), 0o644)
			return i
		}
	}
	t.Fatalf("no line holds %q", old)
	return -1
}

func TestInspectIntactFolder(t *testing.T) {
	dir, _ := synth{steps: 2, files: 1, size: 10}.make(t, "")
	ins := inspect(t, dir, evidence.Options{})
	if ins.Kind != evidence.KindFolder || len(ins.Ceremonies) != 1 {
		t.Fatalf("kind %q, %d ceremonies", ins.Kind, len(ins.Ceremonies))
	}
	c := ins.Ceremonies[0]
	if strings.Trim(states(c), "G") != "" || len(c.Records) != 13 || c.Err != nil {
		t.Fatalf("records %s, err %v", states(c), c.Err)
	}
	want := []string{transcript.FileName, transcript.SealFileName, "script.yaml", "transcript-signer.pem", "root.pem", "data-00.bin", evidence.BundleName("synthetic"), evidence.ReportFileName}
	var got []string
	for _, f := range c.Files {
		got = append(got, f.Path)
		if f.State != transcript.Good {
			t.Errorf("%s: %v %s", f.Path, f.State, f.Reason)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("files %v, want %v", got, want)
	}
	if !c.Seal.Signed || c.Seal.Count != 13 || len(c.Seal.Short) != 9 || c.Seal.Signer != "synthetic-signer" || c.Chain.Root != "Synthetic Root" || c.Chain.First == "" {
		t.Fatalf("seal %+v chain %+v", c.Seal, c.Chain)
	}
}

// A changed record in the middle: those before it good, it bad, those after not checkable; the
// seal and the chain summary are still there.
func TestInspectChangedRecord(t *testing.T) {
	dir, _ := synth{steps: 2}.make(t, "")
	i := changeLine(t, dir, `"Witness (witness)"`, `"Witless (witness)"`)
	c := inspect(t, dir, evidence.Options{}).Ceremonies[0]
	want := strings.Repeat("G", i) + "B" + strings.Repeat("U", len(c.Records)-i-1)
	if states(c) != want || !strings.Contains(c.Records[i].Reason, "changed") {
		t.Fatalf("records %s, want %s; record %d: %s", states(c), want, i, c.Records[i].Reason)
	}
	if c.Records[i+1].Record == nil || !strings.Contains(c.Records[i+1].Reason, "not checkable") {
		t.Fatalf("the record after: %+v", c.Records[i+1])
	}
	if !c.Seal.Signed || c.Seal.Short == "" || c.Seal.State != transcript.Unchecked || c.Chain.Records != len(c.Records) || c.Chain.Last == "" || c.Chain.Root == "" {
		t.Fatalf("seal %+v chain %+v", c.Seal, c.Chain)
	}
	if f := fileState(t, c, transcript.FileName); f.State != transcript.Bad {
		t.Fatalf("transcript: %+v", f)
	}
}

// A changed root.pem: the record that wrote it is bad, and says so; every other record is good.
func TestInspectChangedOutput(t *testing.T) {
	dir, _ := synth{}.make(t, "")
	os.WriteFile(filepath.Join(dir, "root.pem"), []byte("-----BEGIN CERTIFICATE-----\n"), 0o644)
	c := inspect(t, dir, evidence.Options{}).Ceremonies[0]
	f := fileState(t, c, "root.pem")
	if f.State != transcript.Bad || f.Record < 0 {
		t.Fatalf("root.pem: %+v", f)
	}
	r := c.Records[f.Record]
	if r.State != transcript.Bad || !strings.Contains(r.Reason, "root.pem") || strings.Count(states(c), "B") != 1 || strings.ContainsAny(states(c), "UM") {
		t.Fatalf("records %s; record %d: %s", states(c), f.Record, r.Reason)
	}
	if c.Seal.State != transcript.Good {
		t.Fatalf("seal %+v", c.Seal)
	}
}

func TestInspectAppendedAfterSeal(t *testing.T) {
	dir, _ := synth{noBundle: true}.make(t, "")
	p := filepath.Join(dir, transcript.FileName)
	b, _ := os.ReadFile(p)
	lines := bytes.SplitAfter(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	last := bytes.TrimSuffix(lines[len(lines)-1], []byte("\n"))
	h := transcript.HashLine(last)
	var r transcript.Record
	if err := json.Unmarshal(last, &r); err != nil {
		t.Fatal(err)
	}
	r.Seq++
	r.Event, r.Data, r.Prev = transcript.EventWitnessConfirmed, []byte(`{"witness":"Mallory"}`), hex.EncodeToString(h[:])
	line, _ := json.Marshal(r)
	os.WriteFile(p, append(b, append(line, '\n')...), 0o644)
	c := inspect(t, dir, evidence.Options{}).Ceremonies[0]
	n := len(lines)
	if states(c) != strings.Repeat("G", n)+"B" || !strings.Contains(c.Records[n].Reason, "after the seal") {
		t.Fatalf("records %s; %s", states(c), c.Records[n].Reason)
	}
}

func TestInspectDeletedAndExtraFiles(t *testing.T) {
	dir, _ := synth{files: 1, size: 5, noBundle: true}.make(t, "")
	os.Remove(filepath.Join(dir, "data-00.bin"))
	c := inspect(t, dir, evidence.Options{}).Ceremonies[0]
	if f := fileState(t, c, "data-00.bin"); f.State != transcript.Missing || c.Records[f.Record].State != transcript.Bad {
		t.Fatalf("deleted: %+v; records %s", f, states(c))
	}
	dir, _ = synth{noBundle: true}.make(t, "")
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644)
	c = inspect(t, dir, evidence.Options{}).Ceremonies[0]
	if f := fileState(t, c, "notes.txt"); f.State != transcript.Unexpected || strings.Trim(states(c), "G") != "" {
		t.Fatalf("extra: %+v; records %s", f, states(c))
	}
	os.Remove(filepath.Join(dir, transcript.FileName))
	c = inspect(t, dir, evidence.Options{}).Ceremonies[0]
	if f := fileState(t, c, transcript.FileName); f.State != transcript.Missing || c.Seal.State != transcript.Unchecked || len(c.Records) != 0 {
		t.Fatalf("transcript removed: %+v; seal %+v", f, c.Seal)
	}
}

// The expected root, in any printed form: a match, and another root named as the mismatch
// while every record stays good.
func TestInspectExpectedRoot(t *testing.T) {
	dir, _ := synth{}.make(t, "")
	c := inspect(t, dir, evidence.Options{}).Ceremonies[0]
	grouped := c.Chain.RootSPKI.Grouped()
	c = inspect(t, dir, evidence.Options{Root: strings.ToLower(grouped)}).Ceremonies[0]
	if c.Chain.RootState != transcript.Good || c.Chain.Expected != c.Chain.RootSPKI.Hex() {
		t.Fatalf("own root: %+v", c.Chain)
	}
	other := strings.Repeat("AB", 32)
	c = inspect(t, dir, evidence.Options{Root: other}).Ceremonies[0]
	if c.Chain.RootState != transcript.Bad || strings.Trim(states(c), "G") != "" || c.Err == nil {
		t.Fatalf("another root: %+v; records %s", c.Chain, states(c))
	}
}

// A bundle with one member changed (same size): that member bad, and the record that wrote it.
func TestInspectBundleTamperedMember(t *testing.T) {
	dir, _ := synth{}.make(t, "")
	bundle := filepath.Join(dir, evidence.BundleName("synthetic"))
	b, _ := os.ReadFile(bundle)
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatal("no root.pem in the bundle")
		}
		if strings.HasSuffix(hdr.Name, "/root.pem") {
			data, _ := io.ReadAll(tr)
			i := bytes.Index(b, data)
			b[i+40] ^= 1
			break
		}
	}
	out := filepath.Join(t.TempDir(), "evidence.tar")
	os.WriteFile(out, b, 0o644)
	ins := inspect(t, out, evidence.Options{})
	c := ins.Ceremonies[0]
	f := fileState(t, c, "root.pem")
	if ins.Kind != evidence.KindBundle || f.State != transcript.Bad || f.Record < 0 || c.Records[f.Record].State != transcript.Bad {
		t.Fatalf("kind %s; root.pem %+v; records %s", ins.Kind, f, states(c))
	}
	if fileState(t, c, evidence.ManifestName).State != transcript.Good || !c.Seal.Signed {
		t.Fatalf("manifest or seal: %+v %+v", c.Files, c.Seal)
	}
}

// An evidence root with two ceremonies, the second's record changed: the first verifies, the
// second shows the bad record; the log's checkpoint is shown with the verdict.
func TestInspectRootWithOneBadCeremony(t *testing.T) {
	root := evidencetest.Root(t, "first", "second")
	ins := inspect(t, root, evidence.Options{})
	if ins.Err != nil || ins.Kind != evidence.KindRoot || ins.Log == nil || ins.Log.Size != 2 || ins.Log.Checkpoint == "" || len(ins.Ceremonies) != 2 {
		t.Fatalf("intact root: %v %s %+v", ins.Err, ins.Kind, ins.Log)
	}
	changeLine(t, filepath.Join(root, "second"), `"Witness (witness)"`, `"Witless (witness)"`)
	ins = inspect(t, root, evidence.Options{})
	first, second := ins.Ceremonies[0], ins.Ceremonies[1]
	if first.Err != nil || first.Problems() != 0 || second.Err == nil || !strings.Contains(states(second), "B") || ins.Log.State != transcript.Bad || ins.Log.Checkpoint == "" {
		t.Fatalf("first %v %s; second %v %s; log %+v", first.Err, states(first), second.Err, states(second), ins.Log)
	}
	if second.LogEntry != 1 || first.LogEntry != 0 {
		t.Fatalf("log entries %d %d", first.LogEntry, second.LogEntry)
	}
	os.RemoveAll(filepath.Join(root, "second"))
	ins = inspect(t, root, evidence.Options{})
	if e := ins.Log.Entries[len(ins.Log.Entries)-1]; e.Path != "second" || e.State != transcript.Missing {
		t.Fatalf("deleted ceremony: %+v", ins.Log.Entries)
	}
}

// VerifyPathExplained prints VerifyPath's summary on success, and on a refusal lists what is
// wrong (escaped), a run of records that are not checkable as one line.
func TestVerifyPathExplained(t *testing.T) {
	dir, _ := synth{steps: 2, noBundle: true}.make(t, "")
	var ok, out bytes.Buffer
	if err := evidence.VerifyPathExplained(&ok, dir, evidence.Options{}); err != nil || strings.Contains(ok.String(), "wrong") {
		t.Fatalf("%v\n%s", err, ok.String())
	}
	i := changeLine(t, dir, `"Witness (witness)"`, `"Witless (witness)"`)
	os.WriteFile(filepath.Join(dir, "notes\x1b[2J.txt"), []byte("x"), 0o644)
	err := evidence.VerifyPathExplained(&out, dir, evidence.Options{})
	s := out.String()
	if err == nil || !strings.HasPrefix(s, "Not verified. Where the evidence is wrong:\n") || !strings.Contains(s, fmt.Sprintf("\n  record %d: BAD — ", i)) ||
		!strings.Contains(s, fmt.Sprintf("\n  records %d to %d: NOT CHECKABLE", i+1, 11)) || !strings.Contains(s, `notes\x1b[2J.txt: UNEXPECTED`) {
		t.Fatalf("%v\n%s", err, s)
	}
}
