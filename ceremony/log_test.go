package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/ledger"
)

// A ceremony refuses, before anything is done, to open in an evidence root whose log
// contradicts a witness's cosignature (README: "The ceremony log").
func TestOpeningRefusesALogAWitnessContradicts(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	s, _ := ledger.NewSigner("test-signer", k)
	entry := func(i int) ledger.Entry {
		return ledger.CeremonyEntry("c", filepath.Join("c", string(rune('a'+i))), []byte{byte(i)})
	}
	root := t.TempDir()
	if err := ledger.Init(root, "test"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := ledger.Append(root, entry(i), s); err != nil {
			t.Fatal(err)
		}
	}
	skey, _, _ := ledger.GenerateWitnessKey("auditor")
	if _, err := ledger.Cosign(root, func(string) error { return nil }, skey, ""); err != nil {
		t.Fatal(err)
	}
	if st, err := openingLog(filepath.Join(root, "next")); err != nil || st == nil || st.Size != 3 {
		t.Fatalf("a consistent log: %+v, %v", st, err)
	}
	// The same root with its second entry replaced, the witness's cosignature kept.
	rewritten := t.TempDir()
	ledger.Init(rewritten, "test")
	for i := 0; i < 3; i++ {
		e := entry(i)
		if i == 1 {
			e = entry(7)
		}
		ledger.Append(rewritten, e, s)
	}
	if err := exec.Command("cp", "-a", filepath.Join(root, ledger.Dir, "cosignatures"), filepath.Join(rewritten, ledger.Dir)).Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := openingLog(filepath.Join(rewritten, "next")); err == nil || !strings.Contains(err.Error(), "nothing was done") {
		t.Fatalf("a log a witness contradicts was accepted: %v", err)
	}
	if st, err := openingLog(filepath.Join(t.TempDir(), "next")); err != nil || st != nil {
		t.Fatalf("outside an evidence root: %+v, %v", st, err)
	}
}
