package app

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The window asks for no depth or stencil buffer (glhints.go). That is safe only while
// Fyne's painter draws without either and nothing in Fyne's GLFW driver puts GLFW's hints
// back to their defaults before it creates the window. Both are read from the source of the
// Fyne this module builds with, so a Fyne upgrade that starts using a depth test, a stencil
// (e.g. to clip rounded corners) or resets the hints fails here instead of drawing wrongly
// or silently getting the buffer back.
func TestDepthAndStencilAreNotUsed(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "fyne.io/fyne/v2").Output()
	if err != nil {
		t.Fatalf("go list -m fyne.io/fyne/v2: %v", err)
	}
	fyneDir := strings.TrimSpace(string(out))
	painter := source(t, filepath.Join(fyneDir, "internal", "painter", "gl"))
	if !strings.Contains(painter, "Disable(gl.DEPTH_TEST)") {
		t.Error("Fyne's GL painter no longer turns the depth test off: does it draw with one now?")
	}
	for _, use := range []string{`Enable\(gl\.DEPTH_TEST\)`, `STENCIL`, `Stencil[A-Z]\w*\(`, `Depth(Func|Mask|Range)\w*\(`} {
		if m := regexp.MustCompile(use).FindString(painter); m != "" {
			t.Errorf("Fyne's GL painter uses %s: the window needs its depth or stencil buffer back (glhints.go)", m)
		}
	}
	driver := source(t, filepath.Join(fyneDir, "internal", "driver", "glfw"))
	for _, reset := range []string{"DefaultWindowHints", "glfw.DepthBits", "glfw.StencilBits"} {
		if strings.Contains(driver, reset) {
			t.Errorf("Fyne's GLFW driver calls or sets %s: the hints of glhints.go may not reach the window", reset)
		}
	}
}

// source is the text of the non-test Go files of dir, which must hold some.
func source(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	var b strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	if b.Len() == 0 {
		t.Fatalf("no Go source in %s", dir)
	}
	return b.String()
}
