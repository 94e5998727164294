package evidence

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/keyrite/keyrite/ceremony/ledger"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// Folder is one verified ceremony folder, with how its report and bundle were checked.
type Folder struct {
	transcript.Folder
	Report string // "" when the folder holds neither report.pdf nor a bundle
	Log    string // where its inclusion proof puts it in a ceremony log; "" without one
}

// Tree is a verified set of ceremony folders, oldest first.
type Tree []Folder

// Folders returns the transcript view of the tree.
func (t Tree) Folders() []transcript.Folder {
	out := make([]transcript.Folder, len(t))
	for i, f := range t {
		out[i] = f.Folder
	}
	return out
}

func (t Tree) reports() string {
	var b strings.Builder
	for _, f := range t {
		if f.Report != "" {
			fmt.Fprintf(&b, "%s: %s\n", filepath.Base(f.Dir), f.Report)
		}
		if f.Log != "" {
			fmt.Fprintf(&b, "%s: %s\n", filepath.Base(f.Dir), f.Log)
		}
	}
	return b.String()
}

// VerifyTree verifies dir if it is a ceremony folder, or else every ceremony folder directly
// inside it, and the chains between them. A folder that looks like a ceremony (it holds a
// seal, a script, a report or a bundle) but has no transcript is an error, never skipped.
func VerifyTree(dir string, opt Options) (Tree, error) {
	if _, err := os.Lstat(filepath.Join(dir, transcript.FileName)); err == nil {
		f, err := VerifyFolder(dir, opt)
		if err != nil {
			return nil, err
		}
		return Tree{f}, nil
	}
	if looksLikeCeremony(dir) {
		return nil, fmt.Errorf("%s looks like a ceremony folder but holds no %s: the transcript is the evidence; without it nothing can be verified", dir, transcript.FileName)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var out Tree
	for _, e := range entries {
		sub := filepath.Join(dir, e.Name())
		if !e.IsDir() { // a symlink to a folder is not followed
			continue
		}
		if _, err := os.Lstat(filepath.Join(sub, transcript.FileName)); err != nil {
			if looksLikeCeremony(sub) {
				return nil, fmt.Errorf("%s looks like a ceremony folder but holds no %s (was it removed?)", e.Name(), transcript.FileName)
			}
			continue
		}
		f, err := VerifyFolder(sub, opt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no %s and no ceremony folders", dir, transcript.FileName)
	}
	if err := transcript.CheckChains(out.Folders()); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Result.Entries[0].Time < out[j].Result.Entries[0].Time })
	return out, nil
}

// looksLikeCeremony reports whether dir holds a file only a ceremony folder holds.
func looksLikeCeremony(dir string) bool {
	for _, name := range []string{transcript.SealFileName, "script.yaml", ReportFileName, signerCertName, "root.der"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	m, _ := filepath.Glob(filepath.Join(dir, "evidence-*.tar"))
	return len(m) > 0
}

// VerifyFolder verifies one ceremony folder strictly: its transcript, seal and outputs; that it
// holds nothing else but what Keyrite writes after the seal — the report and bundle, checked
// against the bundle's signed manifest, and its ceremony log inclusion proof, checked against
// its seal and transcript signer; and that every entry is a regular file or a folder.
func VerifyFolder(dir string, opt Options) (Folder, error) {
	root, err := ParseRoot(opt.Root)
	if err != nil {
		return Folder{}, err
	}
	files, err := regularFiles(dir)
	if err != nil {
		return Folder{}, err
	}
	res, err := transcript.Verify(dir, transcript.Options{RootSPKI: root, Lean: opt.Renderer == nil})
	if err != nil {
		return Folder{}, err
	}
	f := Folder{Folder: transcript.Folder{Dir: dir, Result: res}}
	listed := map[string]bool{transcript.FileName: true, transcript.SealFileName: true}
	for _, o := range res.Outputs {
		listed[o.File] = true
	}
	bundle := BundleName(res.Opening.CeremonyID)
	var derived []string
	for _, p := range files {
		switch kindOf(p, listed, bundle) {
		case derivedFile:
			derived = append(derived, p)
		case proofFile:
			if f.Log, err = folderLogProof(dir, res); err != nil {
				return Folder{}, err
			}
		case shareSheet, unexpectedFile:
			return Folder{}, notBelonging(p, bundle)
		}
	}
	f.Report, err = checkDerived(dir, res, derived, opt)
	return f, err
}

// What a file in a verified ceremony folder is.
type fileKind int

const (
	recordedFile   fileKind = iota // the transcript, its seal, an output it records
	derivedFile                    // the report or the bundle, made after the seal
	proofFile                      // the ceremony log inclusion proof
	shareSheet                     // never in an evidence folder
	unexpectedFile                 // nothing names it
)

func kindOf(p string, listed map[string]bool, bundle string) fileKind {
	switch {
	case listed[p]:
		return recordedFile
	case p == ReportFileName || p == bundle:
		return derivedFile
	case p == ledger.ProofFileName:
		return proofFile
	case strings.HasPrefix(p, "shares/"):
		return shareSheet
	}
	return unexpectedFile
}

// notBelonging is the refusal of a file that does not belong in a ceremony folder.
func notBelonging(p, bundle string) error {
	if strings.HasPrefix(p, "shares/") {
		return fmt.Errorf("%s: a share sheet lies in the evidence folder; share sheets go to their custodians and never stay with the evidence (move shares/ out before the folder is verified or handed on)", Printable(p))
	}
	return fmt.Errorf("%s is in the ceremony folder but no record of the transcript names it (only the transcript, its seal, the outputs it records, %s and %s belong here)", Printable(p), ReportFileName, bundle)
}

// folderLogProof checks the inclusion proof in a verified ceremony folder.
func folderLogProof(dir string, res *transcript.Result) (string, error) {
	proof, err := readLogProof(dir)
	if err != nil {
		return "", err
	}
	return checkLogProof(proof, res)
}

// regularFiles lists the files in dir (slash-separated, relative), refusing anything that is
// neither a regular file nor a folder. Nothing is opened.
func regularFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch t := d.Type(); {
		case d.IsDir():
		case t.IsRegular():
			files = append(files, rel)
		default:
			return fmt.Errorf("%s is a %s, not a regular file: evidence is only read from regular files, and this one is refused unread", Printable(rel), transcript.FileKind(t))
		}
		return nil
	})
	return files, err
}

// checkDerived checks the report and bundle in a verified ceremony folder: the bundle must
// verify and be this ceremony's; the report must be the one its manifest lists (or, without a
// bundle, the one the renderer renders now).
func checkDerived(dir string, res *transcript.Result, derived []string, opt Options) (string, error) {
	var hasReport, hasBundle bool
	for _, p := range derived {
		hasReport = hasReport || p == ReportFileName
		hasBundle = hasBundle || p != ReportFileName
	}
	bundle := BundleName(res.Opening.CeremonyID)
	switch {
	case hasBundle:
		br, err := checkFolderBundle(dir, res, opt)
		if err != nil {
			return "", err
		}
		msg := bundle + " verified; "
		if !hasReport {
			return msg + "report.pdf is not in the folder (the bundle holds it); " + br.Report, nil
		}
		if err := checkReportAgainst(dir, br); err != nil {
			return "", err
		}
		return msg + "report.pdf equals the bundle's; " + br.Report, nil
	case hasReport:
		return checkReportRendered(dir, res, opt)
	}
	return "", nil
}

// checkFolderBundle verifies the bundle in a verified ceremony folder and that it is this
// ceremony's.
func checkFolderBundle(dir string, res *transcript.Result, opt Options) (*BundleResult, error) {
	bundle := BundleName(res.Opening.CeremonyID)
	br, err := verifyBundlePath(filepath.Join(dir, bundle), opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (run `keyrite resume` to make it again)", bundle, err)
	}
	if br.Ceremony.Seal.Text != res.Seal.Text {
		return nil, fmt.Errorf("%s is the bundle of another transcript than the one in this folder", bundle)
	}
	return br, nil
}

// checkReportAgainst checks the folder's report against the one its bundle's manifest lists.
func checkReportAgainst(dir string, br *BundleResult) error {
	e := br.Manifest.Files[ReportFileName]
	sum, _, err := hashRegular(filepath.Join(dir, ReportFileName), e.Size)
	if err != nil || sum != e.SHA256 {
		return fmt.Errorf("%s differs from the report the bundle's signed manifest lists (%v)", ReportFileName, err)
	}
	return nil
}

// checkReportRendered checks a report no bundle vouches for: only a renderer can, by rendering
// it again.
func checkReportRendered(dir string, res *transcript.Result, opt Options) (string, error) {
	if opt.Renderer == nil {
		return "", fmt.Errorf("%s is in the folder, but no evidence bundle vouches for it and no report was rendered to compare it with; run `keyrite resume` to make the bundle, or verify with `keyrite verify --render`", ReportFileName)
	}
	pdf, err := opt.Renderer.Render(res, dir)
	if err != nil {
		return "", err
	}
	sum, _, err := hashRegular(filepath.Join(dir, ReportFileName), int64(len(pdf)))
	if err != nil || sum != sha256Hex(pdf) {
		return "", fmt.Errorf("%s is not vouched for by a bundle and differs from the report renderer %s renders from this transcript; remove it, or run `keyrite resume` to make the report and bundle again", ReportFileName, opt.Renderer.Version())
	}
	return "no bundle in the folder; report.pdf re-rendered by renderer " + opt.Renderer.Version() + ": identical", nil
}

// hashRegular hashes a regular file of at most max bytes.
func hashRegular(name string, max int64) (string, int64, error) {
	b, err := transcript.ReadFileMax(name, max)
	if err != nil {
		return "", 0, err
	}
	return sha256Hex(b), int64(len(b)), nil
}
