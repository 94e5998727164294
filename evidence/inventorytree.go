package evidence

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// ReadTree finds every ceremony folder anywhere under dir (dir itself, the nested layouts of
// `keyrite rehearse --quorum` and `--transfer`, archive copies) and verifies each one. A
// folder that does not verify, or whose link to a previous ceremony in the tree does not
// hold, is returned in unverified with the reason instead of failing the whole tree. Two
// folders holding different ceremonies with the same ID are not confused: a ceremony that
// names a previous one is checked against every folder of that ID and holds if one of them
// has the seal it quotes. Symbolic links are not followed.
func ReadTree(dir string, opt transcript.Options) (folders []transcript.Folder, unverified []Unverified, err error) {
	var dirs []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			unverified = append(unverified, Unverified{Folder: p, Reason: err.Error()})
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if st, err := os.Lstat(filepath.Join(p, transcript.FileName)); err == nil && st.Mode().IsRegular() {
			dirs = append(dirs, p)
			return fs.SkipDir // a ceremony folder's contents are its own
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(dirs) == 0 {
		return nil, unverified, fmt.Errorf("%s holds no ceremony folder (no %s anywhere under it)", dir, transcript.FileName)
	}
	byID := map[string][]transcript.Folder{}
	for _, p := range dirs {
		res, err := transcript.Verify(p, opt)
		if err != nil {
			unverified = append(unverified, Unverified{Folder: p, Reason: err.Error()})
			continue
		}
		f := transcript.Folder{Dir: p, Result: res}
		folders = append(folders, f)
		byID[res.Opening.CeremonyID] = append(byID[res.Opening.CeremonyID], f)
	}
	kept := folders[:0]
	for _, f := range folders {
		if reason := chainReason(f, byID); reason != "" {
			unverified = append(unverified, Unverified{Folder: f.Dir, Reason: reason})
			continue
		}
		kept = append(kept, f)
	}
	folders = kept
	sort.SliceStable(folders, func(i, j int) bool {
		return folders[i].Result.Entries[0].Time < folders[j].Result.Entries[0].Time
	})
	return folders, unverified, nil
}

// chainReason is why f's link to the previous ceremony it names fails, or "" if it holds or
// that ceremony is not in the tree.
func chainReason(f transcript.Folder, byID map[string][]transcript.Folder) string {
	p := f.Result.Opening.Previous
	if p == nil || len(byID[p.CeremonyID]) == 0 {
		return ""
	}
	var last error
	for _, prev := range byID[p.CeremonyID] {
		if prev.Result.Opening.CeremonyID == f.Result.Opening.CeremonyID {
			continue
		}
		if last = transcript.CheckChains([]transcript.Folder{prev, f}); last == nil {
			return ""
		}
	}
	if last == nil {
		return ""
	}
	return last.Error()
}

// InventoryTree is the key inventory of every ceremony under dir (see ReadTree), as of now.
func InventoryTree(dir string, now time.Time) (*KeyInventory, error) {
	folders, unverified, err := ReadTree(dir, transcript.Options{})
	if err != nil {
		return nil, err
	}
	inv := InventoryAt(folders, now)
	inv.Unverified = unverified
	return inv, nil
}

// WriteJSON writes the inventory as one JSON document, for GRC tools.
func (inv *KeyInventory) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(inv)
}

// CSVHeader is the first row of WriteCSV: one row per use of a key, with the key's identity,
// state and copy it concerns.
var CSVHeader = []string{"identity", "label", "kind", "state", "state_since", "state_set_by", "state_reason",
	"created", "origin", "cryptoperiod_end", "overdue", "parent", "wrapped_by", "copies", "time", "ceremony", "token", "what"}

// WriteCSV writes the inventory as CSV (RFC 4180), one row per use of a key in time order, a
// key with no use in one row. A value a spreadsheet would take for a formula (=, +, -, @ at
// its start) is prefixed with an apostrophe. Unverified ceremonies are rows with the
// identity "UNVERIFIED", the folder as ceremony and the reason as what.
func (inv *KeyInventory) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	for _, k := range inv.Keys {
		var copies []string
		for _, c := range k.Copies {
			copies = append(copies, c.Token+":"+c.State)
		}
		head := []string{k.Identity, k.Label, k.Kind, k.State, k.Since, k.SetBy, k.Reason, k.Created, k.Origin,
			k.CryptoEnd, strconv.FormatBool(k.Overdue), k.Parent, strings.Join(k.WrappedBy, "; "), strings.Join(copies, "; ")}
		events := k.Events
		if len(events) == 0 {
			events = []KeyEvent{{}}
		}
		for _, e := range events {
			row := append(append([]string{}, head...), e.Time, e.Ceremony, e.Token, e.What)
			cw.Write(cellsSafe(row))
		}
	}
	for _, row := range inv.tokenRows() {
		cw.Write(row)
	}
	for _, u := range inv.Unverified {
		row := make([]string, len(CSVHeader))
		row[0], row[15], row[17] = "UNVERIFIED", u.Folder, u.Reason
		cw.Write(cellsSafe(row))
	}
	cw.Flush()
	return cw.Error()
}

func cellsSafe(row []string) []string {
	for i, v := range row {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			row[i] = "'" + v
		}
	}
	return row
}
