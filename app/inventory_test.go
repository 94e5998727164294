package app

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// The inventory view, opened from the verify view's button, lists every key of a nested
// folder tree (the compatibility fixtures: four root keys all labelled example-root-2026) and
// says that a changed ceremony could not be verified, naming it.
func TestInventoryView(t *testing.T) {
	tree := t.TempDir()
	if out, err := exec.Command("cp", "-r", filepath.Join("..", "testdata", "compat", "v1"), filepath.Join("..", "testdata", "compat", "v2"), tree).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	p := filepath.Join(tree, "v1", "root", "transcript.jsonl")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), "Example", "Exanple", 1)), 0o644)
	a := newTestApp(t)
	doAndWait(func() { a.ShowVerify("") })
	doAndWait(func() { a.Verify.Path.SetText(tree) })
	var button *widget.Button
	doAndWait(func() {
		for _, o := range test.LaidOutObjects(a.Win.Content()) {
			if b, ok := o.(*widget.Button); ok && b.Text == "Key inventory…" {
				button = b
			}
		}
	})
	if button == nil {
		t.Fatal("the verify view has no key inventory button")
	}
	doAndWait(func() { test.Tap(button) })
	waitFor(t, func() bool { return strings.HasPrefix(a.Inventory.Verdict.Text, "⚠") })
	text := a.Inventory.Keys.Text
	if n := strings.Count(text, "\nexample-root-2026 — active"); n != 3 {
		t.Errorf("%d root keys listed, want 3 (the fourth's ceremony was changed):\n%s", n, text)
	}
	if !strings.Contains(text, filepath.Join("v1", "root")+": ") {
		t.Errorf("the changed ceremony is not named:\n%s", text)
	}
}
