package base

import (
	"fmt"
	"io"
	"time"

	"github.com/keyrite/keyrite/ceremony/ledger"
	"github.com/keyrite/keyrite/evidence"
)

// Inventory is `keyrite inventory [--json|--csv] DIR`: every key, copy, state and use in a
// folder tree of ceremonies (an evidence root verified first).
func Inventory(args []string, stdout, stderr io.Writer) error {
	fs := NewFlagSet("inventory", stderr)
	asJSON := fs.Bool("json", false, "print the inventory as JSON (for GRC tools)")
	asCSV := fs.Bool("csv", false, "print the inventory as CSV, one row per use of a key (for GRC tools)")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || (*asJSON && *asCSV) {
		return UsageError{"usage: keyrite inventory [--json | --csv] DIR (a ceremony folder, or any folder tree of ceremony folders)"}
	}
	if ledger.IsRoot(pos[0]) {
		// An evidence root: its ceremony log proves no ceremony is missing from what is listed.
		if _, err := evidence.VerifyRoot(pos[0], evidence.Options{}, nil); err != nil {
			return fmt.Errorf("inventory %s: the evidence root must verify first: %w", pos[0], err)
		}
	}
	inv, err := evidence.InventoryTree(pos[0], time.Now())
	if err != nil {
		return fmt.Errorf("inventory %s: %w", pos[0], err)
	}
	switch {
	case *asJSON:
		return inv.WriteJSON(stdout)
	case *asCSV:
		return inv.WriteCSV(stdout)
	}
	fmt.Fprint(stdout, inv.String())
	return nil
}
