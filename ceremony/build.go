package ceremony

import (
	"runtime"
	"runtime/debug"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// Version is Keyrite's release version.
const Version = "0.1.0"

// revision is the VCS revision the linker sets (scripts/build:
// -ldflags "-X github.com/keyrite/keyrite/ceremony.revision=<commit>[+dirty]"); the toolchain's
// own VCS stamping (vcs.revision), when present, takes precedence.
var revision string

// ThisBuild describes the running binary: version, VCS revision and the SHA-256 of the
// executable file, so the transcript names exactly what ran the ceremony.
func ThisBuild() transcript.Build {
	b := transcript.Build{Version: Version, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			b.Revision = rev + dirty
		}
	}
	if b.Revision == "" {
		b.Revision = revision
	}
	b.GoSHA256 = executableSHA256()
	return b
}

// hashExecutableEarly starts hashing the executable in the background.
func hashExecutableEarly() { go executableSHA256() }
