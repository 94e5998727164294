package transcript

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the event table of docs/transcript.md from the schema")

const docsPath = "../../docs/transcript.md"

// eventTable renders the schema as docs/transcript.md shows it.
func eventTable() string {
	var b strings.Builder
	b.WriteString("| event | data fields | meaning |\n|---|---|---|\n")
	for _, s := range Events {
		fields := "—"
		if f := s.Fields(); len(f) > 0 {
			fields = "`" + strings.Join(f, "`, `") + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.Name, fields, s.Doc)
	}
	return b.String()
}

func TestDocsEventTable(t *testing.T) {
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- events:begin -->\n", "<!-- events:end -->"
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s has no %q … %q block", docsPath, begin, end)
	}
	want := eventTable()
	if got := string(doc[i+len(begin) : j]); got != want {
		if !*update {
			t.Fatalf("docs/transcript.md's event table differs from the schema; run go test ./ceremony/transcript -run TestDocsEventTable -update\nwant:\n%s", want)
		}
		out := append(append(append([]byte{}, doc[:i+len(begin)]...), want...), doc[j:]...)
		if err := os.WriteFile(docsPath, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSchemaIsSortedAndUnique(t *testing.T) {
	for i := 1; i < len(Events); i++ {
		if Events[i-1].Name >= Events[i].Name {
			t.Fatalf("events %q and %q are out of order or twice", Events[i-1].Name, Events[i].Name)
		}
	}
	for _, s := range Events {
		if got, ok := EventByName(s.Name); !ok || got.Name != s.Name {
			t.Fatalf("EventByName(%q) = %v, %v", s.Name, got, ok)
		}
		if s.Doc == "" {
			t.Errorf("%s has no doc", s.Name)
		}
	}
	if _, ok := EventByName("no.such-event"); ok {
		t.Fatal("an unknown event was found")
	}
}

// TestEveryFixtureRecordDecodesStrictly: every record of every compatibility fixture (evidence
// written by every earlier version) names an event of the schema and its data decodes into the
// event's type with no field left over.
func TestEveryFixtureRecordDecodesStrictly(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/compat/v*/*/transcript.jsonl")
	more, _ := filepath.Glob("../../testdata/compat/v*/*/*/transcript.jsonl")
	files = append(files, more...)
	if len(files) < 3 {
		t.Fatalf("found %d fixture transcripts, want the committed ones", len(files))
	}
	seen := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, e := range entries {
			if _, err := DecodeEvent(&e.Record); err != nil {
				t.Errorf("%s: %v", f, err)
			}
			seen[e.Event] = true
		}
	}
	if len(seen) < 25 {
		t.Fatalf("fixtures hold only %d kinds of event", len(seen))
	}
}

func TestDecodeEventIsStrict(t *testing.T) {
	r := &Record{Seq: 3, Event: EventHSMLogin, Data: []byte(`{"role":"user","token_serial":"1","pin":"1234"}`)}
	if _, err := DecodeEvent(r); err == nil || !strings.Contains(err.Error(), "pin") {
		t.Fatalf("an unknown field was accepted: %v", err)
	}
	r = &Record{Event: "made.up", Data: []byte(`{}`)}
	if _, err := DecodeEvent(r); err == nil {
		t.Fatal("an unknown event was accepted")
	}
	r = &Record{Event: EventTokenInventory, Data: []byte(`{"when":"before","token_serial":"1","role":"target","objects":3,"unreadable":1}`)}
	v, err := DecodeEvent(r)
	if err != nil || v.(*TokenInventory).Objects.Count != 3 || v.(*TokenInventory).Objects.List != nil {
		t.Fatalf("a counted inventory: %+v %v", v, err)
	}
}

// TestWritersUseSchemaEvents reads the ceremony code and checks that every event it writes
// names a schema constant (transcript.EventX): no event is written by a string literal.
func TestWritersUseSchemaEvents(t *testing.T) {
	files, _ := filepath.Glob("../*.go")
	literal := regexp.MustCompile(`(?:record|recordKey)\("([a-z][a-z0-9.-]*)"|earlyRecord\{"([a-z][a-z0-9.-]*)"`)
	constant := regexp.MustCompile(`(?:record|recordKey)\((?:transcript\.)?Event[A-Za-z0-9]+\b|earlyRecord\{transcript\.Event[A-Za-z0-9]+\b`)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllSubmatch(src, -1) {
			t.Errorf("%s writes event %q by a string literal; use the schema's constant", f, m[0])
		}
		n += len(constant.FindAll(src, -1))
	}
	if n < 40 {
		t.Fatalf("found only %d events written by constant in ceremony/*.go: the pattern no longer matches the writers", n)
	}
}
