package cli

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/ledger"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// evidenceRoot makes an evidence root and rehearses n root ceremonies into it, each on a
// rehearsal store of its own; it returns the root and the ceremony folders.
func evidenceRoot(t *testing.T, names ...string) (root string, stores map[string]string) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "evidence")
	if code, out, errb := keyrite(t, "", "log", "init", root, "example.org/root-ca"); code != 0 {
		t.Fatalf("log init: %d %s %s", code, out, errb)
	}
	stores = map[string]string{}
	for _, n := range names {
		rehearseInto(t, root, n, stores)
	}
	return root, stores
}

func rehearseInto(t *testing.T, root, name string, stores map[string]string) {
	t.Helper()
	stores[name] = t.TempDir()
	code, out, errb := keyrite(t, "", "rehearse", "--rehearsal-dir", stores[name], "--out", filepath.Join(root, name))
	if code != 0 {
		t.Fatalf("rehearse %s: %d\n%s\n%s", name, code, out, errb)
	}
}

func verifyRootFails(t *testing.T, root, want string, extra ...string) {
	t.Helper()
	code, out, errb := keyrite(t, "", append([]string{"verify", root}, extra...)...)
	if code == 0 || !strings.Contains(errb, want) {
		t.Fatalf("verify %s: exit %d, want an error naming %q\n%s\n%s", root, code, want, out, errb)
	}
}

// TestEvidenceRootDetectsEveryChange is issue 17's "done when": deleting, adding, replacing or
// reordering any ceremony of an evidence root is detected and named.
func TestEvidenceRootDetectsEveryChange(t *testing.T) {
	root, stores := evidenceRoot(t, "first", "second")
	code, out, errb := keyrite(t, "", "verify", root)
	if code != 0 || !strings.Contains(out, "2 entries") || !strings.Contains(out, "first") || !strings.Contains(out, "paper record") {
		t.Fatalf("verify root: %d\n%s\n%s", code, out, errb)
	}
	for _, name := range []string{"first", "second"} {
		if _, err := os.Stat(filepath.Join(root, name, ceremony.LogProofFileName)); err != nil {
			t.Fatalf("no inclusion proof in %s: %v", name, err)
		}
	}
	// The second ceremony's opening quotes the log as it was: one entry, the first ceremony.
	l, err := ledger.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := l.TreeHash(1)
	tr, _ := os.ReadFile(filepath.Join(root, "second", "transcript.jsonl"))
	if !strings.Contains(strings.SplitN(string(tr), "\n", 2)[0], `"size":1,"root":"`+b64(h[:])) {
		t.Fatalf("the second ceremony's opening does not record the log before it:\n%.600s", tr)
	}

	// The bundle carries the inclusion proof; a folder verified on its own checks it too.
	bundle := filepath.Join(root, "second", "evidence-example-root-2026.tar")
	if code, out, errb := keyrite(t, "", "verify", bundle); code != 0 || !strings.Contains(out, "Ceremony log: logged as entry 1 of ceremony log keyrite.ceremony-log/example.org/root-ca") {
		t.Fatalf("verify bundle: %d\n%s\n%s", code, out, errb)
	}
	proofFile := filepath.Join(root, "second", ceremony.LogProofFileName)
	good, _ := os.ReadFile(proofFile)
	os.WriteFile(proofFile, []byte(strings.Replace(string(good), "index 1", "index 0", 1)), 0o644)
	if code, _, errb := keyrite(t, "", "verify", filepath.Join(root, "second")); code == 0 || !strings.Contains(errb, ceremony.LogProofFileName) {
		t.Fatalf("a changed inclusion proof passed: %s", errb)
	}
	os.WriteFile(proofFile, good, 0o644)

	moved := filepath.Join(t.TempDir(), "moved")
	t.Run("deleted", func(t *testing.T) {
		os.Rename(filepath.Join(root, "second"), moved)
		defer os.Rename(moved, filepath.Join(root, "second"))
		verifyRootFails(t, root, "second) is missing")
		if code, _, errb := keyrite(t, "", "inventory", root); code == 0 || !strings.Contains(errb, "second) is missing") {
			t.Fatalf("the inventory of a root missing a ceremony: %s", errb)
		}
	})
	t.Run("added", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other")
		if code, _, errb := keyrite(t, "", "rehearse", "--rehearsal-dir", t.TempDir(), "--out", other); code != 0 {
			t.Fatal(errb)
		}
		os.Rename(other, filepath.Join(root, "third"))
		defer os.RemoveAll(filepath.Join(root, "third"))
		verifyRootFails(t, root, "not in the ceremony log: third")
	})
	t.Run("replaced", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other")
		if code, _, errb := keyrite(t, "", "rehearse", "--rehearsal-dir", t.TempDir(), "--out", other); code != 0 {
			t.Fatal(errb)
		}
		os.Rename(filepath.Join(root, "second"), moved)
		os.Rename(other, filepath.Join(root, "second"))
		defer func() { os.RemoveAll(filepath.Join(root, "second")); os.Rename(moved, filepath.Join(root, "second")) }()
		verifyRootFails(t, root, "its seal differs; it was replaced")
	})
	t.Run("swapped", func(t *testing.T) {
		os.Rename(filepath.Join(root, "first"), moved)
		os.Rename(filepath.Join(root, "second"), filepath.Join(root, "first"))
		os.Rename(moved, filepath.Join(root, "second"))
		defer func() {
			os.Rename(filepath.Join(root, "first"), moved)
			os.Rename(filepath.Join(root, "second"), filepath.Join(root, "first"))
			os.Rename(moved, filepath.Join(root, "second"))
		}()
		verifyRootFails(t, root, "not the one logged")
	})
	t.Run("reordered", func(t *testing.T) {
		// The log re-made with its entries in another order and signed by the real signer:
		// the second ceremony's opening quoted a log that held the first one before it.
		copyRoot := filepath.Join(t.TempDir(), "copy")
		if err := exec.Command("cp", "-a", root, copyRoot).Run(); err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(filepath.Join(copyRoot, ledger.Dir))
		if err := ledger.Init(copyRoot, "example.org/root-ca"); err != nil {
			t.Fatal(err)
		}
		signWith(t, filepath.Join(root, "second"), stores["second"], func(name string, k crypto.Signer) {
			s, _ := ledger.NewSigner(name, k)
			for _, e := range []int64{1, 0} {
				entry, _ := ledger.ParseEntry(l.Entry(e))
				if _, err := ledger.Append(copyRoot, entry, s); err != nil {
					t.Fatal(err)
				}
			}
		})
		verifyRootFails(t, copyRoot, "the log was reordered")
	})
	t.Run("log rewound", func(t *testing.T) {
		cp := filepath.Join(root, ledger.Dir, "checkpoint")
		newest, _ := os.ReadFile(cp)
		older, _ := os.ReadFile(filepath.Join(root, ledger.Dir, "checkpoints", "1"))
		os.WriteFile(cp, older, 0o644)
		defer os.WriteFile(cp, newest, 0o644)
		verifyRootFails(t, root, "rolled back")
	})
	// All restored: verifies again.
	if code, out, errb := keyrite(t, "", "verify", root); code != 0 {
		t.Fatalf("restored root: %d\n%s\n%s", code, out, errb)
	}
}

// signWith opens the rehearsal token that sealed the ceremony in dir and hands f its
// transcript signer.
func signWith(t *testing.T, dir, store string, f func(name string, k crypto.Signer)) {
	t.Helper()
	h := hsmFlags{rehearsalDir: store, pinFD: -1, soPinFD: -1}
	var env Env
	env.Stdout, env.Stderr, env.Stdin = io.Discard, io.Discard, strings.NewReader("")
	if err := withCeremonySigner(dir, h, env, func(res *transcript.Result, k crypto.Signer) error {
		f(res.Seal.SignerName, k)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestCosignAndCopies: a witness cosigns; verify --witness requires its cosignature on the
// newest checkpoint; the archive's copy is checked against the laptop's.
func TestCosignAndCopies(t *testing.T) {
	root, stores := evidenceRoot(t, "first")
	keys := filepath.Join(t.TempDir(), "auditor")
	if code, out, errb := keyrite(t, "", "cosign", "--generate", "auditor.example.com", "--out", keys); code != 0 {
		t.Fatalf("generate: %s %s", out, errb)
	}
	if fi, err := os.Stat(keys + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("witness private key: %v %v", fi, err)
	}
	state := filepath.Join(t.TempDir(), "witness-state")
	if code, out, errb := keyrite(t, "", "cosign", "--key", keys+".key", "--state", state, root); code != 0 {
		t.Fatalf("cosign: %s %s", out, errb)
	}
	if code, out, errb := keyrite(t, "", "verify", root, "--witness", keys+".pub"); code != 0 || !strings.Contains(out, "Cosigned by witness auditor.example.com") {
		t.Fatalf("verify --witness: %d\n%s\n%s", code, out, errb)
	}
	archive := filepath.Join(t.TempDir(), "archive")
	if err := exec.Command("cp", "-a", root, archive).Run(); err != nil {
		t.Fatal(err)
	}
	rehearseInto(t, root, "second", stores)
	verifyRootFails(t, root, "did not cosign the newest checkpoint", "--witness", keys+".pub")
	code, out, errb := keyrite(t, "", "verify", root, "--against", archive)
	if code != 0 || !strings.Contains(out, "lacks 1 entries") || !strings.Contains(out, "ceremony example-root-2026") {
		t.Fatalf("verify --against: %d\n%s\n%s", code, out, errb)
	}
	if code, out, errb := keyrite(t, "", "cosign", "--key", keys+".key", "--state", state, root); code != 0 {
		t.Fatalf("cosign again: %s %s", out, errb)
	}
	if code, _, errb := keyrite(t, "", "verify", root, "--witness", keys+".pub"); code != 0 {
		t.Fatal(errb)
	}
	// The auditor's pure-Go verifier checks the root, its witness and the archive the same way.
	verifier := filepath.Join(t.TempDir(), "keyrite-verify")
	build := exec.Command("go", "build", "-o", verifier, "../cmd/keyrite-verify")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 build: %v\n%s", err, out)
	}
	if out, err := exec.Command(verifier, "--witness", keys+".pub", "--against", archive, root).CombinedOutput(); err != nil || !strings.Contains(string(out), "Cosigned by witness auditor.example.com") || !strings.Contains(string(out), "lacks 1 entries") {
		t.Fatalf("keyrite-verify: %v\n%s", err, out)
	}
	// The witness refuses a log that is not an extension of what it cosigned.
	other, _ := evidenceRoot(t, "x")
	if code, _, errb := keyrite(t, "", "cosign", "--key", keys+".key", "--state", state, other); code == 0 || !strings.Contains(errb, "stop and investigate") {
		t.Fatalf("the witness cosigned another history: %s", errb)
	}
}

// TestAttachOutsideEvidence logs a video by hash after the seal and checks it when present.
func TestAttachOutsideEvidence(t *testing.T) {
	root, stores := evidenceRoot(t, "first")
	video := filepath.Join(t.TempDir(), "camera-1.mp4")
	os.WriteFile(video, []byte("not really a video"), 0o644)
	code, out, errb := keyrite(t, "", "attach", "--rehearsal-dir", stores["first"], "--copy", root, filepath.Join(root, "first"), video)
	if code != 0 || !strings.Contains(out, "entry 1") {
		t.Fatalf("attach: %d %s %s", code, out, errb)
	}
	if code, out, errb := keyrite(t, "", "verify", root); code != 0 || !strings.Contains(out, "1 file(s) checked by hash") {
		t.Fatalf("verify: %d\n%s\n%s", code, out, errb)
	}
	copied := filepath.Join(root, ledger.AttachmentsDir, "first", "camera-1.mp4")
	os.WriteFile(copied, []byte("an edited video..."), 0o644)
	verifyRootFails(t, root, "camera-1.mp4 of ceremony example-root-2026 is not the file")
}

// TestTimestampAsREADMEShows runs a time-stamping authority on localhost with a test CA, has
// it timestamp a bundle, and checks the token with keyrite and with the README's openssl.
func TestTimestampAsREADMEShows(t *testing.T) {
	caPEM, tsa := testTSA(t)
	_, dir, _ := rehearsed(t)
	bundle := filepath.Join(dir, "evidence-example-root-2026.tar")
	code, out, errb := keyrite(t, "", "timestamp", bundle, "--tsa", tsa.URL, "--tsa-ca", caPEM)
	if code != 0 || !strings.Contains(out, "Timestamped") {
		t.Fatalf("timestamp: %d\n%s\n%s", code, out, errb)
	}
	if code, out, errb := keyrite(t, "", "verify", bundle, "--tsa-ca", caPEM); code != 0 || !strings.Contains(out, "Timestamp: the signed MANIFEST existed at") {
		t.Fatalf("verify: %d\n%s\n%s", code, out, errb)
	}
	readme, _ := os.ReadFile(filepath.Join("..", "README.md"))
	m := regexp.MustCompile("(?s)<!-- openssl-timestamp -->\\s*```sh\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no <!-- openssl-timestamp --> block")
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", string(m[1]))
	cmd.Env = append(os.Environ(), "BUNDLE="+bundle, "TSA_CA="+caPEM)
	cmd.Dir = t.TempDir()
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Fatalf("README timestamp block: %v\n%s", err, out)
	}
	// Another CA, or a timestamp of another file, is refused.
	otherCA, _ := testTSA(t)
	if code, _, errb := keyrite(t, "", "verify", bundle, "--tsa-ca", otherCA); code == 0 || !strings.Contains(errb, "does not chain") {
		t.Fatalf("a TSA of another CA passed: %s", errb)
	}
	_, dir2, _ := rehearsed(t)
	tsr, _ := os.ReadFile(bundle + TimestampSuffix)
	bundle2 := filepath.Join(dir2, "evidence-example-root-2026.tar")
	os.WriteFile(bundle2+TimestampSuffix, tsr, 0o644)
	if code, _, errb := keyrite(t, "", "verify", bundle2); code == 0 || !strings.Contains(errb, "another file") {
		t.Fatalf("a timestamp of another bundle passed: %s", errb)
	}
}

// testTSA starts an RFC 3161 time-stamping authority on localhost, certified by a test CA
// whose certificate it writes to a file.
func testTSA(t *testing.T) (caFile string, srv *httptest.Server) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Keyrite test TSA CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	tsaKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tsaTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Keyrite test TSA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}
	tsaDER, err := x509.CreateCertificate(rand.Reader, tsaTmpl, ca, &tsaKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	// RFC 3161 requires the TSA's extended key usage to be critical.
	tsaCert, _ := x509.ParseCertificate(criticalEKU(t, tsaDER, tsaTmpl, ca, &tsaKey.PublicKey, caKey))
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := timestamp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ts := timestamp.Timestamp{HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Time: time.Now(),
			Nonce: req.Nonce, Policy: []int{1, 3, 6, 1, 4, 1, 99999, 1}, AddTSACertificate: req.Certificates, SerialNumber: big.NewInt(time.Now().UnixNano())}
		resp, err := ts.CreateResponseWithOpts(tsaCert, tsaKey, crypto.SHA256)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(resp)
	}))
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "tsa-ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)
	return caFile, srv
}

// criticalEKU re-issues a certificate with its extended key usage marked critical.
func criticalEKU(t *testing.T, der []byte, tmpl, ca *x509.Certificate, pub crypto.PublicKey, caKey crypto.Signer) []byte {
	c, _ := x509.ParseCertificate(der)
	for _, e := range c.Extensions {
		if e.Id.Equal([]int{2, 5, 29, 37}) {
			e.Critical = true
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, e)
		}
	}
	tmpl.ExtKeyUsage = nil
	out, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
