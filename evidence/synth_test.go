package evidence_test

import (
	"crypto/ecdsa"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/evidence/evidencetest"
)

// synth describes a sealed ceremony made in software (evidencetest.Ceremony).
type synth struct {
	id       string
	rootCN   string
	steps    int      // three records each
	files    int      // outputs data-NN.bin
	size     int64    // bytes each
	extra    []string // more output names, one byte each
	noBundle bool
	records  []synthRecord
	start    time.Time
}

// synthRecord is one record a synthetic ceremony writes.
type synthRecord struct {
	event string
	data  any
}

var fakeReport = evidencetest.FakeReport

// make writes the ceremony into a new folder under parent (a new temporary folder when "") and
// returns the folder and the transcript signer's key.
func (s synth) make(t testing.TB, parent string) (string, *ecdsa.PrivateKey) {
	t.Helper()
	var records []evidencetest.Record
	for _, r := range s.records {
		records = append(records, evidencetest.Record{Event: r.event, Data: r.data})
	}
	return evidencetest.Ceremony{ID: s.id, RootCN: s.rootCN, Steps: s.steps, Files: s.files, Size: s.size, Extra: s.extra,
		NoBundle: s.noBundle, Records: records, Start: s.start}.Make(t, parent)
}

// fakeRenderer renders fakeReport, as version test/1 or another.
type fakeRenderer string

func (r fakeRenderer) Version() string { return string(r) }
func (r fakeRenderer) Render(*transcript.Result, string) ([]byte, error) {
	if r == "test/1" {
		return fakeReport, nil
	}
	return []byte("%PDF-1.4 another template\n"), nil
}

// within fails the test if f does not return in time: a verifier must never block.
func within(t *testing.T, d time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("still running after %v: the verifier blocked", d)
		return nil
	}
}
