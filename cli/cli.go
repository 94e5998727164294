// Package cli is Keyrite's command line: the subcommands that run, resume and verify
// ceremonies without the GUI. It drives the same ceremony engine as the GUI, through the
// terminal implementation of ceremony.UI. Output follows one rule: results on stdout, and
// "keyrite: error: ..." with a "keyrite: hint: ..." on stderr.
package cli

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
)

// Env is what a command needs from its process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	ExampleScript  []byte // the example root ceremony, run by `keyrite rehearse`
	GUI            func() error
}

const usage = `Keyrite runs HSM key ceremonies and proves them afterwards.

Usage:
  keyrite                          open the desktop app
  keyrite rehearse --out DIR       run the example root ceremony on the rehearsal token
  keyrite run SCRIPT --out DIR     run a ceremony script (HSM flags below)
  keyrite resume DIR               continue an interrupted ceremony (HSM flags below)
  keyrite verify DIR               check a ceremony's transcript, seal and outputs
  keyrite tokens                   list the tokens a module offers (HSM flags below)

HSM flags:
  --hsm URI          RFC 7512 URI, e.g. "pkcs11:token=Root?module-path=/usr/lib/x.so&pin-source=file:/run/pin"
  --module PATH      PKCS#11 module (default: the rehearsal module with --rehearsal)
  --token LABEL      token label;  --serial SERIAL  token serial
  --pin-file FILE    read the user PIN from FILE (mode 600); --pin-fd N  from file descriptor N
                     (without either, the PIN is asked for at a masked prompt)
  --rehearsal        use Keyrite's own SoftHSM2 rehearsal store (--rehearsal-dir DIR)
`

// Main runs one command and returns the exit code.
func Main(args []string, env Env) int {
	if len(args) == 0 {
		if env.GUI == nil {
			fmt.Fprint(env.Stderr, usage)
			return 2
		}
		return report(env, env.GUI())
	}
	var err error
	switch args[0] {
	case "rehearse":
		err = rehearse(args[1:], env)
	case "run":
		err = run(args[1:], env)
	case "resume":
		err = resume(args[1:], env)
	case "verify":
		err = verify(args[1:], env)
	case "tokens":
		err = tokens(args[1:], env)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return 0
	default:
		fmt.Fprint(env.Stderr, usage)
		return report(env, fmt.Errorf("unknown command %q", args[0]))
	}
	return report(env, err)
}

// usageError is a mistake in the command line itself.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func report(env Env, err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	fmt.Fprintf(env.Stderr, "keyrite: error: %s\n", strings.ReplaceAll(err.Error(), "\n", "\nkeyrite:   "))
	if h := hint(err); h != "" {
		fmt.Fprintf(env.Stderr, "keyrite: hint: %s\n", h)
	}
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func hint(err error) string {
	var re *transcript.RecordError
	var se ceremony.ScriptError
	switch {
	case errors.As(err, &re):
		return "the transcript was changed after it was written, or the write was interrupted; compare with the sealed copy in the evidence bundle"
	case errors.As(err, &se):
		return "fix the lines named above; nothing was sent to the HSM"
	case hsm.Is(err, 0xA0): // CKR_PIN_INCORRECT
		return "the PIN was not accepted; retry with the right PIN before the token locks"
	}
	return ""
}

// hsmFlags are the flags that bind a ceremony to an HSM.
type hsmFlags struct {
	uri, module, token, serial, pinFile string
	pinFD                               int
	rehearsal                           bool
	rehearsalDir                        string
}

func (h *hsmFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.uri, "hsm", "", "RFC 7512 PKCS#11 URI")
	fs.StringVar(&h.module, "module", "", "PKCS#11 module path")
	fs.StringVar(&h.token, "token", "", "token label")
	fs.StringVar(&h.serial, "serial", "", "token serial")
	fs.StringVar(&h.pinFile, "pin-file", "", "file holding the user PIN")
	fs.IntVar(&h.pinFD, "pin-fd", -1, "file descriptor to read the user PIN from")
	fs.BoolVar(&h.rehearsal, "rehearsal", false, "use the rehearsal token store")
	fs.StringVar(&h.rehearsalDir, "rehearsal-dir", hsm.DefaultRehearsalDir(), "rehearsal token store")
}

// binding opens the module and returns how to reach the token. ask prompts for a PIN.
func (h *hsmFlags) binding(ask func(string) ([]byte, error)) (ceremony.Binding, func(), error) {
	var b ceremony.Binding
	sel := hsm.Selector{Label: h.token, Serial: h.serial}
	module, pinSource := h.module, ""
	if h.uri != "" {
		u, err := hsm.ParseURI(h.uri)
		if err != nil {
			return b, nil, usageError{err.Error()}
		}
		if module == "" {
			module = u.ModulePath
		}
		if sel.Label == "" && sel.Serial == "" {
			sel = u.Selector()
		}
		pinSource = u.PinSource
	}
	var store *hsm.Rehearsal
	if h.rehearsal {
		var err error
		if store, err = hsm.PrepareRehearsal(h.rehearsalDir); err != nil {
			return b, nil, err
		}
		if module == "" {
			module = hsm.SoftHSMModule
		}
		if sel.Label == "" && sel.Serial == "" {
			sel.Label = rehearsalToken
		}
	}
	if module == "" {
		return b, nil, usageError{"no HSM given: use --module PATH with --token LABEL, --hsm pkcs11:..., or --rehearsal"}
	}
	m, err := hsm.Open(module)
	if err != nil {
		return b, nil, err
	}
	b = ceremony.Binding{Module: m, Token: sel, Rehearsal: h.rehearsal}
	switch {
	case h.pinFile != "":
		b.PIN = func() ([]byte, error) { return hsm.ReadPINFile(h.pinFile) }
	case h.pinFD >= 0:
		b.PIN = func() ([]byte, error) { return hsm.ReadPINFD(h.pinFD) }
	case pinSource != "":
		b.PIN = func() ([]byte, error) { return hsm.ReadPINFile(strings.TrimPrefix(pinSource, "file:")) }
	case store != nil:
		b.PIN = func() ([]byte, error) { return store.PIN(sel.Label, hsm.User) }
	default:
		b.PIN = func() ([]byte, error) { return ask(fmt.Sprintf("User PIN for token %s", sel)) }
	}
	return b, func() { m.Close() }, nil
}

const rehearsalToken = "keyrite-rehearsal"

func newFlagSet(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// parse parses flags that may come before or after the positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (env Env) ui(auto bool) *terminalUI {
	return &terminalUI{in: bufio.NewReader(env.Stdin), out: env.Stdout, auto: auto}
}

func run(args []string, env Env) error {
	fs := newFlagSet("run", env)
	var h hsmFlags
	h.register(fs)
	out := fs.String("out", "", "new folder for the ceremony's outputs")
	yes := fs.Bool("yes", false, "answer every confirmation yes (rehearsal tokens only)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		return usageError{"usage: keyrite run SCRIPT --out DIR [HSM flags]"}
	}
	if *yes && !h.rehearsal {
		return usageError{"--yes is only for rehearsal tokens: on a real HSM every confirmation is a person's"}
	}
	script, err := ceremony.LoadScript(pos[0])
	if err != nil {
		return err
	}
	ui := env.ui(*yes)
	b, done, err := h.binding(ui.AskSecret)
	if err != nil {
		return err
	}
	defer done()
	if err := ceremony.Start(script, *out, b, ui, nil); err != nil {
		return err
	}
	return printVerified(env, *out)
}

func rehearse(args []string, env Env) error {
	fs := newFlagSet("rehearse", env)
	dir := fs.String("rehearsal-dir", hsm.DefaultRehearsalDir(), "rehearsal token store")
	out := fs.String("out", "", "new folder for the ceremony's outputs")
	scriptPath := fs.String("script", "", "script to rehearse (default: the example root ceremony)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError{"usage: keyrite rehearse --out DIR [--script FILE]"}
	}
	var script *ceremony.Script
	var err error
	if *scriptPath != "" {
		script, err = ceremony.LoadScript(*scriptPath)
	} else {
		script, err = ceremony.ParseScript("root-ceremony.yaml", env.ExampleScript)
	}
	if err != nil {
		return err
	}
	store, err := hsm.PrepareRehearsal(*dir)
	if err != nil {
		return err
	}
	m, err := hsm.Open(hsm.SoftHSMModule)
	if err != nil {
		return fmt.Errorf("%w (install the rehearsal HSM: apt-get install softhsm2)", err)
	}
	defer m.Close()
	label, err := freeRehearsalToken(m, store, script)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Rehearsal token %q in %s\n", label, store.Dir)
	b := ceremony.Binding{Module: m, Token: hsm.Selector{Label: label}, Rehearsal: true,
		PIN: func() ([]byte, error) { return store.PIN(label, hsm.User) }}
	if err := ceremony.Start(script, *out, b, env.ui(true), nil); err != nil {
		return err
	}
	return printVerified(env, *out)
}

// freeRehearsalToken re-uses the rehearsal token if it holds none of the script's labels, or
// makes the next one ("keyrite-rehearsal-2", ...), so rehearsals can be repeated.
func freeRehearsalToken(m *hsm.Module, store *hsm.Rehearsal, s *ceremony.Script) (string, error) {
	for i := 1; i < 100; i++ {
		label := rehearsalToken
		if i > 1 {
			label = fmt.Sprintf("%s-%d", rehearsalToken, i)
		}
		if _, err := store.EnsureToken(m, label); err != nil {
			return "", err
		}
		tok, err := m.OpenToken(hsm.Selector{Label: label})
		if err != nil {
			return "", err
		}
		pin, err := store.PIN(label, hsm.User)
		if err == nil {
			err = tok.Login(hsm.User, pin)
		}
		taken := false
		for _, l := range []string{s.Key.Label, s.Signer.Label} {
			if err == nil {
				var has bool
				has, err = tok.HasLabel(l)
				taken = taken || has
			}
		}
		tok.Close()
		if err != nil {
			return "", err
		}
		if !taken {
			return label, nil
		}
	}
	return "", errors.New("the rehearsal store has 99 used tokens; delete it (--rehearsal-dir) to start afresh")
}

func resume(args []string, env Env) error {
	fs := newFlagSet("resume", env)
	var h hsmFlags
	h.register(fs)
	yes := fs.Bool("yes", false, "answer every confirmation yes (rehearsal tokens only)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: keyrite resume DIR [HSM flags]"}
	}
	if *yes && !h.rehearsal {
		return usageError{"--yes is only for rehearsal tokens"}
	}
	ui := env.ui(*yes)
	b, done, err := h.binding(ui.AskSecret)
	if err != nil {
		return err
	}
	defer done()
	if err := ceremony.Resume(pos[0], b, ui, nil); err != nil {
		return err
	}
	return printVerified(env, pos[0])
}

func printVerified(env Env, dir string) error {
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		return fmt.Errorf("the ceremony finished but its evidence does not verify: %w", err)
	}
	fmt.Fprintf(env.Stdout, "\n%s", transcript.Summary(res))
	return nil
}

func verify(args []string, env Env) error {
	fs := newFlagSet("verify", env)
	root := fs.String("root", "", "SHA-256 of the root's public key (SPKI) the transcript must chain to, from the paper report")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: keyrite verify DIR [--root SPKI-SHA256]"}
	}
	return VerifyCommand(env.Stdout, pos[0], *root)
}

// VerifyCommand is `keyrite verify`; cmd/keyrite-verify runs it without cgo.
func VerifyCommand(out io.Writer, dir, root string) error {
	res, err := transcript.Verify(dir, transcript.Options{RootSPKI: root})
	if err != nil {
		return fmt.Errorf("verify %s: %w", dir, err)
	}
	fmt.Fprint(out, transcript.Summary(res))
	return nil
}

func tokens(args []string, env Env) error {
	fs := newFlagSet("tokens", env)
	var h hsmFlags
	h.register(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if h.rehearsal {
		if _, err := hsm.PrepareRehearsal(h.rehearsalDir); err != nil {
			return err
		}
		if h.module == "" {
			h.module = hsm.SoftHSMModule
		}
	}
	if h.uri != "" && h.module == "" {
		u, err := hsm.ParseURI(h.uri)
		if err != nil {
			return usageError{err.Error()}
		}
		h.module = u.ModulePath
	}
	if h.module == "" {
		return usageError{"usage: keyrite tokens --module PATH | --hsm URI | --rehearsal"}
	}
	m, err := hsm.Open(h.module)
	if err != nil {
		return err
	}
	defer m.Close()
	ts, err := m.Tokens()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Module %s (%s %s), SHA-256 %x\n", m.Path, m.Info.Manufacturer, m.Info.Version, m.SHA256)
	for _, t := range ts {
		if t.Initialized {
			fmt.Fprintf(env.Stdout, "  %s\n", t)
		} else {
			fmt.Fprintf(env.Stdout, "  (empty slot, token not initialised)\n")
		}
	}
	return nil
}
