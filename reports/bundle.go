package reports

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// An evidence bundle is one tar archive for the auditor. Every entry lies under
// "<ceremony id>/": the transcript, its seal, the report, every output the transcript names
// except wrapped key material (withheld: the auditor needs to know it exists and its hash, not
// to hold the encrypted key), the public keys, and two files that bind them:
//
//	MANIFEST      "keyrite-bundle/v1 <ceremony id>", then one line per file, sorted by path:
//	              "file <sha256 hex> <size> <path>" or "withheld <sha256 hex> <size> <path>"
//	MANIFEST.sig  the DER ECDSA signature (P-384, SHA-384) over MANIFEST by the ceremony's
//	              transcript-signing key; its certificate is transcript-signer.pem
//
// Share sheets are never in a bundle.
const (
	ManifestName    = "MANIFEST"
	ManifestSigName = "MANIFEST.sig"
	bundleFormat    = "keyrite-bundle/v1"
)

// withheldFromBundles says which outputs a bundle leaves out: wrapped key material (backups,
// exports and imports), never the descriptions beside it.
func withheldFromBundles(name string) bool {
	if strings.HasSuffix(name, ".json") {
		return false
	}
	return strings.HasSuffix(name, ".wrapped") || strings.HasPrefix(name, "export/") || strings.Contains(name, "transfer/")
}

type bundleFile struct {
	path     string // inside the ceremony folder
	data     []byte
	sha256   string
	size     int64
	withheld bool
}

// WriteBundle writes the evidence bundle of the ceremony in dir to w, signing its manifest with
// signer, which must be the ceremony's transcript-signing key.
func WriteBundle(dir string, w io.Writer, signer crypto.Signer) error {
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		return fmt.Errorf("the ceremony does not verify, so no bundle is made: %w", err)
	}
	report, err := reportFrom(res, dir)
	if err != nil {
		return err
	}
	return writeBundle(res, dir, report, w, signer)
}

// writeBundle writes the bundle of the ceremony in dir, which res says verified, with its
// rendered report. Each output is checked against its record again as it is read, so a file
// changed after the verification never goes into a bundle.
func writeBundle(res *transcript.Result, dir string, report []byte, w io.Writer, signer crypto.Signer) error {
	if !samePublicKey(signer.Public(), res.Signer.PublicKey) {
		return errors.New("the manifest must be signed by the ceremony's transcript-signing key, and this key is another")
	}
	var files []bundleFile
	add := func(name string, data []byte) {
		sum := sha256Hex(data)
		files = append(files, bundleFile{path: name, data: data, sha256: sum, size: int64(len(data))})
	}
	for _, name := range []string{transcript.FileName, transcript.SealFileName} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		add(name, b)
	}
	add(ReportFileName, report)
	for _, o := range res.Outputs {
		if strings.HasPrefix(o.File, "shares/") {
			return fmt.Errorf("output %s is under shares/: share sheets never go into a bundle", o.File)
		}
		if withheldFromBundles(o.File) {
			files = append(files, bundleFile{path: o.File, sha256: o.SHA256, size: o.Size, withheld: true})
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(o.File)))
		if err != nil {
			return err
		}
		if sha256Hex(b) != o.SHA256 {
			return fmt.Errorf("output %s changed after the ceremony was verified; no bundle is made", o.File)
		}
		add(o.File, b)
	}
	// One public key per label: the last record wins (a key generated again after a
	// resume replaced the one the clean-up destroyed).
	pubs := map[string]string{}
	for _, e := range res.Entries {
		switch e.Event {
		case "key.generated", "key.restored", "key.imported":
			var k struct {
				Label     string `json:"label"`
				PublicKey string `json:"public_key"`
			}
			if e.DecodeData(&k) == nil && k.PublicKey != "" {
				pubs[k.Label] = k.PublicKey
			}
		}
	}
	for label, pub := range pubs {
		add(path.Join("public-keys", label+".pem"), []byte(pub))
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	for i := 1; i < len(files); i++ {
		if files[i].path == files[i-1].path {
			return fmt.Errorf("bundle: %s would be in the bundle twice", files[i].path)
		}
	}
	id := res.Opening.CeremonyID
	var m bytes.Buffer
	fmt.Fprintf(&m, "%s %s\n", bundleFormat, id)
	for _, f := range files {
		kind := "file"
		if f.withheld {
			kind = "withheld"
		}
		fmt.Fprintf(&m, "%s %s %d %s\n", kind, f.sha256, f.size, f.path)
	}
	digest := sha512.Sum384(m.Bytes())
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA384)
	if err != nil {
		return fmt.Errorf("sign the bundle manifest: %w", err)
	}
	closed, _ := time.Parse(time.RFC3339Nano, res.Entries[len(res.Entries)-1].Time)
	tw := tar.NewWriter(w)
	put := func(name string, data []byte) error {
		hdr := &tar.Header{Name: id + "/" + name, Mode: 0o644, Size: int64(len(data)), ModTime: closed.Truncate(time.Second), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := put(ManifestName, m.Bytes()); err != nil {
		return err
	}
	if err := put(ManifestSigName, sig); err != nil {
		return err
	}
	for _, f := range files {
		if f.withheld {
			continue
		}
		if err := put(f.path, f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

func samePublicKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// BundleError names the file of a bundle that is wrong.
type BundleError struct {
	File string
	Msg  string
}

func (e *BundleError) Error() string { return fmt.Sprintf("bundle file %s: %s", e.File, e.Msg) }

// BundleResult is what VerifyBundle found.
type BundleResult struct {
	Ceremony *transcript.Result
	Files    int
	Withheld []string
	Bytes    int64
	// ReportNotRerendered is set when the bundle's report was rendered by another renderer
	// version (Renderer): its bytes are bound by the signed manifest, but this version
	// cannot re-render them for comparison. It says so in words for the verifier to print.
	ReportNotRerendered string
}

type manifestLine struct {
	withheld bool
	sha256   string
	size     int64
}

// VerifyBundle checks an evidence bundle: the manifest's signature by the transcript signer,
// that the bundle holds exactly the files the manifest lists with their SHA-256 and size
// (hashed on all cores), the transcript and its seal, and that the report is the one the
// transcript renders to. work is an empty folder the bundle is unpacked into.
func VerifyBundle(bundle io.Reader, work string) (*BundleResult, error) {
	tr := tar.NewReader(bundle)
	u := newUnpacker()
	var id string
	var manifest, sig []byte
	present := map[string]string{} // path in ceremony -> file on disk
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			u.wait()
			return nil, fmt.Errorf("the bundle is not a readable tar archive (truncated?): %w", err)
		}
		top, rest, ok := strings.Cut(hdr.Name, "/")
		if !ok || rest == "" || (id != "" && top != id) || hdr.Typeflag != tar.TypeReg {
			return nil, &BundleError{hdr.Name, "is not a regular file under one ceremony folder"}
		}
		id = top
		if err := transcript.CheckOutputName(rest); err != nil || strings.HasPrefix(rest, "shares/") {
			return nil, &BundleError{rest, "has a name a bundle may not hold"}
		}
		if _, dup := present[rest]; dup || (rest == ManifestName && manifest != nil) {
			return nil, &BundleError{rest, "appears twice"}
		}
		switch rest {
		case ManifestName, ManifestSigName:
			b, err := io.ReadAll(io.LimitReader(tr, 1<<24))
			if err != nil {
				return nil, err
			}
			if rest == ManifestName {
				manifest = b
			} else {
				sig = b
			}
			continue
		}
		dst := filepath.Join(work, filepath.FromSlash(rest))
		if hdr.Size > keepOnDisk && !readAgain(rest) {
			dst = "" // hashed as it streams; nothing reads it from disk again
		}
		n, err := u.unpack(rest, dst, tr)
		if err != nil {
			u.wait()
			return nil, err
		}
		total += n
		present[rest] = dst
	}
	hashes, err := u.wait()
	if err != nil {
		return nil, err
	}
	if manifest == nil || sig == nil {
		return nil, &BundleError{ManifestName, "is missing (with its signature, it is what binds the bundle)"}
	}
	lines, err := parseManifest(manifest, id)
	if err != nil {
		return nil, err
	}
	// The signer certificate is one of the listed files; its hash is checked below with the
	// rest, and its chain to the root by the transcript verification.
	signerFile, ok := present["transcript-signer.pem"]
	if !ok {
		return nil, &BundleError{"transcript-signer.pem", "is missing: it checks the manifest signature"}
	}
	pemBytes, _ := os.ReadFile(signerFile)
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return nil, &BundleError{"transcript-signer.pem", "holds no certificate"}
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, &BundleError{"transcript-signer.pem", err.Error()}
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	digest := sha512.Sum384(manifest)
	if !ok || !ecdsa.VerifyASN1(pub, digest[:], sig) {
		return nil, &BundleError{ManifestName, "its signature does not verify with the transcript signer's key: the manifest or its signature was changed"}
	}
	for p := range present {
		if _, ok := lines[p]; !ok {
			return nil, &BundleError{p, "is not in the manifest (it was added)"}
		}
	}
	withheld := map[string]bool{}
	var toHash []string
	for p, l := range lines {
		if l.withheld {
			if _, ok := present[p]; ok {
				return nil, &BundleError{p, "is listed as withheld but present"}
			}
			withheld[p] = true
			continue
		}
		if _, ok := present[p]; !ok {
			return nil, &BundleError{p, "is missing (it was removed)"}
		}
		toHash = append(toHash, p)
	}
	sort.Strings(toHash)
	known := map[string]transcript.Hashed{}
	for _, p := range toHash {
		h := hashes[p]
		if h.Size != lines[p].size || hex.EncodeToString(h.SHA256[:]) != lines[p].sha256 {
			return nil, &BundleError{p, "its content differs from the manifest (it was changed)"}
		}
		known[p] = h
	}
	res, err := transcript.Verify(work, transcript.Options{Withheld: withheld, Hashed: known})
	if err != nil {
		return nil, fmt.Errorf("the bundle's transcript: %w", err)
	}
	for _, o := range res.Outputs {
		l, ok := lines[o.File]
		if !ok || l.sha256 != o.SHA256 || l.size != o.Size {
			return nil, &BundleError{o.File, "is named by the transcript but not listed in the manifest as recorded"}
		}
	}
	if !samePublicKey(cert.PublicKey, res.Signer.PublicKey) {
		return nil, &BundleError{ManifestName, "is signed by another key than the one that sealed the transcript"}
	}
	report, err := reportFrom(res, work)
	if err != nil {
		return nil, err
	}
	// The report is bound by its hash in the signed manifest; re-rendering it is an extra
	// check, possible only with the renderer that made it.
	var notRerendered string
	if got, err := os.ReadFile(filepath.Join(work, ReportFileName)); err != nil {
		return nil, &BundleError{ReportFileName, "is missing"}
	} else if !bytes.Equal(got, report) {
		if by := rendererOf(got); by == Renderer {
			return nil, &BundleError{ReportFileName, "differs from the report the transcript renders to"}
		} else {
			notRerendered = fmt.Sprintf("the report was rendered by %s, not %s: it is verified by its hash in the signed manifest, not re-rendered", by, Renderer)
		}
	}
	var wl []string
	for p := range withheld {
		wl = append(wl, p)
	}
	sort.Strings(wl)
	return &BundleResult{Ceremony: res, Files: len(toHash), Withheld: wl, Bytes: total, ReportNotRerendered: notRerendered}, nil
}

func parseManifest(m []byte, id string) (map[string]manifestLine, error) {
	sc := bufio.NewScanner(bytes.NewReader(m))
	sc.Buffer(make([]byte, 4096), 1<<20)
	if !sc.Scan() || sc.Text() != bundleFormat+" "+id {
		return nil, &BundleError{ManifestName, fmt.Sprintf("does not start with %q", bundleFormat+" "+id)}
	}
	out := map[string]manifestLine{}
	for n := 2; sc.Scan(); n++ {
		f := strings.SplitN(sc.Text(), " ", 4)
		bad := &BundleError{ManifestName, fmt.Sprintf("line %d is not \"file|withheld <sha256> <size> <path>\"", n)}
		if len(f) != 4 || (f[0] != "file" && f[0] != "withheld") || len(f[1]) != 64 {
			return nil, bad
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || size < 0 || transcript.CheckOutputName(f[3]) != nil {
			return nil, bad
		}
		if _, dup := out[f[3]]; dup {
			return nil, &BundleError{ManifestName, fmt.Sprintf("lists %s twice", f[3])}
		}
		out[f[3]] = manifestLine{withheld: f[0] == "withheld", sha256: f[1], size: size}
	}
	return out, nil
}

// unpacker writes a bundle's files to disk and hashes them as they stream out of the archive,
// several files at once: the archive is read once, each byte is hashed once, on all cores.
type unpacker struct {
	slots  chan struct{} // one per file being written and hashed
	wg     sync.WaitGroup
	mu     sync.Mutex
	hashes map[string]transcript.Hashed
	err    error
	pool   sync.Pool
}

const chunkSize = 1 << 20

// readAgain names the bundle files verification reads from disk after unpacking.
func readAgain(name string) bool {
	switch name {
	case transcript.FileName, transcript.SealFileName, ReportFileName, "script.yaml":
		return true
	}
	return strings.HasSuffix(name, ".pem") || strings.HasSuffix(name, ".der")
}

// keepOnDisk is the largest bundle file written out while verifying, unless it is read again. The transcript, seal,
// script, certificates and report are read again from disk; large outputs are only hashed.
const keepOnDisk = 64 << 20

func newUnpacker() *unpacker {
	u := &unpacker{slots: make(chan struct{}, runtime.GOMAXPROCS(0)), hashes: map[string]transcript.Hashed{}}
	u.pool.New = func() any { b := make([]byte, chunkSize); return &b }
	return u
}

// unpack copies one archive entry from r to a new file dst (none if dst is empty) while a
// worker hashes it.
func (u *unpacker) unpack(name, dst string, r io.Reader) (int64, error) {
	var f *os.File
	if dst != "" {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return 0, err
		}
		var err error
		if f, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
			return 0, err
		}
	}
	chunks := make(chan *[]byte, 8)
	u.slots <- struct{}{}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		defer func() { <-u.slots }()
		h := sha256.New()
		var n int64
		var werr error
		for c := range chunks {
			if werr == nil && f != nil {
				_, werr = f.Write(*c)
			}
			h.Write(*c)
			n += int64(len(*c))
			*c = (*c)[:chunkSize]
			u.pool.Put(c)
		}
		if f != nil {
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
		}
		u.mu.Lock()
		defer u.mu.Unlock()
		if werr != nil && u.err == nil {
			u.err = &BundleError{name, werr.Error()}
		}
		u.hashes[name] = transcript.Hashed{SHA256: [32]byte(h.Sum(nil)), Size: n}
	}()
	var total int64
	for {
		c := u.pool.Get().(*[]byte)
		n, err := io.ReadFull(r, *c)
		if n > 0 {
			*c = (*c)[:n]
			chunks <- c
			total += int64(n)
		} else {
			u.pool.Put(c)
		}
		if err == nil {
			continue
		}
		if err == io.EOF || (err == io.ErrUnexpectedEOF && atEntryEnd(r)) {
			break
		}
		close(chunks)
		return total, &BundleError{name, fmt.Sprintf("could not be unpacked: the bundle is truncated or damaged (%v)", err)}
	}
	close(chunks)
	return total, nil
}

// atEntryEnd tells the short last read of an entry from a truncated archive: ReadFull reports
// io.ErrUnexpectedEOF for both, but only at a real entry end does the next read give io.EOF.
func atEntryEnd(r io.Reader) bool {
	var one [1]byte
	n, err := r.Read(one[:])
	return n == 0 && err == io.EOF
}

// wait waits for every file and returns their hashes, or the first write error.
func (u *unpacker) wait() (map[string]transcript.Hashed, error) {
	u.wg.Wait()
	return u.hashes, u.err
}
