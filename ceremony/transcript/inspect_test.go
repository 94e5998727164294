package transcript

import (
	"fmt"
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
