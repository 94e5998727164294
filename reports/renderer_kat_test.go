package reports_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/keyrite/keyrite/reports"
)

// TestRendererKnownAnswers: the reports of fixed transcripts (evidence fixtures that are never
// written again) have the SHA-256 they had when this renderer version was made. A change that
// makes the report faster must leave its bytes alone (the shaping cache and the seal's QR code
// encoded in parallel did); a change that alters them gives reports.Renderer a new version and
// these hashes with it.
func TestRendererKnownAnswers(t *testing.T) {
	want := map[string]string{
		"keyrite-report/8 ../testdata/compat/v1/root":          "e80f861d5dc6dfeee74ebcd2f393a085c632748ba8a4b5f76321ebac9182957f",
		"keyrite-report/8 ../testdata/compat/v2/quorum/backup": "7b5d1314df35dc6687bf44566a8716bb69a569e8118c20f66ddbaf0dc71b8fbd",
		"keyrite-report/8 " + mixedFixture:                     "3b012cde3e7d25d5911ed3a9a7643e280f40904dea2c724e0a51ef8b0a20255b",
	}
	for _, dir := range []string{"../testdata/compat/v1/root", "../testdata/compat/v2/quorum/backup", mixedFixture} {
		pdf, err := reports.RenderReport(dir)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(pdf)
		got := hex.EncodeToString(sum[:])
		key := reports.Renderer + " " + dir
		w, ok := want[key]
		if !ok {
			t.Fatalf("no known answer for %s: a new renderer version needs the hashes of its reports here", key)
		}
		if got != w {
			t.Errorf("%s renders to SHA-256 %s, want %s: the report's bytes changed without a new reports.Renderer", dir, got, w)
		}
	}
}
