package reports_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/reports"
)

// The visual regression test: the report of a Latin ceremony (a compatibility fixture) and of
// a mixed-script one (testdata/mixed-script), and a share sheet of each, are rendered to PNG
// with pdftoppm and compared page by page with the reference images in testdata/visual,
// within a tolerance for anti-aliasing. After a deliberate change of the layout, look at the
// new pages and write them as the references with KEYRITE_UPDATE_VISUAL=1.

const (
	visualDPI = "30"
	// A page differs when more than maxChanged of its pixels differ by more than 64 grey
	// levels: a moved line, a missing glyph or a changed table shows; anti-aliasing does not.
	maxChanged = 0.004
)

var visualDocs = []struct {
	name string
	pdf  func(t *testing.T) []byte
}{
	{"report-latin", func(t *testing.T) []byte { return report(t, "../testdata/compat/v1/quorum/backup") }},
	{"report-mixed", func(t *testing.T) []byte { return report(t, mixedFixture) }},
	{"sheet-latin", func(t *testing.T) []byte { return shareSheet(t, "Łukasz Wróbel", "Example Sovereign Cloud GmbH") }},
	{"sheet-mixed", func(t *testing.T) []byte {
		return shareSheet(t, "محمد عبد الله", "Международная ассоциация суверенных облачных сервисов и партнёров по примерам, 王秀英 / דוד כהן")
	}},
}

func report(t *testing.T, dir string) []byte {
	t.Helper()
	pdf, err := reports.RenderReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

func shareSheet(t *testing.T, custodian, org string) []byte {
	t.Helper()
	pdf, err := reports.RenderShareSheet(reports.ShareSheet{
		CeremonyID: "example-mixed-2026", Document: "example-mixed-2026/S02-of-05", Organization: org,
		KeyLabel: "example-mixed-2026", RootSPKI: "0D1F 5B39 1728 F2A0 A60A 7BCF 7974 23D0 DBE4 2642 66BB AAC2 825A 8DC2 72B8 4D04",
		ScriptSHA256: "93339f766a42ad0217b79f511e6e6c6f01e0a76f88f4ee1e1413b9be05f2f003", Custodian: custodian, Role: "custodian",
		Number: 2, Threshold: 3, Total: 5, KCV: "C2E308 (AES-CMAC of a zero block)", Bag: "TEB-2026-0202",
		LossContact: "Ирина Смирнова-Кузнецова, +49 69 1234 5678", Date: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		Code: "07DPR 37ZVQ ABCDE FGHJK MNPQR STVWX YZ012 34567 89ABC DEFGH JKMNP QRSTV WXYZ0 12345 6789A BCDEF GHJKM NPQRS",
	})
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

func rasterize(t *testing.T, pdf []byte) []string {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Fatal("pdftoppm (poppler-utils) is needed: ./scripts/install-deps")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "doc.pdf")
	os.WriteFile(p, pdf, 0o644)
	if out, err := exec.Command("pdftoppm", "-r", visualDPI, "-gray", "-png", p, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "page-*.png"))
	sort.Strings(pages)
	return pages
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// changed is the fraction of pixels that differ by more than 64 grey levels.
func changed(a, b image.Image) float64 {
	if a.Bounds() != b.Bounds() {
		return 1
	}
	n, r := 0, a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ga, _, _, _ := a.At(x, y).RGBA()
			gb, _, _, _ := b.At(x, y).RGBA()
			if d := int(ga>>8) - int(gb>>8); d > 64 || d < -64 {
				n++
			}
		}
	}
	return float64(n) / float64(r.Dx()*r.Dy())
}

func TestVisualRegression(t *testing.T) {
	update := os.Getenv("KEYRITE_UPDATE_VISUAL") != ""
	for _, doc := range visualDocs {
		t.Run(doc.name, func(t *testing.T) {
			pages := rasterize(t, doc.pdf(t))
			refs, _ := filepath.Glob(filepath.Join("testdata", "visual", doc.name+"-*.png"))
			if update {
				for _, r := range refs {
					os.Remove(r)
				}
				for i, p := range pages {
					b, _ := os.ReadFile(p)
					if err := os.WriteFile(filepath.Join("testdata", "visual", fmt.Sprintf("%s-%02d.png", doc.name, i+1)), b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			if len(refs) != len(pages) {
				t.Fatalf("%d pages, the references have %d", len(pages), len(refs))
			}
			for i, p := range pages {
				ref := filepath.Join("testdata", "visual", fmt.Sprintf("%s-%02d.png", doc.name, i+1))
				if f := changed(decode(t, p), decode(t, ref)); f > maxChanged {
					t.Errorf("page %d differs from %s in %.2f%% of its pixels", i+1, ref, 100*f)
				}
			}
		})
	}
}

// The mixed-script ceremony's report holds every participant's name exactly, in logical
// order, and no word lies outside its page.
func TestMixedScriptReportText(t *testing.T) {
	res, err := transcript.Verify(mixedFixture, transcript.Options{})
	if err != nil {
		t.Fatal(err)
	}
	model, err := reports.Read(res)
	if err != nil {
		t.Fatal(err)
	}
	pdf := report(t, mixedFixture)
	text := reports.PDFText(t, pdf)
	if len(model.Participants) != 9 {
		t.Fatalf("%d participants", len(model.Participants))
	}
	for _, person := range model.Participants {
		if !strings.Contains(text, person.Name) {
			t.Errorf("the report's text lacks %q", person.Name)
		}
	}
	for _, want := range []string{model.Organization, "חדר טקסים", "תל אביב"} {
		if !strings.Contains(strings.ReplaceAll(text, "\n", " "), want) {
			t.Errorf("the report's text lacks %q", want)
		}
	}
	reports.PageBoxes(t, "mixed-script report", pdf)
}
