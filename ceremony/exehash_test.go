package ceremony

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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

// keyrite-cli and keyrite-app (scripts/build) each run ceremonies: the cache keeps both, so running
// one after the other reads neither file again, and a third executable does not push them out.
func TestExecutableHashKeptForEachExecutable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the hash is kept only where the file's identity is known (Linux)")
	}
	dir := t.TempDir()
	cache := exeHashCache{dir: filepath.Join(dir, "cache")}
	hashOf := func(name string) string {
		t.Helper()
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return cache.hash(f)
	}
	names := []string{"keyrite-cli", "keyrite-app", "other"}
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("build of "+name), 0o755); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256([]byte("build of " + name))
		if got := hashOf(name); got != hex.EncodeToString(s[:]) {
			t.Fatalf("%s: hash %s, want its file's", name, got)
		}
	}
	// Each kept hash replaced by a planted one: a file read again would give its real hash.
	entry := filepath.Join(cache.dir, exeHashCacheFile)
	b, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != len(names) {
		t.Fatalf("the cache keeps %d entries for %d executables:\n%s", len(lines), len(names), b)
	}
	planted := map[string]string{}
	for i, line := range lines {
		id, _, _ := strings.Cut(line, " sha256=")
		sum := strings.Repeat(fmt.Sprintf("%02x", i+1), sha256.Size)
		lines[i] = id + " sha256=" + sum
		planted[id] = sum
	}
	if err := os.WriteFile(entry, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"keyrite-cli", "keyrite-app", "keyrite-cli", "other", "keyrite-app"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := fileIdentity(f)
		f.Close()
		if got := hashOf(name); got != planted[id] {
			t.Fatalf("%s: hash %s, want the kept entry %s (the file was read again)", name, got, planted[id])
		}
	}
	// At most exeHashCacheEntries are kept, the newest first.
	for i := range exeHashCacheEntries + 2 {
		name := fmt.Sprintf("build-%d", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o755); err != nil {
			t.Fatal(err)
		}
		hashOf(name)
	}
	b, _ = os.ReadFile(entry)
	if n := strings.Count(string(b), "\n"); n != exeHashCacheEntries {
		t.Fatalf("the cache keeps %d entries, want at most %d", n, exeHashCacheEntries)
	}
	last := filepath.Join(dir, fmt.Sprintf("build-%d", exeHashCacheEntries+1))
	f, _ := os.Open(last)
	id, _ := fileIdentity(f)
	f.Close()
	if !strings.HasPrefix(string(b), id+" sha256=") {
		t.Fatalf("the newest entry is not first:\n%s", b)
	}
}
