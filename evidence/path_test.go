package evidence_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/evidence"
)

// TestRootInEveryPrintedForm: --root takes the fingerprint grouped as the report prints it,
// plain, with colons, in any case; a wrong or malformed one is refused with a clear error.
func TestRootInEveryPrintedForm(t *testing.T) {
	dir, _ := synth{}.make(t, "")
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hexFP := res.RootSPKI.Hex()
	var colons []string
	for i := 0; i < len(hexFP); i += 2 {
		colons = append(colons, hexFP[i:i+2])
	}
	forms := []string{
		res.RootSPKI.Grouped(),
		strings.ToLower(res.RootSPKI.Grouped()),
		hexFP,
		strings.ToUpper(hexFP),
		strings.Join(colons, ":"),
		strings.ToUpper(strings.Join(colons, ":")),
		"  " + res.RootSPKI.Grouped() + "\n",
	}
	bundle := filepath.Join(dir, evidence.BundleName("synthetic"))
	for _, form := range forms {
		for _, path := range []string{dir, bundle} {
			var out bytes.Buffer
			if err := evidence.VerifyPath(&out, path, evidence.Options{Root: form}); err != nil {
				t.Fatalf("--root %q, %s: %v", form, filepath.Base(path), err)
			}
			if !strings.Contains(out.String(), "equal to the fingerprint given with --root") {
				t.Fatalf("--root %q: output does not say the root matched:\n%s", form, out.String())
			}
		}
	}
	other := strings.Repeat("ab", 32)
	for _, bad := range []struct{ root, want string }{
		{other, "not to the expected root"},
		{hexFP[:60], "60 hex digits, a SHA-256 has 64"},
		{"634C 83A1 XYZ", "is not a hex digit"},
	} {
		for _, path := range []string{dir, bundle} {
			if err := evidence.VerifyPath(&bytes.Buffer{}, path, evidence.Options{Root: bad.root}); err == nil || !strings.Contains(err.Error(), bad.want) {
				t.Fatalf("--root %q, %s: err = %v, want %q", bad.root, filepath.Base(path), err, bad.want)
			}
		}
	}
}

// TestWithoutRootSaysWhatItTrusted: without --root the output names the root it trusted and
// says its fingerprint must be compared with the paper record.
func TestWithoutRootSaysWhatItTrusted(t *testing.T) {
	dir, _ := synth{}.make(t, "")
	for _, path := range []string{dir, filepath.Join(dir, evidence.BundleName("synthetic"))} {
		var out bytes.Buffer
		if err := evidence.VerifyPath(&out, path, evidence.Options{}); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		if !strings.Contains(s, `Trusted root: "Synthetic Root", SPKI SHA-256 `) || !strings.Contains(s, "compare this fingerprint with the paper record") {
			t.Fatalf("%s: output does not say which root it trusted:\n%s", filepath.Base(path), s)
		}
	}
}

// TestOutputEscapesUnprintable: names from the evidence reach the terminal with ANSI escapes
// and bidi overrides escaped.
func TestOutputEscapesUnprintable(t *testing.T) {
	evil := "Root\x1b[2J\x1b]0;pwned\x07\u202eesrever\u2066"
	dir, _ := synth{rootCN: evil, extra: []string{"notes\x1b[31m.txt"}, noBundle: true}.make(t, "")
	os.Remove(filepath.Join(dir, evidence.ReportFileName))
	var out bytes.Buffer
	if err := evidence.VerifyPath(&out, dir, evidence.Options{}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, raw := range []string{"\x1b", "\x07", "\u202e", "\u2066"} {
		if strings.Contains(s, raw) {
			t.Fatalf("output holds %q unescaped:\n%q", raw, s)
		}
	}
	for _, esc := range []string{`\x1b[2J`, `\u202e`, `notes\x1b[31m.txt`} {
		if !strings.Contains(s, esc) {
			t.Fatalf("output lacks %s:\n%s", esc, s)
		}
	}
	// An error that quotes the evidence is escaped too.
	os.WriteFile(filepath.Join(dir, "evil\x1b[0m\u202e.txt"), []byte("x"), 0o644)
	err := evidence.VerifyPath(&out, dir, evidence.Options{})
	if err == nil || strings.ContainsAny(err.Error(), "\x1b\u202e") {
		t.Fatalf("err = %q", err)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain\nZoë Ångström — Χριστίνα": "plain\nZoë Ångström — Χριστίνα",
		"a\x1b[31mb":      `a\x1b[31mb`,
		"tab\there":       "tab\there",
		"\u202eabc\u200f": `\u202eabc\u200f`,
	} {
		if got := evidence.Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestVerifyPathRefusesLinksAndFIFOs: the path handed to verify is itself never followed or
// opened unless it is a folder or a regular file, and a FIFO never blocks it.
func TestVerifyPathRefusesLinksAndFIFOs(t *testing.T) {
	dir, _ := synth{}.make(t, "")
	link := filepath.Join(t.TempDir(), "bundle.tar")
	os.Symlink(filepath.Join(dir, evidence.BundleName("synthetic")), link)
	fifo := filepath.Join(t.TempDir(), "fifo.tar")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{link: "symbolic link", fifo: "FIFO", "/dev/zero": "device"} {
		err := within(t, 20*time.Second, func() error { return evidence.VerifyPath(&bytes.Buffer{}, path, evidence.Options{}) })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: err = %v, want %q", path, err, want)
		}
	}
}
