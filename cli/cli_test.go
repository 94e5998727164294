package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func example(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "root-ceremony.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyrite runs a command in-process and returns its exit code, stdout and stderr.
func keyrite(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, Env{Stdin: bytes.NewReader(nil), Stdout: &out, Stderr: &errb, ExampleScript: example(t)})
	return code, out.String(), errb.String()
}

func TestRehearseThenVerify(t *testing.T) {
	store, out := t.TempDir(), filepath.Join(t.TempDir(), "ceremony")
	code, stdout, stderr := keyrite(t, "rehearse", "--rehearsal-dir", store, "--out", out)
	if code != 0 {
		t.Fatalf("rehearse exit %d\n%s\n%s", code, stdout, stderr)
	}
	t.Log(stdout)
	code, stdout, stderr = keyrite(t, "verify", out)
	if code != 0 {
		t.Fatalf("verify exit %d\n%s\n%s", code, stdout, stderr)
	}
}
