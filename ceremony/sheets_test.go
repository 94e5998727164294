package ceremony

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/quorum/quorumtest"
)

func TestSheetDestinationRule(t *testing.T) {
	tmp := t.TempDir()
	ev := filepath.Join(tmp, "evidence", "root-2026")
	os.MkdirAll(ev, 0o755)
	link := filepath.Join(tmp, "innocent-looking")
	if err := os.Symlink(filepath.Join(tmp, "evidence"), link); err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name string
		d    SheetDestination
		want string
	}{
		{"nowhere", SheetDestination{}, "say where the share sheets go"},
		{"both", SheetDestination{Dir: filepath.Join(tmp, "m"), Printer: "vault"}, "not both"},
		{"the default OUT/shares", SheetDestination{Dir: filepath.Join(ev, "shares")}, "inside"},
		{"the evidence folder itself", SheetDestination{Dir: ev + "/."}, "inside"},
		{"through a symbolic link", SheetDestination{Dir: filepath.Join(link, "root-2026", "sheets")}, "symbolic links resolved"},
		{"a folder holding the evidence", SheetDestination{Dir: filepath.Join(tmp, "evidence")}, "holds it"},
		{"a printer name that is an option", SheetDestination{Printer: "-d"}, "not a CUPS destination"},
	}
	for _, tc := range refused {
		err := CheckSheetDestination(ev, tc.d, true)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	outside := SheetDestination{Dir: filepath.Join(tmp, "rehearsal-sheets")}
	if err := CheckSheetDestination(ev, outside, true); err != nil {
		t.Errorf("a rehearsal folder beside the evidence: %v", err)
	}
	// On a real HSM the sheets must not share the evidence's disk.
	if err := CheckSheetDestination(ev, outside, false); !errors.Is(err, ErrSheetsInEvidence) {
		t.Errorf("production, same disk: %v", err)
	}
	if err := CheckSheetDestination(ev, SheetDestination{Printer: "default"}, false); err != nil {
		t.Errorf("printer: %v", err)
	}
}

// A refused destination leaves no trace: no folder, nothing on the token.
func TestStartRefusesSheetsInEvidence(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	s := loadTestScript(t, "root-quorum-ceremony.yaml")
	err := start(t, s, dir, freshToken(t), &scriptedUI{}, Options{SharesDir: filepath.Join(dir, "shares")})
	if !errors.Is(err, ErrSheetsInEvidence) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the refused ceremony created its folder")
	}
}

// recordsOf returns the data of every record with event.
func recordsOf(t *testing.T, dir, event string) []map[string]any {
	t.Helper()
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range res.Entries {
		if e.Event == event {
			var d map[string]any
			e.DecodeData(&d)
			out = append(out, d)
		}
	}
	return out
}

// A quorum ceremony and the restore after it leave no share code in any file of their
// evidence folders, PDF text included; the sheets are where the ceremony said, and each
// hand-out, bagging and the destruction of copies is recorded.
func TestQuorumCeremonyLeavesNoShareInEvidence(t *testing.T) {
	ui := &scriptedUI{}
	// With the report and the evidence bundle, as the CLI and the app write them at the seal.
	backup := runIn(t, freshToken(t), loadTestScript(t, "root-quorum-ceremony.yaml"), ui, Options{AfterSeal: writeEvidence})
	restore := runIn(t, freshToken(t), loadTestScript(t, "restore-ceremony.yaml"), ui, Options{Previous: backup, AfterSeal: writeEvidence})
	for _, d := range []string{backup, restore} {
		if _, err := os.Stat(filepath.Join(d, "report.pdf")); err != nil {
			t.Fatalf("no report to scan: %v", err)
		}
	}
	var shown []string
	for _, c := range ui.shares {
		shown = append(shown, c)
	}
	read := quorumtest.SheetCodes(t, sheetsOf(backup))
	sort.Strings(shown)
	sort.Strings(read)
	if len(read) != 5 || strings.Join(read, "|") != strings.Join(shown, "|") {
		t.Fatalf("the sheets hold %d codes, not the 5 shares handed out", len(read))
	}
	quorumtest.AssertNoShares(t, backup, read)
	quorumtest.AssertNoShares(t, restore, read)
	issued := recordsOf(t, backup, "share.issued")
	if len(issued) != 5 || !strings.Contains(issued[0]["destination"].(string), sheetsOf(backup)) || issued[0]["document"] != "example-root-2026/S01-of-05" {
		t.Fatalf("share.issued records: %v", issued)
	}
	if b := recordsOf(t, backup, "share.bagged"); len(b) != 5 || b[4]["bag"] != "TEB-2026-0105" {
		t.Fatalf("share.bagged records: %v", b)
	}
	if d := recordsOf(t, backup, "share.copies-destroyed"); len(d) != 1 || !strings.Contains(d[0]["copies"].(string), "rehearsal") {
		t.Fatalf("share.copies-destroyed: %v", d)
	}
	if c := recordsOf(t, backup, "shares.committed"); len(c) != 1 {
		t.Fatalf("%d shares.committed records", len(c))
	}
}

// Printed sheets exist only in memory on their way to the printer.
func TestSheetsToPrinter(t *testing.T) {
	tok := freshToken(t)
	tmp, err := os.MkdirTemp("", "keyrite-tmpdir-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	var mu sync.Mutex
	var printed []string
	print := func(printer, title string, pdf []byte) error {
		mu.Lock()
		defer mu.Unlock()
		if printer != "vault-laser" || !strings.HasPrefix(string(pdf), "%PDF") {
			return errors.New("bad print job")
		}
		printed = append(printed, title)
		return nil
	}
	ui := &scriptedUI{}
	backup := runIn(t, tok, loadTestScript(t, "root-quorum-ceremony.yaml"), ui, Options{SharesPrinter: "vault-laser", Print: print})
	if len(printed) != 5 || printed[2] != "Keyrite share sheet 3 of 5" {
		t.Fatalf("printed %q", printed)
	}
	var codes []string
	for _, c := range ui.shares {
		codes = append(codes, c)
	}
	quorumtest.AssertNoShares(t, backup, codes)
	if left, _ := os.ReadDir(tmp); len(left) != 1 { // the test's own folders, and no temp file
		t.Fatalf("TMPDIR holds %d entries", len(left))
	}
	if _, err := os.Stat(sheetsOf(backup)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("printing wrote a sheets folder")
	}
	if d := recordsOf(t, backup, "share.copies-destroyed"); len(d) != 1 || !strings.Contains(d[0]["copies"].(string), "print spool") {
		t.Fatalf("share.copies-destroyed: %v", d)
	}
}

// mediaUI plays custodians who each mount their own medium at the shares folder and take it
// out (here: move the sheet away) when asked.
type mediaUI struct {
	scriptedUI
	dir, bags string
	keep      bool // a custodian who "takes out" nothing: the sheet stays on the disk
}

func (u *mediaUI) Confirm(_ context.Context, who, q string) error {
	if strings.Contains(q, "take out your medium") && !u.keep {
		sheets, _ := filepath.Glob(filepath.Join(u.dir, "share-*.pdf"))
		for _, s := range sheets { // another file system: copy, then remove
			data, _ := os.ReadFile(s)
			os.WriteFile(filepath.Join(u.bags, filepath.Base(s)), data, 0o600)
			os.Remove(s)
		}
	}
	return nil
}

// On a real HSM each sheet goes to its custodian's own medium, on another disk than the
// evidence, and leaves the machine with it; a sheet left behind stops the
func TestSheetsToCustodianMedia(t *testing.T) {
	mount, err := os.MkdirTemp("/dev/shm", "keyrite-medium-")
	if err != nil {
		t.Fatalf("a tmpfs stands in for the removable media: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(mount) })
	b := freshToken(t)
	b.Rehearsal = false // as on a real HSM: the production rules apply
	s := loadTestScript(t, "root-quorum-ceremony.yaml")
	ui := &mediaUI{dir: mount, bags: t.TempDir()}
	dir := filepath.Join(t.TempDir(), "root")
	if err := start(t, s, dir, b, ui, Options{SharesDir: mount}); err != nil {
		t.Fatal(err)
	}
	if bagged, _ := filepath.Glob(filepath.Join(ui.bags, "*.pdf")); len(bagged) != 5 {
		t.Fatalf("%d sheets left on media", len(bagged))
	}
	issued := recordsOf(t, dir, "share.issued")
	if !strings.Contains(issued[1]["destination"].(string), "Χριστίνα Παπαδοπούλου's removable medium") {
		t.Fatalf("destination %v", issued[1]["destination"])
	}
	left := &mediaUI{dir: mount, bags: t.TempDir(), keep: true}
	b2 := freshToken(t)
	b2.Rehearsal = false
	err = start(t, s, filepath.Join(t.TempDir(), "root"), b2, left, Options{SharesDir: mount})
	if err == nil || !strings.Contains(err.Error(), "not to a removable medium") {
		t.Fatalf("a sheet left on the machine: %v", err)
	}
}

// runIn runs script on b into a new folder and returns the folder.
func runIn(t *testing.T, b Binding, s *Script, ui UI, opt Options) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), s.ID)
	if err := start(t, s, dir, b, ui, opt); err != nil {
		t.Fatal(err)
	}
	return dir
}

// lp is called with the title and printer as arguments and the PDF on its standard input, no
// file named; a failing lp is reported with what it said.
func TestLPPipesToStandardInput(t *testing.T) {
	bin, got := t.TempDir(), t.TempDir()
	script := "#!/bin/sh\nprintf '%s|' \"$@\" > " + got + "/args\ncat > " + got + "/stdin\n[ \"$2\" != fail ] || { echo 'lp: The printer or class does not exist.' >&2; exit 1; }\n"
	if err := os.WriteFile(filepath.Join(bin, "lp"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	if err := lp("vault-laser", "Keyrite share sheet 1 of 3", []byte("%PDF-1.4 sheet")); err != nil {
		t.Fatal(err)
	}
	args, _ := os.ReadFile(filepath.Join(got, "args"))
	stdin, _ := os.ReadFile(filepath.Join(got, "stdin"))
	if string(args) != "-t|Keyrite share sheet 1 of 3|-d|vault-laser|" || string(stdin) != "%PDF-1.4 sheet" {
		t.Fatalf("lp got args %q, stdin %q", args, stdin)
	}
	if err := lp("default", "fail", nil); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("a failing lp: %v", err)
	}
}
