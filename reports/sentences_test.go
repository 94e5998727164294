package reports

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// Every event of the schema reads as a sentence of its own: none falls back to "an event this
// version does not describe", none shows its raw name or a JSON fragment.
func TestEveryEventHasASentence(t *testing.T) {
	for _, spec := range transcript.Events {
		rec := &transcript.Record{Seq: 7, Event: spec.Name, Actor: "Zoë Ångström (administrator)"}
		var data any
		if spec.Data != nil {
			v := reflect.New(spec.Data)
			b, _ := json.Marshal(v.Interface())
			rec.Data = b
			d, err := transcript.DecodeEvent(rec)
			if err != nil {
				t.Fatalf("%s: %v", spec.Name, err)
			}
			data = d
		}
		s := sentence(rec, data)
		if strings.Contains(s, "does not describe") || strings.Contains(s, spec.Name) || strings.ContainsAny(s, "{}[]") || s == "" {
			t.Errorf("%s reads %q", spec.Name, s)
		}
	}
}
