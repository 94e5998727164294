package ledger

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func TestTilePath(t *testing.T) {
	for _, c := range []struct {
		level string
		n     int64
		w     int
		want  string
	}{
		{"0", 0, 256, "tile/0/000"},
		{"0", 67, 256, "tile/0/067"},
		{"1", 1234067, 256, "tile/1/x001/x234/067"},
		{"entries", 1000, 13, "tile/entries/x001/000.p/13"},
	} {
		if got := tilePath(c.level, c.n, c.w); got != c.want {
			t.Errorf("tilePath(%s, %d, %d) = %s, want %s", c.level, c.n, c.w, got, c.want)
		}
	}
}

// mth is RFC 6962's Merkle tree hash, written out from section 2.1 as an independent check.
func mth(leaves [][]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, leaves[0]...))
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := mth(leaves[:k]), mth(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

func testSigner(t *testing.T) (note.Signer, note.Verifier) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner("test-signer", k)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier("test-signer", &k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func entry(i int) Entry {
	return CeremonyEntry(fmt.Sprintf("ceremony-%04d", i), fmt.Sprintf("c/%04d", i), []byte(fmt.Sprintf("seal %d", i)))
}

func newLog(t *testing.T, n int) (string, note.Signer, note.Verifier) {
	t.Helper()
	dir := t.TempDir()
	if err := Init(dir, "test.example/evidence"); err != nil {
		t.Fatal(err)
	}
	s, v := testSigner(t)
	for i := 0; i < n; i++ {
		if idx, err := Append(dir, entry(i), s); err != nil || idx != int64(i) {
			t.Fatalf("append %d: index %d, %v", i, idx, err)
		}
	}
	return dir, s, v
}

func TestAppendOpenAcrossTiles(t *testing.T) {
	const n = 270 // a full tile of entries and a partial one; two levels of hash tiles
	dir, s, v := newLog(t, n)
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var leaves [][]byte
	for i := 0; i < n; i++ {
		leaves = append(leaves, entry(i).Marshal())
	}
	want := mth(leaves)
	if st := l.State(); st.Size != n || st.Root != b64(want[:]) {
		t.Fatalf("state %+v, want size %d root %s", st, n, b64(want[:]))
	}
	if _, err := note.Open(l.Checkpoint(), note.VerifierList(v)); err != nil {
		t.Fatalf("checkpoint signature: %v", err)
	}
	for _, p := range []string{"tile/entries/000", "tile/entries/001.p/14", "tile/0/000", "tile/0/001.p/14", "tile/1/000.p/1", "checkpoints/270"} {
		if _, err := os.Stat(filepath.Join(dir, Dir, p)); err != nil {
			t.Errorf("C2SP layout: %v", err)
		}
	}
	// Appending an entry the log holds changes nothing; the same ceremony with another seal is refused.
	if idx, err := Append(dir, entry(7), s); err != nil || idx != 7 {
		t.Fatalf("re-append: %d, %v", idx, err)
	}
	e := entry(7)
	e.Seal[0] ^= 1
	if _, err := Append(dir, e, s); err == nil || !strings.Contains(err.Error(), "logged already") {
		t.Fatalf("a folder logged twice with different seals: %v", err)
	}
	// The same ceremony ID in another folder (a script rehearsed twice) is another ceremony.
	e = entry(7)
	e.Folder = "again/0007"
	if idx, err := Append(dir, e, s); err != nil || idx != n {
		t.Fatalf("same ID, other folder: %d, %v", idx, err)
	}
	// Inclusion proofs.
	for _, i := range []int64{0, 255, 256, 269} {
		proof, err := l.Proof(i)
		if err != nil {
			t.Fatal(err)
		}
		if idx, _, err := CheckProof(proof, entry(int(i)).Marshal(), note.VerifierList(v)); err != nil || idx != i {
			t.Fatalf("proof of %d: %d, %v", i, idx, err)
		}
		if _, _, err := CheckProof(proof, entry(int(i)+1).Marshal(), note.VerifierList(v)); err == nil {
			t.Fatalf("proof of entry %d accepted another entry", i)
		}
	}
}

func TestOpenRefusesTampering(t *testing.T) {
	for _, c := range []struct {
		name string
		do   func(dir string)
	}{
		{"byte in an entry", func(dir string) { flip(t, filepath.Join(dir, Dir, "tile/entries/000.p/9"), 40) }},
		{"byte in a hash tile", func(dir string) { flip(t, filepath.Join(dir, Dir, "tile/0/000.p/9"), 3) }},
		{"entry bundle removed", func(dir string) { os.Remove(filepath.Join(dir, Dir, "tile/entries/000.p/9")) }},
		{"older checkpoint put back", func(dir string) {
			old, _ := os.ReadFile(filepath.Join(dir, Dir, "checkpoints/8"))
			os.WriteFile(filepath.Join(dir, Dir, "checkpoint"), old, 0o644)
		}},
		{"entry bundle a symlink", func(dir string) {
			p := filepath.Join(dir, Dir, "tile/entries/000.p/9")
			os.Rename(p, p+".real")
			os.Symlink(p+".real", p)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, _, _ := newLog(t, 9)
			c.do(dir)
			if _, err := Open(dir); err == nil {
				t.Fatal("a tampered log opened")
			}
		})
	}
}

func flip(t *testing.T, name string, at int) {
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 1
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCosignAndRewrite(t *testing.T) {
	dir, s, v := newLog(t, 5)
	skey, vkey, err := GenerateWitnessKey("auditor.example")
	if err != nil {
		t.Fatal(err)
	}
	w, err := WitnessVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "witness-state")
	ok := func(string) error { return nil }
	if n, err := Cosign(dir, ok, skey, state); err != nil || n != 5 {
		t.Fatalf("cosign: %d, %v", n, err)
	}
	cos, err := os.ReadFile(filepath.Join(dir, Dir, "cosignatures/5"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(cos, note.VerifierList(v, w))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("cosigned checkpoint: %v (%d signatures)", err, len(n.Sigs))
	}
	// A second witness adds its line to the same file.
	skey2, vkey2, _ := GenerateWitnessKey("second-site.example")
	if _, err := Cosign(dir, ok, skey2, ""); err != nil {
		t.Fatal(err)
	}
	w2, _ := WitnessVerifier(vkey2)
	cos, _ = os.ReadFile(filepath.Join(dir, Dir, "cosignatures/5"))
	if n, err := note.Open(cos, note.VerifierList(v, w, w2)); err != nil || len(n.Sigs) != 3 {
		t.Fatalf("two witnesses: %v", err)
	}
	// The log grows: fine. The witness cosigns again, consistent with its state.
	if _, err := Append(dir, entry(5), s); err != nil {
		t.Fatal(err)
	}
	if _, err := Cosign(dir, ok, skey, state); err != nil {
		t.Fatal(err)
	}
	// Rewrite history: a new log with other entries, keeping the cosignatures. Extending it is
	// refused, and the witness refuses to cosign it.
	rewritten := t.TempDir()
	Init(rewritten, "test.example/evidence")
	for i := 0; i < 7; i++ {
		e := entry(i)
		if i == 2 {
			e = entry(100)
		}
		Append(rewritten, e, s)
	}
	os.RemoveAll(filepath.Join(rewritten, Dir, "cosignatures"))
	if err := exec.Command("cp", "-a", filepath.Join(dir, Dir, "cosignatures"), filepath.Join(rewritten, Dir)).Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := Append(rewritten, entry(8), s); err == nil || !strings.Contains(err.Error(), "rewritten") {
		t.Fatalf("a log inconsistent with a cosigned checkpoint was extended: %v", err)
	}
	os.RemoveAll(filepath.Join(rewritten, Dir, "cosignatures"))
	if _, err := Cosign(rewritten, ok, skey, state); err == nil || !strings.Contains(err.Error(), "rewritten") {
		t.Fatalf("the witness cosigned a rewritten log: %v", err)
	}
}

func TestCompareCopies(t *testing.T) {
	dir, s, _ := newLog(t, 4)
	archive := filepath.Join(t.TempDir(), "archive")
	if err := exec.Command("cp", "-a", dir, archive).Run(); err != nil {
		t.Fatal(err)
	}
	Append(dir, entry(4), s)
	Append(dir, entry(5), s)
	missing, short, long, err := CompareCopies(dir, archive)
	if err != nil || len(missing) != 2 || short != archive || long != dir || missing[0].Ceremony != "ceremony-0004" {
		t.Fatalf("compare: %v %s %s %v", missing, short, long, err)
	}
	// The archive is rewritten: detected.
	other := t.TempDir()
	Init(other, "test.example/evidence")
	for i := 0; i < 4; i++ {
		Append(other, entry(i+1), s)
	}
	if _, _, _, err := CompareCopies(dir, other); err == nil || !strings.Contains(err.Error(), "disagree") {
		t.Fatalf("a rewritten copy passed: %v", err)
	}
}

func TestEntryParse(t *testing.T) {
	a := Entry{Kind: KindAttachment, Ceremony: "root-2026", Folder: "2026/root", Files: []File{{Name: "camera 1.mp4", Size: 12, SHA256: sha256.Sum256([]byte("x"))}}}
	for _, e := range []Entry{entry(1), a} {
		got, err := ParseEntry(e.Marshal())
		if err != nil || !bytes.Equal(got.Marshal(), e.Marshal()) {
			t.Fatalf("round trip %q: %v", e.Marshal(), err)
		}
	}
	for _, bad := range []string{"", "keyrite-log-entry/v1\n", "keyrite-log-entry/v1\nceremony x\nfolder a\nseal AAAA\n", "keyrite-log-entry/v1\nattachment x\n", "keyrite-log-entry/v1\nattachment x\nfolder y\n", "keyrite-log-entry/v1\nother x\n"} {
		if _, err := ParseEntry([]byte(bad)); err == nil {
			t.Errorf("ParseEntry(%q) accepted", bad)
		}
	}
}

func FuzzParseEntry(f *testing.F) {
	f.Add(entry(1).Marshal())
	f.Add([]byte("keyrite-log-entry/v1\nattachment a\nfolder b\nfile 00 1 x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntry(b)
		if err == nil && !bytes.Equal(e.Marshal(), b) {
			t.Fatalf("accepted a non-canonical entry %q", b)
		}
	})
}
