package ceremony

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keyrite/keyrite/internal/atomicfile"
)

// executableSHA256 is the SHA-256 of the running executable, which the opening record names:
// the file that runs the ceremony, ./keyrite-cli for a command and ./keyrite-app for a ceremony
// run in the desktop app (scripts/build makes both; ./keyrite replaces itself with them by exec).
// It is read once per build, not once per ceremony: the hash is kept in the user's cache
// folder (exeHashCache) under the file's identity (device, inode, size, modification and
// change times) and the file is read again whenever any of those differs, so a binary
// replaced or written in place is hashed afresh. The ~40 MB read was the largest CPU cost of a
// root ceremony after the report. A cache that cannot be read or written changes nothing but
// the time. (The hash identifies the build that ran for an honest operator; a binary altered
// on purpose could print any hash, cached or not.) Start begins it in the background
// (hashExecutableEarly) while the pre-flight runs.
var executableSHA256 = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	f, err := os.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	return exeHashCache{dir: exeHashCacheDir()}.hash(f)
})

// exeHashCacheDir is where the hash is kept: Keyrite's folder in the user's cache folder
// ($XDG_CACHE_HOME/keyrite or ~/.cache/keyrite), or none in a test binary, which never writes
// in the home folder.
func exeHashCacheDir() string {
	if testing.Testing() {
		return ""
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "keyrite")
}

// exeHashCache keeps the SHA-256 of one executable file under its identity; dir "" keeps none.
type exeHashCache struct{ dir string }

const exeHashCacheFile = "executable.sha256"

// exeHashCacheEntries is how many executables the cache keeps, newest first: keyrite-cli and
// keyrite-app (scripts/build) each run ceremonies, and a second build beside the first should
// not make either hash again.
const exeHashCacheEntries = 8

// hash returns the SHA-256 of the open file f, from the cache when f's identity matches the
// entry there, else read from f (and kept); "" when f cannot be read.
func (c exeHashCache) hash(f *os.File) string {
	id, ok := fileIdentity(f)
	if ok && c.dir != "" {
		if sum, hit := c.lookup(id); hit {
			return sum
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if again, same := fileIdentity(f); ok && c.dir != "" && same && again == id { // unchanged while read
		c.store(id, sum)
	}
	return sum
}

// lookup returns the hash kept for identity id, if an entry is for id and well-formed.
func (c exeHashCache) lookup(id string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(c.dir, exeHashCacheFile))
	if err != nil || len(b) > exeHashCacheEntries*512 {
		return "", false
	}
	for _, line := range strings.Split(string(b), "\n") {
		entryID, sum, ok := strings.Cut(line, " sha256=")
		if !ok || entryID != id || len(sum) != 2*sha256.Size {
			continue
		}
		if _, err := hex.DecodeString(sum); err != nil {
			continue
		}
		return sum, true
	}
	return "", false
}

// store keeps sum as the hash of the file of identity id, first, before the newest other
// entries; best effort.
func (c exeHashCache) store(id, sum string) {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return
	}
	entries := []string{fmt.Sprintf("%s sha256=%s", id, sum)}
	if b, err := os.ReadFile(filepath.Join(c.dir, exeHashCacheFile)); err == nil && len(b) <= exeHashCacheEntries*512 {
		for _, line := range strings.Split(string(b), "\n") {
			entryID, _, ok := strings.Cut(line, " sha256=")
			if ok && entryID != id && len(line) <= 512 && len(entries) < exeHashCacheEntries {
				entries = append(entries, line)
			}
		}
	}
	_ = atomicfile.WriteFile(filepath.Join(c.dir, exeHashCacheFile), []byte(strings.Join(entries, "\n")+"\n"), 0o600)
}
