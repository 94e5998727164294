package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/ledger"
)

// forkParent is a folder for a hierarchy's ceremonies: an evidence root, or a plain folder.
func forkParent(t *testing.T, evidenceRoot bool) string {
	t.Helper()
	parent := t.TempDir()
	if evidenceRoot {
		if err := ledger.Init(parent, "test"); err != nil {
			t.Fatal(err)
		}
	}
	return parent
}

// sealedIn runs script into dir and checks it seals and verifies.
func sealedIn(t *testing.T, s *Script, dir string, b Binding, opt Options) string {
	t.Helper()
	if err := start(t, s, dir, b, &scriptedUI{}, opt); err != nil {
		t.Fatalf("%s: %v", s.ID, err)
	}
	verified(t, dir)
	return dir
}

// An export that continues the root ceremony's folder after a key-state ceremony declared the
// root compromised (a fork of the hierarchy) is refused by the pre-flight, naming the key-state
// ceremony, its folder and what to continue, before the HSM is touched; continuing the newest
// ceremony is refused for the compromised key itself. In an evidence root and in a plain
// folder (the ceremonies beside --previous).
func TestExportForkingPastACompromiseIsRefused(t *testing.T) {
	for _, inRoot := range []bool{true, false} {
		t.Run(map[bool]string{true: "evidence root", false: "plain folder"}[inRoot], func(t *testing.T) {
			parent := forkParent(t, inRoot)
			src := freshToken(t)
			dst := rootOn(t, "region-root-ceremony.yaml")
			job := mustRun(t, "import-job-ceremony.yaml", dst.b, Options{Previous: dst.dir})
			root := sealedIn(t, loadTestScript(t, "root-quorum-ceremony.yaml"), filepath.Join(parent, "1-root"), src, Options{})
			state := loadTestScript(t, "key-state-ceremony.yaml")
			stateDir := sealedIn(t, state, filepath.Join(parent, "2-compromised"), src, Options{Previous: root})

			dir := filepath.Join(parent, "3-export")
			refusedBeforeHSM(t, src, dir, func(ui UI) error {
				return start(t, loadTestScript(t, "export-ceremony.yaml"), dir, src, ui, Options{Previous: root, ImportJob: job})
			}, "not the newest ceremony of its hierarchy", state.ID, stateDir, "--previous "+stateDir)

			// A drill continues its backup, the root ceremony, but not past the compromise.
			drill := filepath.Join(parent, "3-drill")
			refusedBeforeHSM(t, src, drill, func(ui UI) error {
				return start(t, loadTestScript(t, "drill-ceremony.yaml"), drill, src, ui, Options{Previous: root})
			}, state.ID, stateDir, "changed a key state of this hierarchy after the backup")

			// As production (not a rehearsal), outside an evidence root the pre-flight warns.
			prod := src
			prod.Rehearsal = false
			ui := &scriptedUI{}
			err := start(t, loadTestScript(t, "export-ceremony.yaml"), dir, prod, ui, Options{Previous: stateDir, ImportJob: job})
			if err == nil || !strings.Contains(err.Error(), "is compromised") || strings.Contains(err.Error(), "not the newest") {
				t.Fatalf("the export continuing the newest ceremony: %v", err)
			}
			if warned := strings.Contains(strings.Join(ui.notes, "\n"), "not inside an evidence root"); warned == inRoot {
				t.Errorf("production ceremony, evidence root %v: warned %v; notes %q", inRoot, warned, ui.notes)
			}
		})
	}
}

// After a rotation, an intermediate continuing the root ceremony's folder (which would let the
// deactivated root sign) is refused naming the rotation; continuing the rotation, the new root
// signs, and a ceremony stopped part-way resumes (a ceremony is no fork of itself). In an
// evidence root and in a plain folder.
func TestIntermediateForkingPastARotationIsRefused(t *testing.T) {
	for _, inRoot := range []bool{true, false} {
		t.Run(map[bool]string{true: "evidence root", false: "plain folder"}[inRoot], func(t *testing.T) {
			parent := forkParent(t, inRoot)
			b := freshToken(t)
			root := sealedIn(t, loadTestScript(t, "root-ceremony.yaml"), filepath.Join(parent, "1-root"), b, Options{})
			rotate := loadTestScript(t, "rotate-ceremony.yaml")
			rot := sealedIn(t, rotate, filepath.Join(parent, "2-rotate"), b, Options{Previous: root})
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			csr := writeCSR(t, key, "Example Issuing CA 2031")
			old := loadTestScript(t, "sign-intermediate-ceremony.yaml") // signs with example-root-2026

			dir := filepath.Join(parent, "3-intermediate")
			refusedBeforeHSM(t, b, dir, func(ui UI) error {
				return start(t, old, dir, b, ui, Options{Previous: root, CSR: csr})
			}, "not the newest ceremony of its hierarchy", rotate.ID, rot, "--previous "+rot)

			s := edited(t, old, func(s *Script) {
				s.ID, s.Intermediate.RootKey, s.Signer.Label = "issuing-2031", "example-root-2031", "example-root-2031-transcript"
			})
			opt := Options{Previous: rot, CSR: csr}
			if err := start(t, s, dir, b, &scriptedUI{decline: []string{`did "Sign the intermediate CA certificate" happen`}}, opt); !errors.Is(err, ErrDeclined) {
				t.Fatalf("Start: %v", err)
			}
			if err := resume(t, dir, b, &scriptedUI{}, opt); err != nil {
				t.Fatalf("resume: %v", err)
			}
			verified(t, dir)
			// Now the intermediate is the newest: the rotation is no longer a head, and the new
			// root signs continuing the intermediate.
			again := edited(t, s, func(s *Script) { s.ID = "issuing-2031-again" })
			dir2 := filepath.Join(parent, "4-again")
			refusedBeforeHSM(t, b, dir2, func(ui UI) error {
				return start(t, again, dir2, b, ui, Options{Previous: rot, CSR: csr})
			}, "not the newest ceremony of its hierarchy", s.ID, "--previous "+dir)
			key2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			sealedIn(t, again, dir2, b, Options{Previous: dir, CSR: writeCSR(t, key2, "Example Issuing CA 2031")})
		})
	}
}

// A key state recorded on another branch of the hierarchy (a fork made before this check, or
// brought in from elsewhere) is refused even when --previous is the head of its own branch.
func TestKeyStateOnAnotherBranchIsRefused(t *testing.T) {
	parent := forkParent(t, true)
	b := freshToken(t)
	root := sealedIn(t, loadTestScript(t, "root-ceremony.yaml"), filepath.Join(parent, "1-root"), b, Options{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := writeCSR(t, key, "Example Issuing CA 2026")
	branch := sealedIn(t, loadTestScript(t, "sign-intermediate-ceremony.yaml"), filepath.Join(t.TempDir(), "elsewhere"), b, Options{Previous: root, CSR: csr})
	state := loadTestScript(t, "key-state-ceremony.yaml")
	sealedIn(t, state, filepath.Join(parent, "2-compromised"), b, Options{Previous: root})
	moved := filepath.Join(parent, "3-intermediate")
	if err := os.Rename(branch, moved); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "4-crl")
	refusedBeforeHSM(t, b, dir, func(ui UI) error {
		return start(t, loadTestScript(t, "sign-crl-ceremony.yaml"), dir, b, ui, Options{Previous: moved})
	}, state.ID, "recorded a key state of this hierarchy that --previous "+moved+" does not carry")
}
