package ceremony

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestExecutableHashKeptPerBuild(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the hash is kept only where the file's identity is known (Linux)")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "keyrite")
	write := func(content string) string {
		t.Helper()
		if err := os.WriteFile(exe, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256([]byte(content))
		return hex.EncodeToString(s[:])
	}
	cache := exeHashCache{dir: filepath.Join(dir, "cache")}
	hashNow := func() string {
		t.Helper()
		f, err := os.Open(exe)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return cache.hash(f)
	}
	entry := filepath.Join(cache.dir, exeHashCacheFile)
	plant := func(sum string) { // the kept entry, its hash replaced: proves whether it is used
		t.Helper()
		b, err := os.ReadFile(entry)
		if err != nil {
			t.Fatal(err)
		}
		id, _, _ := strings.Cut(string(b), " sha256=")
		if err := os.WriteFile(entry, []byte(id+" sha256="+sum+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want := write("build one")
	if got := hashNow(); got != want {
		t.Fatalf("first hash %s, want %s", got, want)
	}
	planted := strings.Repeat("ab", sha256.Size)
	plant(planted)
	if got := hashNow(); got != planted {
		t.Fatalf("same file: hash %s, want the kept entry (the file was read again)", got)
	}

	// Written in place with the same size, times set back: mtime and ctime differ, read again.
	want = write("build two")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(exe, old, old); err != nil {
		t.Fatal(err)
	}
	if got := hashNow(); got != want {
		t.Fatalf("changed file: hash %s, want %s (a stale entry was used)", got, want)
	}
	// Replaced by another file (another inode) of another size.
	plant(planted)
	if err := os.Remove(exe); err != nil {
		t.Fatal(err)
	}
	want = write("build three, longer")
	if got := hashNow(); got != want {
		t.Fatalf("replaced file: hash %s, want %s", got, want)
	}
	// A damaged entry is read past.
	for _, bad := range []string{"", "garbage", "x sha256=zz", strings.Repeat("a", 600)} {
		if err := os.WriteFile(entry, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := hashNow(); got != want {
			t.Fatalf("entry %.20q: hash %s, want %s", bad, got, want)
		}
	}
	// No folder: nothing kept, the file hashed every time.
	cache = exeHashCache{}
	if got := hashNow(); got != want {
		t.Fatalf("without a cache: hash %s, want %s", got, want)
	}
	// A test binary keeps nothing in the home folder.
	if d := exeHashCacheDir(); d != "" {
		t.Errorf("tests would keep the executable's hash in %s", d)
	}
}
