package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/reports"
)

// media mounts a tmpfs of size bytes, a disk or a USB stick. Tests that
// need one fail under CI=true when it cannot be mounted (CI runs as root), and skip, saying
// so, elsewhere.
func media(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "media")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0755", size), "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a tmpfs (CI runs as root): %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs here (%v: %s); under CI=true this fails", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

func remount(t *testing.T, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s %s: %v: %s", dir, opts, err, out)
	}
}

// pages is the space a file of n bytes takes on a tmpfs.
func pages(n int64) int { return int((n + 4095) / 4096 * 4096) }

var tokenLine = regexp.MustCompile(`Rehearsal token "([^"]+)"`)

// failOnce checks that a command failed with the cause said once, and the hint once.
func failOnce(t *testing.T, what string, code int, stderr, cause, hint string) {
	t.Helper()
	if code == 0 {
		t.Fatalf("%s succeeded", what)
	}
	if n := strings.Count(stderr, cause); n != 1 {
		t.Fatalf("%s: %q said %d times:\n%s", what, cause, n, stderr)
	}
	if n := strings.Count(stderr, hint); n != 1 {
		t.Fatalf("%s: hint %q given %d times:\n%s", what, hint, n, stderr)
	}
	t.Logf("%s:\n%s", what, stderr)
}

// bundleVerifies checks the ceremony in dir and its bundle.
func bundleVerifies(t *testing.T, dir string) *transcript.Result {
	t.Helper()
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if code, out, errs := keyrite(t, "", "verify", filepath.Join(dir, reports.BundleName(res.Opening.CeremonyID))); code != 0 {
		t.Fatalf("bundle: %s %s", out, errs)
	}
	return res
}

// answers types "yes" to every question and runs do just before answer number at: after the
// pre-flight (which comes before the first question), in the middle of the ceremony.
type answers struct {
	at, n int
	do    func()
}

func (a *answers) Read(p []byte) (int, error) {
	if a.n++; a.n == a.at {
		a.do()
	}
	if a.n > 500 {
		return 0, io.EOF
	}
	return copy(p, "yes\n"), nil
}

// fill fills the media mounted at mnt so that only room bytes stay free: the disk fills up
// during the ceremony, as another program or a large log would fill it.
func fill(t *testing.T, mnt string, room int64) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); err != nil {
		t.Error(err)
	}
	if free := int64(st.Bavail) * st.Bsize; free > room {
		ballast, err := os.Create(filepath.Join(mnt, "ballast"))
		if err == nil {
			_, err = io.CopyN(ballast, zeros{}, free-room)
			ballast.Close()
		}
		if err != nil {
			t.Errorf("fill the media: %v", err)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestDiskFullAtSeveralSizes runs the example root ceremony (`keyrite run`, a person typing
// the answers) onto media that fills up after the pre-flight, leaving room that runs out in
// the open step, mid-ceremony, at the seal, while the report is written and while the bundle
// is written. Each time the ceremony stops with one clear message and every record whole; a
// resume on the still-full disk fails the same way and changes nothing; once space is freed a
// resume finishes it, and it verifies, bundle and all.
func TestDiskFullAtSeveralSizes(t *testing.T) {
	if testing.Short() {
		t.Skip("disk-full sweep: the normal tier runs it")
	}
	_, ref, _ := rehearsed(t)
	var pre, report, bundle int
	entries, _ := os.ReadDir(ref)
	for _, e := range entries {
		fi, _ := e.Info()
		switch n := pages(fi.Size()); {
		case e.Name() == reports.ReportFileName:
			report = n
		case strings.HasPrefix(e.Name(), "evidence-"):
			bundle = n
		default:
			pre += n
		}
	}
	rooms := map[string]int{
		"in the open step":           2 * 4096,
		"mid-ceremony":               pre / 2 / 4096 * 4096,
		"at the seal":                pre - 4096,
		"after the seal, the report": pre + report/2/4096*4096,
		"after the seal, the bundle": pre + report + bundle/2/4096*4096,
		// The last quarter of the bundle: the reference is a rehearsal, whose transcript and
		// report differ by a few pages from a run with typed answers, so one page short of the
		// reference's total could be enough for the real run.
		"after the seal, bundle's tail": pre + report + bundle - bundle/4/4096*4096,
	}
	var names []string
	for name := range rooms {
		names = append(names, name)
	}
	tokens := typedTokens(t, names)
	script := filepath.Join("..", "testdata", "root-ceremony.yaml")
	sealedSeen := 0
	for name, room := range rooms {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			mnt := media(t, 80<<20)
			dir := filepath.Join(mnt, "ceremony")
			hsmFlags := tokens[name]
			var out, errb bytes.Buffer
			code := Main(append([]string{"run", script, "--out", dir}, hsmFlags...),
				Env{Stdin: &answers{at: 1, do: func() { fill(t, mnt, int64(room)) }}, Stdout: &out, Stderr: &errb, Examples: examples(t)})
			failOnce(t, fmt.Sprintf("run with %d bytes left", room), code, errb.String(), "no space left on device", "the disk is full")
			if fileExists(filepath.Join(dir, transcript.FileName)) {
				// The record that did not fit was cut off again: the file ends with a whole record.
				if _, err := transcript.Parse(mustRead(t, filepath.Join(dir, transcript.FileName))); err != nil {
					t.Fatalf("the transcript does not end with a whole record after the disk filled: %v", err)
				}
			}
			if fileExists(filepath.Join(dir, transcript.SealFileName)) {
				sealedSeen++
				if _, err := transcript.Verify(dir, transcript.Options{}); err != nil {
					t.Fatalf("sealed before the disk filled, but does not verify: %v", err)
				}
			}
			yes := strings.Repeat("yes\n", 50)
			resume := append([]string{"resume", dir}, hsmFlags...)
			if code, _, stderr := keyrite(t, yes, resume...); code != 0 {
				// Refused by the pre-flight's free-space check (an unsealed ceremony), or stopped
				// by the full disk (making a sealed one's report and bundle): said once.
				if strings.Count(stderr, "MiB free; the ceremony needs") != 1 {
					failOnce(t, "resume on the full disk", code, stderr, "no space left on device", "the disk is full")
				}
				if fileExists(filepath.Join(dir, transcript.FileName)) {
					if _, err := transcript.Parse(mustRead(t, filepath.Join(dir, transcript.FileName))); err != nil {
						t.Fatalf("resume on the full disk damaged the transcript: %v", err)
					}
				}
			}
			os.Remove(filepath.Join(mnt, "ballast"))
			if code, stdout, stderr := keyrite(t, yes, resume...); code != 0 {
				t.Fatalf("resume once space is freed: exit %d\n%s\n%s", code, stdout, stderr)
			}
			bundleVerifies(t, dir)
			leftovers(t, dir)
		})
	}
	if sealedSeen < 2 {
		t.Fatalf("only %d of the sizes ran out of space after the seal; the sizes no longer fit the ceremony", sealedSeen)
	}
}

// typedTokens makes a token for each name in a rehearsal store and returns the flags that
// reach it as a production HSM is reached (module, label, PIN file), so that every answer is
// typed on the terminal.
func typedTokens(t *testing.T, names []string) map[string][]string {
	t.Helper()
	store := t.TempDir()
	r, err := hsm.PrepareRehearsal(store)
	if err != nil {
		t.Fatal(err)
	}
	m, err := hsm.Open(hsm.SoftHSMModule)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	flags := map[string][]string{}
	for i, name := range names {
		label := fmt.Sprintf("typed-%d", i)
		if _, err := r.EnsureToken(m, label); err != nil {
			t.Fatal(err)
		}
		pin, _ := r.PIN(label, hsm.User)
		pinFile := filepath.Join(t.TempDir(), "pin")
		if err := os.WriteFile(pinFile, pin, 0o600); err != nil {
			t.Fatal(err)
		}
		flags[name] = []string{"--module", hsm.SoftHSMModule, "--token", label, "--pin-file", pinFile}
	}
	t.Setenv("SOFTHSM2_CONF", filepath.Join(store, "softhsm2.conf"))
	return flags
}

// TestReadOnlyMedia: a ceremony onto read-only media stops with one clear message before
// anything is done; a sealed ceremony whose report and bundle are still to be made, on media
// that turned read-only, is left as it was, and made whole once the media is writable.
func TestReadOnlyMedia(t *testing.T) {
	mnt := media(t, 64<<20)
	remount(t, mnt, "ro")
	store := t.TempDir()
	code, _, stderr := keyrite(t, "", "rehearse", "--rehearsal-dir", store, "--out", filepath.Join(mnt, "ceremony"))
	// The pre-flight finds it before anything is asked or done.
	if code == 0 || strings.Count(stderr, "read-only file system") != 1 || fileExists(filepath.Join(mnt, "ceremony")) {
		t.Fatalf("rehearse onto read-only media: exit %d\n%s", code, stderr)
	}

	remount(t, mnt, "rw")
	dir := filepath.Join(mnt, "ceremony")
	code, stdout, stderr := keyrite(t, "", "rehearse", "--rehearsal-dir", store, "--out", dir)
	if code != 0 {
		t.Fatalf("rehearse: %s %s", stdout, stderr)
	}
	label := tokenLine.FindStringSubmatch(stdout)[1]
	res := bundleVerifies(t, dir)
	os.Remove(filepath.Join(dir, reports.ReportFileName))
	os.Truncate(filepath.Join(dir, reports.BundleName(res.Opening.CeremonyID)), 512)
	before := snapshot(t, dir)
	remount(t, mnt, "ro")
	resume := []string{"resume", dir, "--rehearsal", "--rehearsal-dir", store, "--token", label, "--yes"}
	code, _, stderr = keyrite(t, "", resume...)
	failOnce(t, "resume on read-only media", code, stderr, "read-only file system", "the media is read-only")
	if after := snapshot(t, dir); after != before {
		t.Fatal("the folder changed on read-only media")
	}
	remount(t, mnt, "rw")
	if code, stdout, stderr := keyrite(t, "", resume...); code != 0 {
		t.Fatalf("resume on writable media: %s %s", stdout, stderr)
	}
	bundleVerifies(t, dir)
}

// leftovers fails if an interrupted write left a temporary file in dir.
func leftovers(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".keyrite-tmp-") {
			t.Fatalf("temporary file %s left in the ceremony folder", e.Name())
		}
	}
}

func fileExists(name string) bool { _, err := os.Stat(name); return err == nil }

// TestTornBundleIsReplaced: a kill after the seal left a 512-byte bundle and no report.
// `keyrite bundle` and `keyrite report --out` replace torn derived files, `keyrite resume`
// makes them whole too, and none of them replaces a recorded output.
func TestTornBundleIsReplaced(t *testing.T) {
	store, dir, _ := rehearsed(t)
	res := bundleVerifies(t, dir)
	bundle := filepath.Join(dir, reports.BundleName(res.Opening.CeremonyID))
	os.Truncate(bundle, 512)
	if code, out, errs := keyrite(t, "", "bundle", dir, "--rehearsal-dir", store); code != 0 {
		t.Fatalf("bundle over a torn bundle: %s %s", out, errs)
	}
	bundleVerifies(t, dir)
	report := filepath.Join(dir, reports.ReportFileName)
	os.Truncate(report, 100)
	if code, out, errs := keyrite(t, "", "report", dir, "--out", report); code != 0 {
		t.Fatalf("report over a torn report: %s %s", out, errs)
	}
	os.Truncate(bundle, 512)
	os.Remove(report)
	if code, out, errs := keyrite(t, "", "resume", dir, "--rehearsal", "--rehearsal-dir", store); code != 0 {
		t.Fatalf("resume of a sealed ceremony: %s %s", out, errs)
	}
	bundleVerifies(t, dir)
	if _, err := os.Stat(report); err != nil {
		t.Fatal("resume did not make the report")
	}
	pem := mustRead(t, filepath.Join(dir, "root.pem"))
	if code, _, errs := keyrite(t, "", "report", dir, "--out", filepath.Join(dir, "root.pem")); code == 0 || !strings.Contains(errs, "never replaces") {
		t.Fatalf("report over a recorded output: exit %d %s", code, errs)
	}
	if !bytes.Equal(pem, mustRead(t, filepath.Join(dir, "root.pem"))) {
		t.Fatal("root.pem changed")
	}
}
