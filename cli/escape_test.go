package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/cli/base"
)

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Zoë Ångström", "Zoë Ångström"},
		{"王秀英 דוד כהן محمد", "王秀英 דוד כהן محمد"},
		{"line\nnext", "line\nnext"},
		{"\x1b[2J\x1b]0;owned\x07", `\x1b[2J\x1b]0;owned\a`},
		{"ok\rVerified", `ok\rVerified`},
		{"abc\u202Edef", `abc\u202edef`},
		{"\u0085\u2028\U000E0001", `\u0085\u2028\U000e0001`},
	} {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A multi-byte character split across two writes arrives whole; an escape split likewise is
// still escaped.
func TestEscaperSplitWrites(t *testing.T) {
	var out bytes.Buffer
	e := base.NewEscaper(&out)
	s := []byte("Ирина \x1b[31m")
	for i := range s {
		e.Write(s[i : i+1])
	}
	e.Flush()
	if got := out.String(); got != `Ирина \x1b[31m` {
		t.Fatalf("got %q", got)
	}
}

// hostileNames are what a forged or careless transcript could carry into a terminal.
var hostileNames = []string{
	"\x1b[2J\x1b[HVerified: ceremony forged (root), 1 records", // clear the screen, print a fake result
	"\x1b]0;keyrite: all good\x07Mallory",                      // set the terminal's title
	"Mallory\rVerified: ceremony forged",                       // overwrite the line
	"Mallory\nVerified: ceremony forged",                       // a second line that looks like a result
	"\u202Egnp.exe",                                            // reorder what is read
}

// keyrite verify and keyrite inventory print names read from the transcripts they read: a
// signer, a root, a key and a token whose names hold escape sequences, carriage returns or a
// bidi override reach the terminal escaped, and the only line that says "Verified" is
// Keyrite's own.
func TestVerifyAndInventoryEscapeHostileNames(t *testing.T) {
	for _, name := range hostileNames {
		dir := hostileTranscript(t, name)
		code, stdout, stderr := keyrite(t, "", "verify", dir)
		if code != 0 {
			t.Fatalf("verify %q: exit %d\n%s", name, code, stderr)
		}
		code, inv, stderr := keyrite(t, "", "inventory", dir)
		if code != 0 || !strings.Contains(inv, "1 keys") {
			t.Fatalf("inventory %q: exit %d\n%s\n%s", name, code, inv, stderr)
		}
		stdout += inv
		for _, out := range []string{stdout, stderr} {
			if strings.ContainsAny(out, "\x1b\x07\r\u202E") {
				t.Fatalf("verify printed a raw control character for %q:\n%q", name, out)
			}
		}
		n := 0
		for _, l := range strings.Split(stdout, "\n") {
			if strings.HasPrefix(l, "Verified") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("verify %q printed %d lines that start with Verified:\n%s", name, n, stdout)
		}
	}
}

// hostileTranscript writes a sealed one-record ceremony whose root and signer are named
// name, signed with software keys: what an attacker can hand an auditor.
func hostileTranscript(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	clock := func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }
	rootKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rootT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: clock().Add(-time.Hour), NotAfter: clock().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootT, rootT, rootKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	leafT := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name + " signer"}, NotBefore: clock().Add(-time.Hour), NotAfter: clock().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafT, root, leafKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	chain := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})) + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}))
	w, err := transcript.Create(filepath.Join(dir, transcript.FileName), clock, name, transcript.Opening{CeremonyID: "hostile", Type: "root", Organization: name, Location: name})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		event string
		data  any
	}{
		{"participant.present", map[string]string{"name": name, "role": "administrator"}},
		{"hsm.identified", map[string]any{"token": map[string]string{"label": name, "serial": name}}},
		{"key.generated", map[string]string{"label": name, "spki_sha256": "00"}},
		{transcript.EventSigner, transcript.Signer{Name: "signer", Certificate: chain}},
		{transcript.EventClosed, map[string]string{"result": "completed"}},
	} {
		if _, err := w.Append("close", name, r.event, r.data); err != nil {
			t.Fatal(err)
		}
	}
	n, head := w.Head()
	w.Close()
	seal, err := transcript.SealCheckpoint(transcript.Checkpoint{CeremonyID: "hostile", Count: n, Head: head}, "signer", leafKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := transcript.WriteFileExclusive(filepath.Join(dir, transcript.SealFileName), seal, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The README's rehearsal with a participant named in each script people write their names in,
// and with names that hide something: each is refused, naming the file, line, field and
// character, before any token is made or opened (the rehearsal store is byte for byte as it
// was), or the ceremony runs, is sealed and verifies, report and bundle included.
func TestHostileNameLeavesTokenUnchanged(t *testing.T) {
	store, _, _ := rehearsed(t)
	src := string(example(t))
	for _, name := range []string{"Bob \U0001F600", "王秀英", "محمد عبد الله", "דוד כהן", `Eve\e[2J`, `Eve\u202Egnp`, `Eve\u200B`} {
		script := filepath.Join(t.TempDir(), "names.yaml")
		os.WriteFile(script, []byte(strings.Replace(src, "name: Zoë Ångström", `name: "`+name+`"`, 1)), 0o644)
		before := snapshot(t, store)
		out := filepath.Join(t.TempDir(), "c")
		code, stdout, stderr := keyrite(t, "", "run", script, "--rehearsal", "--rehearsal-dir", store, "--yes", "--out", out)
		if code == 0 {
			if code, _, stderr := keyrite(t, "", "verify", out); code != 0 {
				t.Fatalf("%q: accepted, but the ceremony does not verify: %s", name, stderr)
			}
			if _, err := os.Stat(filepath.Join(out, "report.pdf")); err != nil {
				t.Fatalf("%q: accepted, but no report: %v", name, err)
			}
			continue
		}
		if !strings.Contains(stderr, "names.yaml:10: participants.0.name: ") || !strings.Contains(stderr, "U+") {
			t.Fatalf("%q: exit %d, the refusal does not name file:line:field and the character:\n%s\n%s", name, code, stdout, stderr)
		}
		if snapshot(t, store) != before {
			t.Fatalf("%q: the refused run changed the rehearsal store", name)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatalf("%q: the refused run left %s", name, out)
		}
	}
}

// TestHelpIsReadable: flag help is indented with tabs, which pass the escaper as they are.
func TestHelpIsReadable(t *testing.T) {
	_, _, stderr := keyrite(t, "", "run", "--help")
	if strings.Contains(stderr, `\t`) || !strings.Contains(stderr, "\t") {
		t.Fatalf("help text escaped its tabs:\n%s", stderr)
	}
}
