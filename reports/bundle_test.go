package reports_test

import (
	"archive/tar"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/ceremonytest"
	"github.com/keyrite/keyrite/reports"
)

// bundleOf runs the quorum ceremony and returns its evidence bundle.
func bundleOf(t *testing.T) (dir string, bundle []byte) {
	t.Helper()
	b := ceremonytest.Token(t)
	s := ceremonytest.Script(t, "..", "root-quorum-ceremony.yaml")
	dir = ceremonytest.RunOn(t, b, s, &ceremonytest.UI{}, ceremony.Options{})
	var buf bytes.Buffer
	if err := reports.WriteBundle(dir, &buf, ceremonytest.Signer(t, b, s.Signer.Label)); err != nil {
		t.Fatal(err)
	}
	return dir, buf.Bytes()
}

type entry struct {
	name string
	data []byte
}

func untar(t *testing.T, b []byte) []entry {
	var out []entry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		d, _ := io.ReadAll(tr)
		out = append(out, entry{h.Name, d})
	}
}

func retar(es []entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tar.TypeReg})
		tw.Write(e.data)
	}
	tw.Close()
	return buf.Bytes()
}

func TestBundleVerifies(t *testing.T) {
	_, b := bundleOf(t)
	res, err := reports.VerifyBundle(bytes.NewReader(b), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Withheld) != 1 || !strings.HasSuffix(res.Withheld[0], ".wrapped") {
		t.Fatalf("withheld %v, want the wrapped root key", res.Withheld)
	}
	for _, e := range untar(t, b) {
		if strings.Contains(e.name, "shares/") || strings.HasSuffix(e.name, ".wrapped") {
			t.Fatalf("bundle holds %s", e.name)
		}
	}
}

func TestBundleTamperingIsNamed(t *testing.T) {
	_, b := bundleOf(t)
	es := untar(t, b)
	id := strings.Split(es[0].name, "/")[0]
	find := func(es []entry, name string) int {
		for i, e := range es {
			if e.name == id+"/"+name {
				return i
			}
		}
		t.Fatalf("no %s", name)
		return -1
	}
	clone := func() []entry {
		out := make([]entry, len(es))
		for i, e := range es {
			out[i] = entry{e.name, bytes.Clone(e.data)}
		}
		return out
	}
	tests := []struct {
		name   string
		tamper func([]entry) []entry
		want   string
	}{
		{"file changed", func(es []entry) []entry { i := find(es, "root.pem"); es[i].data[30] ^= 1; return es }, "root.pem"},
		{"file removed", func(es []entry) []entry { i := find(es, "root.der"); return append(es[:i], es[i+1:]...) }, "root.der"},
		{"file added", func(es []entry) []entry { return append(es, entry{id + "/extra.txt", []byte("x")}) }, "extra.txt"},
		{"manifest altered", func(es []entry) []entry {
			i := find(es, "MANIFEST")
			es[i].data = bytes.Replace(es[i].data, []byte("file "), []byte("withheld "), 1)
			return es
		}, "listed as withheld but present"},
		{"manifest line changed", func(es []entry) []entry {
			i := find(es, "MANIFEST")
			es[i].data = bytes.Replace(es[i].data, []byte("renderer keyrite-report/"), []byte("renderer keyrite-repOrt/"), 1)
			return es
		}, "MANIFEST"},
		{"signature replaced", func(es []entry) []entry { i := find(es, "MANIFEST.sig"); es[i].data[10] ^= 1; return es }, "MANIFEST"},
		{"report replaced", func(es []entry) []entry {
			i := find(es, "report.pdf")
			es[i].data = append(es[i].data, ' ')
			return es
		}, "report.pdf"},
		{"archive cut short", nil, "truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var bad []byte
			if tc.tamper == nil {
				bad = b[:len(b)/2]
			} else {
				bad = retar(tc.tamper(clone()))
			}
			_, err := reports.VerifyBundle(bytes.NewReader(bad), filepath.Join(t.TempDir(), "w"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name %q", err, tc.want)
			}
		})
	}
}

// A bundle whose report this renderer made must match the report the transcript renders to,
// even when the manifest is re-signed over the changed report; a bundle this version made
// verifies with nothing to report.
func TestBundleReportOfThisRendererIsReRendered(t *testing.T) {
	b := ceremonytest.Token(t)
	s := ceremonytest.Script(t, "..", "root-quorum-ceremony.yaml")
	dir := ceremonytest.RunOn(t, b, s, &ceremonytest.UI{}, ceremony.Options{})
	signer := ceremonytest.Signer(t, b, s.Signer.Label)
	var buf bytes.Buffer
	if err := reports.WriteBundle(dir, &buf, signer); err != nil {
		t.Fatal(err)
	}
	res, err := reports.VerifyBundle(bytes.NewReader(buf.Bytes()), t.TempDir())
	if err != nil || !strings.Contains(res.Report, "identical") {
		t.Fatalf("fresh bundle: %v, %+v", err, res)
	}
	es := untar(t, buf.Bytes())
	var manifest, report *entry
	for i := range es {
		switch filepath.Base(es[i].name) {
		case reports.ManifestName:
			manifest = &es[i]
		case reports.ReportFileName:
			report = &es[i]
		}
	}
	oldSum := sha256.Sum256(report.data)
	report.data = append(bytes.Clone(report.data), "% changed\n"...)
	newSum := sha256.Sum256(report.data)
	oldLine := fmt.Sprintf("file %x %d ", oldSum, len(report.data)-len("% changed\n"))
	if !bytes.Contains(manifest.data, []byte(oldLine)) {
		t.Fatalf("manifest has no line %q", oldLine)
	}
	manifest.data = bytes.Replace(manifest.data, []byte(oldLine), []byte(fmt.Sprintf("file %x %d ", newSum, len(report.data))), 1)
	digest := sha512.Sum384(manifest.data)
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	for i := range es {
		if filepath.Base(es[i].name) == reports.ManifestSigName {
			es[i].data = sig
		}
	}
	_, err = reports.VerifyBundle(bytes.NewReader(retar(es)), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "differs from the report renderer "+reports.Renderer+" renders") {
		t.Fatalf("a changed report of this renderer, manifest re-signed: err = %v", err)
	}
}
