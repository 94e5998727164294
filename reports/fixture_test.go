package reports_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/ceremonytest"
)

// mixedFixture is a sealed ceremony run from testdata/mixed-script.yaml, committed once and
// never regenerated: the visual regression test renders it.
const mixedFixture = "testdata/mixed-script/example-mixed-2026"

// TestMakeMixedScriptFixture writes mixedFixture. It runs only when asked
// (KEYRITE_MAKE_FIXTURE=1) and refuses to replace a fixture already there.
func TestMakeMixedScriptFixture(t *testing.T) {
	if os.Getenv("KEYRITE_MAKE_FIXTURE") == "" {
		t.Skip("writes the committed fixture; run with KEYRITE_MAKE_FIXTURE=1 only to make it the first time")
	}
	if _, err := os.Stat(mixedFixture); err == nil {
		t.Fatalf("%s exists: fixtures are never regenerated", mixedFixture)
	}
	s, err := ceremony.LoadScript("testdata/mixed-script.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := ceremonytest.Run(t, s, &ceremonytest.UI{}, ceremony.Options{})
	if err := os.MkdirAll(filepath.Dir(mixedFixture), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-r", dir, mixedFixture).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}
