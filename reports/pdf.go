// Package reports renders what auditors and custodians hold in their hands: the ceremony
// report and the share sheets (PDF), and the evidence bundle.
//
// Guarantees: PDFs embed the fonts of package reports/fonts and draw every string Renderable
// accepts with real glyphs, shaped (Hebrew, Arabic, Devanagari) and in visual order, each
// shaped line carrying its logical text as /ActualText, so that text extraction gives the
// string back; text wraps inside its cell and is never clipped, and no table row, key-value
// row, step heading or signature block is split across pages. The report is made from the
// sealed transcript alone, and output is deterministic (creation date taken from the
// ceremony, no random IDs): the same input gives the same bytes; Renderer names the version of
// that mapping. The package is pure Go.
package reports

import (
	"bytes"
	"sync"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/keyrite/keyrite/reports/fonts"
)

// Renderable reports whether every renderer Keyrite prints s with can draw it, naming the
// first character that cannot be drawn (see fonts.Renderable). The pre-flight calls it on
// every string a ceremony will show or print, before the HSM is touched.
func Renderable(s string) error { return fonts.Renderable(s) }

// Font families registered in every document.
const (
	sans = "go"
	mono = "gomono"
)

// newDocument starts an A4 portrait PDF with Keyrite's fonts and a fixed creation date.
func newDocument(title string, created time.Time) *doc {
	pdf := warmed()
	if pdf == nil {
		pdf = blankDocument()
	}
	pdf.SetTitle(title, true)
	pdf.SetCreator("Keyrite", true)
	pdf.SetCreationDate(created.UTC())
	pdf.SetModificationDate(created.UTC())
	pdf.SetCatalogSort(true)
	pdf.SetCompression(true)
	pdf.SetMargins(18, 18, 18)
	pdf.SetAutoPageBreak(true, 20)
	return pdf
}

// blankDocument is an A4 portrait PDF with Keyrite's fonts registered, nothing else set.
func blankDocument() *doc { return newDoc(fpdf.New("P", "mm", "A4", "")) }

// Warm makes, in the background, the document the next report or share sheet starts from: its
// fonts read, parsed and registered with the PDF writer, which in a new process is a quarter
// of a report's time. A ceremony calls it as it starts, so that after the seal the report does
// not wait for it. A warmed document is the same as a new one: the PDF's bytes do not depend
// on it (tested).
func Warm() {
	spare.Lock()
	defer spare.Unlock()
	if spare.ready == nil {
		ready := make(chan *doc, 1)
		spare.ready = ready
		go func() { ready <- blankDocument() }()
	}
}

// spare is the document Warm is making, taken by the next newDocument.
var spare struct {
	sync.Mutex
	ready chan *doc
}

// warmed takes the document Warm made, waiting for it if it is still being made (that is
// sooner than starting another); nil when Warm was not called since the last one was taken.
func warmed() *doc {
	spare.Lock()
	ready := spare.ready
	spare.ready = nil
	spare.Unlock()
	if ready == nil {
		return nil
	}
	return <-ready
}

func output(pdf *doc) ([]byte, error) {
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
