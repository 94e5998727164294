package ceremony

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/quorum"
)

// Share sheets never touch the evidence. A ceremony that hands out shares sends each sheet
// either to a printer (CUPS lp; the PDF exists only in memory and in the print spool) or to a
// folder outside the evidence folder's tree: in production a removable medium per custodian,
// mounted in turn at that folder and bagged with the sheet, on another disk than the evidence;
// in a rehearsal a folder the rehearsal announces. The ceremony records, witnessed, where each
// sheet went, the bag it was sealed in, and that no electronic copy remains.

// SheetDestination says where share sheets go, for a check before the ceremony starts.
type SheetDestination struct {
	Dir     string // a folder outside the evidence folder's tree
	Printer string // a CUPS destination; "default" for lp's default printer
}

func (o Options) sheets() SheetDestination {
	return SheetDestination{Dir: o.SharesDir, Printer: o.SharesPrinter}
}

func (d SheetDestination) String() string {
	if d.Printer != "" {
		if d.Printer == "default" {
			return "the default printer (CUPS lp)"
		}
		return fmt.Sprintf("printer %q (CUPS lp)", d.Printer)
	}
	return "folder " + d.Dir
}

// IssuesShares reports whether the script hands out share sheets: whether one of its steps
// renders them.
func (s *Script) IssuesShares() bool {
	t := typeOf(s.Type)
	if t == nil {
		return false
	}
	for _, st := range t.steps(s) {
		if st.sheets {
			return true
		}
	}
	return false
}

// ErrSheetsInEvidence is wrapped when share sheets would be written into the evidence.
var ErrSheetsInEvidence = errors.New("share sheets may not go into the evidence folder")

// CheckSheetDestination checks, before anything happens, where a ceremony writing its evidence
// to evidenceDir may put its share sheets: exactly one of a printer or a folder; a folder
// neither inside the evidence folder's tree nor holding it, symbolic links resolved; and, on a
// real HSM (not rehearsal), on another file system than the evidence.
func CheckSheetDestination(evidenceDir string, d SheetDestination, rehearsal bool) error {
	switch {
	case d.Dir == "" && d.Printer == "":
		return errors.New("say where the share sheets go: a printer (--shares-printer QUEUE, or \"default\") or a folder outside the evidence folder, on a removable medium (--shares-dir DIR); they never go into the evidence folder")
	case d.Dir != "" && d.Printer != "":
		return errors.New("share sheets go to a printer or to a folder, not both")
	case d.Printer != "":
		if strings.HasPrefix(d.Printer, "-") || strings.ContainsAny(d.Printer, "/ \t\n") {
			return fmt.Errorf("printer %q is not a CUPS destination name", d.Printer)
		}
		return nil
	}
	ev, err := resolve(evidenceDir)
	if err != nil {
		return err
	}
	sh, err := resolve(d.Dir)
	if err != nil {
		return err
	}
	if within(sh, ev) || within(ev, sh) {
		return fmt.Errorf("%w: %s is inside %s's tree, or holds it (symbolic links resolved: %s, %s); whoever copies the evidence would copy the shares with the wrapped key. Print the sheets or write them to each custodian's removable medium", ErrSheetsInEvidence, d.Dir, evidenceDir, sh, ev)
	}
	if !rehearsal {
		if a, b, ok := devices(ev, sh); ok && a == b {
			return fmt.Errorf("%w' disk: %s and %s are on the same file system; mount each custodian's removable medium at the shares folder, or print the sheets", ErrSheetsInEvidence, d.Dir, evidenceDir)
		}
	}
	return nil
}

// resolve makes p absolute with every symbolic link of its longest existing prefix resolved.
func resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	var rest []string
	for cur := abs; ; cur = filepath.Dir(cur) {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(append([]string{real}, rest...)...), nil
		}
		if cur == filepath.Dir(cur) {
			return abs, nil
		}
		rest = append([]string{filepath.Base(cur)}, rest...)
	}
}

// within reports whether p is dir or lies below it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// devices returns the file-system devices of the nearest existing folders of a and b.
func devices(a, b string) (uint64, uint64, bool) {
	dev := func(p string) (uint64, bool) {
		for ; ; p = filepath.Dir(p) {
			if fi, err := os.Stat(p); err == nil {
				st, ok := fi.Sys().(*syscall.Stat_t)
				return uint64(st.Dev), ok
			}
			if p == filepath.Dir(p) {
				return 0, false
			}
		}
	}
	da, ok1 := dev(a)
	db, ok2 := dev(b)
	return da, db, ok1 && ok2
}

// checkSheets is the pre-flight for a ceremony that hands out shares.
func (r *Run) checkSheets() error {
	if !r.Script.IssuesShares() {
		return nil
	}
	d := r.opt.sheets()
	if err := CheckSheetDestination(r.Dir, d, r.binding.Rehearsal); err != nil {
		return err
	}
	if d.Printer != "" && r.opt.Print == nil {
		if _, err := exec.LookPath("lp"); err != nil {
			return fmt.Errorf("share sheets go to %s, but CUPS lp is not installed (apt-get install cups-client); nothing was done", d)
		}
	}
	return nil
}

// lp prints pdf on printer with CUPS. With no file named, lp reads the PDF from its standard
// input: Keyrite writes no file.
func lp(printer, title string, pdf []byte) error {
	args := []string{"-t", title}
	if printer != "default" {
		args = append(args, "-d", printer)
	}
	cmd := exec.Command("lp", args...)
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("print the share sheet with lp: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// SheetDocument is a share sheet's document number: the ceremony and the share.
func SheetDocument(ceremonyID string, number, total int) string {
	return fmt.Sprintf("%s/S%02d-of-%02d", ceremonyID, number, total)
}

func sheetName(number, total int) string {
	return fmt.Sprintf("share-%02d-of-%02d.pdf", number, total)
}

// deliverSheet prints or writes one custodian's sheet and says where it went.
func (r *Run) deliverSheet(c Participant, sh *quorum.Share, pdf []byte) (string, error) {
	d := r.opt.sheets()
	if d.Printer != "" {
		print := r.opt.Print
		if print == nil {
			print = lp
		}
		if err := print(d.Printer, fmt.Sprintf("Keyrite share sheet %d of %d", sh.Number, sh.Total), pdf); err != nil {
			return "", err
		}
		return "printed on " + d.String(), nil
	}
	name := sheetName(sh.Number, sh.Total)
	if !r.binding.Rehearsal {
		if left := sheetsIn(d.Dir); len(left) > 0 {
			return "", fmt.Errorf("%s still holds %s: the previous custodian's medium is still mounted there; remove it before the next sheet is written", d.Dir, strings.Join(left, ", "))
		}
		if err := r.UI.Confirm(r.ctx, c.Name, fmt.Sprintf("%s: is your own removable medium, and no one else's, mounted at %s?", c.Name, d.Dir)); err != nil {
			return "", fmt.Errorf("%s's medium is not ready: %w", c.Name, err)
		}
	}
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return "", fmt.Errorf("share sheets folder: %w", err)
	}
	if err := transcript.WriteFileExclusive(filepath.Join(d.Dir, name), pdf, 0o600); err != nil {
		return "", err
	}
	if !r.binding.Rehearsal {
		if err := r.UI.Confirm(r.ctx, c.Name, fmt.Sprintf("%s: unmount and take out your medium now; it goes into your bag with the sheet.", c.Name)); err != nil {
			return "", err
		}
		if left := sheetsIn(d.Dir); len(left) > 0 {
			return "", fmt.Errorf("%s still holds %s after %s took out the medium: it was written to this machine's disk, not to a removable medium; destroy it and use a medium or a printer", d.Dir, strings.Join(left, ", "), c.Name)
		}
		return fmt.Sprintf("written to %s's removable medium at %s as %s", c.Name, d.Dir, name), nil
	}
	return fmt.Sprintf("written to the rehearsal folder %s as %s", d.Dir, name), nil
}

// sheetsIn lists the share sheets in dir.
func sheetsIn(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "share-*-of-*.pdf"))
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// handOutShares renders each custodian's sheet in memory, sends it where the ceremony's
// options say, shows the share to its custodian alone, and records, witnessed, where it went.
func (r *Run) handOutShares() error {
	dest := r.opt.sheets()
	r.UI.Note(fmt.Sprintf("Share sheets go to %s, never into the evidence folder %s.", dest, r.Dir))
	label, spki := r.Script.Key.Label, ""
	if r.backup != nil {
		label, spki = r.backup.KeyLabel, r.backup.SPKISHA256
	}
	if r.root != nil {
		if fp, err := fingerprint.OfPublicKey(r.root.Public()); err == nil {
			spki = fp.Hex()
		}
	}
	w := r.Script.People("witness")[0]
	for i, c := range r.Script.People("custodian") {
		sh := r.shares[i]
		code := sh.Code()
		doc := SheetDocument(r.Script.ID, sh.Number, sh.Total)
		pdf, err := r.opt.ShareSheet(ShareSheet{
			CeremonyID: r.Script.ID, Document: doc, Organization: r.Script.Organization, KeyLabel: label,
			RootSPKI: groupedHex(spki), ScriptSHA256: fmt.Sprintf("%x", r.Script.SHA256),
			Custodian: c.Name, Role: c.Role, Number: sh.Number, Threshold: sh.Threshold, Total: sh.Total,
			KCV: r.kcv.String(), Bag: c.Bag, LossContact: r.Script.lossContact(), Date: r.Clock(), Code: code,
			SupersedesNote: r.supersedesNote(),
		})
		if err != nil {
			return err
		}
		where, err := r.deliverSheet(c, sh, pdf)
		clear(pdf)
		if err != nil {
			return fmt.Errorf("share sheet %d for %s: %w", sh.Number, c.Name, err)
		}
		if err := r.UI.RevealShare(r.ctx, c, sh.Number, sh.Total, code); err != nil {
			return fmt.Errorf("hand share %d to %s: %w", sh.Number, c.Name, err)
		}
		if err := r.UI.Confirm(r.ctx, w.Name, fmt.Sprintf("Witness %s: was share sheet %d (document %s) %s and handed to %s alone?", w.Name, sh.Number, doc, where, c.Name)); err != nil {
			r.record(transcript.EventWitnessDeclined, map[string]string{"witness": w.Name, "reason": reasonOf(err)})
			return fmt.Errorf("witness %s did not confirm share sheet %d: %w", w.Name, sh.Number, err)
		}
		data := map[string]any{"custodian": c.Name, "number": sh.Number, "of": sh.Total, "threshold": sh.Threshold, "document": doc,
			"destination": where, "bag": c.Bag, "witness": w.Name}
		if dest.Dir != "" {
			data["sheet"] = sheetName(sh.Number, sh.Total)
		}
		if _, err := r.record(transcript.EventShareIssued, data); err != nil {
			return err
		}
	}
	return nil
}

// bagSheets has the witness confirm, custodian by custodian, that each sheet (or medium) was
// sealed in its bag, and that no electronic copy of any sheet remains.
func (r *Run) bagSheets() error {
	w := r.Script.People("witness")[0]
	for i, c := range r.Script.People("custodian") {
		bag := c.Bag
		if bag == "" {
			bag = "a tamper-evident bag (number written on the sheet)"
		}
		if err := r.UI.Confirm(r.ctx, w.Name, fmt.Sprintf("Witness %s: did %s seal share sheet %d in %s, in front of you, and did both of you sign the sheet?", w.Name, c.Name, r.shares[i].Number, bag)); err != nil {
			r.record(transcript.EventWitnessDeclined, map[string]string{"witness": w.Name, "reason": reasonOf(err)})
			return fmt.Errorf("share sheet %d of %s is not recorded as bagged: %w", r.shares[i].Number, c.Name, err)
		}
		if _, err := r.record(transcript.EventShareBagged, map[string]any{"custodian": c.Name, "number": r.shares[i].Number, "bag": c.Bag, "witness": w.Name}); err != nil {
			return err
		}
	}
	d := r.opt.sheets()
	data := map[string]any{"destination": d.String(), "witness": w.Name}
	var q string
	switch {
	case d.Printer != "":
		q = "did every sheet come out of the printer, does the print queue hold no job (lpstat -o), and was no sheet saved to a file?"
		data["copies"] = "the PDFs existed only in memory and in the print spool; the queue was confirmed empty"
	case r.binding.Rehearsal:
		q = fmt.Sprintf("this rehearsal keeps its sheets in %s, outside the evidence folder: will they be deleted after the rehearsal?", d.Dir)
		data["copies"] = "rehearsal: the sheets are kept in " + d.Dir + " for inspection and are to be deleted afterwards"
		r.UI.Note(fmt.Sprintf("Rehearsal share sheets: %s. Delete that folder when you have looked at them.", d.Dir))
	default:
		if left := sheetsIn(d.Dir); len(left) > 0 {
			return fmt.Errorf("%s still holds %s: every sheet must leave this machine on its custodian's medium", d.Dir, strings.Join(left, ", "))
		}
		q = fmt.Sprintf("is every custodian's medium sealed in their bag, %s empty, and no other copy of a sheet left on this machine?", d.Dir)
		data["copies"] = "each sheet exists only on its custodian's medium, in their bag; " + d.Dir + " was checked to hold no sheet"
	}
	if err := r.UI.Confirm(r.ctx, w.Name, fmt.Sprintf("Witness %s: %s", w.Name, q)); err != nil {
		r.record(transcript.EventWitnessDeclined, map[string]string{"witness": w.Name, "reason": reasonOf(err)})
		return fmt.Errorf("the electronic copies of the share sheets are not confirmed destroyed: %w", err)
	}
	_, err := r.record(transcript.EventShareCopies, data)
	return err
}

func groupedHex(h string) string {
	var b strings.Builder
	for i := 0; i < len(h); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strings.ToUpper(h[i:min(i+4, len(h))]))
	}
	return b.String()
}

func (s *Script) lossContact() string {
	switch {
	case s.Backup != nil:
		return s.Backup.LossContact
	case s.Reshare != nil:
		return s.Reshare.LossContact
	}
	return ""
}

// supersedesNote says on a re-share's sheets which split they retire.
func (r *Run) supersedesNote() string {
	if r.Script.Type != TypeReshare || r.backup == nil {
		return ""
	}
	return fmt.Sprintf("This split replaces the %d-of-%d split of ceremony %s, whose shares and backup are retired and destroyed in this ceremony.", r.backup.Threshold, r.backup.Shares, r.backup.CeremonyID)
}

// commitmentsIn returns the last share commitments a transcript records, or nil for a
// transcript made before Keyrite recorded them.
func commitmentsIn(entries []transcript.Entry) (*quorum.Commitments, error) {
	var c *quorum.Commitments
	for _, e := range entries {
		if e.Event != transcript.EventSharesCommitted {
			continue
		}
		var got quorum.Commitments
		if err := e.DecodeData(&got); err != nil {
			return nil, fmt.Errorf("record %d: the share commitments do not read: %w", e.Seq, err)
		}
		c = &got
	}
	return c, nil
}
