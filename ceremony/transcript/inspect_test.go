package transcript

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// inspectedStates is one letter per record: Good, Bad, Unchecked, Missing.
func inspectedStates(ins *Inspection) string {
	var b strings.Builder
	for _, r := range ins.Records {
		b.WriteByte("GBUMXW"[r.State])
	}
	return b.String()
}

func describe(ins *Inspection) string {
	var b strings.Builder
	for _, r := range ins.Records {
		fmt.Fprintf(&b, "  #%d %v %s\n", r.Seq, r.State, r.Reason)
	}
	for _, f := range ins.Outputs {
		fmt.Fprintf(&b, "  %s %v %s\n", f.File, f.State, f.Reason)
	}
	fmt.Fprintf(&b, "  seal %v %s; problem %q\n", ins.Seal.State, ins.Seal.Reason, ins.Problem)
	return b.String()
}

// An intact ceremony: every record and output good, the seal signed, the root known; pinned to
// another root, the root is named as the problem and nothing else.
func TestInspectIntact(t *testing.T) {
	dir := sealedCeremony(t)
	ins := Inspect(dir, Options{})
	if !ins.Verdict() || inspectedStates(ins) != "GGGGGG" || !ins.Seal.Signed || len(ins.Outputs) != 1 || ins.Root.Subject.CommonName != "Test Root" {
		t.Fatalf("intact ceremony:\n%s", describe(ins))
	}
	if ins.Opening.CeremonyID != "test-1" || ins.Records[5].Record.Event != EventClosed {
		t.Fatalf("opening %+v", ins.Opening)
	}
	ins = Inspect(dir, Options{RootSPKI: strings.Repeat("00", 32)})
	if ins.Verdict() || ins.RootErr == nil || inspectedStates(ins) != "GGGGGG" || ins.Seal.State != Good {
		t.Fatalf("another root expected:\n%s root error %v", describe(ins), ins.RootErr)
	}
}

// Past a changed record, the records before it are said to be intact from the opening but
// beyond the seal's reach, and those after it to be vouched for by the seal as they are.
func TestInspectSaysWhatTheSealStillFixes(t *testing.T) {
	dir := sealedCeremony(t)
	p := filepath.Join(dir, FileName)
	b, _ := os.ReadFile(p)
	i := bytes.Index(b, []byte(`"actor":"operator","event":"step.started"`))
	b[i+10] = 'O' // record 1
	os.WriteFile(p, b, 0o644)
	ins := Inspect(dir, Options{})
	if inspectedStates(ins) != "GBUUUU" || !strings.Contains(ins.Records[0].Reason, "only through record 1") {
		t.Fatalf("%s", describe(ins))
	}
	for _, r := range ins.Records[2:] {
		if !strings.Contains(r.Reason, "the seal still vouches for it as it is: the chain from the seal's head back to record 2 is whole") {
			t.Fatalf("record %d: %s", r.Seq, r.Reason)
		}
	}
	// A second change nearer the end: the seal reaches back only to it.
	b, _ = os.ReadFile(p)
	i = bytes.LastIndex(b, []byte(`"actor":"operator","event":"step.completed"`))
	b[i+10] = 'O' // record 3
	os.WriteFile(p, b, 0o644)
	ins = Inspect(dir, Options{})
	if strings.Contains(ins.Records[2].Reason, "vouches") || !strings.Contains(ins.Records[5].Reason, "back to record 4 is whole") {
		t.Fatalf("%s", describe(ins))
	}
}
