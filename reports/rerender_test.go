package reports_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/reports"
)

// TestTemplateChangeKeepsEarlierBundlesValid: a bundle written by one renderer version still
// verifies after the report template changed (checked by the report's hash in the signed
// manifest, not re-rendered), and is re-rendered only by the same version.
func TestTemplateChangeKeepsEarlierBundlesValid(t *testing.T) {
	_, b := bundleOf(t)
	res, err := reports.VerifyBundle(bytes.NewReader(b), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Report, "re-rendered by renderer "+reports.Renderer+": identical") || res.Manifest.Renderer != reports.Renderer {
		t.Fatalf("same renderer: report check %q, manifest renderer %q", res.Report, res.Manifest.Renderer)
	}

	restore := reports.ChangeTemplateForTest("Key ceremony record", "keyrite-report/test-2")
	defer restore()
	res, err = reports.VerifyBundle(bytes.NewReader(b), t.TempDir())
	if err != nil {
		t.Fatalf("an earlier bundle fails after the template changed: %v", err)
	}
	if !strings.Contains(res.Report, "not re-rendered: written by renderer "+reports.Renderer+", this is renderer keyrite-report/test-2") {
		t.Fatalf("report check %q does not say it was not re-rendered and why", res.Report)
	}
	// The compatibility fixtures record no renderer: they verify and say so.
	for _, name := range []string{"root/evidence-example-root-2026.tar", "quorum/backup/evidence-example-root-2026.tar"} {
		f, err := os.Open(filepath.Join("..", "testdata", "compat", "v1", name))
		if err != nil {
			t.Fatal(err)
		}
		res, err := reports.VerifyBundle(f, t.TempDir())
		f.Close()
		if err != nil || !strings.Contains(res.Report, "does not record the renderer") {
			t.Fatalf("%s: %v %+v", name, err, res)
		}
	}
}

// TestSameRendererMustRenderTheSameReport: a bundle whose renderer version equals the running
// one must hold exactly the report that version renders; a template change without a new
// version is caught.
func TestSameRendererMustRenderTheSameReport(t *testing.T) {
	_, b := bundleOf(t)
	restore := reports.ChangeTemplateForTest("Key ceremony record", reports.Renderer)
	defer restore()
	if _, err := reports.VerifyBundle(bytes.NewReader(b), t.TempDir()); err == nil || !strings.Contains(err.Error(), "report.pdf") {
		t.Fatalf("a report that its own renderer version renders differently passed: %v", err)
	}
}

// TestCompatBundlesWithThisRenderer: every compatibility bundle verifies under this renderer.
// One written by this renderer version is rendered again and must come out byte for byte the
// same: a change to the report's output without a new Renderer version fails here.
func TestCompatBundlesWithThisRenderer(t *testing.T) {
	bundles, _ := filepath.Glob("../testdata/compat/v*/*/evidence-*.tar")
	more, _ := filepath.Glob("../testdata/compat/v*/*/*/evidence-*.tar")
	bundles = append(bundles, more...)
	if len(bundles) < 6 {
		t.Fatalf("found %d compatibility bundles", len(bundles))
	}
	for _, name := range bundles {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		res, err := reports.VerifyBundle(f, t.TempDir())
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v (if the report's output changed, give reports.Renderer a new version)", name, err)
		}
		if res.Manifest.Renderer == reports.Renderer && !strings.Contains(res.Report, "identical") {
			t.Fatalf("%s: written by this renderer but not rendered again: %s", name, res.Report)
		}
	}
}
