package app

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// A figure is a value people read aloud and compare with paper: a key's fingerprint, a key
// check value, the seal's short hash. The screen draws it large, in monospace (no l or I to
// confuse with 1), in exactly the groups the report prints (fingerprint.Grouped and
// transcript's ShortHashGrouped, the functions the report calls), with its PGP words beneath.
// Long figures wrap between groups, never inside one: joined with single spaces, the rows are
// the report's text (figure_test.go compares them with a rendered report).

// figureRowGroups is how many groups of four a row holds: eight, so a SHA-256 fingerprint is
// two rows that fit a 1024-wide window at any scale.
const figureRowGroups = 8

// Figure is one figure on screen.
type Figure struct {
	Box   *fyne.Container
	Label *widget.Label
	Rows  []*widget.Label // the grouped value, large and monospace
	Words *widget.Label   // nil when there are none
}

// Text is the figure's value as the report prints it: the rows joined with a space.
func (f *Figure) Text() string {
	var parts []string
	for _, r := range f.Rows {
		parts = append(parts, r.Text)
	}
	return strings.Join(parts, " ")
}

// newFigure draws the grouped value under its label, with words to read aloud beneath.
func newFigure(label, grouped, words string) *Figure {
	f := &Figure{Label: widget.NewLabelWithStyle(label, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})}
	f.Label.Wrapping = fyne.TextWrapWord
	objs := []fyne.CanvasObject{f.Label}
	for _, row := range figureRows(grouped) {
		l := widget.NewLabelWithStyle(row, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true, Bold: true})
		l.SizeName = theme.SizeNameHeadingText
		f.Rows = append(f.Rows, l)
		objs = append(objs, l)
	}
	if words != "" {
		f.Words = widget.NewLabel("Read aloud: " + words)
		f.Words.Wrapping = fyne.TextWrapWord
		objs = append(objs, f.Words)
	}
	f.Box = container.NewVBox(objs...)
	return f
}

// figureRows splits a grouped value into rows of figureRowGroups groups.
func figureRows(grouped string) []string {
	g := strings.Fields(grouped)
	var rows []string
	for i := 0; i < len(g); i += figureRowGroups {
		rows = append(rows, strings.Join(g[i:min(i+figureRowGroups, len(g))], " "))
	}
	return rows
}

var (
	// "SPKI SHA-256: 5F4A 6D8A …" or "Its SHA-256: …": a whole line that is a grouped value
	// of at least four groups.
	groupedLine = regexp.MustCompile(`^(.*?):\s*((?:[0-9A-F]{4} ){3,}[0-9A-F]{1,4})$`)
	// "check value 1A2B3C" or "check value: 1A2B3C": a key check value inside a sentence, as
	// the engine and the report print it (six hex digits).
	checkValue = regexp.MustCompile(`check value:? ([0-9A-F]{6})\b`)
)

// noteObjects draws a note: its sentences as text, each grouped fingerprint line as a
// figure (with the "Read aloud" line that follows it as the figure's words), and each check
// value a sentence names as a figure of its own after that sentence.
func noteObjects(text string) []fyne.CanvasObject {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	var objs []fyne.CanvasObject
	var plain []string // consecutive sentences, drawn as one label
	flush := func() {
		if len(plain) > 0 {
			l := widget.NewLabel(strings.Join(plain, "\n"))
			l.Wrapping = fyne.TextWrapWord
			objs = append(objs, l)
			plain = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := groupedLine.FindStringSubmatch(line); m != nil {
			flush()
			words := ""
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "Read aloud: ") {
				words = strings.TrimPrefix(lines[i+1], "Read aloud: ")
				i++
			}
			objs = append(objs, newFigure(m[1], m[2], words).Box)
			continue
		}
		plain = append(plain, line)
		for _, m := range checkValue.FindAllStringSubmatch(line, -1) {
			flush()
			objs = append(objs, newFigure("Check value", m[1], kcvWords(m[1])).Box)
		}
	}
	flush()
	return objs
}

// kcvWords are a check value's PGP words, to read aloud.
func kcvWords(kcv string) string {
	b, err := hex.DecodeString(kcv)
	if err != nil {
		return ""
	}
	return fingerprint.Words(b)
}

// showSealFigures shows, at the close, the seal's short hash and the root key's fingerprint
// as figures: the two values witnesses compare with the printed report.
func (r *RunScreen) showSealFigures(res *transcript.Result) {
	short, _ := hex.DecodeString(res.Seal.ShortHash())
	r.SealFigure = newFigure("Seal short hash (on every report page)", res.Seal.ShortHashGrouped(), fingerprint.Words(short))
	r.RootFigure = newFigure("Root public key SHA-256", res.RootSPKI.Grouped(), res.RootSPKI.Words())
	r.figures.Objects = []fyne.CanvasObject{r.SealFigure.Box, r.RootFigure.Box}
	r.figures.Refresh()
	// The engine's last note is the seal's text (base64, for the report and the verifier):
	// the room compares its short hash, drawn above, so the newest note says that instead.
	r.orient.note(fmt.Sprintf("Transcript sealed and verified: %d records. Its seal's short hash, %s, is printed on every page of the report; the full seal is in the report and the verify view.",
		res.Records, res.Seal.ShortHashGrouped()))
}
