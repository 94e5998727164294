package evidence

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/ledger"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// ParseRoot reads a root fingerprint (the SHA-256 of its SubjectPublicKeyInfo) in every form
// Keyrite prints it: grouped ("634C 83A1 …"), plain hex, with or without colons, in any case.
// It returns lowercase hex, or "" for "".
func ParseRoot(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == ':' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0':
		case r >= '0' && r <= '9' || r >= 'a' && r <= 'f':
			b.WriteRune(r)
		case r >= 'A' && r <= 'F':
			b.WriteRune(unicode.ToLower(r))
		default:
			return "", fmt.Errorf("--root %s: %q is not a hex digit; give the root's SPKI SHA-256 as printed on the paper report (64 hex digits, spaces and colons allowed)", Printable(s), r)
		}
	}
	if h := b.String(); len(h) != 64 && len(h) != 0 {
		return "", fmt.Errorf("--root %s: %d hex digits, a SHA-256 has 64; copy the whole fingerprint from the paper report", Printable(s), len(h))
	} else if h == "" && strings.TrimSpace(s) != "" {
		return "", fmt.Errorf("--root %q holds no hex digits", s)
	} else {
		return h, nil
	}
}

// VerifyPath verifies what an auditor was handed and writes a summary to out: a regular file
// is an evidence bundle, a folder with a ceremony log is an evidence root (verified as a whole
// against its log), any other folder is a ceremony or a folder of chained ceremonies. Everything
// printed from the evidence is escaped (Printable).
func VerifyPath(out io.Writer, path string, opt Options) error {
	root, err := ParseRoot(opt.Root)
	if err != nil {
		return err
	}
	opt.Root = root
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	var summary string
	switch {
	case fi.IsDir() && ledger.IsRoot(path):
		return verifyRoot(out, path, opt)
	case opt.Against != "" || len(opt.Witnesses) > 0:
		return fmt.Errorf("%s is not an evidence root (it has no ceremony log): --witness and --against apply to evidence roots", Printable(path))
	case fi.IsDir():
		folders, err := VerifyTree(path, opt)
		if err != nil {
			return fmt.Errorf("verify %s: %w", Printable(path), err)
		}
		summary = transcript.SummaryTree(folders.Folders()) + folders.reports()
		summary += trustLine(folders[len(folders)-1].Result.Root.Subject.CommonName, folders[len(folders)-1].Result.RootSPKI, root)
	case fi.Mode().IsRegular():
		res, err := verifyBundlePath(path, opt)
		if err != nil {
			return fmt.Errorf("verify %s: %w", Printable(path), err)
		}
		withheld := "none"
		if len(res.Withheld) > 0 {
			withheld = strings.Join(res.Withheld, ", ")
		}
		summary = fmt.Sprintf("Bundle verified: manifest signed by the transcript signer; %d files, %d bytes, all as listed; withheld: %s\n", res.Files, res.Bytes, withheld)
		summary += transcript.Summary(res.Ceremony) + "Report: " + res.Report + "\n"
		if res.Log != "" {
			summary += "Ceremony log: " + res.Log + "\n"
		}
		summary += trustLine(res.Ceremony.Root.Subject.CommonName, res.Ceremony.RootSPKI, root)
	default:
		return fmt.Errorf("verify %s: it is a %s; give the ceremony folder or the bundle file itself (only regular files and folders are read, and links are not followed)", Printable(path), transcript.FileKind(fi.Mode()))
	}
	_, err = io.WriteString(out, Printable(summary))
	return err
}

// trustLine says which root the verification trusted and how.
func trustLine(name string, fp fingerprint.SPKI, given string) string {
	if given != "" {
		return fmt.Sprintf("Trusted root: %q, SPKI SHA-256 %s — equal to the fingerprint given with --root.\n", name, fp.Grouped())
	}
	return fmt.Sprintf("Trusted root: %q, SPKI SHA-256 %s, as named by the evidence itself.\n"+
		"This proves the evidence is intact and consistent, not who made it: compare this fingerprint with the paper record of the ceremony, or verify again with --root.\n", name, fp.Grouped())
}

func verifyBundlePath(path string, opt Options) (*BundleResult, error) {
	f, err := transcript.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	work, err := os.MkdirTemp("", "keyrite-bundle-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	return VerifyBundleFile(f, work, opt)
}

// Printable escapes what a terminal would interpret: control characters (ANSI escape
// sequences), bidirectional overrides and every other non-printing rune, as Go escapes
// (\x1b, \u202e). Newlines and tabs stay.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if r != '\n' && r != '\t' && !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == '\n' || r == '\t' || unicode.IsPrint(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRuneToASCII(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}
