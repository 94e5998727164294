package evidence

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keyrite/keyrite/ceremony/ledger"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// An evidence bundle is one tar archive for the auditor. Every entry lies under
// "<ceremony id>/": first MANIFEST and MANIFEST.sig, then the transcript, its seal, the report,
// its ceremony log inclusion proof when it has one (ceremony-log.proof), every output the
// transcript names except wrapped key material (withheld: the auditor needs to
// know it exists and its hash, not to hold the encrypted key), and the public keys:
//
//	MANIFEST      "keyrite-bundle/v2 <ceremony id>", then "renderer <version>" (the report
//	              renderer that wrote report.pdf), then one line per file, sorted by path:
//	              "file <sha256 hex> <size> <path>" or "withheld <sha256 hex> <size> <path>".
//	              Version 1 ("keyrite-bundle/v1 <ceremony id>") has no renderer line.
//	MANIFEST.sig  the DER ECDSA signature (P-384, SHA-384) over MANIFEST by the ceremony's
//	              transcript-signing key; its certificate is transcript-signer.pem
//
// Share sheets are never in a bundle.
const (
	ManifestName    = "MANIFEST"
	ManifestSigName = "MANIFEST.sig"
	ReportFileName  = "report.pdf"
	bundleV1        = "keyrite-bundle/v1"
	bundleV2        = "keyrite-bundle/v2"
	signerCertName  = "transcript-signer.pem"
	publicKeysDir   = "public-keys"
	maxManifest     = 1 << 24 // bytes; a million outputs
	maxManifestSig  = 1 << 12
)

// BundleName is the evidence bundle's file name for a ceremony.
func BundleName(ceremonyID string) string { return "evidence-" + ceremonyID + ".tar" }

// ManifestEntry is one file a manifest lists.
type ManifestEntry struct {
	Withheld bool
	SHA256   string // lowercase hex
	Size     int64
}

// Manifest is a parsed bundle manifest.
type Manifest struct {
	CeremonyID string
	Renderer   string // the report renderer's version; "" in version 1 bundles
	Files      map[string]ManifestEntry
}

// withheldFromBundles says which outputs a bundle leaves out: wrapped key material (backups,
// exports and imports), never the descriptions beside it.
func withheldFromBundles(name string) bool {
	if strings.HasSuffix(name, ".json") {
		return false
	}
	return strings.HasSuffix(name, ".wrapped") || strings.HasPrefix(name, "export/") || strings.Contains(name, "transfer/")
}

// validRendererVersion accepts a short printable token: it is one manifest line.
func validRendererVersion(v string) bool {
	if v == "" || len(v) > 128 {
		return false
	}
	for _, r := range v {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}

type bundleFile struct {
	path string
	data []byte // the content, or
	src  string // the file it is copied from, checked against SHA256 as it is copied
	ManifestEntry
}

// WriteBundle writes the evidence bundle of the ceremony in dir, which res says verified, to
// w: its report (rendered by the renderer of version renderer), and every file the manifest
// lists, signed by signer, which must be the ceremony's transcript-signing key. Each output is
// checked against its record again as it is read, so a file changed after the verification
// never goes into a bundle.
func WriteBundle(res *transcript.Result, dir string, report []byte, renderer string, w io.Writer, signer crypto.Signer) error {
	if !samePublicKey(signer.Public(), res.Signer.PublicKey) {
		return errors.New("the manifest must be signed by the ceremony's transcript-signing key, and this key is another")
	}
	if !validRendererVersion(renderer) {
		return fmt.Errorf("renderer version %q must be a short printable token", renderer)
	}
	files, err := bundleFiles(res, dir, report)
	if err != nil {
		return err
	}
	id := res.Opening.CeremonyID
	var m bytes.Buffer
	fmt.Fprintf(&m, "%s %s\nrenderer %s\n", bundleV2, id, renderer)
	for _, f := range files {
		kind := "file"
		if f.Withheld {
			kind = "withheld"
		}
		fmt.Fprintf(&m, "%s %s %d %s\n", kind, f.SHA256, f.Size, f.path)
	}
	digest := sha512.Sum384(m.Bytes())
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA384)
	if err != nil {
		return fmt.Errorf("sign the bundle manifest: %w", err)
	}
	closed, _ := time.Parse(time.RFC3339Nano, res.Entries[len(res.Entries)-1].Time)
	tw := tar.NewWriter(w)
	put := func(f bundleFile) error {
		hdr := &tar.Header{Name: id + "/" + f.path, Mode: 0o644, Size: f.Size, ModTime: closed.Truncate(time.Second), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if f.src == "" {
			_, err := tw.Write(f.data)
			return err
		}
		return copyChecked(tw, f)
	}
	head := []bundleFile{
		{path: ManifestName, data: m.Bytes(), ManifestEntry: ManifestEntry{Size: int64(m.Len())}},
		{path: ManifestSigName, data: sig, ManifestEntry: ManifestEntry{Size: int64(len(sig))}},
	}
	for _, f := range append(head, files...) {
		if f.Withheld {
			continue
		}
		if err := put(f); err != nil {
			return err
		}
	}
	return tw.Close()
}

// copyChecked copies f.Size bytes of the regular file f.src to w, and fails unless they have
// the SHA-256 the manifest lists: a file changed after the ceremony was verified never goes
// into a bundle.
func copyChecked(w io.Writer, f bundleFile) error {
	in, err := transcript.OpenRegular(f.src)
	if err != nil {
		return err
	}
	defer in.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(w, h), in, f.Size); err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return fmt.Errorf("%s changed after the ceremony was verified; no bundle is made", f.path)
	}
	return nil
}

// bundleFiles reads what a bundle holds, sorted by path.
func bundleFiles(res *transcript.Result, dir string, report []byte) ([]bundleFile, error) {
	var files []bundleFile
	add := func(name string, data []byte) {
		files = append(files, bundleFile{path: name, data: data, ManifestEntry: ManifestEntry{SHA256: sha256Hex(data), Size: int64(len(data))}})
	}
	for _, name := range []string{transcript.FileName, transcript.SealFileName} {
		src := filepath.Join(dir, name)
		sum, size, err := transcript.HashFile(src)
		if err != nil {
			return nil, err
		}
		files = append(files, bundleFile{path: name, src: src, ManifestEntry: ManifestEntry{SHA256: hex.EncodeToString(sum[:]), Size: size}})
	}
	add(ReportFileName, report)
	if proof, err := readLogProof(dir); err != nil {
		return nil, err
	} else if proof != nil {
		if _, err := checkLogProof(proof, res); err != nil {
			return nil, err
		}
		add(ledger.ProofFileName, proof)
	}
	for _, o := range res.Outputs {
		if strings.HasPrefix(o.File, "shares/") {
			return nil, fmt.Errorf("output %s is under shares/: share sheets never go into a bundle", o.File)
		}
		if withheldFromBundles(o.File) {
			files = append(files, bundleFile{path: o.File, ManifestEntry: ManifestEntry{Withheld: true, SHA256: o.SHA256, Size: o.Size}})
			continue
		}
		files = append(files, bundleFile{path: o.File, src: filepath.Join(dir, filepath.FromSlash(o.File)), ManifestEntry: ManifestEntry{SHA256: o.SHA256, Size: o.Size}})
	}
	for name, pub := range publicKeys(res) {
		add(name, []byte(pub))
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	for i := 1; i < len(files); i++ {
		if files[i].path == files[i-1].path {
			return nil, fmt.Errorf("bundle: %s would be in the bundle twice", files[i].path)
		}
	}
	return files, nil
}

// publicKeys maps the bundle path of each key's public key, public-keys/<label>.pem, to the
// public key (PEM) the transcript records for it: the last record wins (a key generated again after a resume replaced the one the clean-up
// destroyed).
func publicKeys(res *transcript.Result) map[string]string {
	pubs := map[string]string{}
	for i := range res.Entries {
		e := &res.Entries[i]
		switch e.Event {
		case transcript.EventKeyGenerated, transcript.EventKeyRestored, transcript.EventKeyImported:
			if k, err := transcript.Data[transcript.Key](&e.Record); err == nil && k.PublicKey != "" {
				pubs[path.Join(publicKeysDir, k.Label+".pem")] = k.PublicKey
			}
		}
	}
	return pubs
}

func samePublicKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ParseManifest parses a manifest of either version for the ceremony id.
func ParseManifest(m []byte, id string) (*Manifest, error) {
	sc := bufio.NewScanner(bytes.NewReader(m))
	sc.Buffer(make([]byte, 4096), 1<<20)
	out := &Manifest{CeremonyID: id, Files: map[string]ManifestEntry{}}
	if !sc.Scan() {
		return nil, &BundleError{ManifestName, "is empty"}
	}
	n := 1
	switch sc.Text() {
	case bundleV1 + " " + id:
	case bundleV2 + " " + id:
		n++
		v, ok := strings.CutPrefix(line(sc), "renderer ")
		if !ok || !validRendererVersion(v) {
			return nil, &BundleError{ManifestName, "line 2 is not \"renderer <version>\""}
		}
		out.Renderer = v
	default:
		return nil, &BundleError{ManifestName, fmt.Sprintf("does not start with %q or %q", bundleV2+" "+id, bundleV1+" "+id)}
	}
	for n++; sc.Scan(); n++ {
		p, e, err := parseManifestLine(sc.Text())
		if err != nil {
			return nil, &BundleError{ManifestName, fmt.Sprintf("line %d: %v", n, err)}
		}
		if _, dup := out.Files[p]; dup {
			return nil, &BundleError{ManifestName, fmt.Sprintf("lists %s twice", p)}
		}
		out.Files[p] = e
	}
	if !bytes.HasSuffix(m, []byte("\n")) {
		return nil, &BundleError{ManifestName, "does not end with a newline"}
	}
	return out, sc.Err()
}

func line(sc *bufio.Scanner) string {
	if !sc.Scan() {
		return ""
	}
	return sc.Text()
}

func parseManifestLine(s string) (string, ManifestEntry, error) {
	f := strings.SplitN(s, " ", 4)
	bad := errors.New(`not "file|withheld <sha256> <size> <path>"`)
	if len(f) != 4 || (f[0] != "file" && f[0] != "withheld") || len(f[1]) != 64 || strings.ToLower(f[1]) != f[1] {
		return "", ManifestEntry{}, bad
	}
	if _, err := hex.DecodeString(f[1]); err != nil {
		return "", ManifestEntry{}, bad
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != f[2] {
		return "", ManifestEntry{}, bad
	}
	if err := bundleName(f[3]); err != nil {
		return "", ManifestEntry{}, err
	}
	return f[3], ManifestEntry{Withheld: f[0] == "withheld", SHA256: f[1], Size: size}, nil
}

// bundleName accepts a path a bundle may hold: clean, relative, printable, not a share sheet.
func bundleName(p string) error {
	if err := transcript.CheckOutputName(p); err != nil {
		return err
	}
	if strings.HasPrefix(p, "shares/") {
		return fmt.Errorf("%s is a share sheet, which a bundle never holds", p)
	}
	for _, r := range p {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("name %q holds a control character", p)
		}
	}
	return nil
}

// BundleError names the file of a bundle that is wrong.
type BundleError struct {
	File string
	Msg  string
}

func (e *BundleError) Error() string { return fmt.Sprintf("bundle file %s: %s", e.File, e.Msg) }
