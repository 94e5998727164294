package evidence

import (
	"archive/tar"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/keyrite/keyrite/ceremony/ledger"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// Renderer renders a ceremony's report. The evidence layer knows no renderer; a caller that
// has one (keyrite verify) passes it so a bundle's report can also be rendered again.
type Renderer interface {
	// Version names the renderer's output: two renderers with the same version render the
	// same transcript to the same bytes.
	Version() string
	// Render renders the report of the verified ceremony whose files are in dir.
	Render(res *transcript.Result, dir string) ([]byte, error)
}

// Options tune verification.
type Options struct {
	// Root is the expected root's SPKI SHA-256 from the paper record, in any form Keyrite
	// prints it; empty trusts the root the evidence names (and the summary says so).
	Root string
	// Renderer, if set, renders the report again when the bundle was written by the same
	// renderer version.
	Renderer Renderer
	// Witnesses are files of witness verifier keys: an evidence root's newest checkpoint must
	// be cosigned by each (keyrite cosign).
	Witnesses []string
	// Against is another copy of an evidence root to check against this one.
	Against string
}

// BundleResult is what VerifyBundle found.
type BundleResult struct {
	Ceremony *transcript.Result
	Manifest *Manifest
	Files    int
	Withheld []string
	Bytes    int64
	// Report says how report.pdf was checked: by its hash in the signed manifest, and
	// whether it was rendered again.
	Report string
	// Log says where the ceremony's inclusion proof puts it in its evidence root's ceremony
	// log; "" when the bundle carries none.
	Log string
}

// member is one file of a bundle: where its data lies in the archive.
type member struct {
	path         string
	offset, size int64
}

// VerifyBundle checks the evidence bundle r (size bytes): the manifest's signature by the
// transcript signer, that the bundle holds exactly the files the manifest lists with their
// SHA-256 and size (hashed on all cores), the transcript and seal, that the manifest lists
// what the transcript records, and the report (see Renderer). The transcript, its seal and
// the certificates are unpacked into work, an empty folder; nothing else is written.
func VerifyBundle(r io.ReaderAt, size int64, work string, opt Options) (*BundleResult, error) {
	root, err := ParseRoot(opt.Root)
	if err != nil {
		return nil, err
	}
	b, err := indexBundle(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, err
	}
	hashes, err := hashMembers(r, b.members, work)
	if err != nil {
		return nil, err
	}
	if err := b.checkHashes(hashes); err != nil {
		return nil, err
	}
	cert, err := checkManifestSignature(work, b.manifestBytes, b.sig)
	if err != nil {
		return nil, err
	}
	withheld, known := map[string]bool{}, map[string]transcript.Hashed{}
	for p, e := range b.manifest.Files {
		if e.Withheld {
			withheld[p] = true
		} else {
			known[p] = hashes[p]
		}
	}
	res, err := transcript.Verify(work, transcript.Options{Withheld: withheld, Hashed: known, RootSPKI: root, Lean: opt.Renderer == nil})
	if err != nil {
		return nil, fmt.Errorf("the bundle's transcript: %w", err)
	}
	if res.Opening.CeremonyID != b.manifest.CeremonyID {
		return nil, &BundleError{ManifestName, fmt.Sprintf("is for ceremony %q, the transcript is ceremony %q", b.manifest.CeremonyID, res.Opening.CeremonyID)}
	}
	if !samePublicKey(cert.PublicKey, res.Signer.PublicKey) {
		return nil, &BundleError{ManifestName, "is signed by another key than the one that sealed the transcript"}
	}
	if err := checkManifestAgainstTranscript(b.manifest, res); err != nil {
		return nil, err
	}
	report, err := checkReport(opt.Renderer, res, work, b.manifest)
	if err != nil {
		return nil, err
	}
	out := &BundleResult{Ceremony: res, Manifest: b.manifest, Files: len(b.members), Report: report}
	if _, ok := b.manifest.Files[ledger.ProofFileName]; ok {
		proof, err := os.ReadFile(filepath.Join(work, ledger.ProofFileName))
		if err != nil {
			return nil, err
		}
		if out.Log, err = checkLogProof(proof, res); err != nil {
			return nil, err
		}
	}
	for p := range withheld {
		out.Withheld = append(out.Withheld, p)
	}
	sort.Strings(out.Withheld)
	for _, m := range b.members {
		out.Bytes += m.size
	}
	return out, nil
}

// indexed is a bundle's manifest, its signature and where each listed file lies.
type indexed struct {
	manifestBytes, sig []byte
	manifest           *Manifest
	members            []member
	// problems, when not nil, collects what is wrong with single members (indexBundleAll)
	// instead of stopping at the first.
	problems map[string]error
}

// indexBundle reads the archive's headers: MANIFEST and MANIFEST.sig first, then one member
// per file the manifest lists, each a regular, non-sparse file of the listed size. Member
// data is skipped, not read.
func indexBundle(sr *io.SectionReader) (*indexed, error) {
	return (&indexed{}).index(sr)
}

// indexBundleAll is indexBundle carried on past members that are wrong on their own (added,
// listed as withheld, of another size, a second copy): each is in problems, and all but second
// copies are indexed, to be hashed. What makes the archive unreadable still stops it.
func indexBundleAll(sr *io.SectionReader) (*indexed, error) {
	return (&indexed{problems: map[string]error{}}).index(sr)
}

func (b *indexed) index(sr *io.SectionReader) (*indexed, error) {
	tr := tar.NewReader(sr)
	var id string
	seen := map[string]bool{}
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the bundle is not a readable tar archive (truncated?): %w", err)
		}
		top, rest, err := memberName(hdr, id)
		if err != nil {
			return nil, err
		}
		id = top
		if seen[rest] {
			if b.problems != nil && n >= 2 {
				b.problems[rest] = &BundleError{rest, "appears twice"}
				continue
			}
			return nil, &BundleError{rest, "appears twice"}
		}
		seen[rest] = true
		switch {
		case n == 0 && rest == ManifestName:
			if b.manifestBytes, err = readSmall(tr, hdr, maxManifest); err == nil {
				b.manifest, err = ParseManifest(b.manifestBytes, id)
			}
		case n == 1 && rest == ManifestSigName:
			b.sig, err = readSmall(tr, hdr, maxManifestSig)
		case n < 2:
			err = &BundleError{rest, fmt.Sprintf("comes where %s and %s must come first", ManifestName, ManifestSigName)}
		default:
			if err = b.listed(rest, hdr); err != nil && b.problems != nil {
				b.problems[rest], err = err, nil
			}
		}
		if err != nil {
			return nil, err
		}
		off, _ := sr.Seek(0, io.SeekCurrent) // tar.Reader reads headers unbuffered: data starts here
		b.members = append(b.members, member{rest, off, hdr.Size})
	}
	if b.sig == nil {
		return nil, &BundleError{ManifestName, "is missing (with its signature, it is what binds the bundle)"}
	}
	b.members = b.members[2:]
	return b, nil
}

// memberName checks a member's header and splits its name into ceremony id and path.
func memberName(hdr *tar.Header, id string) (string, string, error) {
	top, rest, ok := strings.Cut(hdr.Name, "/")
	if !ok || rest == "" || top == "" || (id != "" && top != id) || hdr.Typeflag != tar.TypeReg {
		return "", "", &BundleError{hdr.Name, "is not a regular file under one ceremony folder"}
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return "", "", &BundleError{rest, "is a sparse file; Keyrite never writes one"}
		}
	}
	if err := bundleName(rest); err != nil {
		return "", "", &BundleError{rest, "has a name a bundle may not hold: " + err.Error()}
	}
	return top, rest, nil
}

// listed checks a member against the manifest before any of its data is read.
func (b *indexed) listed(p string, hdr *tar.Header) error {
	e, ok := b.manifest.Files[p]
	switch {
	case !ok:
		return &BundleError{p, "is not in the manifest (it was added)"}
	case e.Withheld:
		return &BundleError{p, "is listed as withheld but present"}
	case hdr.Size != e.Size:
		return &BundleError{p, fmt.Sprintf("is %d bytes, the manifest lists %d (it was changed)", hdr.Size, e.Size)}
	}
	return nil
}

func readSmall(tr *tar.Reader, hdr *tar.Header, limit int64) ([]byte, error) {
	if hdr.Size > limit {
		return nil, &BundleError{hdr.Name, fmt.Sprintf("is %d bytes, more than the %d it may be", hdr.Size, limit)}
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		return nil, fmt.Errorf("the bundle is truncated or damaged: %w", err)
	}
	return b, nil
}

// checkHashes checks every file the manifest lists as present against its hash.
func (b *indexed) checkHashes(hashes map[string]transcript.Hashed) error {
	for p, e := range b.manifest.Files {
		if e.Withheld {
			continue
		}
		h, ok := hashes[p]
		if !ok {
			return &BundleError{p, "is missing (it was removed)"}
		}
		if h.Size != e.Size || hex.EncodeToString(h.SHA256[:]) != e.SHA256 {
			return &BundleError{p, "its content differs from the manifest (it was changed)"}
		}
	}
	return nil
}

// unpacked names the bundle files verification reads again from disk: the transcript, its
// seal, the script (for a re-render) and certificates. Everything else is only hashed.
func unpacked(name string) bool {
	switch name {
	case transcript.FileName, transcript.SealFileName, "script.yaml", ledger.ProofFileName:
		return true
	}
	return strings.HasSuffix(name, ".pem") || strings.HasSuffix(name, ".der")
}

// hashMembers hashes every member on all cores, reading each straight from the archive, and
// writes those verification reads again into work.
func hashMembers(r io.ReaderAt, members []member, work string) (map[string]transcript.Hashed, error) {
	order := append([]member(nil), members...)
	sort.Slice(order, func(i, j int) bool { return order[i].size > order[j].size }) // largest first
	next := make(chan member)
	var mu sync.Mutex
	hashes := map[string]transcript.Hashed{}
	var firstErr error
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(order), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for m := range next {
				h, err := hashMember(r, m, work, buf)
				mu.Lock()
				hashes[m.path] = h
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, m := range order {
		next <- m
	}
	close(next)
	wg.Wait()
	return hashes, firstErr
}

func hashMember(r io.ReaderAt, m member, work string, buf []byte) (transcript.Hashed, error) {
	h := sha256.New()
	var w io.Writer = h
	var f *os.File
	if unpacked(m.path) {
		dst := filepath.Join(work, filepath.FromSlash(m.path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return transcript.Hashed{}, err
		}
		var err error
		if f, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
			return transcript.Hashed{}, err
		}
		defer f.Close()
		w = io.MultiWriter(h, f)
	}
	n, err := io.CopyBuffer(w, io.NewSectionReader(r, m.offset, m.size), buf)
	if err == nil && n != m.size {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && f != nil {
		err = f.Close()
	}
	if err != nil {
		return transcript.Hashed{}, &BundleError{m.path, fmt.Sprintf("could not be read: the bundle is truncated or damaged (%v)", err)}
	}
	return transcript.Hashed{SHA256: [32]byte(h.Sum(nil)), Size: n}, nil
}

// checkManifestSignature checks MANIFEST.sig with the transcript signer's certificate, one of
// the listed files (its chain to the root is checked with the transcript).
func checkManifestSignature(work string, manifest, sig []byte) (*x509.Certificate, error) {
	pemBytes, err := os.ReadFile(filepath.Join(work, signerCertName))
	if err != nil {
		return nil, &BundleError{signerCertName, "is missing: it checks the manifest signature"}
	}
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return nil, &BundleError{signerCertName, "holds no certificate"}
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, &BundleError{signerCertName, err.Error()}
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	digest := sha512.Sum384(manifest)
	if !ok || !ecdsa.VerifyASN1(pub, digest[:], sig) {
		return nil, &BundleError{ManifestName, "its signature does not verify with the transcript signer's key: the manifest or its signature was changed"}
	}
	return cert, nil
}

// checkManifestAgainstTranscript: the manifest lists the transcript, the seal, the report,
// every output as recorded and the public keys the transcript records, and nothing else.
func checkManifestAgainstTranscript(m *Manifest, res *transcript.Result) error {
	expected := map[string]bool{}
	for _, p := range []string{transcript.FileName, transcript.SealFileName, ReportFileName} {
		if e, ok := m.Files[p]; !ok || e.Withheld {
			return &BundleError{p, "is not in the manifest"}
		}
		expected[p] = true
	}
	if e, ok := m.Files[ledger.ProofFileName]; ok && !e.Withheld {
		expected[ledger.ProofFileName] = true // checked with the transcript signer below
	}
	for _, o := range res.Outputs {
		e, ok := m.Files[o.File]
		if !ok || e.SHA256 != o.SHA256 || e.Size != o.Size {
			return &BundleError{o.File, "is named by the transcript but not listed in the manifest as recorded"}
		}
		expected[o.File] = true
	}
	for p, pub := range publicKeys(res) {
		if e, ok := m.Files[p]; ok && !e.Withheld && e.SHA256 == sha256Hex([]byte(pub)) && e.Size == int64(len(pub)) {
			expected[p] = true
		}
	}
	for p := range m.Files {
		if !expected[p] {
			return &BundleError{p, "is in the manifest but is neither the transcript, its seal, the report, its ceremony log proof, an output the transcript records nor a public key it records"}
		}
	}
	return nil
}

// checkReport says how the report was checked. Its hash in the signed manifest was checked
// with every file; a renderer of the version that wrote it also renders it again.
func checkReport(r Renderer, res *transcript.Result, work string, m *Manifest) (string, error) {
	const byHash = "report.pdf checked by its SHA-256 in the signed manifest"
	switch {
	case r == nil:
		return byHash + "; not re-rendered: no report renderer was asked for (`keyrite verify --render` renders it again)", nil
	case m.Renderer == "":
		return byHash + "; not re-rendered: the bundle does not record the renderer that wrote it (bundle format v1)", nil
	case m.Renderer != r.Version():
		return fmt.Sprintf("%s; not re-rendered: written by renderer %s, this is renderer %s", byHash, m.Renderer, r.Version()), nil
	}
	pdf, err := r.Render(res, work)
	if err != nil {
		return "", fmt.Errorf("render the report again: %w", err)
	}
	if sha256Hex(pdf) != m.Files[ReportFileName].SHA256 {
		return "", &BundleError{ReportFileName, fmt.Sprintf("differs from the report renderer %s renders from this transcript", m.Renderer)}
	}
	return byHash + "; report re-rendered by renderer " + m.Renderer + ": identical", nil
}

// errNotSeekable is returned by VerifyBundleReader for a reader it cannot index.
var errNotSeekable = errors.New("the bundle must be a file")

// VerifyBundleFile verifies the bundle in the file f.
func VerifyBundleFile(f *os.File, work string, opt Options) (*BundleResult, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (a regular file, not a pipe or device)", f.Name(), errNotSeekable)
	}
	return VerifyBundle(f, fi.Size(), work, opt)
}

// BundleManifest returns the MANIFEST of the bundle in the file path, read by the same strict
// index that verification reads it with (it does not check the signature: VerifyBundle does).
// An RFC 3161 timestamp of a bundle is over these bytes.
func BundleManifest(path string) ([]byte, error) {
	f, err := transcript.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b, err := indexBundle(io.NewSectionReader(f, 0, fi.Size()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b.manifestBytes, nil
}
