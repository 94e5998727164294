package cli

import (
	"crypto"
	"fmt"
	"github.com/keyrite/keyrite/cli/base"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/ledger"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/evidence"
	"github.com/keyrite/keyrite/internal/atomicfile"
)

// logCommand is `keyrite log init ROOT NAME` and `keyrite log show ROOT`.
func logCommand(args []string, env Env) error {
	const use = "usage: keyrite log init ROOT NAME | keyrite log show ROOT"
	if len(args) == 0 {
		return usageError{use}
	}
	switch args[0] {
	case "init":
		if len(args) != 3 {
			return usageError{use}
		}
		if err := ledger.Init(args[1], args[2]); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s is an evidence root: ceremonies whose folders are made directly inside it are logged in %s.\n", args[1], filepath.Join(args[1], ledger.Dir))
		return nil
	case "show":
		if len(args) != 2 {
			return usageError{use}
		}
		l, err := ledger.Open(args[1])
		if err != nil {
			return err
		}
		st := l.State()
		fmt.Fprintf(env.Stdout, "Ceremony log %s: %d entries, root hash %s\n", st.Origin, st.Size, st.Root)
		for i := int64(0); i < l.Size(); i++ {
			e, err := ledger.ParseEntry(l.Entry(i))
			if err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			switch e.Kind {
			case ledger.KindCeremony:
				fmt.Fprintf(env.Stdout, "%4d  ceremony %s in %s\n", i, Escape(e.Ceremony), Escape(e.Folder))
			default:
				fmt.Fprintf(env.Stdout, "%4d  %d attached file(s) for ceremony %s\n", i, len(e.Files), Escape(e.Ceremony))
			}
		}
		return nil
	}
	return usageError{use}
}

// cosign is `keyrite cosign --key FILE [--state FILE] [--root SPKI] ROOT` (a witness cosigns
// the newest checkpoint) and `keyrite cosign --generate NAME --out PREFIX` (a witness's keys).
func cosign(args []string, env Env) error {
	fs := newFlagSet("cosign", env)
	key := fs.String("key", "", "the witness's private key file (from --generate)")
	state := fs.String("state", "", "the witness's own record of the last checkpoint it cosigned (kept by the witness, outside the evidence)")
	root := fs.String("root", "", "SHA-256 of the root's public key (SPKI) every ceremony must chain to, from the paper report")
	generate := fs.String("generate", "", "make a new witness key pair with this name (e.g. auditor.example.com)")
	out := fs.String("out", "", "with --generate: write PREFIX.key (private, mode 0600) and PREFIX.pub")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *generate != "" {
		if *out == "" || len(pos) != 0 {
			return usageError{"usage: keyrite cosign --generate NAME --out PREFIX"}
		}
		skey, vkey, err := ledger.GenerateWitnessKey(*generate)
		if err != nil {
			return err
		}
		if err := atomicfile.Create(*out+".key", []byte(skey+"\n"), 0o600); err != nil {
			return err
		}
		if err := atomicfile.Create(*out+".pub", []byte(vkey+"\n"), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Witness key %s: private key %s.key (keep it with the witness), verifier key %s.pub (give it to whoever verifies with --witness).\n", Escape(*generate), *out, *out)
		return nil
	}
	if *key == "" || len(pos) != 1 {
		return usageError{"usage: keyrite cosign --key FILE [--state FILE] [--root SPKI-SHA256] ROOT"}
	}
	skey, err := os.ReadFile(*key)
	if err != nil {
		return err
	}
	defer clear(skey)
	check := func(dir string) error {
		_, err := evidence.VerifyRoot(dir, evidence.Options{Root: *root}, nil)
		return err
	}
	n, err := ledger.Cosign(pos[0], check, string(skey), *state)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Cosigned the checkpoint of %d entries: %s\n", n, filepath.Join(pos[0], ledger.Dir, "cosignatures", fmt.Sprint(n)))
	return nil
}

// attach is `keyrite attach ROOT CEREMONY-DIR FILE... [--copy] [HSM flags]`: evidence recorded
// outside Keyrite (camera videos, the HSM's audit log) is logged by hash after the seal, in an
// entry that names its ceremony, signed by that ceremony's transcript signer.
func attach(args []string, env Env) error {
	fs := newFlagSet("attach", env)
	var h hsmFlags
	h.register(fs)
	keep := fs.Bool("copy", false, "also copy the files into ROOT/attachments/<ceremony folder>/, where verify checks them")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 3 {
		return usageError{"usage: keyrite attach ROOT CEREMONY-DIR FILE... [--copy] [HSM flags]"}
	}
	root, dir := pos[0], pos[1]
	if ceremony.EvidenceRoot(dir) != filepath.Clean(root) {
		return fmt.Errorf("%s is not a ceremony folder directly inside the evidence root %s", dir, root)
	}
	e := ledger.Entry{Kind: ledger.KindAttachment}
	for _, name := range pos[2:] {
		f, err := ledger.HashFile(name)
		if err != nil {
			return err
		}
		if strings.ContainsAny(f.Name, "\n\r") || !printableOnly(f.Name) {
			return fmt.Errorf("attachment %s: its name has characters that cannot be printed; rename it", Escape(f.Name))
		}
		e.Files = append(e.Files, f)
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return err
	}
	e.Folder = filepath.ToSlash(rel)
	return withCeremonySigner(dir, h, env, func(res *transcript.Result, k crypto.Signer) error {
		e.Ceremony = res.Opening.CeremonyID
		s, err := ledger.NewSigner(res.Seal.SignerName, k)
		if err != nil {
			return err
		}
		if *keep {
			for i, name := range pos[2:] {
				if err := copyAttachment(name, filepath.Join(root, ledger.AttachmentsDir, rel, e.Files[i].Name)); err != nil {
					return err
				}
			}
		}
		i, err := ledger.Append(root, e, s)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Logged %d file(s) for ceremony %s as entry %d of the ceremony log.\n", len(e.Files), Escape(e.Ceremony), i)
		return nil
	})
}

func printableOnly(s string) bool { return Escape(s) == s }

func copyAttachment(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	return atomicfile.Write(to, 0o644, false, func(w io.Writer) error { _, err := io.Copy(w, src); return err })
}

// withCeremonySigner verifies the sealed ceremony in dir, opens its token (the rehearsal token
// or the HSM flags'), finds its transcript signer and runs f with it.
func withCeremonySigner(dir string, h hsmFlags, env Env, f func(*transcript.Result, crypto.Signer) error) error {
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		return err
	}
	token, err := ceremony.TokenOf(dir)
	if err != nil {
		return err
	}
	if h.module == "" && h.uri == "" && res.Opening.RehearsalToken {
		h.rehearsal = true
	}
	if h.token == "" && h.serial == "" {
		h.token, h.serial = token.Label, token.Serial
	}
	b, done, err := h.binding(env.ui(false).asker(env.ctx()))
	if err != nil {
		return err
	}
	defer done()
	tok, err := b.Open()
	if err != nil {
		return err
	}
	defer tok.Close()
	k, err := ceremony.TranscriptSigner(tok, dir, res)
	if err != nil {
		return err
	}
	return f(res, k)
}

// listFlag is a repeatable string flag.
type listFlag = base.List
