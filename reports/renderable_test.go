package reports

import (
	"testing"
)

// FuzzRenderable holds Renderable to its promise: a string it accepts renders on a share
// sheet, in every field a name can reach, without an error or a panic.
func FuzzRenderable(f *testing.F) {
	for _, s := range []string{"Łukasz Wróbel", "Ирина Смирнова", "Χριστίνα", "Bob \U0001F600", "a\u202Eb", "王秀英", "דוד כהן", "محمد"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 120 || Renderable(s) != nil {
			return
		}
		sh := sheet()
		sh.Custodian, sh.Organization, sh.Role = s, s, s
		if _, err := RenderShareSheet(sh); err != nil {
			t.Fatalf("Renderable accepted %q but the share sheet fails: %v", s, err)
		}
	})
}
