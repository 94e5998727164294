package reports

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf16"

	"github.com/go-pdf/fpdf"
	"github.com/go-text/typesetting/di"
	"github.com/go-text/typesetting/font"
	"github.com/go-text/typesetting/shaping"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/unicode/bidi"

	"github.com/keyrite/keyrite/reports/fonts"
)

// The text engine. fpdf draws a string through one font's character map, left to right, with
// no shaping; that is right for Latin, Greek and Cyrillic in the Go fonts, and it is the fast
// path. Any other text is shaped with HarfBuzz (go-text/typesetting): split into runs by
// direction, script and font (the fallback chain of package fonts), shaped, wrapped into lines
// and put in visual order. Each glyph is drawn at the position the shaper chose, through the
// private-use character the font's cmap maps to it (fonts.PUABase), inside a marked-content
// span whose /ActualText is the line's logical text, so that text extraction (pdftotext,
// copy and paste, screen readers) gets the characters in reading order.

const (
	// lrm, the left-to-right mark, begins the report's sentences: they read left to right
	// even when every word of one is a right-to-left name (see paragraphDirection).
	lrm    = '\u200E'
	ptToMM = 25.4 / 72
	// The shaper works in 1/16 point, so that the wrapper's whole-unit widths are fine enough.
	unitsPerPt = 16
)

// doc is a PDF document with Keyrite's fonts and the text engine. Its SetFont, CellFormat,
// MultiCell and GetStringWidth take the place of fpdf's: text the style's own font draws as
// it is goes to fpdf unchanged; anything else is shaped. A cell never lets text run past its
// width: what does not fit wraps onto more lines.
type doc struct {
	*fpdf.Fpdf
	chains     [4][]*fonts.Face
	registered map[*fonts.Face]fpdfFont
	style      fonts.Style
	known      bool    // the current font is one of the four styles
	size       float64 // points

	seg     shaping.Segmenter
	shaper  shaping.HarfbuzzShaper
	wrapper shaping.LineWrapper
	// shaped keeps what shape made of each paragraph: a report measures a box's text before
	// it draws it (and again when a page break moves it), and shaping is a pure function of
	// the paragraph, the style, the size and the width, so it is done once for each.
	shaped map[shapeKey][]line
}

// shapeKey is what shape's result depends on.
type shapeKey struct {
	text  string
	style fonts.Style
	size  float64
	width float64
}

// fpdfFont is the family and style a face is registered under.
type fpdfFont struct{ family, style string }

// styles are the four styles' fpdf names.
var styles = [4]fpdfFont{fonts.Sans: {sans, ""}, fonts.SansBold: {sans, "B"}, fonts.Mono: {mono, ""}, fonts.MonoBold: {mono, "B"}}

// newDoc wraps pdf with the fonts of package fonts, registering each style's own font.
func newDoc(pdf *fpdf.Fpdf) *doc {
	d := &doc{Fpdf: pdf, registered: map[*fonts.Face]fpdfFont{}}
	for st := range d.chains {
		chain, err := fonts.Chain(fonts.Style(st))
		if err != nil {
			pdf.SetError(err)
			return d
		}
		d.chains[st] = chain
		// fpdf's subsetter patches glyph data in place: Face.TTF gives it a copy, or the
		// first document would change the shared font bytes and the next render differently.
		pdf.AddUTF8FontFromBytes(styles[st].family, styles[st].style, chain[0].TTF())
		d.registered[chain[0]] = styles[st]
	}
	return d
}

// use registers a face with the document the first time it is drawn with and selects it.
func (d *doc) use(f *fonts.Face) {
	ff, ok := d.registered[f]
	if !ok {
		ff = fpdfFont{f.Family, ""}
		d.AddUTF8FontFromBytes(ff.family, ff.style, f.TTF())
		d.registered[f] = ff
	}
	d.Fpdf.SetFont(ff.family, ff.style, d.size)
}

// SetFont selects a font as fpdf's does, and remembers which of the four styles it is.
func (d *doc) SetFont(family, style string, size float64) {
	d.Fpdf.SetFont(family, style, size)
	d.size, d.known = size, false
	for st, ff := range styles {
		if ff.family == family && ff.style == strings.ToUpper(style) {
			d.style, d.known = fonts.Style(st), true
		}
	}
}

// line is one laid-out line: either a string fpdf draws as it is, or shaped spans.
type line struct {
	plain string
	spans []span
	width float64 // mm, shaped lines only
}

// span is the glyphs of one shaped run (one font, one direction) with the text they stand
// for, in the order they are drawn: a right-to-left run's text is reversed, because text
// extractors (poppler's pdftotext among them) read the page left to right and put
// right-to-left text back into logical order themselves.
type span struct {
	actual string
	runs   []glyphRun
}

// glyphRun is a sequence of glyphs of one face drawn from one point.
type glyphRun struct {
	face *fonts.Face
	x, y float64 // mm from the line's origin on the baseline (y downwards)
	end  float64 // where fpdf's pen stands after drawing text
	text string  // the characters fpdf draws: private-use or, for faces without, the cluster's own
}

// simple reports whether the style's own font draws s as it is: every character is in its
// cmap (the Go fonts hold no right-to-left script, no combining mark and nothing that
// shapes).
func (d *doc) simple(s string) bool {
	if !d.known {
		return true
	}
	f := d.chains[d.style][0]
	for _, r := range s {
		if r < 0x7F && r >= 0x20 || r == '\n' {
			continue
		}
		if !f.Covers(r) {
			return false
		}
	}
	return true
}

// layout breaks s into lines for a cell w (mm) wide, in the current style and size.
func (d *doc) layout(s string, w float64) []line {
	if d.simple(s) {
		var out []line
		for _, l := range d.SplitText(s, w) {
			out = append(out, line{plain: l})
		}
		if len(out) == 0 {
			out = append(out, line{})
		}
		return out
	}
	var out []line
	for _, para := range strings.Split(s, "\n") {
		out = append(out, d.shape(para, w-2*d.GetCellMargin())...)
	}
	return out
}

// fontmap picks, for each character, the first face of the chain that has it; a combining
// mark stays with the face of the letter before it.
type fontmap struct {
	chain []*fonts.Face
	last  *fonts.Face
}

func (m *fontmap) ResolveFace(r rune) *font.Face {
	if m.last != nil && unicode.In(r, unicode.Mn, unicode.Mc, unicode.Me) && m.last.Covers(r) {
		return m.last.Shaper()
	}
	m.last = m.chain[0]
	for _, f := range m.chain {
		if f.Covers(r) {
			m.last = f
			break
		}
	}
	return m.last.Shaper()
}

// shape lays out the paragraph s (no newline) in lines of at most w mm, in the current style
// and size, with the shaper: for text the style's own font cannot draw as it is.
func (d *doc) shape(s string, w float64) []line {
	key := shapeKey{s, d.style, d.size, w}
	if out, ok := d.shaped[key]; ok {
		return out
	}
	out := d.shapeOnce(s, w)
	if d.shaped == nil {
		d.shaped = map[shapeKey][]line{}
	}
	d.shaped[key] = out
	return out
}

// shapeOnce shapes the paragraph s and breaks it into lines of at most w mm. The lines it
// returns are shared by every caller of shape with the same key: nobody changes them.
func (d *doc) shapeOnce(s string, w float64) []line {
	runes := []rune(s)
	if len(runes) == 0 {
		return []line{{}}
	}
	size := fixed.Int26_6(math.Round(d.size * unitsPerPt * 64))
	dir := paragraphDirection(runes)
	if dir == di.DirectionLTR && firstStrong(runes) != bidi.L {
		// The bidi resolver takes the paragraph's direction from its first strong character:
		// a left-to-right mark makes it agree, so that "דוד כהן — custodian" keeps its dash
		// and spaces between the name and the English.
		runes = append([]rune{lrm}, runes...)
	}
	in := shaping.Input{Text: runes, RunStart: 0, RunEnd: len(runes), Direction: dir, Size: size}
	runs := d.seg.Split(in, &fontmap{chain: d.chains[d.style]})
	outs := make([]shaping.Output, len(runs))
	for i, r := range runs {
		outs[i] = d.shaper.Shape(r)
	}
	maxW := int(w / ptToMM * unitsPerPt)
	wrapped, _ := d.wrapper.WrapParagraph(shaping.WrapConfig{Direction: dir}, maxW, runes, shaping.NewSliceIterator(outs))
	out := make([]line, 0, len(wrapped))
	for _, wl := range wrapped {
		out = append(out, d.glyphs(runes, wl))
	}
	return out
}

// paragraphDirection is right to left for text whose strong characters are all right to
// left (a Hebrew or Arabic name or place on its own: numbers and punctuation inside it stay
// in their place), and left to right for everything else, this being an English document: a
// name inside a sentence, or "محمد عبد الله (custodian)", reads with the English around it in
// its order. (The Unicode bidirectional algorithm's rule P2 would take the first strong
// character; a name at the start of a sentence would turn the sentence around.)
func paragraphDirection(runes []rune) di.Direction {
	rtl := false
	for _, r := range runes {
		p, _ := bidi.LookupRune(r)
		switch p.Class() {
		case bidi.L:
			return di.DirectionLTR
		case bidi.R, bidi.AL:
			rtl = true
		}
	}
	if rtl {
		return di.DirectionRTL
	}
	return di.DirectionLTR
}

// firstStrong is the bidi class of the first strong character, or bidi.ON for none.
func firstStrong(runes []rune) bidi.Class {
	for _, r := range runes {
		p, _ := bidi.LookupRune(r)
		if c := p.Class(); c == bidi.L || c == bidi.R || c == bidi.AL {
			return c
		}
	}
	return bidi.ON
}

// glyphs turns a wrapped line into glyph runs in visual order, positions in mm.
func (d *doc) glyphs(runes []rune, wl shaping.Line) line {
	sorted := append(shaping.Line(nil), wl...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].VisualIndex < sorted[j].VisualIndex })
	var l line
	pen := 0.0
	toMM := func(v fixed.Int26_6) float64 { return float64(v) / 64 / unitsPerPt * ptToMM }
	for _, run := range sorted {
		text := slices.DeleteFunc(slices.Clone(runes[run.Runes.Offset:run.Runes.Offset+run.Runes.Count]), func(r rune) bool {
			return r == lrm // the report's own direction mark is not text
		})
		if run.Direction.Progression() == di.TowardTopLeft {
			slices.Reverse(text)
		}
		l.spans = append(l.spans, span{actual: string(text)})
		sp := &l.spans[len(l.spans)-1]
		face := fonts.Owner(run.Face)
		scale := d.size / float64(run.Face.Upem()) * ptToMM // mm per font unit
		var cur *glyphRun
		cluster := -1
		for _, g := range run.Glyphs {
			var text string
			switch {
			case face.PUA():
				text = string(rune(fonts.PUABase + int(g.GlyphID)))
			case g.ClusterIndex != cluster:
				text = string(runes[g.ClusterIndex : g.ClusterIndex+g.RuneCount])
			}
			cluster = g.ClusterIndex
			x, y := pen+toMM(g.XOffset), -toMM(g.YOffset)
			natural := float64(run.Face.HorizontalAdvance(g.GlyphID)) * scale
			// fpdf advances by the font's own advance; start a new run where the shaper
			// placed the glyph elsewhere (marks, kerning, cursive attachment).
			if cur == nil || cur.face != face || g.XOffset != 0 || g.YOffset != 0 || math.Abs(cur.end-x) > 0.005 {
				sp.runs = append(sp.runs, glyphRun{face: face, x: x, y: y, end: x})
				cur = &sp.runs[len(sp.runs)-1]
			}
			cur.text += text
			cur.end += natural
			pen += toMM(g.XAdvance)
		}
	}
	l.width = pen
	return l
}

// drawLine draws l in a cell at (x, y), w wide and h high, aligned "L", "C" or "R", as
// fpdf's CellFormat places text.
func (d *doc) drawLine(l line, x, y, w, h float64, align string) {
	if l.spans == nil {
		d.SetXY(x, y)
		d.Fpdf.CellFormat(w, h, l.plain, "", 0, align, false, 0, "")
		return
	}
	d.drawShaped(l, x+d.aligned(l.width, w, align), y+0.5*h+0.3*d.size*ptToMM)
}

// aligned is the offset of a line width wide in a cell w wide.
func (d *doc) aligned(width, w float64, align string) float64 {
	m := d.GetCellMargin()
	switch strings.ToUpper(align) {
	case "C":
		return (w - width) / 2
	case "R":
		return w - m - width
	}
	return m
}

// drawShaped draws a shaped line from x on the baseline y, each run inside a marked-content
// span whose ActualText is the text it stands for.
func (d *doc) drawShaped(l line, x, baseline float64) {
	for _, sp := range l.spans {
		d.RawWriteStr("/Span <</ActualText " + pdfTextString(sp.actual) + ">> BDC\n")
		for _, r := range sp.runs {
			if r.text != "" {
				d.use(r.face)
				d.Text(x+r.x, baseline+r.y, r.text)
			}
		}
		d.RawWriteStr("EMC\n")
	}
	if d.known {
		d.Fpdf.SetFont(styles[d.style].family, styles[d.style].style, d.size)
	}
}

// pdfTextString encodes s as a PDF text string: UTF-16BE with a byte order mark, in hex.
func pdfTextString(s string) string {
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteString(">")
	return b.String()
}

// MultiCell draws txt as a paragraph, as fpdf's does, shaping what fpdf cannot draw.
func (d *doc) MultiCell(w, h float64, txt, border, align string, fill bool) {
	if d.simple(txt) {
		d.Fpdf.MultiCell(w, h, txt, border, align, fill)
		return
	}
	x, y := d.GetXY()
	w = d.width(w)
	for _, l := range d.layout(txt, w) {
		if y+h > d.bottom() {
			d.AddPage()
			y = d.GetY()
		}
		if fill {
			d.Rect(x, y, w, h, "F")
		}
		d.drawLine(l, x, y, w, h, align)
		y += h
	}
	left, _, _, _ := d.GetMargins()
	d.SetXY(left, y)
}

// CellFormat draws a cell as fpdf's does; text wider than the cell wraps onto more lines
// (the cell grows downwards) instead of running past it.
func (d *doc) CellFormat(w, h float64, txt, border string, ln int, align string, fill bool, link int, linkStr string) {
	w = d.width(w)
	if d.simple(txt) && d.Fpdf.GetStringWidth(txt) <= w-2*d.GetCellMargin() {
		d.Fpdf.CellFormat(w, h, txt, border, ln, align, fill, link, linkStr)
		return
	}
	ls := d.layout(txt, w)
	if len(ls) == 1 && ls[0].spans == nil {
		d.Fpdf.CellFormat(w, h, ls[0].plain, border, ln, align, fill, link, linkStr)
		return
	}
	x, y := d.GetXY()
	for i, l := range ls {
		if i > 0 && y+h > d.bottom() {
			d.AddPage()
			y = d.GetY()
		}
		if fill {
			d.Rect(x, y, w, h, "F")
		}
		d.drawLine(l, x, y, w, h, align)
		if i < len(ls)-1 {
			y += h
		}
	}
	switch ln {
	case 0:
		d.SetXY(x+w, y)
	case 1:
		left, _, _, _ := d.GetMargins()
		d.SetXY(left, y+h)
	default:
		d.SetXY(x, y+h)
	}
}

// GetStringWidth is the width of s on one line in the current font, shaped where needed.
func (d *doc) GetStringWidth(s string) float64 {
	if d.simple(s) {
		return d.Fpdf.GetStringWidth(s)
	}
	w := 0.0
	for _, l := range d.layout(s, 1e6) {
		w = max(w, l.width)
	}
	return w
}

// width resolves a cell width of 0 to the rest of the line, as fpdf does.
func (d *doc) width(w float64) float64 {
	if w == 0 {
		pw, _ := d.GetPageSize()
		_, _, r, _ := d.GetMargins()
		w = pw - r - d.GetX()
	}
	return w
}

// lines counts the lines MultiCell(w, …, s) takes in the current font.
func (d *doc) lines(w float64, s string) int { return len(d.layout(s, d.width(w))) }

// bottom is the lowest y a line may reach before the page breaks.
func (d *doc) bottom() float64 {
	_, ph := d.GetPageSize()
	_, margin := d.GetAutoPageBreak()
	return ph - margin
}

// fits reports whether h more millimetres fit on the page below the current position.
func (d *doc) fits(h float64) bool { return d.GetY()+h <= d.bottom() }
