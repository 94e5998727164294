package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/quorum/quorumtest"
)

func example(t *testing.T) []byte { return testdata(t, "root-ceremony.yaml") }

func examples(t *testing.T) map[string][]byte {
	out := map[string][]byte{}
	for _, n := range []string{"root", "root-quorum", "restore", "region-root", "import-job", "export", "import", "drill"} {
		out[n] = testdata(t, n+"-ceremony.yaml")
	}
	return out
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyrite runs a command in-process and returns its exit code, stdout and stderr.
func keyrite(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Examples: examples(t)})
	return code, out.String(), errb.String()
}

// tokenLabel is the label of the token the ceremony in dir ran on, as its transcript says.
func tokenLabel(t *testing.T, dir string) string {
	t.Helper()
	ti, err := ceremony.TokenOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ti.Label
}

// rehearsed runs `keyrite rehearse` into a new folder and returns the store and the folder.
func rehearsed(t *testing.T) (store, dir, stdout string) {
	t.Helper()
	store, dir = t.TempDir(), filepath.Join(t.TempDir(), "ceremony")
	code, stdout, stderr := keyrite(t, "", "rehearse", "--rehearsal-dir", store, "--out", dir)
	if code != 0 {
		t.Fatalf("rehearse exit %d\n%s\n%s", code, stdout, stderr)
	}
	return store, dir, stdout
}

func TestRehearseThenVerify(t *testing.T) {
	_, dir, _ := rehearsed(t)
	code, stdout, stderr := keyrite(t, "", "verify", dir)
	if code != 0 || !strings.Contains(stdout, "Verified: ceremony example-root-2026") {
		t.Fatalf("verify exit %d\n%s\n%s", code, stdout, stderr)
	}
}

func TestVerifyNamesTheBadRecord(t *testing.T) {
	_, dir, _ := rehearsed(t)
	p := filepath.Join(dir, transcript.FileName)
	b, _ := os.ReadFile(p)
	lines := bytes.SplitAfter(b, []byte("\n"))
	lines[5] = bytes.Replace(lines[5], []byte("present"), []byte("absent!"), 1)
	os.WriteFile(p, bytes.Join(lines, nil), 0o644)
	code, stdout, stderr := keyrite(t, "", "verify", dir)
	if code != 1 || !strings.Contains(stderr, "record 6 (line 7)") {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	// Then, record by record: the changed one, and those the chain no longer reaches.
	if !strings.Contains(stdout, "\n  record 5: BAD — record was changed after record 6 fixed its hash") || !strings.Contains(stdout, "\n  records 6 to ") {
		t.Fatalf("stdout:\n%s", stdout)
	}
}

// The README's openssl commands, run exactly as written, verify the seal.
func TestOpenSSLVerifiesSealAsREADMEShows(t *testing.T) {
	needTools(t, "openssl")
	_, dir, _ := rehearsed(t)
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- openssl-seal -->\\s*```sh\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no <!-- openssl-seal --> block")
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", string(m[1]))
	cmd.Env = append(os.Environ(), "DIR="+dir)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("README openssl block failed: %v\n%s", err, out)
	}
	// The same commands must fail on a tampered seal.
	s, _ := os.ReadFile(filepath.Join(dir, transcript.SealFileName))
	s = bytes.Replace(s, []byte("example-root-2026\n"), []byte("example-root-2027\n"), 1)
	os.Chmod(filepath.Join(dir, transcript.SealFileName), 0o644)
	os.WriteFile(filepath.Join(dir, transcript.SealFileName), s, 0o644)
	cmd = exec.Command("bash", "-euo", "pipefail", "-c", string(m[1]))
	cmd.Env = append(os.Environ(), "DIR="+dir)
	cmd.Dir = t.TempDir()
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("README openssl block accepted a tampered seal:\n%s", out)
	}
}

// openssl reads the root certificate, and its public key is the one pkcs11-tool reads from the
// token.
func TestRootCertificateMatchesTokenKey(t *testing.T) {
	needTools(t, "openssl", "pkcs11-tool")
	store, dir, _ := rehearsed(t)
	out, err := exec.Command("openssl", "x509", "-in", filepath.Join(dir, "root.pem"), "-noout", "-pubkey").Output()
	if err != nil {
		t.Fatalf("openssl x509: %v", err)
	}
	blk, _ := pem.Decode(out)
	r, err := hsm.PrepareRehearsal(store)
	if err != nil {
		t.Fatal(err)
	}
	label := tokenLabel(t, dir)
	pin, _ := r.PIN(label, hsm.User)
	// pkcs11-tool cannot export EC public keys with OpenSSL 3 ("cannot create EVP_PKEY"), but
	// it lists each public key object's CKA_EC_POINT: compare that with the certificate's key.
	cmd := exec.Command("pkcs11-tool", "--module", hsm.SoftHSMModule, "--token-label", label, "--login", "--pin", string(pin),
		"--list-objects", "--type", "pubkey")
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+filepath.Join(store, "softhsm2.conf"))
	listing, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool: %v\n%s", err, listing)
	}
	m := regexp.MustCompile(`EC_POINT:\s+([0-9a-f]+)\n\s+EC_PARAMS:\s+[0-9a-f]+\n\s+label:\s+example-root-2026\n`).FindSubmatch(listing)
	if m == nil {
		t.Fatalf("pkcs11-tool lists no public key example-root-2026:\n%s", listing)
	}
	certKey, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	point, _ := certKey.(*ecdsa.PublicKey).Bytes()
	// CKA_EC_POINT is a DER OCTET STRING: 04, length 0x61, then the uncompressed point.
	if want := "0461" + hex.EncodeToString(point); string(m[1]) != want {
		t.Fatalf("token public key differs from the certificate's\n token %s\n cert  %s", m[1], want)
	}
	der, _ := os.ReadFile(filepath.Join(dir, "root.der"))
	c, err := x509.ParseCertificate(der)
	if err != nil || !c.IsCA || c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Fatalf("root profile: %v %+v", err, c)
	}
}

// A second run of the same script against the same token is refused before anything is
// written, and the first ceremony's outputs stay as they were.
func TestSecondRunIsRefused(t *testing.T) {
	store, dir, _ := rehearsed(t)
	before := snapshot(t, dir)
	second := filepath.Join(t.TempDir(), "again")
	code, stdout, stderr := keyrite(t, "", "run", filepath.Join("..", "testdata", "root-ceremony.yaml"),
		"--rehearsal", "--rehearsal-dir", store, "--token", tokenLabel(t, dir), "--yes", "--out", second)
	if code == 0 || !strings.Contains(stderr, `already holds a key labelled "example-root-2026"`) || !strings.Contains(stderr, "hint: every key a ceremony creates needs a label that is free") {
		t.Fatalf("second run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(second); !os.IsNotExist(err) {
		t.Fatalf("refused run left %s behind", second)
	}
	// Into the first ceremony's own folder: refused before the HSM is opened.
	code, _, stderr = keyrite(t, "", "run", filepath.Join("..", "testdata", "root-ceremony.yaml"),
		"--rehearsal", "--rehearsal-dir", store, "--yes", "--out", dir)
	if code == 0 || !strings.Contains(stderr, "not empty") {
		t.Fatalf("run into an existing folder: exit %d %s", code, stderr)
	}
	if after := snapshot(t, dir); after != before {
		t.Fatal("the first ceremony's outputs changed")
	}
	if code, _, _ := keyrite(t, "", "verify", dir); code != 0 {
		t.Fatal("the first ceremony no longer verifies")
	}
}

// A rehearsal into a folder that already holds something is refused before any rehearsal
// token is made or chosen, for every kind of rehearsal.
func TestRehearseIntoNonEmptyFolderChangesNothing(t *testing.T) {
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "keep.txt"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"--quorum", "2-of-3"}, {"--transfer"}} {
		store := filepath.Join(t.TempDir(), "store")
		args := append([]string{"rehearse", "--rehearsal-dir", store, "--out", out}, extra...)
		code, stdout, stderr := keyrite(t, "", args...)
		if code == 0 || !strings.Contains(stderr, "is not empty") {
			t.Fatalf("%v: exit %d\n%s\n%s", extra, code, stdout, stderr)
		}
		if _, err := os.Stat(store); !os.IsNotExist(err) {
			t.Errorf("%v: the refused rehearsal created the token store %s", extra, store)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "keep.txt")); string(b) != "keep" {
		t.Fatal("the folder's content changed")
	}
}

func snapshot(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			data, _ := os.ReadFile(p)
			b.WriteString(p + "\x00" + string(data) + "\x00")
		}
		return nil
	})
	return b.String()
}

// The PIN never reaches the ceremony folder, the terminal or the temp directory.
func TestPINNeverLeaks(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	store, dir, stdout := rehearsed(t)
	r, _ := hsm.PrepareRehearsal(store)
	for _, role := range []hsm.Role{hsm.User, hsm.SO} {
		pin, err := r.PIN(tokenLabel(t, dir), role)
		if err != nil || len(pin) < 16 {
			t.Fatalf("rehearsal PIN: %v", err)
		}
		if strings.Contains(stdout, string(pin)) {
			t.Fatalf("%s PIN on the terminal", role)
		}
		for _, root := range []string{dir, tmp} {
			filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
				if err == nil && !fi.IsDir() {
					if data, _ := os.ReadFile(p); bytes.Contains(data, pin) {
						t.Errorf("%s PIN found in %s", role, p)
					}
				}
				return nil
			})
		}
	}
}

func TestScriptErrorsNameFieldAndLine(t *testing.T) {
	bad := strings.Replace(string(example(t)), "algorithm: ecdsa-p384", "algorithm: ecdsa-p999", 1)
	bad = strings.Replace(bad, "role: witness", "role: bystander", 1)
	p := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(p, []byte(bad), 0o644)
	code, _, stderr := keyrite(t, "", "run", p, "--rehearsal", "--rehearsal-dir", t.TempDir(), "--yes", "--out", filepath.Join(t.TempDir(), "x"))
	for _, want := range []string{"bad.yaml:17: participants.3.role", "bad.yaml:26: key.algorithm", "nothing was sent to the HSM"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code != 1 {
		t.Errorf("exit %d", code)
	}
}

func TestRehearseQuorum(t *testing.T) {
	needTools(t, "pdftotext")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	store, out := t.TempDir(), filepath.Join(t.TempDir(), "quorum")
	code, stdout, stderr := keyrite(t, "", "rehearse", "--rehearsal-dir", store, "--quorum", "3-of-5", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"== backup ==", "== restore ==", "Continues ceremony example-root-2026"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if code, _, stderr := keyrite(t, "", "verify", out); code != 0 {
		t.Fatalf("verify: %s", stderr)
	}
	// The sheets are in the folder the rehearsal announced, outside the evidence; no share code
	// is in any file of the evidence (PDF text included), in a temp file or on the terminal.
	sheets := out + ".share-sheets"
	if !strings.Contains(stdout, "Share sheets of this rehearsal go to "+sheets+", outside the evidence folder "+out) {
		t.Errorf("the rehearsal does not announce where its sheets go:\n%s", stdout)
	}
	codes := quorumtest.SheetCodes(t, sheets)
	if len(codes) != 5 {
		t.Fatalf("%d share sheets, want 5", len(codes))
	}
	quorumtest.AssertNoShares(t, out, codes)
	// No temp file holds a share either.
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		quorumtest.AssertNoShares(t, tmp, codes)
	}
	for _, c := range codes {
		for _, secret := range []string{c, strings.ReplaceAll(c, " ", ""), strings.Join(strings.Fields(c)[8:10], " ")} {
			if strings.Contains(stdout, secret) {
				t.Fatal("a share code reached the terminal")
			}
		}
	}
}

// keyrite run refuses share sheets without a destination or inside the evidence folder,
// before anything happens.
func TestRunRefusesSheetsInEvidence(t *testing.T) {
	out := filepath.Join(t.TempDir(), "root")
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{nil, "say where the share sheets go"},
		{[]string{"--shares-dir", filepath.Join(out, "shares")}, "may not go into the evidence folder"},
	} {
		args := append([]string{"run", filepath.Join("..", "testdata", "root-quorum-ceremony.yaml"), "--rehearsal", "--rehearsal-dir", t.TempDir(), "--yes", "--out", out}, tc.flags...)
		code, _, stderr := keyrite(t, "", args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %s", tc.flags, code, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatal("the refused run created the evidence folder")
		}
	}
}

func TestRehearseQuorumRefusesBadSpec(t *testing.T) {
	for _, q := range []string{"3of5", "1-of-3", "4-of-3", "3-of-17"} {
		code, _, stderr := keyrite(t, "", "rehearse", "--rehearsal-dir", t.TempDir(), "--quorum", q, "--out", filepath.Join(t.TempDir(), "x"))
		if code != 2 || !strings.Contains(stderr, "--quorum") {
			t.Errorf("--quorum %s: exit %d, %s", q, code, stderr)
		}
	}
}

// The rehearsal writes a report and a bundle; the README's openssl and sha256sum commands and
// the pure-Go verifier, built without cgo, all accept the bundle.
func TestBundleChecksAsREADMEShows(t *testing.T) {
	needTools(t, "openssl", "sha256sum", "tar")
	_, dir, stdout := rehearsed(t)
	bundle := filepath.Join(dir, "evidence-example-root-2026.tar")
	if _, err := os.Stat(filepath.Join(dir, "report.pdf")); err != nil || !strings.Contains(stdout, bundle) {
		t.Fatalf("rehearsal wrote no report or bundle: %v\n%s", err, stdout)
	}
	readme, _ := os.ReadFile(filepath.Join("..", "README.md"))
	m := regexp.MustCompile("(?s)<!-- openssl-bundle -->\\s*```sh\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no <!-- openssl-bundle --> block")
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", string(m[1]))
	cmd.Env = append(os.Environ(), "BUNDLE="+bundle)
	cmd.Dir = t.TempDir()
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("README bundle block: %v\n%s", err, out)
	}
	verifier := filepath.Join(t.TempDir(), "keyrite-verify")
	build := exec.Command("go", "build", "-o", verifier, "../cmd/keyrite-verify")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 build: %v\n%s", err, out)
	}
	out, err := exec.Command(verifier, bundle).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Bundle verified") {
		t.Fatalf("keyrite-verify: %v\n%s", err, out)
	}
	if code, stdout, stderr := keyrite(t, "", "verify", "--render", bundle); code != 0 || !strings.Contains(stdout, "report re-rendered by renderer") {
		t.Fatalf("keyrite verify --render: %d %s %s", code, stdout, stderr)
	}
	if code, stdout, stderr := keyrite(t, "", "verify", bundle); code != 0 || !strings.Contains(stdout, "withheld") || !strings.Contains(stdout, "not re-rendered") {
		t.Fatalf("keyrite verify bundle: %d %s %s", code, stdout, stderr)
	}
	// keyrite report re-renders the same bytes.
	again := filepath.Join(t.TempDir(), "again.pdf")
	if code, _, stderr := keyrite(t, "", "report", dir, "--out", again); code != 0 {
		t.Fatal(stderr)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "report.pdf"))
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Fatal("re-rendered report differs")
	}
	// To standard output with --out -, byte for byte (never escaped as text); by default
	// made again next to the ceremony.
	if code, stdout, stderr := keyrite(t, "", "report", dir, "--out", "-"); code != 0 || stdout != string(a) {
		t.Fatalf("report --out -: exit %d, %d bytes (want %d)\n%s", code, len(stdout), len(a), stderr)
	}
	os.Remove(filepath.Join(dir, "report.pdf"))
	if code, stdout, stderr := keyrite(t, "", "report", dir); code != 0 || !strings.Contains(stdout, "report.pdf") {
		t.Fatalf("report: %d %s %s", code, stdout, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "report.pdf")); !bytes.Equal(a, b) {
		t.Fatal("the report made again next to the ceremony differs")
	}
}

// needTools fails the test when a tool it runs is missing (./scripts/install-deps installs
// them all); only a -short run outside CI skips it, saying what is missing.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			msg := fmt.Sprintf("%s is not installed (./scripts/install-deps installs it)", tool)
			if testing.Short() && os.Getenv("CI") == "" {
				t.Skip(msg + "; skipped in a -short run outside CI only")
			}
			t.Fatal(msg)
		}
	}
}

// `keyrite rehearse --drill` backs the example root up 3-of-5 and drills the quorum: every
// simulated custodian proves possession; both ceremonies verify.
func TestRehearseDrill(t *testing.T) {
	store, out := t.TempDir(), filepath.Join(t.TempDir(), "drill")
	code, stdout, stderr := keyrite(t, "", "rehearse", "--rehearsal-dir", store, "--drill", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"== backup ==", "== drill ==", "Sanna Virtanen holds share 5 of 5", "Quorum healthy: 5 custodians proved possession"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	quorumtest.AssertNoShares(t, out, quorumtest.SheetCodes(t, out+".share-sheets"))
}

// The drill runs from `keyrite run --previous BACKUP-DIR`: custodians type their shares at the
// prompt (here from the sheets), and the drill verifies.
func TestRunDrill(t *testing.T) {
	store, out := t.TempDir(), filepath.Join(t.TempDir(), "q")
	if code, stdout, stderr := keyrite(t, "", "rehearse", "--rehearsal-dir", store, "--quorum", "3-of-5", "--out", out); code != 0 {
		t.Fatalf("rehearse exit %d\n%s\n%s", code, stdout, stderr)
	}
	codes := quorumtest.SheetCodes(t, out+".share-sheets")
	// Roll call (8) and clock, then each custodian's share in turn, then every confirmation.
	stdin := strings.Repeat("yes\n", 9) + strings.Join(codes, "\n") + "\n" + strings.Repeat("yes\n", 20)
	drill := filepath.Join(filepath.Dir(out), "drill")
	tok, err := ceremony.TokenOf(filepath.Join(out, "backup")) // the backup's token holds its transcript signer
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := keyrite(t, stdin, "run", filepath.Join("..", "testdata", "drill-ceremony.yaml"), "--rehearsal", "--rehearsal-dir", store,
		"--token", tok.Label, "--previous", filepath.Join(out, "backup"), "--out", drill)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if refused := quorumtest.Records(t, drill, transcript.EventShareRefused); len(refused) > 0 {
		t.Errorf("%d shares were refused", len(refused))
	}
	n := len(quorumtest.Records(t, drill, transcript.EventShareProven))
	if n != 5 {
		t.Fatalf("%d custodians proved possession, want 5", n)
	}
	for _, c := range codes {
		if strings.Contains(stdout, strings.Fields(c)[3]+" "+strings.Fields(c)[4]) {
			t.Fatal("a share code reached the terminal")
		}
	}
	quorumtest.AssertNoShares(t, drill, codes)
}
