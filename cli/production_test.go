package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/keyrite/keyrite/hsm"
)

// A production-style run: the token reached by module path and label, the PIN from a file
// only its owner can read, every confirmation typed by a person on the terminal.
func TestRunWithPINFileAndTypedAnswers(t *testing.T) {
	r := storeWithTokens(t, t.TempDir(), "production-like", "production-like-2")
	pin, _ := r.PIN("production-like", hsm.User)
	pinFile := filepath.Join(t.TempDir(), "pin")
	os.WriteFile(pinFile, append(pin, '\n'), 0o600)
	pin2, _ := r.PIN("production-like-2", hsm.User)
	pinFile2 := filepath.Join(t.TempDir(), "pin2")
	os.WriteFile(pinFile2, pin2, 0o600)

	script := filepath.Join("..", "testdata", "root-ceremony.yaml")
	out := filepath.Join(t.TempDir(), "ceremony")
	// 5 roll-call answers, the clock, 3 gated and witnessed steps, the bags and the seal's
	// gate; one "maybe" is asked again.
	answers := "maybe\n" + strings.Repeat("yes\n", 14)
	code, stdout, stderr := keyrite(t, answers, "run", script, "--module", hsm.SoftHSMModule, "--token", "production-like", "--pin-file", pinFile, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "Please answer yes or no") || strings.Contains(stdout, "[rehearsal]") ||
		!strings.Contains(stdout, `About to generate the ecdsa-p384 root key "example-root-2026", on token "production-like"`) {
		t.Fatalf("the terminal did not ask a person:\n%s", stdout)
	}
	if strings.Contains(stdout, string(pin)) {
		t.Fatal("the PIN reached the terminal")
	}
	if code, _, stderr := keyrite(t, "", "verify", out); code != 0 {
		t.Fatal(stderr)
	}

	// A "no" with its reason stops the ceremony and records why.
	out2 := filepath.Join(t.TempDir(), "declined")
	code, stdout, stderr = keyrite(t, strings.Repeat("yes\n", 7)+"no\nthe fingerprint on screen was not read aloud\n", "run", script,
		"--module", hsm.SoftHSMModule, "--token", "production-like-2", "--pin-file", pinFile2, "--out", out2)
	data, _ := os.ReadFile(filepath.Join(out2, "transcript.jsonl"))
	if code == 0 || !strings.Contains(string(data), "the fingerprint on screen was not read aloud") {
		t.Fatalf("exit %d; the reason is not in the transcript\n%s\n%s", code, stdout, stderr)
	}
}

func TestPINSources(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte("1234\n"), 0o644)
	if _, err := hsm.ReadPINFile(open); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable PIN file: %v", err)
	}
	r, w, _ := os.Pipe()
	w.Write([]byte("5678\n"))
	w.Close()
	// ReadPINFD owns and closes the descriptor it is given, as --pin-fd's is the process's
	// own. Hand it a duplicate: r's own descriptor is closed by r, once, and never after its
	// number is reused (a finalizer closing a reused number broke a later test's transcript).
	fd, err := syscall.Dup(int(r.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	pin, err := hsm.ReadPINFD(fd)
	if err != nil || string(pin) != "5678" {
		t.Fatalf("PIN from fd: %q %v", pin, err)
	}
	// No PIN source and no terminal: the masked prompt refuses rather than echo a PIN.
	store := t.TempDir()
	rs, _ := hsm.PrepareRehearsal(store)
	m, err := hsm.Open(hsm.SoftHSMModule)
	if err != nil {
		t.Fatal(err)
	}
	rs.EnsureToken(m, "no-pin-given")
	m.Close()
	t.Setenv("SOFTHSM2_CONF", filepath.Join(store, "softhsm2.conf"))
	code, _, stderr := keyrite(t, "yes\nyes\nyes\nyes\nyes\nyes\n", "run", filepath.Join("..", "testdata", "root-ceremony.yaml"), "--module", hsm.SoftHSMModule, "--token", "no-pin-given", "--out", filepath.Join(dir, "o"))
	if code == 0 || !strings.Contains(stderr, "not a terminal") || !strings.Contains(stderr, "--pin-file") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// A PIN in a URI is refused outright.
	code, _, stderr = keyrite(t, "", "tokens", "--hsm", "pkcs11:token=x?module-path="+hsm.SoftHSMModule+"&pin-value=1234")
	if code != 2 || !strings.Contains(stderr, "pin-value is refused") {
		t.Fatalf("pin-value: exit %d %s", code, stderr)
	}
}

func TestSignIntermediateFromTheCommandLine(t *testing.T) {
	store, root, _ := rehearsed(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "Example Issuing CA 2026", Country: []string{"DE"}, Organization: []string{"Example Sovereign Cloud GmbH"}}}, key)
	csr := filepath.Join(t.TempDir(), "issuing.csr")
	os.WriteFile(csr, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o644)
	out := filepath.Join(t.TempDir(), "issuing")
	code, stdout, stderr := keyrite(t, "", "run", filepath.Join("..", "testdata", "sign-intermediate-ceremony.yaml"), "--rehearsal", "--rehearsal-dir", store,
		"--yes", "--previous", root, "--csr", csr, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "chain.pem")); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := keyrite(t, "", "verify", out); code != 0 {
		t.Fatal(stderr)
	}
}

// A wrong PIN stops the run before anything is written, and the terminal says what to do.
func TestWrongPINSaysWhatToDo(t *testing.T) {
	storeWithTokens(t, t.TempDir(), "wrong-pin")
	pinFile := filepath.Join(t.TempDir(), "pin")
	os.WriteFile(pinFile, []byte("not-the-pin"), 0o600)
	out := filepath.Join(t.TempDir(), "ceremony")
	code, _, stderr := keyrite(t, strings.Repeat("yes\n", 10), "run", filepath.Join("..", "testdata", "root-ceremony.yaml"),
		"--module", hsm.SoftHSMModule, "--token", "wrong-pin", "--pin-file", pinFile, "--out", out)
	if code != 1 || !strings.Contains(stderr, "wrong PIN") || !strings.Contains(stderr, "hint: the PIN was not accepted; run the same command again with the right PIN") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a refused PIN left %s behind", out)
	}
}
