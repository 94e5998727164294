package transcript

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// checkFastPath: whenever the fast path accepts a line, encoding/json reads it the same way.
func checkFastPath(t testing.TB, line []byte) bool {
	fast, ok := parseCanonical(bytes.Clone(line), true)
	if !ok {
		return false
	}
	slow, err := parseLineJSON(line)
	if err != nil {
		t.Fatalf("fast path accepted a line encoding/json refuses (%v): %s", err, line)
	}
	if !reflect.DeepEqual(fast, slow) && !(len(fast.Data) == 0 && len(slow.Data) == 0) {
		t.Fatalf("fast path read %+v, encoding/json %+v", fast, slow)
	}
	return true
}

func TestFastPathReadsEveryFixtureRecord(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/compat/v*/*/transcript.jsonl")
	more, _ := filepath.Glob("../../testdata/compat/v*/*/*/transcript.jsonl")
	n := 0
	for _, f := range append(files, more...) {
		data, _ := os.ReadFile(f)
		for _, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			if !checkFastPath(t, line) && !bytes.Contains(line, []byte(`\`)) {
				t.Errorf("%s: a line Keyrite wrote, without escapes, took the slow path: %s", f, line)
			}
			n++
		}
	}
	if n < 100 {
		t.Fatalf("only %d fixture records", n)
	}
}

func TestFastPathRefusesWhatJSONRefuses(t *testing.T) {
	good := `{"v":1,"seq":0,"time":"2026-01-01T00:00:00Z","mono_ns":0,"step":"s","actor":"a","event":"e","data":{"k":1},"prev":"` + strings.Repeat("0", 64) + `"}`
	if !checkFastPath(t, []byte(good)) {
		t.Fatal("the canonical form took the slow path")
	}
	for _, bad := range []string{
		strings.Replace(good, `"data":{"k":1}`, `"data":{"k":1},"x":2`, 1),
		strings.Replace(good, `{"k":1}`, `{"k":1`, 1),
		strings.Replace(good, `"v":1`, `"v":01`, 1),
		strings.Replace(good, `"step":"s"`, `"step":"s\u0001"`, 1),
		strings.Replace(good, `"actor":"a"`, "\"actor\":\"a\xff\"", 1),
		good + " ",
		strings.Replace(good, `"prev":"0`, `"prev":"Z`, 1),
	} {
		if _, ok := parseCanonical([]byte(bad), false); ok {
			t.Errorf("fast path accepted %s", bad)
		}
	}
}

func FuzzFastPath(f *testing.F) {
	f.Add([]byte(`{"v":1,"seq":0,"time":"2026-01-01T00:00:00Z","mono_ns":0,"step":"s","actor":"a","event":"e","data":{"k":1},"prev":"` + strings.Repeat("0", 64) + `"}`))
	f.Add([]byte(`{"v":1,"seq":3,"time":"t","mono_ns":5,"step":"s","actor":"","event":"e","prev":"` + strings.Repeat("a", 64) + `"}`))
	f.Fuzz(func(t *testing.T, line []byte) { checkFastPath(t, line) })
}

// TestScannerMatchesParse: the streaming scanner finds the records and errors Parse finds.
func TestScannerMatchesParse(t *testing.T) {
	data, err := os.ReadFile("../../testdata/compat/v1/root/transcript.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{len(data), len(data) - 1, len(data) / 2, 10} {
		d := data[:cut]
		want, werr := Parse(d)
		sc := NewScanner(bytes.NewReader(d))
		var got []Entry
		for sc.Scan() {
			got = append(got, sc.Entry())
		}
		if len(got) != len(want) || (werr == nil) != (sc.Err() == nil) || (werr != nil && werr.Error() != sc.Err().Error()) {
			t.Fatalf("cut %d: scanner %d records, %v; Parse %d, %v", cut, len(got), sc.Err(), len(want), werr)
		}
	}
}
