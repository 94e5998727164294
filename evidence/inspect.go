package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/ledger"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// Inspection is what a security officer is shown of evidence: the strict verifier's verdict
// (VerifyPath's, unchanged) and, beside it, the state of every record, file, seal and chain,
// found by the same checks carried on past the first problem. The verdict is Err alone; the
// states say where evidence is wrong, never that it is right.
type Inspection struct {
	Path string
	Kind string // KindFolder, KindTree, KindBundle or KindRoot; "" when the path is unreadable
	// Err is VerifyPath's error with the same options: nil means verified.
	Err error
	// Summary is what VerifyPath printed when the evidence verified.
	Summary    string
	Ceremonies []Ceremony
	Log        *LogView // an evidence root's ceremony log
	// Unattributed is Err's text when no record, file, seal, chain or log entry was found
	// wrong to explain it (a witness's missing cosignature, say); "" otherwise.
	Unattributed string
}

// The kinds of evidence Inspect reads.
const (
	KindFolder = "ceremony folder"
	KindTree   = "folder of ceremonies"
	KindBundle = "evidence bundle"
	KindRoot   = "evidence root"
)

// Ceremony is one ceremony's records, files, seal and chain, each with its state.
type Ceremony struct {
	Name string // its folder relative to what was inspected ("." for itself), or the bundle's file name
	// Err is the strict verifier's verdict on this ceremony alone (VerifyFolder or
	// VerifyBundle); nil means it verified.
	Err     error
	Records []transcript.RecordCheck
	Files   []Item
	Seal    SealView
	Chain   ChainView
	// LogEntry is the ceremony's entry in its evidence root's log; -1 outside a root or
	// when it is not logged.
	LogEntry int64
	// Opening is the first record's content (zero when it is unreadable).
	Opening transcript.Opening
}

// Item is one file, or one log entry, and what was found of it.
type Item struct {
	Path   string
	State  transcript.State
	Reason string
	Record int64 // the record that wrote it; -1 for none
}

// SealView is what was found of a ceremony's seal.
type SealView struct {
	State  transcript.State // Good: present, signed by the transcript signer, covering the transcript
	Reason string
	Signed bool   // its signature verifies with the key of the transcript's signer record
	Signer string // the name on its signature line
	KeyID  string // hex
	Short  string // the short hash, grouped as the report prints it
	Count  uint64 // the records it covers
	Text   string
	// SignerCert names the transcript signer's certificate subject, when it could be read.
	SignerCert string
}

// ChainView is the chain summary: the records, their times, the ceremony it continues and the
// root the transcript signer chains to.
type ChainView struct {
	Records     int
	First, Last string // times of the first and last readable records
	CeremonyID  string
	Type        string
	// Previous is the ceremony this one continues ("" for the first of its key hierarchy),
	// PreviousState whether the ceremony quoted is here and its seal is the one quoted
	// (Unchecked when it is not here to compare).
	Previous       string
	PreviousState  transcript.State
	PreviousReason string
	Root           string           // the root certificate's subject; "" when unknown
	RootSPKI       fingerprint.SPKI // zero when unknown
	// Expected is the root fingerprint the officer gave (lowercase hex; "" for none) and
	// RootState Good (match) or Bad (MISMATCH) against it; Unchecked when the root is unknown.
	Expected  string
	RootState transcript.State
}

// LogView is an evidence root's ceremony log: its newest checkpoint and an item per entry.
type LogView struct {
	Origin     string
	Size       int64
	Checkpoint string
	State      transcript.State
	Reason     string
	Entries    []Item // one per ceremony entry: present as logged, missing, or another seal; and unlogged folders
}

// Inspect verifies path with VerifyPath (Err is its verdict) and inspects what it holds: a
// bundle, a ceremony folder, a folder of ceremonies or an evidence root.
func Inspect(path string, opt Options) *Inspection {
	ins := &Inspection{Path: path}
	var out bytes.Buffer
	if ins.Err = VerifyPath(&out, path, opt); ins.Err == nil {
		ins.Summary = out.String()
	}
	root, err := ParseRoot(opt.Root)
	fi, lerr := os.Lstat(path)
	if err != nil || lerr != nil {
		ins.Unattributed = ins.Err.Error()
		return ins
	}
	opt.Root = root
	switch {
	case fi.IsDir() && ledger.IsRoot(path):
		ins.Kind = KindRoot
		ins.inspectRoot(path, opt)
	case fi.IsDir():
		ins.inspectTree(path, opt)
	case fi.Mode().IsRegular():
		ins.Kind = KindBundle
		ins.Ceremonies = []Ceremony{inspectBundle(path, opt)}
	}
	ins.checkChains()
	if ins.Err != nil && ins.Problems() == 0 {
		ins.Unattributed = ins.Err.Error()
	}
	return ins
}

// Problems counts the records, files, seals, chains, roots and log entries found wrong.
func (ins *Inspection) Problems() int {
	n := 0
	for _, c := range ins.Ceremonies {
		n += c.Problems()
	}
	if l := ins.Log; l != nil {
		for _, e := range l.Entries {
			n += bad(e.State)
		}
	}
	return n
}

// Problems counts what is wrong in one ceremony.
func (c *Ceremony) Problems() int {
	n := bad(c.Seal.State)
	if c.Chain.PreviousState == transcript.Bad {
		n++
	}
	if c.Chain.Expected != "" {
		n += bad(c.Chain.RootState)
	}
	for _, r := range c.Records {
		n += bad(r.State)
	}
	for _, f := range c.Files {
		n += bad(f.State)
	}
	return n
}

func bad(s transcript.State) int {
	if s == transcript.Good || s == transcript.Withheld {
		return 0
	}
	return 1
}

// inspectTree inspects dir as VerifyTree reads it: a ceremony folder, or the ceremony folders
// directly inside it.
func (ins *Inspection) inspectTree(dir string, opt Options) {
	if _, err := os.Lstat(filepath.Join(dir, transcript.FileName)); err == nil || looksLikeCeremony(dir) {
		ins.Kind = KindFolder
		ins.Ceremonies = []Ceremony{inspectFolder(dir, ".", opt)}
		return
	}
	ins.Kind = KindTree
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		sub := filepath.Join(dir, e.Name())
		if _, err := os.Lstat(filepath.Join(sub, transcript.FileName)); e.IsDir() && (err == nil || looksLikeCeremony(sub)) {
			ins.Ceremonies = append(ins.Ceremonies, inspectFolder(sub, e.Name(), opt))
		}
	}
}

// inspectFolder inspects one ceremony folder: VerifyFolder's verdict, and each record, file,
// the seal and the chain.
func inspectFolder(dir, name string, opt Options) Ceremony {
	c := Ceremony{Name: name, LogEntry: -1}
	_, c.Err = VerifyFolder(dir, opt)
	ti := transcript.Inspect(dir, transcript.Options{RootSPKI: opt.Root})
	c.fromTranscript(ti, opt.Root)
	var res *transcript.Result
	if ti.Verdict() || ti.RootErr != nil {
		res, _ = transcript.Verify(dir, transcript.Options{Lean: opt.Renderer == nil})
	}
	c.Files = folderFiles(dir, ti, res, opt)
	return c
}

// fromTranscript takes the records, seal and chain summary from a transcript inspection.
func (c *Ceremony) fromTranscript(ti *transcript.Inspection, expected string) {
	c.Records, c.Opening = ti.Records, ti.Opening
	s := ti.Seal
	c.Seal = SealView{State: s.State, Reason: s.Reason, Signed: s.Signed}
	if s.Seal != nil {
		c.Seal.Signer, c.Seal.KeyID, c.Seal.Short = s.Seal.SignerName, hex.EncodeToString(s.Seal.KeyID[:]), s.Seal.ShortHashGrouped()
		c.Seal.Count, c.Seal.Text = s.Seal.Count, s.Seal.Text
	}
	if ti.Signer != nil {
		c.Seal.SignerCert = ti.Signer.Subject.CommonName
	}
	ch := &c.Chain
	ch.Records, ch.CeremonyID, ch.Type = len(ti.Records), ti.Opening.CeremonyID, ti.Opening.Type
	for _, r := range ti.Records {
		if r.Record != nil {
			if ch.First == "" {
				ch.First = r.Record.Time
			}
			ch.Last = r.Record.Time
		}
	}
	if p := ti.Opening.Previous; p != nil {
		ch.Previous, ch.PreviousState, ch.PreviousReason = p.CeremonyID, transcript.Unchecked, "the ceremony it continues is not here to compare its seal with"
	}
	if ti.Root != nil {
		ch.Root, ch.RootSPKI = ti.Root.Subject.CommonName, ti.RootSPKI
	}
	ch.Expected = expected
	switch {
	case expected == "":
	case ti.Root == nil:
		ch.RootState = transcript.Unchecked
	case ti.RootErr != nil || ti.RootSPKI.Hex() != expected:
		ch.RootState = transcript.Bad
	}
}

// folderFiles gives every file in a ceremony folder its state: the transcript and seal, each
// output as its record names it, the report, bundle and log proof (checked against the verified
// transcript res, or on their own without one), and anything else, which does not belong.
func folderFiles(dir string, ti *transcript.Inspection, res *transcript.Result, opt Options) []Item {
	present := map[string]fs.FileMode{}
	var order []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		present[rel], order = d.Type(), append(order, rel)
		return nil
	})
	var items []Item
	add := func(it Item) {
		if m, ok := present[it.Path]; ok && !m.IsRegular() {
			it.State, it.Reason = transcript.Bad, fmt.Sprintf("it is a %s, not a regular file: evidence is only read from regular files", transcript.FileKind(m))
		}
		items = append(items, it)
		delete(present, it.Path)
	}
	if _, ok := present[transcript.FileName]; ok {
		add(transcriptItem(ti))
	} else {
		add(Item{Path: transcript.FileName, State: transcript.Missing, Reason: "the transcript is the evidence; without it nothing can be verified", Record: -1})
	}
	add(Item{Path: transcript.SealFileName, State: ti.Seal.State, Reason: ti.Seal.Reason, Record: -1})
	for _, o := range ti.Outputs {
		if _, ok := present[o.File]; ok || o.State == transcript.Missing {
			add(Item{Path: o.File, State: o.State, Reason: o.Reason, Record: int64(o.Seq)})
		}
	}
	opt.Root = "" // the root is compared once, in the chain; the derived files are checked for what they are
	d := derivedChecks{dir: dir, res: res, opt: opt, bundle: BundleName(ti.Opening.CeremonyID)}
	_, d.hasBundle = present[d.bundle]
	for _, p := range order {
		if _, ok := present[p]; ok {
			add(d.item(p))
		}
	}
	return items
}

// transcriptItem is the transcript file's state: bad when its chain is broken or does not
// match the seal (the records say where).
func transcriptItem(ti *transcript.Inspection) Item {
	it := Item{Path: transcript.FileName, Record: -1}
	if ti.Problem != "" {
		it.State, it.Reason = transcript.Bad, ti.Problem
		return it
	}
	for _, r := range ti.Records {
		if r.State == transcript.Unchecked || r.State == transcript.Missing || r.State == transcript.Bad && !strings.HasPrefix(r.Reason, "the file it wrote") {
			it.State, it.Reason = transcript.Bad, fmt.Sprintf("record %d is %v: %s", r.Seq, r.State, r.Reason)
			if r.State == transcript.Unchecked {
				continue // the bad record before it is named first
			}
			return it
		}
	}
	return it
}

// derivedChecks checks what a ceremony folder holds beside its transcript and outputs.
type derivedChecks struct {
	dir, bundle string
	res         *transcript.Result
	opt         Options
	hasBundle   bool
	br          *BundleResult
	brErr       error
	brDone      bool
}

func (d *derivedChecks) folderBundle() (*BundleResult, error) {
	if !d.brDone {
		d.brDone = true
		if d.res != nil {
			d.br, d.brErr = checkFolderBundle(d.dir, d.res, d.opt)
		} else {
			d.br, d.brErr = verifyBundlePath(filepath.Join(d.dir, d.bundle), d.opt)
		}
	}
	return d.br, d.brErr
}

func (d *derivedChecks) item(p string) Item {
	it := Item{Path: p, Record: -1}
	set := func(err error, good string) {
		if err != nil {
			it.State, it.Reason = transcript.Bad, err.Error()
		} else {
			it.Reason = good
		}
	}
	switch kindOf(p, nil, d.bundle) {
	case derivedFile:
		d.derived(&it, set)
	case proofFile:
		if d.res == nil {
			it.State, it.Reason = transcript.Unchecked, "an inclusion proof is checked against a verified transcript and seal"
			break
		}
		_, err := folderLogProof(d.dir, d.res)
		set(err, "the inclusion proof checks against the seal and the transcript signer")
	case shareSheet:
		it.State, it.Reason = transcript.Bad, notBelonging(p, d.bundle).Error()
	default:
		it.State, it.Reason = transcript.Unexpected, notBelonging(p, d.bundle).Error()
	}
	return it
}

func (d *derivedChecks) derived(it *Item, set func(error, string)) {
	switch {
	case it.Path == d.bundle:
		br, err := d.folderBundle()
		if err == nil && d.res == nil {
			set(nil, "the bundle verifies on its own: a sealed copy of this ceremony, made after its seal (compare it with the folder's transcript, which does not verify)")
			return
		}
		if br != nil {
			set(err, br.Report)
			return
		}
		set(err, "")
	case d.res == nil:
		it.State, it.Reason = transcript.Unchecked, "the report is checked against a verified transcript or its bundle"
	case d.hasBundle:
		br, err := d.folderBundle()
		if err != nil {
			it.State, it.Reason = transcript.Unchecked, "the bundle that vouches for it does not verify"
			return
		}
		set(checkReportAgainst(d.dir, br), "equal to the report the bundle's signed manifest lists")
	default:
		msg, err := checkReportRendered(d.dir, d.res, d.opt)
		set(err, msg)
	}
}

// checkChains checks each ceremony's link to the one it continues, when both are here and
// verified, with transcript.CheckChains.
func (ins *Inspection) checkChains() {
	byID := map[string]int{}
	for i, c := range ins.Ceremonies {
		if c.Chain.CeremonyID != "" {
			byID[c.Chain.CeremonyID] = i
		}
	}
	for i := range ins.Ceremonies {
		c := &ins.Ceremonies[i]
		j, ok := byID[c.Chain.Previous]
		if c.Chain.Previous == "" || !ok {
			continue
		}
		prev := &ins.Ceremonies[j]
		if prev.Seal.Text == "" {
			c.Chain.PreviousState, c.Chain.PreviousReason = transcript.Unchecked, fmt.Sprintf("ceremony %s (%s) has no readable seal to compare with", prev.Chain.CeremonyID, prev.Name)
			continue
		}
		quoted := c.Opening.Previous.Checkpoint
		if quoted != prev.Seal.Text {
			c.Chain.PreviousState, c.Chain.PreviousReason = transcript.Bad, fmt.Sprintf("it quotes a seal that differs from the seal of ceremony %s (%s)", prev.Chain.CeremonyID, prev.Name)
			continue
		}
		c.Chain.PreviousState, c.Chain.PreviousReason = transcript.Good, fmt.Sprintf("it quotes the seal of ceremony %s (%s) exactly", prev.Chain.CeremonyID, prev.Name)
		if prev.Chain.RootSPKI != c.Chain.RootSPKI && prev.Chain.RootSPKI != (fingerprint.SPKI{}) && c.Chain.RootSPKI != (fingerprint.SPKI{}) {
			c.Chain.PreviousReason += "; it chains to another root (see the strict verdict: only a recorded rotation allows that)"
		}
	}
}

// inspectRoot inspects an evidence root: its ceremony log and every ceremony folder in it.
func (ins *Inspection) inspectRoot(dir string, opt Options) {
	lv := &LogView{}
	ins.Log = lv
	if ins.Err != nil {
		lv.State, lv.Reason = transcript.Bad, ins.Err.Error()
	}
	logged := map[string]ledger.Entry{}
	index := map[string]int64{}
	l, err := ledger.Open(dir)
	if err != nil {
		lv.State, lv.Reason = transcript.Bad, err.Error()
	} else {
		st := l.State()
		lv.Origin, lv.Size, lv.Checkpoint = st.Origin, st.Size, string(l.Checkpoint())
		for i := int64(0); i < l.Size(); i++ {
			if e, err := ledger.ParseEntry(l.Entry(i)); err == nil && e.Kind == ledger.KindCeremony {
				logged[e.Folder], index[e.Folder] = e, i
			}
		}
	}
	found := map[string]bool{}
	walkErr := ledger.CeremonyFolders(dir, func(rel string) error {
		c := inspectFolder(filepath.Join(dir, filepath.FromSlash(rel)), rel, opt)
		found[rel] = true
		c.LogEntry = -1
		e, ok := logged[rel]
		seal, _ := transcript.ReadFileMax(filepath.Join(dir, filepath.FromSlash(rel), transcript.SealFileName), 64<<10)
		switch {
		case !ok:
			lv.Entries = append(lv.Entries, Item{Path: rel, State: transcript.Unexpected, Reason: "this ceremony folder is not in the ceremony log: it was added, or its folder renamed", Record: -1})
		case sha256.Sum256(seal) != e.Seal:
			c.LogEntry = index[rel]
			lv.Entries = append(lv.Entries, Item{Path: rel, State: transcript.Bad, Reason: fmt.Sprintf("log entry %d recorded another seal for ceremony %s here", index[rel], e.Ceremony), Record: index[rel]})
		default:
			c.LogEntry = index[rel]
			lv.Entries = append(lv.Entries, Item{Path: rel, Reason: fmt.Sprintf("log entry %d: ceremony %s, present with the seal the log recorded", index[rel], e.Ceremony), Record: index[rel]})
		}
		ins.Ceremonies = append(ins.Ceremonies, c)
		return nil
	})
	if walkErr != nil {
		lv.Entries = append(lv.Entries, Item{Path: ".", State: transcript.Bad, Reason: walkErr.Error(), Record: -1})
	}
	var missing []string
	for f := range logged {
		if !found[f] {
			missing = append(missing, f)
		}
	}
	sort.Strings(missing)
	for _, f := range missing {
		lv.Entries = append(lv.Entries, Item{Path: f, State: transcript.Missing, Reason: fmt.Sprintf("log entry %d put ceremony %s here; it was deleted or moved", index[f], logged[f].Ceremony), Record: index[f]})
	}
}

// inspectBundle inspects an evidence bundle: VerifyBundle's verdict, each member against the
// signed manifest, and the transcript inside (its outputs by the members' own hashes).
func inspectBundle(path string, opt Options) Ceremony {
	c := Ceremony{Name: filepath.Base(path), LogEntry: -1}
	_, c.Err = verifyBundlePath(path, opt)
	fail := func(err error) Ceremony {
		c.Files = append(c.Files, Item{Path: filepath.Base(path), State: transcript.Bad, Reason: err.Error(), Record: -1})
		c.Seal = SealView{State: transcript.Unchecked, Reason: "the bundle cannot be read, so neither can its seal"}
		return c
	}
	f, err := transcript.OpenRegular(path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	b, err := indexBundleAll(io.NewSectionReader(f, 0, fi.Size()))
	if err != nil {
		return fail(err)
	}
	work, err := os.MkdirTemp("", "keyrite-inspect-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(work)
	hashes, _ := hashMembers(f, b.members, work)
	withheld, known := map[string]bool{}, map[string]transcript.Hashed{}
	for p, e := range b.manifest.Files {
		if e.Withheld {
			withheld[p] = true
		} else if h, ok := hashes[p]; ok {
			known[p] = h
		}
	}
	ti := transcript.Inspect(work, transcript.Options{Withheld: withheld, Hashed: known, RootSPKI: opt.Root})
	c.fromTranscript(ti, opt.Root)
	c.Files = append(c.Files, b.memberItems(work, hashes, ti)...)
	if ti.Verdict() || ti.RootErr != nil {
		if res, err := transcript.Verify(work, transcript.Options{Withheld: withheld, Hashed: known, Lean: opt.Renderer == nil}); err == nil {
			b.checkAgainst(&c, res, work, opt)
		}
	}
	return c
}

// memberItems gives the manifest, its signature and every member its state against the
// signed manifest; a record whose output differs is marked by the transcript inspection.
func (b *indexed) memberItems(work string, hashes map[string]transcript.Hashed, ti *transcript.Inspection) []Item {
	sigErr := error(nil)
	if _, err := checkManifestSignature(work, b.manifestBytes, b.sig); err != nil {
		sigErr = err
	}
	items := []Item{{Path: ManifestName, Record: -1}, {Path: ManifestSigName, Record: -1}}
	if sigErr != nil {
		items[0].State, items[0].Reason = transcript.Bad, sigErr.Error()
		items[1].State, items[1].Reason = transcript.Bad, sigErr.Error()
	}
	writer := map[string]int64{}
	for _, o := range ti.Outputs {
		writer[o.File] = int64(o.Seq)
	}
	for _, p := range b.paths() {
		it := Item{Path: p, Record: -1}
		if w, ok := writer[p]; ok {
			it.Record = w
		}
		h, present := hashes[p]
		it.State, it.Reason = b.memberState(p, h, present)
		switch {
		case it.State != transcript.Good:
		case p == transcript.SealFileName:
			it.State, it.Reason = ti.Seal.State, ti.Seal.Reason
		case p == transcript.FileName:
			t := transcriptItem(ti)
			it.State, it.Reason = t.State, t.Reason
		}
		items = append(items, it)
	}
	return items
}

// paths lists, sorted, every file the manifest lists, every member it does not, and every
// second copy of MANIFEST or MANIFEST.sig.
func (b *indexed) paths() []string {
	var paths []string
	for p := range b.manifest.Files {
		paths = append(paths, p)
	}
	for _, m := range b.members {
		if _, ok := b.manifest.Files[m.path]; !ok {
			paths = append(paths, m.path)
		}
	}
	for p := range b.problems {
		if _, ok := b.manifest.Files[p]; !ok && !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	return paths
}

// memberState is one bundle file's state against the signed manifest, from its member's hash h
// (present when the bundle holds it).
func (b *indexed) memberState(p string, h transcript.Hashed, present bool) (transcript.State, string) {
	e, listed := b.manifest.Files[p]
	switch {
	case !listed:
		return transcript.Unexpected, b.problems[p].Error()
	case b.problems[p] != nil:
		return transcript.Bad, b.problems[p].Error()
	case e.Withheld:
		return transcript.Withheld, "listed by its hash; withheld from bundles"
	case !present:
		return transcript.Missing, "the signed manifest lists it, and the bundle lacks it (it was removed)"
	case h.Size != e.Size || hex.EncodeToString(h.SHA256[:]) != e.SHA256:
		return transcript.Bad, "its content differs from the signed manifest (it was changed)"
	}
	return transcript.Good, ""
}

// checkAgainst makes the checks VerifyBundle makes with a verified transcript: the manifest
// lists what the transcript records, the report, the log proof.
func (b *indexed) checkAgainst(c *Ceremony, res *transcript.Result, work string, opt Options) {
	mark := func(name string, err error) {
		for i := range c.Files {
			if c.Files[i].Path == name && c.Files[i].State == transcript.Good {
				c.Files[i].State, c.Files[i].Reason = transcript.Bad, err.Error()
				return
			}
		}
		c.Files = append(c.Files, Item{Path: name, State: transcript.Bad, Reason: err.Error(), Record: -1})
	}
	if err := checkManifestAgainstTranscript(b.manifest, res); err != nil {
		be, ok := err.(*BundleError)
		if !ok {
			be = &BundleError{ManifestName, err.Error()}
		}
		mark(be.File, err)
	}
	if msg, err := checkReport(opt.Renderer, res, work, b.manifest); err != nil {
		mark(ReportFileName, err)
	} else {
		c.setReason(ReportFileName, msg)
	}
	if _, ok := b.manifest.Files[ledger.ProofFileName]; ok {
		proof, err := os.ReadFile(filepath.Join(work, ledger.ProofFileName))
		if err == nil {
			var msg string
			if msg, err = checkLogProof(proof, res); err == nil {
				c.setReason(ledger.ProofFileName, msg)
			}
		}
		if err != nil {
			mark(ledger.ProofFileName, err)
		}
	}
}

func (c *Ceremony) setReason(name, msg string) {
	for i := range c.Files {
		if c.Files[i].Path == name && c.Files[i].Reason == "" {
			c.Files[i].Reason = msg
		}
	}
}

// VerifyPathExplained is VerifyPath; when it refuses, it also writes to out, under "Not
// verified. Where the evidence is wrong:", every record and file Inspect finds wrong. The error
// is VerifyPath's.
func VerifyPathExplained(out io.Writer, path string, opt Options) error {
	err := VerifyPath(out, path, opt)
	if err != nil {
		if ins := Inspect(path, opt); ins.Problems() > 0 {
			io.WriteString(out, "Not verified. Where the evidence is wrong:\n")
			ins.WriteProblems(out)
		}
	}
	return err
}

// WriteProblems writes what the inspection found wrong, one line each (a run of records that
// are not checkable as one line), every name escaped (Printable); nothing when nothing is.
func (ins *Inspection) WriteProblems(w io.Writer) {
	for _, c := range ins.Ceremonies {
		if c.Problems() == 0 {
			continue
		}
		at := ""
		if len(ins.Ceremonies) > 1 {
			at = c.Name + ": "
		}
		line := func(format string, a ...any) { io.WriteString(w, Printable("  "+at+fmt.Sprintf(format, a...)+"\n")) }
		for i := 0; i < len(c.Records); i++ {
			r := c.Records[i]
			if r.State == transcript.Unchecked {
				j := i
				for j+1 < len(c.Records) && c.Records[j+1].State == transcript.Unchecked {
					j++
				}
				line("records %d to %d: NOT CHECKABLE (an earlier record is bad)", r.Seq, c.Records[j].Seq)
				i = j
			} else if r.State != transcript.Good {
				line("record %d: %s — %s", r.Seq, strings.ToUpper(r.State.String()), r.Reason)
			}
		}
		for _, f := range c.Files {
			if bad(f.State) > 0 {
				line("%s: %s — %s", f.Path, strings.ToUpper(f.State.String()), f.Reason)
			}
		}
		if ch := c.Chain; ch.Expected != "" && ch.RootState == transcript.Bad {
			line("root: MISMATCH — the transcript signer chains to root %s, not to the expected %s", ch.RootSPKI.Grouped(), ch.Expected)
		}
		if c.Chain.PreviousState == transcript.Bad {
			line("chain: BAD — %s", c.Chain.PreviousReason)
		}
	}
	if ins.Log != nil {
		for _, e := range ins.Log.Entries {
			if bad(e.State) > 0 {
				io.WriteString(w, Printable(fmt.Sprintf("  ceremony log, %s: %s — %s\n", e.Path, strings.ToUpper(e.State.String()), e.Reason)))
			}
		}
	}
}
