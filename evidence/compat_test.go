package evidence_test

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/evidence"
)

// compatTrees are the committed fixture trees: evidence written by earlier versions.
func compatTrees(t *testing.T) []string {
	t.Helper()
	trees, err := filepath.Glob("../testdata/compat/v*/*")
	if err != nil || len(trees) < 2 {
		t.Fatalf("compatibility fixtures missing under testdata/compat: %v %v", trees, err)
	}
	var out []string
	for _, d := range trees {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// copyTree copies the fixture tree src into a new temporary folder.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func bundlesIn(t *testing.T, tree string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), "evidence-") && strings.HasSuffix(d.Name(), ".tar") {
			out = append(out, p)
		}
		return err
	})
	if len(out) == 0 {
		t.Fatalf("%s holds no bundle", tree)
	}
	return out
}

// TestCompatFixturesVerify: evidence written by every earlier version verifies, folder and bundle.
func TestCompatFixturesVerify(t *testing.T) {
	for _, tree := range compatTrees(t) {
		folders, err := evidence.VerifyTree(tree, evidence.Options{})
		if err != nil {
			t.Errorf("%s: %v", tree, err)
		}
		for _, f := range folders {
			if !strings.Contains(f.Report, "report.pdf equals the bundle's") {
				t.Errorf("%s: report and bundle not checked: %q", f.Dir, f.Report)
			}
		}
		ins := inspect(t, tree, evidence.Options{})
		if ins.Problems() != 0 {
			t.Errorf("%s: %d problems in verified evidence", tree, ins.Problems())
		}
		for _, c := range ins.Ceremonies { // the restore continues the backup, quoting its seal
			if c.Chain.Previous != "" && (c.Chain.PreviousState != transcript.Good || !strings.Contains(c.Chain.PreviousReason, "quotes the seal")) {
				t.Errorf("%s: the link to %s: %v %s", c.Name, c.Chain.Previous, c.Chain.PreviousState, c.Chain.PreviousReason)
			}
		}
		for _, b := range bundlesIn(t, tree) {
			inspect(t, b, evidence.Options{})
			f, err := os.Open(b)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := evidence.VerifyBundleFile(f, t.TempDir(), evidence.Options{}); err != nil {
				t.Errorf("%s: %v", b, err)
			}
			f.Close()
		}
	}
}

// flip changes the byte in the middle of b.
func flip(b []byte) { b[len(b)/2] ^= 0x01 }

// TestCompatFixturesRefuseOneByteChange changes one byte of each file of each fixture folder
// (the report and the bundle too), and of each member of each bundle: every change is refused.
func TestCompatFixturesRefuseOneByteChange(t *testing.T) {
	for _, tree := range compatTrees(t) {
		var files []string
		filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(tree, p)
				files = append(files, rel)
			}
			return err
		})
		for _, rel := range files {
			t.Run(filepath.ToSlash(filepath.Join(filepath.Base(tree), rel)), func(t *testing.T) {
				dir := copyTree(t, tree)
				p := filepath.Join(dir, rel)
				b, _ := os.ReadFile(p)
				flip(b)
				os.WriteFile(p, b, 0o644)
				if _, err := evidence.VerifyTree(dir, evidence.Options{}); err == nil {
					t.Fatal("verified after a one-byte change")
				}
				inspect(t, dir, evidence.Options{}) // the same verdict, and what is wrong found
			})
		}
		for _, bundle := range bundlesIn(t, tree) {
			orig, _ := os.ReadFile(bundle)
			for _, m := range tarMembers(t, orig) {
				t.Run(filepath.Base(bundle)+"/"+m.name, func(t *testing.T) {
					b := bytes.Clone(orig)
					b[m.offset+m.size/2] ^= 0x01
					if _, err := evidence.VerifyBundle(bytes.NewReader(b), int64(len(b)), t.TempDir(), evidence.Options{}); err == nil {
						t.Fatal("verified after a one-byte change")
					}
					p := filepath.Join(t.TempDir(), filepath.Base(bundle))
					os.WriteFile(p, b, 0o644)
					inspect(t, p, evidence.Options{})
				})
			}
		}
	}
}

type tarMember struct {
	name         string
	offset, size int64
}

// tarMembers lists the members of a tar archive with the offset of their data.
func tarMembers(t *testing.T, b []byte) []tarMember {
	t.Helper()
	r := bytes.NewReader(b)
	tr := tar.NewReader(r)
	var out []tarMember
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		off := int64(len(b)) - int64(r.Len()) // the reader has consumed the header blocks
		data, _ := io.ReadAll(tr)
		if h.Size == 0 || !bytes.Equal(data, b[off:off+h.Size]) {
			t.Fatalf("member %s: its data is not at offset %d", h.Name, off)
		}
		out = append(out, tarMember{h.Name, off, h.Size})
	}
}
