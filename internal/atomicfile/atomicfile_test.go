package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}

func TestCreateNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	if err := Create(p, []byte("one"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Create(p, []byte("two"), 0o640); !errors.Is(err, ErrExist) {
		t.Fatalf("second Create: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Fatalf("file holds %q", b)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if n := names(t, dir); len(n) != 1 {
		t.Fatalf("folder holds %v", n)
	}
}

func TestWriteFileReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.pdf")
	os.WriteFile(p, []byte("torn"), 0o644)
	if err := WriteFile(p, []byte("whole report"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "whole report" {
		t.Fatalf("file holds %q", b)
	}
}

// A fill that fails leaves the old file as it was and no temporary file.
func TestFailedWriteLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bundle.tar")
	os.WriteFile(p, []byte("old"), 0o644)
	boom := errors.New("boom")
	err := Write(p, 0o644, true, func(w io.Writer) error { w.Write([]byte("part")); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("error %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("file holds %q", b)
	}
	if n := names(t, dir); len(n) != 1 {
		t.Fatalf("folder holds %v", n)
	}
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".report.pdf"+TempMarker+"42"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "keep"+TempMarker), []byte("x"), 0o644) // not hidden: not ours
	removed, err := RemoveStale(dir)
	if err != nil || len(removed) != 1 {
		t.Fatalf("removed %v, %v", removed, err)
	}
	if n := names(t, dir); len(n) != 1 || n[0] != "keep"+TempMarker {
		t.Fatalf("folder holds %v", n)
	}
}
