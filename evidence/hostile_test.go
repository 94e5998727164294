package evidence_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/evidence"
)

// TestStrictFolder: each hostile change to a genuine ceremony folder is refused, with an error
// that names it, and nothing blocks.
func TestStrictFolder(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		opt    evidence.Options
		want   string
	}{
		{"a file no record names", func(t *testing.T, dir string) { write(t, dir, "notes.txt", "x") }, evidence.Options{}, "notes.txt is in the ceremony folder but no record"},
		{"a file in a subfolder", func(t *testing.T, dir string) { write(t, dir, "backup/extra.json", "{}") }, evidence.Options{}, "backup/extra.json"},
		{"a share sheet", func(t *testing.T, dir string) { write(t, dir, "shares/share-01-of-05.pdf", "%PDF") }, evidence.Options{}, "share sheet"},
		{"an output is a symlink to /dev/zero", func(t *testing.T, dir string) {
			replace(t, dir, "data-00.bin", func(p string) error { return os.Symlink("/dev/zero", p) })
		}, evidence.Options{}, "symbolic link"},
		{"an output is a FIFO", func(t *testing.T, dir string) {
			replace(t, dir, "data-00.bin", func(p string) error { return syscall.Mkfifo(p, 0o644) })
		}, evidence.Options{}, "FIFO"},
		{"the transcript is a symlink", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, transcript.FileName), filepath.Join(dir, "..", "t.jsonl"))
			os.Symlink(filepath.Join(dir, "..", "t.jsonl"), filepath.Join(dir, transcript.FileName))
		}, evidence.Options{}, "symbolic link"},
		{"an output grew", func(t *testing.T, dir string) { appendTo(t, filepath.Join(dir, "data-00.bin"), "y") }, evidence.Options{}, "larger than"},
		{"the report was changed", func(t *testing.T, dir string) { appendTo(t, filepath.Join(dir, evidence.ReportFileName), " ") }, evidence.Options{}, "report.pdf differs"},
		{"a torn bundle", func(t *testing.T, dir string) {
			b := filepath.Join(dir, evidence.BundleName("synthetic"))
			os.Truncate(b, 512)
		}, evidence.Options{}, "evidence-synthetic.tar"},
		{"a report no bundle vouches for", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, evidence.BundleName("synthetic"))) }, evidence.Options{}, "no evidence bundle vouches"},
		{"a report no bundle vouches for, renderer differs", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, evidence.BundleName("synthetic"))) }, evidence.Options{Renderer: fakeRenderer("test/2")}, "differs from the report renderer test/2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := synth{files: 2, size: 100}.make(t, "")
			if _, err := evidence.VerifyFolder(dir, tc.opt); err != nil {
				t.Fatalf("the genuine folder: %v", err)
			}
			tc.change(t, dir)
			err := within(t, 20*time.Second, func() error { _, err := evidence.VerifyFolder(dir, tc.opt); return err })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// TestFolderReportChecks: the report beside a bundle is checked against the bundle's manifest;
// without a bundle, a renderer of the same version renders it again.
func TestFolderReportChecks(t *testing.T) {
	dir, _ := synth{}.make(t, "")
	f, err := evidence.VerifyFolder(dir, evidence.Options{})
	if err != nil || !strings.Contains(f.Report, "report.pdf equals the bundle's") || !strings.Contains(f.Report, "not re-rendered: no report renderer was asked for") {
		t.Fatalf("%v %q", err, f.Report)
	}
	f, err = evidence.VerifyFolder(dir, evidence.Options{Renderer: fakeRenderer("test/1")})
	if err != nil || !strings.Contains(f.Report, "re-rendered by renderer test/1: identical") {
		t.Fatalf("%v %q", err, f.Report)
	}
	f, err = evidence.VerifyFolder(dir, evidence.Options{Renderer: fakeRenderer("test/2")})
	if err != nil || !strings.Contains(f.Report, "not re-rendered: written by renderer test/1, this is renderer test/2") {
		t.Fatalf("%v %q", err, f.Report)
	}
	os.Remove(filepath.Join(dir, evidence.BundleName("synthetic")))
	f, err = evidence.VerifyFolder(dir, evidence.Options{Renderer: fakeRenderer("test/1")})
	if err != nil || !strings.Contains(f.Report, "no bundle in the folder; report.pdf re-rendered by renderer test/1: identical") {
		t.Fatalf("%v %q", err, f.Report)
	}
}

// TestTreeRefusesCeremonyWithoutTranscript: a ceremony folder whose transcript was removed is an
// error, not skipped; a folder that is not a ceremony (share sheets) is left alone.
func TestTreeRefusesCeremonyWithoutTranscript(t *testing.T) {
	tree := t.TempDir()
	synth{id: "one"}.make(t, tree)
	two, _ := synth{id: "two"}.make(t, tree)
	write(t, tree, "shares/share-01-of-05.pdf", "%PDF")
	if got, err := evidence.VerifyTree(tree, evidence.Options{}); err != nil || len(got) != 2 {
		t.Fatalf("the genuine tree: %d folders, %v", len(got), err)
	}
	os.Remove(filepath.Join(two, transcript.FileName))
	if _, err := evidence.VerifyTree(tree, evidence.Options{}); err == nil || !strings.Contains(err.Error(), "two looks like a ceremony folder but holds no transcript.jsonl") {
		t.Fatalf("err = %v", err)
	}
	if _, err := evidence.VerifyTree(two, evidence.Options{}); err == nil || !strings.Contains(err.Error(), "looks like a ceremony folder") {
		t.Fatalf("the folder itself: err = %v", err)
	}
}

// TestHugeSparseFilesAreNotRead: a transcript or an output grown to 3 GB (sparse) is refused
// without reading it: memory stays small and nothing blocks.
func TestHugeSparseFilesAreNotRead(t *testing.T) {
	for _, name := range []string{transcript.FileName, "data-00.bin"} {
		t.Run(name, func(t *testing.T) {
			dir, _ := synth{files: 1, size: 10, noBundle: true}.make(t, "")
			os.Remove(filepath.Join(dir, evidence.ReportFileName))
			p := filepath.Join(dir, name)
			fi, _ := os.Stat(p)
			if err := os.Truncate(p, fi.Size()+3<<30); err != nil {
				t.Skipf("this file system cannot hold a sparse 3 GB file: %v", err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := within(t, 30*time.Second, func() error { _, err := evidence.VerifyFolder(dir, evidence.Options{}); return err })
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("verified")
			}
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 100<<20 {
				t.Fatalf("allocated %d MiB to refuse it (%v)", grown>>20, err)
			}
		})
	}
}

// TestHostileBundles: members that are duplicated, added, out of place, sparse or of another
// size than the manifest lists are refused before any of their data is written or hashed.
func TestHostileBundles(t *testing.T) {
	dir, _ := synth{files: 2, size: 1000}.make(t, "")
	genuine, err := os.ReadFile(filepath.Join(dir, evidence.BundleName("synthetic")))
	if err != nil {
		t.Fatal(err)
	}
	es := members(t, genuine)
	find := func(name string) int {
		for i, e := range es {
			if e.hdr.Name == "synthetic/"+name {
				return i
			}
		}
		t.Fatalf("no %s", name)
		return -1
	}
	sig, data := find(evidence.ManifestSigName), find("data-00.bin")
	tests := []struct {
		name string
		make func() []member
		want string
	}{
		{"a bogus MANIFEST.sig before the real one", func() []member {
			bogus := es[sig].clone()
			bogus.data[5] ^= 1
			return insert(es, sig, bogus)
		}, "appears twice"},
		{"a second MANIFEST.sig at the end", func() []member { return append(clone(es), es[sig].clone()) }, "appears twice"},
		{"a member twice", func() []member { return append(clone(es), es[data].clone()) }, "appears twice"},
		{"an extra member", func() []member {
			return append(clone(es), member{&tar.Header{Name: "synthetic/extra.txt", Size: 1, Mode: 0o644, Typeflag: tar.TypeReg}, []byte("x")})
		}, "extra.txt: is not in the manifest"},
		{"a member before the manifest", func() []member { out := clone(es); out[0], out[data] = out[data], out[0]; return out }, "must come first"},
		{"a member of another size", func() []member { out := clone(es); out[data].data = append(out[data].data, 'z'); return out }, "is 1001 bytes, the manifest lists 1000"},
		{"a member in another ceremony's folder", func() []member { out := clone(es); out[data].hdr.Name = "other/data-00.bin"; return out }, "not a regular file under one ceremony folder"},
		{"a symlink member", func() []member {
			out := clone(es)
			out[data] = member{&tar.Header{Name: "synthetic/data-00.bin", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}, nil}
			return out
		}, "not a regular file"},
		{"a member removed", func() []member { out := clone(es); return append(out[:data], out[data+1:]...) }, "data-00.bin: is missing"},
		{"a share sheet", func() []member {
			return append(clone(es), member{&tar.Header{Name: "synthetic/shares/s.pdf", Size: 1, Mode: 0o644, Typeflag: tar.TypeReg}, []byte("x")})
		}, "share sheet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := pack(t, tc.make())
			work := t.TempDir()
			_, err := evidence.VerifyBundle(bytes.NewReader(b), int64(len(b)), work, evidence.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			p := filepath.Join(t.TempDir(), evidence.BundleName("synthetic"))
			os.WriteFile(p, b, 0o644)
			inspect(t, p, evidence.Options{}) // the same verdict, and what is wrong found
		})
	}

	// A 2 GB member (as a sparse archive or a lying header would claim) in a small bundle:
	// refused by its size before a byte of it is written or hashed.
	t.Run("a 2 GB member", func(t *testing.T) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range es[:data] {
			tw.WriteHeader(e.hdr)
			tw.Write(e.data)
		}
		tw.Flush()
		h := *es[data].hdr
		h.Size = 2 << 30
		tw.WriteHeader(&h)
		tw.Write(bytes.Repeat([]byte{0}, 1<<16))
		b := buf.Bytes() // cut short: the rest of the 2 GB is never there
		work := t.TempDir()
		_, err := evidence.VerifyBundle(bytes.NewReader(b), int64(len(b)), work, evidence.Options{})
		if err == nil || !strings.Contains(err.Error(), "is 2147483648 bytes, the manifest lists 1000") {
			t.Fatalf("err = %v", err)
		}
		if left, _ := os.ReadDir(work); len(left) != 0 {
			t.Fatalf("%d files were written before the refusal", len(left))
		}
	})
	t.Run("a GNU sparse member", func(t *testing.T) {
		raw := pack(t, clone(es))
		off := bytes.Index(raw, []byte("synthetic/data-00.bin\x00"))
		if off < 0 || off%512 != 0 {
			t.Fatalf("no header block for data-00.bin (%d)", off)
		}
		hdr := raw[off : off+512]
		hdr[156] = tar.TypeGNUSparse
		copy(hdr[148:156], "        ")
		sum := 0
		for _, c := range hdr {
			sum += int(c)
		}
		copy(hdr[148:156], fmt.Sprintf("%06o\x00 ", sum))
		_, err := evidence.VerifyBundle(bytes.NewReader(raw), int64(len(raw)), t.TempDir(), evidence.Options{})
		if err == nil {
			t.Fatal("a sparse member was accepted")
		}
	})
}

type member struct {
	hdr  *tar.Header
	data []byte
}

func (m member) clone() member {
	h := *m.hdr
	return member{&h, bytes.Clone(m.data)}
}

func clone(es []member) []member {
	out := make([]member, len(es))
	for i, e := range es {
		out[i] = e.clone()
	}
	return out
}

func insert(es []member, i int, m member) []member {
	out := clone(es[:i])
	out = append(out, m)
	return append(out, clone(es[i:])...)
}

func members(t *testing.T, b []byte) []member {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var out []member
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		d, _ := io.ReadAll(tr)
		out = append(out, member{h, d})
	}
}

func pack(t *testing.T, es []member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		e.hdr.Size = int64(len(e.data))
		if err := tw.WriteHeader(e.hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.data)
	}
	tw.Close()
	return buf.Bytes()
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func replace(t *testing.T, dir, name string, make func(string) error) {
	t.Helper()
	p := filepath.Join(dir, name)
	os.Remove(p)
	if err := make(p); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(s)
	f.Close()
}
