package base

import (
	"errors"
	"io"
	"os"

	"github.com/keyrite/keyrite/evidence"
)

// ErrNoRenderer is Verify's answer to --render without a renderer: the front binary then hands
// the command to the full command line, which has one.
var ErrNoRenderer = errors.New("--render needs the report renderer, which this binary does not link")

// Verify is `keyrite verify DIR|BUNDLE|EVIDENCE-ROOT [flags]`: it checks the evidence and says
// what it found on stdout, or what is wrong. renderer renders a report again for --render; nil
// in a binary without one (ErrNoRenderer before anything is read or printed).
func Verify(args []string, stdout, stderr io.Writer, renderer evidence.Renderer) error {
	fs := NewFlagSet("verify", stderr)
	root := fs.String("root", "", "SHA-256 of the root's public key (SPKI) the transcript must chain to, from the paper report")
	var witnesses List
	fs.Var(&witnesses, "witness", "an evidence root's newest checkpoint must be cosigned by this witness (its .pub file); repeatable")
	against := fs.String("against", "", "another copy of the evidence root (the archive's) to check against this one")
	tsaCA := fs.String("tsa-ca", "", "a bundle's timestamp (BUNDLE.tsr) must come from a TSA certified by this CA (PEM)")
	render := fs.Bool("render", false, "also render each report again from its transcript and compare it byte for byte, where this Keyrite's renderer wrote it (slower; the signed manifest's hash is always checked)")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return UsageError{"usage: keyrite verify DIR|BUNDLE|EVIDENCE-ROOT [--root SPKI-SHA256] [--witness FILE]... [--against COPY]"}
	}
	opt := evidence.Options{Root: *root, Witnesses: witnesses, Against: *against}
	if *render {
		if renderer == nil {
			return ErrNoRenderer
		}
		opt.Renderer = renderer
	}
	if err := evidence.VerifyPathExplained(stdout, pos[0], opt); err != nil {
		return err
	}
	if fi, err := os.Stat(pos[0]); err == nil && fi.Mode().IsRegular() {
		return VerifyTimestamp(stdout, pos[0], *tsaCA)
	}
	return nil
}
