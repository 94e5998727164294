// Package quorumtest holds test helpers that look for share codes where they must never be:
// in every file of an evidence folder, PDF text included.
package quorumtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/quorum"
)

// AssertNoShares fails t if any file under dir holds one of the share codes, or a run of three
// of a code's groups, in its bytes or, for a PDF, in its text as pdftotext reads it.
func AssertNoShares(t testing.TB, dir string, codes []string) {
	t.Helper()
	if len(codes) == 0 {
		t.Fatal("AssertNoShares: no share codes to look for")
	}
	var needles []string
	for _, c := range codes {
		g := strings.Fields(c)
		needles = append(needles, c, strings.Join(g, ""))
		for i := 0; i+3 <= len(g); i++ {
			needles = append(needles, strings.Join(g[i:i+3], " "), strings.Join(g[i:i+3], ""))
		}
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext (poppler-utils, ./scripts/install-deps) is needed to read the PDFs' text")
	}
	files := 0
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		texts := [][]byte{data}
		if bytes.HasPrefix(data, []byte("%PDF")) {
			out, err := exec.Command("pdftotext", "-raw", p, "-").Output()
			if err != nil {
				return fmt.Errorf("pdftotext %s: %w", p, err)
			}
			texts = append(texts, out, []byte(strings.Join(strings.Fields(string(out)), " ")))
		}
		for _, text := range texts {
			up := bytes.ToUpper(text)
			for _, n := range needles {
				if bytes.Contains(up, []byte(n)) {
					t.Errorf("%s holds (part of) a share code", p)
					return nil
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("%s holds no files", dir)
	}
}

// SheetCodes reads the share codes back from the share sheets in dir (PDFs, read with
// pdftotext, or plain text), as a custodian would read them, in sheet order.
func SheetCodes(t testing.TB, dir string) []string {
	t.Helper()
	sheets, _ := filepath.Glob(filepath.Join(dir, "share-*"))
	var codes []string
	for _, s := range sheets {
		out, err := os.ReadFile(s)
		if err == nil && bytes.HasPrefix(out, []byte("%PDF")) {
			out, err = exec.Command("pdftotext", "-raw", s, "-").Output()
		}
		if err != nil {
			t.Fatalf("read the sheet %s: %v", s, err)
		}
		var groups []string
		for _, f := range strings.Fields(string(out)) {
			if len(f) == 5 && strings.ToUpper(f) == f && len(groups) < 18 {
				if _, err := quorum.CheckGroups(strings.Join(append(groups, f), " ") + " "); err == nil {
					groups = append(groups, f)
				}
			}
		}
		if len(groups) != quorum.Groups {
			t.Fatalf("%s: read %d groups of a share code", s, len(groups))
		}
		codes = append(codes, strings.Join(groups, " "))
	}
	return codes
}

// Records verifies the ceremony in dir and returns its records of event.
func Records(t testing.TB, dir, event string) []transcript.Entry {
	t.Helper()
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []transcript.Entry
	for _, e := range res.Entries {
		if e.Event == event {
			out = append(out, e)
		}
	}
	return out
}
