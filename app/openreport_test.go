package app

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// "Open the report" works, or says plainly where the file is: an air-gapped laptop often has
// no PDF viewer set up, and the raw xdg-open error helps no one in the room.
func TestOpenReportSaysWhereTheFileIs(t *testing.T) {
	a := newTestApp(t)
	report := filepath.Join(t.TempDir(), "ceremony", "report.pdf")
	var opened string
	a.Opener = func(u *url.URL) error { opened = u.Path; return nil }
	if msg := a.openFile(report); msg != "" || opened != report {
		t.Fatalf("a working opener: opened %q, said %q", opened, msg)
	}
	a.Opener = func(*url.URL) error { return errors.New("exec: \"xdg-open\": executable file not found in $PATH") }
	var msg string
	doAndWait(func() { msg = a.openFile(report) })
	for _, want := range []string{"The file is:\n" + report, "any PDF viewer", "xdg-open"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q:\n%s", want, msg)
		}
	}
}
