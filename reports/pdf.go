// Package reports renders what auditors and custodians hold in their hands: the ceremony
// report and the share sheets (PDF), and the evidence bundle.
//
// Guarantees: PDFs embed the Go fonts (BSD licence, golang.org/x/image/font/gofont), which
// cover Latin, Greek and Cyrillic, so every participant's name renders; output is
// deterministic (creation date taken from the ceremony, no random IDs), so the same input
// gives the same bytes. The package is pure Go.
package reports

import (
	"bytes"
	"time"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
)

// Font families registered in every document.
const (
	sans = "go"
	mono = "gomono"
)

// newDocument starts an A4 portrait PDF with Keyrite's fonts and a fixed creation date.
func newDocument(title string, created time.Time) *fpdf.Fpdf {
	pdf := fpdf.New("P", "mm", "A4", "")
	// fpdf's subsetter patches glyph data in place: give it copies, or the first document
	// changes the shared font bytes and the next one renders differently.
	pdf.AddUTF8FontFromBytes(sans, "", bytes.Clone(goregular.TTF))
	pdf.AddUTF8FontFromBytes(sans, "B", bytes.Clone(gobold.TTF))
	pdf.AddUTF8FontFromBytes(mono, "", bytes.Clone(gomono.TTF))
	pdf.AddUTF8FontFromBytes(mono, "B", bytes.Clone(gomonobold.TTF))
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

func output(pdf *fpdf.Fpdf) ([]byte, error) {
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
