package transcript

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Folder is one verified ceremony folder.
type Folder struct {
	Dir    string
	Result *Result
}

// VerifyTree verifies dir if it is a ceremony folder, or else every ceremony folder directly
// inside it (as `keyrite rehearse --quorum` writes them). Ceremonies that name a previous one
// must quote its seal exactly when that ceremony is in the tree too, so a chain of ceremonies
// on one key hierarchy is checked link by link.
func VerifyTree(dir string, opt Options) ([]Folder, error) {
	if _, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		res, err := Verify(dir, opt)
		if err != nil {
			return nil, err
		}
		return []Folder{{dir, res}}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var out []Folder
	for _, e := range entries {
		sub := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(sub, FileName)); !e.IsDir() || err != nil {
			continue
		}
		res, err := Verify(sub, opt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out = append(out, Folder{sub, res})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no %s and no ceremony folders", dir, FileName)
	}
	if err := CheckChains(out); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Result.Entries[0].Time < out[j].Result.Entries[0].Time })
	return out, nil
}

// CheckChains checks the links between verified ceremonies: a ceremony that names a previous
// one in the set must quote its seal exactly, and chain to the same root unless the previous
// ceremony recorded a rotation to its root.
func CheckChains(folders []Folder) error {
	byID := map[string]*Result{}
	for _, f := range folders {
		byID[f.Result.Opening.CeremonyID] = f.Result
	}
	for _, f := range folders {
		p := f.Result.Opening.Previous
		if p == nil {
			continue
		}
		prev, ok := byID[p.CeremonyID]
		if ok && prev.Seal.Text != p.Checkpoint {
			return fmt.Errorf("%s: it continues ceremony %s, but quotes a seal that differs from that ceremony's seal", filepath.Base(f.Dir), p.CeremonyID)
		}
		if ok && prev.RootSPKI != f.Result.RootSPKI && !rotatedTo(prev, f.Result.RootSPKI.Hex()) {
			return fmt.Errorf("%s: its signer chains to another root than ceremony %s, which recorded no rotation to it", filepath.Base(f.Dir), p.CeremonyID)
		}
	}
	return nil
}

// SummaryTree describes a verified tree.
func SummaryTree(folders []Folder) string {
	if len(folders) == 1 {
		return Summary(folders[0].Result)
	}
	var b strings.Builder
	for i, f := range folders {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "== %s ==\n", filepath.Base(f.Dir))
		b.WriteString(Summary(f.Result))
		if p := f.Result.Opening.Previous; p != nil {
			fmt.Fprintf(&b, "Continues ceremony %s, whose seal it quotes.\n", p.CeremonyID)
		}
	}
	return b.String()
}

// rotatedTo reports whether a sealed ceremony recorded a rotation from its own root to the
// root with SPKI SHA-256 newRoot.
func rotatedTo(res *Result, newRoot string) bool {
	for _, e := range res.Entries {
		var r Rotation
		if e.Event == EventRootRotated && e.DecodeData(&r) == nil && r.NewRootSPKI == newRoot && r.OldRootSPKI == res.RootSPKI.Hex() {
			return true
		}
	}
	return false
}
