// Package cli is Keyrite's command line: the subcommands that run, resume and verify
// ceremonies without the GUI. It drives the same ceremony engine as the GUI, through the
// terminal implementation of ceremony.UI. Output follows one rule: results on stdout, and
// "keyrite: error: ..." with a "keyrite: hint: ..." on stderr.
package cli

import (
	"bufio"
	"context"
	"crypto"
	"path/filepath"
	"time"

	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/ledger"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/cli/base"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/reports"
	"golang.org/x/term"
)

// Env is what a command needs from its process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Examples are the example scripts, by name: "root", "root-quorum", "restore".
	Examples map[string][]byte
	// GUI opens the desktop app (keyrite without a command); nil: there is none, and the
	// usage is printed instead.
	GUI func() error
	// Context cancels a running ceremony (the process's interrupt signal); nil: never.
	Context context.Context
}

func (env Env) ctx() context.Context {
	if env.Context == nil {
		return context.Background()
	}
	return env.Context
}

// options completes a ceremony's options with what the CLI renders: share sheets, and the
// report and evidence bundle after the seal.
func (env Env) options(opt ceremony.Options) ceremony.Options {
	reports.Warm() // the report's fonts are made ready while the ceremony runs
	opt.ShareSheet = shareSheet
	opt.AfterSeal = afterSeal(env)
	return opt
}

// shareSheet renders a share sheet as a PDF.
func shareSheet(s ceremony.ShareSheet) ([]byte, error) {
	return reports.RenderShareSheet(reports.ShareSheet(s))
}

const usageText = `Keyrite runs HSM key ceremonies and proves them afterwards.

Usage:
  keyrite                          open the desktop app
  keyrite rehearse --out DIR       run the example root ceremony on the rehearsal token
  keyrite rehearse --quorum 3-of-5 --out DIR
                                   ... with a quorum backup, restored into a second token
  keyrite rehearse --transfer --out DIR
                                   ... moved to a second token: import job, export, import
  keyrite rehearse --drill --out DIR
                                   ... backed up 3-of-5, then a quorum health drill
  keyrite run SCRIPT --out DIR     run a ceremony script (HSM flags and inputs below)
  keyrite resume DIR               continue an interrupted ceremony (same flags as it started),
                                   or make a sealed one's missing or torn report and bundle
  keyrite inventory [--json|--csv] DIR  every key, copy, state and use in a folder tree of ceremonies
  keyrite verify DIR|BUNDLE        check a ceremony's transcript, seal and outputs, or a bundle
  keyrite report DIR [--out FILE|-]
                                   render the report from the sealed transcript again
  keyrite bundle DIR [--out FILE]  write the signed evidence bundle (HSM flags below)
  keyrite tokens                   list the tokens a module offers (HSM flags below)
  keyrite tokens --capabilities    what the selected token offers (mechanisms, OAEP hashes, trusted
                                   keys, key sizes) and which ceremonies it can run, and why not
  keyrite log init ROOT NAME       make ROOT an evidence root with a ceremony log
  keyrite log show ROOT            list the ceremony log's entries
  keyrite verify ROOT [--witness KEY.pub]... [--against COPY]
                                   check a whole evidence root: every ceremony, the log,
                                   the witnesses' cosignatures, another copy of it
  keyrite cosign --key KEY [--state FILE] ROOT
                                   a witness cosigns the log's newest checkpoint
                                   (--generate NAME --out PREFIX makes a witness key)
  keyrite attach ROOT DIR FILE... [--copy]
                                   log outside evidence (videos, HSM audit log) by hash
  keyrite timestamp BUNDLE --tsa URL [--tsa-ca FILE]
                                   add an RFC 3161 timestamp over a bundle's manifest

HSM flags:
  --hsm URI          RFC 7512 URI, e.g. "pkcs11:token=Root?module-path=/usr/lib/x.so&pin-source=file:/run/pin"
  --module PATH      PKCS#11 module (default: the rehearsal module with --rehearsal)
  --token LABEL      token label;  --serial SERIAL  token serial
  --pin-file FILE    read the user PIN from FILE (mode 600); --pin-fd N  from file descriptor N
                     (without either, the PIN is asked for at a masked prompt)
  --so-pin-file FILE, --so-pin-fd N   the Security Officer's PIN, likewise
  --rehearsal        use Keyrite's own SoftHSM2 rehearsal store (--rehearsal-dir DIR)

Ceremony types (the script's "type"; example scripts in testdata/TYPE-ceremony.yaml):
%s
Ceremony inputs (which types need them):
%s`

// inputHelp says what each run-time input flag gives, as the usage lists it.
var inputHelp = map[ceremony.Input]string{
	ceremony.InputPrevious:    "--previous DIR     the sealed ceremony this one continues",
	ceremony.InputSharesDir:   "--shares-printer Q where share sheets go: the CUPS printer Q (\"default\": lp's default),\n                     the PDF piped to lp and never saved; or --shares-dir DIR, a folder\n                     outside OUT (each custodian's removable medium, mounted there in turn,\n                     on another disk than OUT). Sheets never go into OUT.",
	ceremony.InputImportJob:   "--import-job DIR   export to another HSM: its sealed import-job ceremony",
	ceremony.InputWrappingKey: "--wrapping-key F   export to a cloud KMS: the provider's wrapping public key (PEM),\n                     with --issued-at TIME (RFC 3339) and, for Azure, --azure-kek-id ID",
	ceremony.InputTransfer:    "--transfer DIR     import: the sealed export ceremony",
	ceremony.InputTarget:      "--target-token L   the target token (same module; --target-pin-file FILE)",
	ceremony.InputCSR:         "--csr FILE         the intermediate CA's certificate request",
	ceremony.InputRevoked:     "--revoked FILE     revoked serials, one \"serial-hex [reason] [revoked-at]\" per line",
	ceremony.InputOutside:     "--outside FILE     the outside CA's certificate or certificate request (PEM)",
	ceremony.InputIssued:      "--issued FILE      certificates the root issued (PEM), besides those the --previous ceremony holds",
	ceremony.InputInitSlot:    "--init-slot N      the uninitialised slot to initialise (default: the only one)",
	ceremony.InputEvidence:    "--evidence DIR     the evidence tree that shows where every key's copies are\n                     (default: the folder holding --previous)",
}

// inputOrder is the order the usage lists the inputs in.
var inputOrder = []ceremony.Input{ceremony.InputPrevious, ceremony.InputSharesDir, ceremony.InputImportJob, ceremony.InputWrappingKey,
	ceremony.InputTransfer, ceremony.InputTarget, ceremony.InputCSR, ceremony.InputRevoked, ceremony.InputIssued, ceremony.InputOutside, ceremony.InputInitSlot, ceremony.InputEvidence}

// usage is the help text; its types and inputs come from the ceremony types' registry.
func usage() string {
	var types, inputs strings.Builder
	for _, t := range ceremony.Types() {
		fmt.Fprintf(&types, "  %-18s %s\n", t.Name, t.Title)
	}
	for _, in := range inputOrder {
		var who []string
		for _, t := range ceremony.Types() {
			if t.Needs(in) {
				who = append(who, t.Name)
			}
		}
		fmt.Fprintf(&inputs, "  %s\n                     (%s)\n", inputHelp[in], strings.Join(who, ", "))
	}
	return fmt.Sprintf(usageText, types.String(), inputs.String())
}

// Main runs one command and returns the exit code.
func Main(args []string, env Env) int {
	// Everything printed escapes what is not visible text, whatever its source (escape.go).
	stdout, stderr := base.NewEscaper(env.Stdout), base.NewEscaper(env.Stderr)
	defer stdout.Flush()
	defer stderr.Flush()
	env.Stdout, env.Stderr = stdout, stderr
	if len(args) == 0 {
		if env.GUI == nil {
			fmt.Fprint(env.Stderr, usage())
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
		err = base.Verify(args[1:], env.Stdout, env.Stderr, reports.ReportRenderer)
	case "tokens":
		err = tokens(args[1:], env)
	case "report":
		err = report_(args[1:], env)
	case "bundle":
		err = bundle(args[1:], env)
	case "inventory":
		err = base.Inventory(args[1:], env.Stdout, env.Stderr)
	case "log":
		err = logCommand(args[1:], env)
	case "cosign":
		err = cosign(args[1:], env)
	case "attach":
		err = attach(args[1:], env)
	case "timestamp":
		err = timestampCmd(args[1:], env)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage())
		return 0
	default:
		fmt.Fprint(env.Stderr, usage())
		return report(env, fmt.Errorf("unknown command %q", args[0]))
	}
	return report(env, err)
}

// usageError is a mistake in the command line itself (exit 2, as base.UsageError).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func report(env Env, err error) int {
	code := base.Report(env.Stderr, err, hint(err))
	if errors.As(err, new(usageError)) {
		return 2
	}
	return code
}

func hint(err error) string {
	if h := base.Hint(err); h != "" {
		return h
	}
	var se ceremony.ScriptError
	switch {
	case errors.As(err, &se):
		return "fix the lines named above; nothing was sent to the HSM"
	case errors.As(err, new(ceremony.PreflightError)):
		return "correct what the pre-flight names above, then run the same command again; nothing was written and the token was not changed"
	case errors.As(err, new(*ceremony.AbortedError)):
		return "the ceremony is closed as aborted and sealed: `keyrite verify DIR` shows what was done and which keys were destroyed or left on the token; correct the cause, then run a new ceremony into a new folder"
	case errors.Is(err, hsm.ErrPINIncorrect):
		return "the PIN was not accepted; run the same command again with the right PIN (the token locks the PIN after a few wrong ones)"
	case errors.Is(err, hsm.ErrPINLocked):
		return "the PIN is locked; the Security Officer must unblock it (set a new user PIN) before anyone goes on; an unfinished ceremony continues with `keyrite resume DIR`"
	case errors.Is(err, hsm.ErrTokenNotPresent):
		return "connect the token (check the slot, cable or network HSM) and list what the module sees with `keyrite tokens`; an unfinished ceremony continues with `keyrite resume DIR`"
	case errors.Is(err, hsm.ErrTokenInUse):
		return "only one ceremony may use a token at a time; wait for the other one to finish, or stop it, then run this again"
	case errors.Is(err, hsm.ErrLabelTaken):
		return "every key a ceremony creates needs a label that is free on the token; choose a new label in the script"
	case errors.Is(err, hsm.ErrMechanismNotSupported):
		return "this token cannot do what the script asks; choose another algorithm in the script, or an HSM that offers it (`keyrite tokens` lists the tokens)"
	}
	return ""
}

// hsmFlags are the flags that bind a ceremony to an HSM.
type hsmFlags struct {
	uri, module, token, serial, pinFile, soPinFile string
	pinFD, soPinFD                                 int
	rehearsal                                      bool
	rehearsalDir                                   string
}

func (h *hsmFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.uri, "hsm", "", "RFC 7512 PKCS#11 URI")
	fs.StringVar(&h.module, "module", "", "PKCS#11 module path")
	fs.StringVar(&h.token, "token", "", "token label")
	fs.StringVar(&h.serial, "serial", "", "token serial")
	fs.StringVar(&h.pinFile, "pin-file", "", "file holding the user PIN")
	fs.IntVar(&h.pinFD, "pin-fd", -1, "file descriptor to read the user PIN from")
	fs.StringVar(&h.soPinFile, "so-pin-file", "", "file holding the Security Officer's PIN")
	fs.IntVar(&h.soPinFD, "so-pin-fd", -1, "file descriptor to read the Security Officer's PIN from")
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
	}
	if module == "" {
		return b, nil, usageError{"no HSM given: use --module PATH with --token LABEL, --hsm pkcs11:..., or --rehearsal"}
	}
	m, err := hsm.Open(module)
	if err != nil {
		return b, nil, err
	}
	if store != nil && sel.Label == "" && sel.Serial == "" {
		// A rehearsal with no token named gets a fresh one, as `keyrite rehearse` does.
		ti, err := store.NewToken(m, rehearsalToken)
		if err != nil {
			m.Close()
			return b, nil, err
		}
		sel = hsm.Selector{Label: ti.Label, Serial: ti.Serial}
	}
	b = ceremony.Binding{Module: m, Token: sel, Rehearsal: h.rehearsal, Store: store,
		PIN: h.userPIN(sel, pinSource, store, ask), SOPIN: h.soPIN(sel, store, ask)}
	return b, func() { m.Close() }, nil
}

// userPIN is where the user PIN comes from: a file, a descriptor, the URI's pin-source, the
// rehearsal store, or a masked prompt.
func (h *hsmFlags) userPIN(sel hsm.Selector, pinSource string, store *hsm.Rehearsal, ask func(string) ([]byte, error)) func() ([]byte, error) {
	switch {
	case h.pinFile != "":
		return func() ([]byte, error) { return hsm.ReadPINFile(h.pinFile) }
	case h.pinFD >= 0:
		return func() ([]byte, error) { return hsm.ReadPINFD(h.pinFD) }
	case pinSource != "":
		return func() ([]byte, error) { return hsm.ReadPINFile(strings.TrimPrefix(pinSource, "file:")) }
	case store != nil:
		return func() ([]byte, error) { return store.PIN(sel.Label, hsm.User) }
	}
	return func() ([]byte, error) { return ask(fmt.Sprintf("User PIN for token %s", sel)) }
}

// soPIN is where the Security Officer's PIN comes from, likewise.
func (h *hsmFlags) soPIN(sel hsm.Selector, store *hsm.Rehearsal, ask func(string) ([]byte, error)) func() ([]byte, error) {
	switch {
	case h.soPinFile != "":
		return func() ([]byte, error) { return hsm.ReadPINFile(h.soPinFile) }
	case h.soPinFD >= 0:
		return func() ([]byte, error) { return hsm.ReadPINFD(h.soPinFD) }
	case store != nil:
		return func() ([]byte, error) { return store.PIN(sel.Label, hsm.SO) }
	}
	return func() ([]byte, error) { return ask(fmt.Sprintf("Security Officer PIN for token %s", sel)) }
}

const rehearsalToken = "keyrite-rehearsal"

func newFlagSet(name string, env Env) *flag.FlagSet { return base.NewFlagSet(name, env.Stderr) }

// parse parses flags that may come before or after the positional arguments.
var parse = base.Parse

// asker asks for a PIN at a masked prompt, for a binding.
func (t *terminalUI) asker(ctx context.Context) func(string) ([]byte, error) {
	return func(prompt string) ([]byte, error) { return t.AskSecret(ctx, prompt) }
}

func (env Env) ui(auto bool) *terminalUI {
	return &terminalUI{in: bufio.NewReader(env.Stdin), out: env.Stdout, auto: auto}
}

func run(args []string, env Env) error {
	lessGC()
	reports.Warm() // the fonts are read while the script is checked and the HSM opened
	fs := newFlagSet("run", env)
	var h hsmFlags
	h.register(fs)
	out := fs.String("out", "", "new folder for the ceremony's outputs")
	previous := fs.String("previous", "", "the sealed ceremony this one continues")
	var sh sheetFlags
	sh.register(fs)
	var x transferFlags
	x.register(fs)
	yes := fs.Bool("yes", false, "answer every confirmation yes (rehearsal tokens only)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		return usageError{"usage: keyrite run SCRIPT --out DIR [--previous DIR] [HSM flags]"}
	}
	if *yes && !h.rehearsal {
		return usageError{"--yes is only for rehearsal tokens: on a real HSM every confirmation is a person's"}
	}
	script, err := ceremony.LoadScript(pos[0])
	if err != nil {
		return err
	}
	ceremony.WarmLints(script) // while the HSM is opened
	if err := ceremony.CheckNewDir(*out); err != nil {
		return err // before a rehearsal token is made for it
	}
	if h.rehearsal && h.token == "" && h.serial == "" && h.uri == "" && *previous != "" && !script.Info().AnotherToken {
		// A rehearsal that continues an earlier one runs on its token; a restore goes to
		// another token, a fresh one.
		ti, err := ceremony.TokenOf(*previous)
		if err != nil {
			return err
		}
		h.token, h.serial = ti.Label, ti.Serial
	}
	ui := env.ui(*yes)
	b, done, err := h.binding(ui.asker(env.ctx()))
	if err != nil {
		return err
	}
	defer done()
	if h.rehearsal {
		fmt.Fprintf(env.Stdout, "Rehearsal token %q in %s\n", b.Token.Label, h.rehearsalDir)
	}
	opt := env.options(ceremony.Options{Previous: *previous, SharesDir: sh.dir, SharesPrinter: sh.printer})
	closeTarget, err := x.apply(&opt, &h, ui.asker(env.ctx()))
	if err != nil {
		return err
	}
	defer closeTarget()
	if err := ceremony.Start(env.ctx(), script, *out, b, ui, opt); err != nil {
		return err
	}
	return printVerified(env, *out)
}

func rehearse(args []string, env Env) error {
	lessGC()
	fs := newFlagSet("rehearse", env)
	dir := fs.String("rehearsal-dir", hsm.DefaultRehearsalDir(), "rehearsal token store")
	out := fs.String("out", "", "new folder for the ceremony's outputs")
	scriptPath := fs.String("script", "", "script to rehearse (default: the example root ceremony)")
	quorumFlag := fs.String("quorum", "", "M-of-N: back the root key up to N custodians and restore it with M on a second token")
	transferFlag := fs.Bool("transfer", false, "move the root key to a second token: import job there, export here, import there")
	drillFlag := fs.Bool("drill", false, "back the root key up 3-of-5, then drill the quorum: every custodian proves possession of their share")
	sheetsFlag := fs.String("shares-dir", "", "where a rehearsal's share sheets go (default OUT.share-sheets, beside OUT)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError{"usage: keyrite rehearse --out DIR [--quorum M-of-N] [--script FILE]"}
	}
	// Checked before any token is made or chosen: a refused run changes nothing.
	if err := ceremony.CheckNewDir(*out); err != nil {
		return err
	}
	sheets := *sheetsFlag
	if sheets == "" {
		sheets = filepath.Clean(*out) + ".share-sheets"
	}
	if err := ceremony.CheckNewDir(sheets); err != nil {
		return err
	}
	if err := ceremony.CheckSheetDestination(*out, ceremony.SheetDestination{Dir: sheets}, true); err != nil {
		return err
	}
	store, err := hsm.PrepareRehearsal(*dir)
	if err != nil {
		return err
	}
	// The module loads (the library, OpenSSL and the token store: a core's work) while the
	// script is read on the other; no token is made until both are done.
	module := openRehearsalModule()
	ui := env.ui(true)
	if *quorumFlag != "" || *transferFlag || *drillFlag {
		return rehearseMore(env, ui, module, store, *out, sheets, *quorumFlag, *transferFlag)
	}
	var script *ceremony.Script
	if *scriptPath != "" {
		script, err = ceremony.LoadScript(*scriptPath)
	} else {
		script, err = ceremony.ParseScript("root-ceremony.yaml", env.Examples["root"])
	}
	if err == nil {
		// While the token is made (SoftHSM mostly waits on the disk): the lints' registries
		// and throwaway keys, and the report's fonts. Not earlier: the module's loading and
		// the script's reading take both cores until then.
		ceremony.WarmLints(script)
		reports.Warm()
	}
	m, merr := module()
	if merr != nil {
		return merr
	}
	defer m.Close()
	if err != nil {
		return err
	}
	b, err := rehearsalBinding(env, m, store, rehearsalToken)
	if err != nil {
		return err
	}
	opt := ceremony.Options{}
	if script.IssuesShares() {
		announceSheets(env, sheets, *out)
		opt.SharesDir = sheets
	}
	if err := ceremony.Start(env.ctx(), script, *out, b, ui, env.options(opt)); err != nil {
		return err
	}
	return printVerified(env, *out)
}

// openRehearsalModule starts loading the rehearsal HSM (SoftHSM2) in the background; the
// function it returns waits for it. The caller closes the module.
func openRehearsalModule() func() (*hsm.Module, error) {
	type opened struct {
		m   *hsm.Module
		err error
	}
	done := make(chan opened, 1)
	go func() {
		m, err := hsm.Open(hsm.SoftHSMModule)
		if err != nil {
			err = fmt.Errorf("%w (install the rehearsal HSM: apt-get install softhsm2)", err)
		}
		done <- opened{m, err}
	}()
	return func() (*hsm.Module, error) {
		o := <-done
		return o.m, o.err
	}
}

// rehearseMore runs the rehearsal of --quorum (mofn not empty), --transfer or --drill.
func rehearseMore(env Env, ui *terminalUI, module func() (*hsm.Module, error), store *hsm.Rehearsal, out, sheets, mofn string, transfer bool) error {
	m, err := module()
	if err != nil {
		return err
	}
	defer m.Close()
	switch {
	case mofn != "":
		return rehearseQuorum(env, ui, m, store, out, sheets, mofn)
	case transfer:
		return rehearseTransfer(env, ui, m, store, out, sheets)
	}
	return rehearseDrill(env, ui, m, store, out, sheets)
}

// rehearseQuorum runs root generation with an M-of-N backup on one rehearsal token and a
// restore with M custodians on a second, into OUT/backup and OUT/restore, share sheets in
// the folder shares, outside OUT.
func rehearseQuorum(env Env, ui *terminalUI, m *hsm.Module, store *hsm.Rehearsal, out, shares, mofn string) error {
	var threshold, total int
	if _, err := fmt.Sscanf(mofn, "%d-of-%d", &threshold, &total); err != nil || fmt.Sprintf("%d-of-%d", threshold, total) != mofn {
		return usageError{fmt.Sprintf("--quorum %q: write it as M-of-N, for example 3-of-5", mofn)}
	}
	if total < 2 || total > 16 || threshold < 2 || threshold > total {
		return usageError{fmt.Sprintf("--quorum %d-of-%d: need 2 <= M <= N <= 16", threshold, total)}
	}
	backupScript, restoreScript, err := ceremony.QuorumExamples(env.Examples["root-quorum"], env.Examples["restore"], threshold, total)
	if err != nil {
		return err
	}
	if err := ledger.Init(out, "keyrite-rehearsal"); err != nil {
		return err
	}
	src, err := rehearsalBinding(env, m, store, rehearsalToken)
	if err != nil {
		return err
	}
	backupDir, restoreDir := filepath.Join(out, "backup"), filepath.Join(out, "restore")
	announceSheets(env, shares, out)
	if err := ceremony.Start(env.ctx(), backupScript, backupDir, src, ui, env.options(ceremony.Options{SharesDir: shares})); err != nil {
		return err
	}
	dst, err := rehearsalBinding(env, m, store, rehearsalToken+"-region")
	if err != nil {
		return err
	}
	if err := ceremony.Start(env.ctx(), restoreScript, restoreDir, dst, ui, env.options(ceremony.Options{Previous: backupDir})); err != nil {
		return err
	}
	ui.held = nil
	fmt.Fprintf(env.Stdout, "\nShare sheets of this rehearsal: %s (delete it when done)\n", shares)
	return VerifyCommand(env.Stdout, out, "")
}

// rehearseDrill runs the example root ceremony with its 3-of-5 backup into OUT/backup, then
// the example quorum health drill on the same token into OUT/drill: the simulated custodians
// prove possession of the shares they were handed.
func rehearseDrill(env Env, ui *terminalUI, m *hsm.Module, store *hsm.Rehearsal, out, sheets string) error {
	backupScript, err := ceremony.ParseScript("root-quorum-ceremony.yaml", env.Examples["root-quorum"])
	if err != nil {
		return err
	}
	drillScript, err := ceremony.ParseScript("drill-ceremony.yaml", env.Examples["drill"])
	if err != nil {
		return err
	}
	b, err := rehearsalBinding(env, m, store, rehearsalToken)
	if err != nil {
		return err
	}
	backupDir, drillDir := filepath.Join(out, "backup"), filepath.Join(out, "drill")
	announceSheets(env, sheets, out)
	if err := ceremony.Start(env.ctx(), backupScript, backupDir, b, ui, env.options(ceremony.Options{SharesDir: sheets})); err != nil {
		return err
	}
	if err := ceremony.Start(env.ctx(), drillScript, drillDir, b, ui, env.options(ceremony.Options{Previous: backupDir})); err != nil {
		return fmt.Errorf("drill: %w", err)
	}
	ui.held = nil
	fmt.Fprintf(env.Stdout, "\nShare sheets of this rehearsal: %s (delete it when done)\n", sheets)
	return VerifyCommand(env.Stdout, out, "")
}

// rehearseTransfer moves the root key between two rehearsal tokens: the source's root
// ceremony (with a 3-of-5 backup, so the key is extractable only under trusted keys), the
// target's own root, an import job there, the export here, the import there.
func rehearseTransfer(env Env, ui *terminalUI, m *hsm.Module, store *hsm.Rehearsal, out, sheets string) error {
	parse := func(name string) (*ceremony.Script, error) {
		return ceremony.ParseScript(name+"-ceremony.yaml", env.Examples[name])
	}
	// Every script is read before a token is made: a broken one changes nothing.
	for _, name := range []string{"root-quorum", "region-root", "import-job", "export", "import"} {
		if _, err := parse(name); err != nil {
			return err
		}
	}
	if err := ledger.Init(out, "keyrite-rehearsal"); err != nil {
		return err
	}
	src, err := rehearsalBinding(env, m, store, rehearsalToken)
	if err != nil {
		return err
	}
	dst, err := rehearsalBinding(env, m, store, rehearsalToken+"-region")
	if err != nil {
		return err
	}
	dir := func(name string) string { return filepath.Join(out, name) }
	announceSheets(env, sheets, out)
	steps := []struct {
		script string
		b      ceremony.Binding
		opt    ceremony.Options
	}{
		{"root-quorum", src, ceremony.Options{SharesDir: sheets}},
		{"region-root", dst, ceremony.Options{}},
		{"import-job", dst, ceremony.Options{Previous: dir("2-region-root")}},
		{"export", src, ceremony.Options{Previous: dir("1-root-quorum"), ImportJob: dir("3-import-job")}},
		{"import", dst, ceremony.Options{Previous: dir("3-import-job"), Transfer: dir("4-export")}},
	}
	for i, st := range steps {
		s, err := parse(st.script)
		if err != nil {
			return err
		}
		if err := ceremony.Start(env.ctx(), s, dir(fmt.Sprintf("%d-%s", i+1, st.script)), st.b, ui, env.options(st.opt)); err != nil {
			return fmt.Errorf("%s: %w", st.script, err)
		}
	}
	ui.held = nil
	fmt.Fprintln(env.Stdout)
	return VerifyCommand(env.Stdout, out, "")
}

// rehearsalBinding binds to a fresh rehearsal token named prefix-NNNN: every rehearsal
// starts on empty tokens, so rehearsals run any number of times, in any order.
func rehearsalBinding(env Env, m *hsm.Module, store *hsm.Rehearsal, prefix string) (ceremony.Binding, error) {
	ti, err := store.NewToken(m, prefix)
	if err != nil {
		return ceremony.Binding{}, err
	}
	fmt.Fprintf(env.Stdout, "Rehearsal token %q in %s\n", ti.Label, store.Dir)
	return ceremony.RehearsalBinding(m, store, ti.Label), nil
}

func resume(args []string, env Env) error {
	lessGC()
	fs := newFlagSet("resume", env)
	var h hsmFlags
	h.register(fs)
	yes := fs.Bool("yes", false, "answer every confirmation yes (rehearsal tokens only)")
	previous := fs.String("previous", "", "the sealed ceremony this one continues (as when it started)")
	var sh sheetFlags
	sh.register(fs)
	var x transferFlags
	x.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: keyrite resume DIR [--previous DIR] [HSM flags]"}
	}
	if *yes && !h.rehearsal {
		return usageError{"--yes is only for rehearsal tokens"}
	}
	if h.token == "" && h.serial == "" && h.uri == "" {
		// Resume on the token the ceremony ran on, as its transcript says.
		if ti, err := ceremony.TokenOf(pos[0]); err == nil {
			h.token, h.serial = ti.Label, ti.Serial
		}
	}
	ui := env.ui(*yes)
	b, done, err := h.binding(ui.asker(env.ctx()))
	if err != nil {
		return err
	}
	defer done()
	opt := env.options(ceremony.Options{Previous: *previous, SharesDir: sh.dir, SharesPrinter: sh.printer})
	closeTarget, err := x.apply(&opt, &h, ui.asker(env.ctx()))
	if err != nil {
		return err
	}
	defer closeTarget()
	if err := ceremony.Resume(env.ctx(), pos[0], b, ui, opt); err != nil {
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

// afterSeal writes the report and the evidence bundle into a ceremony's folder as soon as it
// is sealed.
func afterSeal(env Env) func(string, crypto.Signer) error {
	return func(dir string, signer crypto.Signer) error {
		report, bundle, err := reports.WriteEvidence(dir, signer)
		if err == nil {
			fmt.Fprintf(env.Stdout, "   Report: %s\n   Evidence bundle: %s\n", report, bundle)
		}
		return err
	}
}

func report_(args []string, env Env) error {
	fs := newFlagSet("report", env)
	out := fs.String("out", "", "write the PDF here (default: DIR/report.pdf, made again; \"-\": standard output, never a terminal)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: keyrite report DIR [--out FILE|-]"}
	}
	switch *out {
	case "":
		name := filepath.Join(pos[0], reports.ReportFileName)
		if err := reports.WriteReportFile(pos[0], name); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Report: %s\n", name)
		return nil
	case "-":
		w := env.Stdout
		if e, ok := w.(*base.Escaper); ok {
			w = e.Unescaped() // the PDF's bytes go out as they are, not escaped as text
		}
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return fmt.Errorf("standard output is a terminal: a PDF is not written to it; redirect it (> report.pdf) or give --out FILE")
		}
		pdf, err := reports.RenderReport(pos[0])
		if err != nil {
			return err
		}
		_, err = w.Write(pdf)
		return err
	}
	return reports.WriteReportFile(pos[0], *out)
}

// bundle signs a ceremony's evidence bundle with its transcript-signing key, found on the
// token the transcript names (the rehearsal store for rehearsal ceremonies).
func bundle(args []string, env Env) error {
	fs := newFlagSet("bundle", env)
	var h hsmFlags
	h.register(fs)
	out := fs.String("out", "", "bundle file (default DIR/evidence-<ceremony>.tar)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: keyrite bundle DIR [--out FILE] [HSM flags]"}
	}
	dir := pos[0]
	return withCeremonySigner(dir, h, env, func(res *transcript.Result, k crypto.Signer) error {
		name := *out
		if name == "" {
			name = filepath.Join(dir, reports.BundleName(res.Opening.CeremonyID))
		}
		if err := reports.WriteBundleFile(dir, name, k); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Evidence bundle: %s\n", name)
		return nil
	})
}

// VerifyCommand is `keyrite verify`.
func VerifyCommand(out io.Writer, path, root string) error {
	return reports.VerifyPath(out, path, root)
}

func tokens(args []string, env Env) error {
	fs := newFlagSet("tokens", env)
	var h hsmFlags
	h.register(fs)
	caps := fs.Bool("capabilities", false, "show what the token (--token, or the URI's) offers and which ceremonies it can run")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *caps {
		return tokenCapabilities(h, env)
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
			fmt.Fprintf(env.Stdout, "  slot %d: token not initialised (%s %s; a token-init ceremony initialises it: --init-slot %d)\n", t.Slot, t.Manufacturer, t.Model, t.Slot)
		}
	}
	return nil
}

// sheetFlags say where share sheets go.
type sheetFlags struct{ dir, printer string }

func (f *sheetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "shares-dir", "", "share sheets: a folder outside the evidence folder (each custodian's removable medium)")
	fs.StringVar(&f.printer, "shares-printer", "", "share sheets: the CUPS printer to print them on (\"default\" for lp's default)")
}

// announceSheets says where a rehearsal's share sheets go, before it starts.
func announceSheets(env Env, sheets, out string) {
	fmt.Fprintf(env.Stdout, "Share sheets of this rehearsal go to %s, outside the evidence folder %s (a real ceremony prints them or writes each to its custodian's medium). Delete that folder after the rehearsal.\n", sheets, out)
}

// transferFlags are the inputs of transfer ceremonies, and the CSR an intermediate is signed
// from.
type transferFlags struct {
	importJob, wrappingKey, issuedAt, azureKEK, transferDir string
	targetToken, targetPinFile                              string
	csr                                                     string
	revoked, issued, outside                                string
	initSlot                                                int
	evidence                                                string
}

func (x *transferFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&x.importJob, "import-job", "", "export to another HSM: its sealed import-job ceremony folder")
	fs.StringVar(&x.wrappingKey, "wrapping-key", "", "export to a cloud KMS: the provider's wrapping public key (PEM)")
	fs.StringVar(&x.issuedAt, "issued-at", "", "when the provider issued the wrapping key and import token (RFC 3339)")
	fs.StringVar(&x.azureKEK, "azure-kek-id", "", "export to Azure Key Vault: the key exchange key's identifier")
	fs.StringVar(&x.transferDir, "transfer", "", "import: the sealed export ceremony folder")
	fs.StringVar(&x.targetToken, "target-token", "", "migrate: the target token's label (same module)")
	fs.StringVar(&x.targetPinFile, "target-pin-file", "", "migrate: the target token's user PIN file")
	fs.StringVar(&x.csr, "csr", "", "sign-intermediate: the intermediate CA's certificate signing request")
	fs.StringVar(&x.outside, "outside", "", "cross-certify: the outside CA's certificate or certificate request (PEM)")
	fs.StringVar(&x.issued, "issued", "", "sign-ocsp-responses: certificates the root issued (PEM), besides those the --previous ceremony holds")
	fs.StringVar(&x.revoked, "revoked", "", "sign-crl: the revoked certificates, one \"serial-hex [reason] [revoked-at]\" per line")
	fs.IntVar(&x.initSlot, "init-slot", -1, "token-init: the uninitialised slot to initialise (default: the only one)")
	fs.StringVar(&x.evidence, "evidence", "", "token-decommission: the evidence tree (default: the folder holding --previous)")
}

// apply puts the transfer inputs into opt; a migration's target token shares the module.
func (x *transferFlags) apply(opt *ceremony.Options, h *hsmFlags, ask func(string) ([]byte, error)) (func(), error) {
	opt.ImportJob, opt.WrappingKey, opt.AzureKEKID, opt.Transfer, opt.CSR, opt.Revoked = x.importJob, x.wrappingKey, x.azureKEK, x.transferDir, x.csr, x.revoked
	opt.Issued, opt.Outside = x.issued, x.outside
	opt.Evidence = x.evidence
	if x.initSlot >= 0 {
		slot := uint(x.initSlot)
		opt.InitSlot = &slot
	}
	if x.issuedAt != "" {
		t, err := time.Parse(time.RFC3339, x.issuedAt)
		if err != nil {
			return nil, usageError{fmt.Sprintf("--issued-at %q: write it as RFC 3339, e.g. 2026-11-25T09:30:00Z", x.issuedAt)}
		}
		opt.IssuedAt = t
	}
	if x.targetToken == "" {
		return func() {}, nil
	}
	th := *h
	th.token, th.serial, th.pinFile, th.pinFD = x.targetToken, "", x.targetPinFile, -1
	tb, done, err := th.binding(ask)
	if err != nil {
		return nil, err
	}
	opt.Target = &tb
	return done, nil
}
