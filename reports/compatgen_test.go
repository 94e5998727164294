package reports_test

import (
	"crypto"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/ceremonytest"
	"github.com/keyrite/keyrite/reports"
)

// compatWrite is where TestGenerateCompatFixtures writes a new version of the compatibility
// fixtures (testdata/compat/vN). Fixtures once committed are never written again: the
// generator refuses a folder that exists.
var compatWrite = flag.String("compat.write", "", "write new compatibility fixtures into this new folder")

// fixedClock starts at a fixed instant and advances one millisecond per reading, so fixtures
// carry stable, plausible times.
func fixedClock(start time.Time) func() time.Time {
	var mu sync.Mutex
	now := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
}

// TestGenerateCompatFixtures writes the evidence of this version for testdata/compat: a root
// ceremony, and a root ceremony with a 3-of-5 quorum backup followed by the restore that reads
// it, each folder with its report and bundle and without the share sheets. Run it only to add
// a new format version:
//
//	go test ./reports -run TestGenerateCompatFixtures -args -compat.write=$PWD/testdata/compat/vN
func TestGenerateCompatFixtures(t *testing.T) {
	if *compatWrite == "" {
		t.Skip("a generator, not a test: give -compat.write=DIR to write new fixtures")
	}
	out := *compatWrite
	if _, err := os.Stat(out); err == nil {
		t.Fatalf("%s exists: committed fixtures are never regenerated; choose the next version's folder", out)
	}
	clock := fixedClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	ui := &ceremonytest.UI{}
	shares := t.TempDir()
	run := func(dir string, b ceremony.Binding, s *ceremony.Script, opt ceremony.Options) {
		opt.Clock, opt.SharesDir = clock, shares
		opt.AfterSeal = func(d string, signer crypto.Signer) error {
			_, _, err := reports.WriteEvidence(d, signer)
			return err
		}
		opt.ShareSheet = func(s ceremony.ShareSheet) ([]byte, error) { return reports.RenderShareSheet(reports.ShareSheet(s)) }
		if err := ceremony.Start(t.Context(), s, dir, b, ui, opt); err != nil {
			t.Fatal(err)
		}
	}
	run(filepath.Join(out, "root"), ceremonytest.Token(t), ceremonytest.Script(t, "..", "root-ceremony.yaml"), ceremony.Options{})
	backupYAML, _ := os.ReadFile("../testdata/root-quorum-ceremony.yaml")
	restoreYAML, _ := os.ReadFile("../testdata/restore-ceremony.yaml")
	backup, restore, err := ceremony.QuorumExamples(backupYAML, restoreYAML, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	quorum := filepath.Join(out, "quorum")
	run(filepath.Join(quorum, "backup"), ceremonytest.Token(t), backup, ceremony.Options{})
	run(filepath.Join(quorum, "restore"), ceremonytest.Token(t), restore, ceremony.Options{Previous: filepath.Join(quorum, "backup")})
}
