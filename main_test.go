package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets a test run this binary as keyrite itself (KEYRITE_AS_MAIN=1).
func TestMain(m *testing.M) {
	if os.Getenv("KEYRITE_AS_MAIN") == "1" {
		os.Args = append([]string{"keyrite"}, strings.Fields(os.Getenv("KEYRITE_ARGS"))...)
		main()
		return
	}
	os.Exit(m.Run())
}

// TestQuietUnderCLocale: no command prints Fyne's "Error parsing user locale C" when the locale
// is C.UTF-8 (CI's and most containers'), POSIX.UTF-8 or C.
func TestQuietUnderCLocale(t *testing.T) {
	for _, lang := range []string{"C.UTF-8", "POSIX.UTF-8", "C"} {
		for _, args := range []string{"help", "verify " + t.TempDir() + "/missing"} {
			cmd := exec.Command(os.Args[0])
			var env []string
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "LANG=") && !strings.HasPrefix(kv, "LC_ALL=") && !strings.HasPrefix(kv, "LC_MESSAGES=") && !strings.HasPrefix(kv, "LANGUAGE=") {
					env = append(env, kv)
				}
			}
			cmd.Env = append(env, "KEYRITE_AS_MAIN=1", "KEYRITE_ARGS="+args, "LANG="+lang)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			cmd.Run()
			if strings.Contains(stderr.String(), "Fyne error") || strings.Contains(stderr.String(), "locale") {
				t.Errorf("LANG=%s keyrite %s printed Fyne's locale noise:\n%s", lang, args, stderr.String())
			}
		}
	}
}
