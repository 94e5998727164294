package tpm2test

import (
	"strings"
	"testing"
)

// With nothing on PATH, every command is reported missing, so Start cannot pass silently on a
// machine without the tools.
func TestMissingNamesEveryTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	got := Missing()
	for _, c := range []string{"swtpm", "tpm2-abrmd", "tpm2_ptool", "dbus-daemon"} {
		if !strings.Contains(got, c) {
			t.Errorf("Missing() = %q, lacks %s", got, c)
		}
	}
}
