package ceremony

import (
	"bytes"
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/reports"
)

// writeEvidence is the AfterSeal of the CLI and the app.
func writeEvidence(dir string, signer crypto.Signer) error {
	_, _, err := reports.WriteEvidence(dir, signer)
	return err
}

func bundleVerifies(t *testing.T, dir string) {
	t.Helper()
	res := verified(t, dir)
	var out bytes.Buffer
	if err := reports.VerifyPath(&out, filepath.Join(dir, reports.BundleName(res.Opening.CeremonyID)), ""); err != nil {
		t.Fatalf("bundle: %v", err)
	}
}

// TestFailureAfterSealAppendsNothing is issue 11's worst case: the disk fills while the report
// and bundle are written after the seal. Nothing may be appended to the sealed transcript,
// the error says once that the ceremony is sealed and how to finish, and resume makes the
// report and bundle without touching the transcript.
func TestFailureAfterSealAppendsNothing(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	full := &os.PathError{Op: "write", Path: filepath.Join(dir, "report.pdf"), Err: syscall.ENOSPC}
	err := start(t, exampleScript(t), dir, b, &scriptedUI{}, Options{AfterSeal: func(string, crypto.Signer) error { return full }})
	var ae *AfterSealError
	if !errors.As(err, &ae) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("after-seal failure: %v", err)
	}
	if n := strings.Count(err.Error(), "no space left on device"); n != 1 {
		t.Fatalf("the disk-full cause is told %d times: %v", n, err)
	}
	res := verified(t, dir)
	if last := res.Entries[len(res.Entries)-1].Event; last != transcript.EventClosed {
		t.Fatalf("last record is %s, not %s", last, transcript.EventClosed)
	}
	sealed, _ := os.ReadFile(filepath.Join(dir, transcript.FileName))

	if err := resume(t, dir, b, &scriptedUI{}, Options{AfterSeal: writeEvidence}); err != nil {
		t.Fatalf("resume of a sealed ceremony: %v", err)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, transcript.FileName)); !bytes.Equal(now, sealed) {
		t.Fatal("resume changed a sealed transcript")
	}
	bundleVerifies(t, dir)
}

// TestResumeReplacesTornDerivedFiles: a torn bundle (the 512 bytes a kill left) and a missing
// report are made again by resume; a good bundle is kept as it is (resume is idempotent);
// `keyrite report`/`bundle` replace a torn file but never a recorded output.
func TestResumeReplacesTornDerivedFiles(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	if err := start(t, exampleScript(t), dir, b, &scriptedUI{}, Options{AfterSeal: writeEvidence}); err != nil {
		t.Fatal(err)
	}
	res := verified(t, dir)
	bundle := filepath.Join(dir, reports.BundleName(res.Opening.CeremonyID))
	good, _ := os.ReadFile(bundle)
	if err := resume(t, dir, b, &scriptedUI{}, Options{AfterSeal: writeEvidence}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(bundle); !bytes.Equal(again, good) {
		t.Fatal("resume replaced a bundle that verified")
	}
	os.WriteFile(bundle, good[:512], 0o644)
	os.Remove(filepath.Join(dir, reports.ReportFileName))
	os.WriteFile(filepath.Join(dir, ".report.pdf.keyrite-tmp-123"), []byte("torn"), 0o644)
	if err := resume(t, dir, b, &scriptedUI{}, Options{AfterSeal: writeEvidence}); err != nil {
		t.Fatal(err)
	}
	bundleVerifies(t, dir)
	if _, err := os.Stat(filepath.Join(dir, ".report.pdf.keyrite-tmp-123")); err == nil {
		t.Fatal("a stale temporary file was left")
	}
	report, _ := os.ReadFile(filepath.Join(dir, reports.ReportFileName))
	want, err := reports.RenderReport(dir)
	if err != nil || !bytes.Equal(report, want) {
		t.Fatalf("report not made again: %v", err)
	}

	os.WriteFile(filepath.Join(dir, reports.ReportFileName), report[:100], 0o644)
	if err := reports.WriteReportFile(dir, filepath.Join(dir, reports.ReportFileName)); err != nil {
		t.Fatalf("report over a torn report: %v", err)
	}
	signer := openLoggedIn(t, b)
	defer signer.Close()
	k, err := signer.FindKeyPair(res.Seal.SignerName)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bundle, good[:512], 0o644)
	if err := reports.WriteBundleFile(dir, bundle, k); err != nil {
		t.Fatalf("bundle over a torn bundle: %v", err)
	}
	bundleVerifies(t, dir)
	pem, _ := os.ReadFile(filepath.Join(dir, "root.pem"))
	for _, recorded := range []string{"root.pem", transcript.FileName, transcript.SealFileName} {
		if err := reports.WriteReportFile(dir, filepath.Join(dir, recorded)); err == nil {
			t.Fatalf("the report replaced the recorded %s", recorded)
		}
		if err := reports.WriteBundleFile(dir, filepath.Join(dir, recorded), k); err == nil {
			t.Fatalf("a bundle replaced the recorded %s", recorded)
		}
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "root.pem")); !bytes.Equal(now, pem) {
		t.Fatal("root.pem changed")
	}
	verified(t, dir)
}

// TestResumeSealsAClosedTranscript: killed (or out of space) between ceremony.closed and the
// seal, a resume seals the same checkpoint and appends nothing.
func TestResumeSealsAClosedTranscript(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	if err := start(t, exampleScript(t), dir, b, &scriptedUI{}, Options{}); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, transcript.SealFileName))
	before, _ := os.ReadFile(filepath.Join(dir, transcript.FileName))
	if err := resume(t, dir, b, &scriptedUI{}, Options{AfterSeal: writeEvidence}); err != nil {
		t.Fatalf("resume of a closed, unsealed ceremony: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, transcript.FileName)); !bytes.Equal(before, after) {
		t.Fatal("resume appended to a closed transcript")
	}
	bundleVerifies(t, dir)

}
