package ceremony

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/internal/atomicfile"
)

// Binding ties a script to an HSM at run time. It is never written into the script.
type Binding struct {
	Module    *hsm.Module
	Token     hsm.Selector
	PIN       func() ([]byte, error) // the user PIN; the engine zeroes what it returns
	SOPIN     func() ([]byte, error) // the Security Officer's PIN, for installing trusted keys
	Rehearsal bool                   // the token is Keyrite's rehearsal token
	// Store is the rehearsal store of a rehearsal token: the token ceremonies take the PINs of
	// the tokens they work on from it, and keep new ones there (token.go). Nil on a real HSM,
	// whose PINs are typed by their holders and never kept.
	Store *hsm.Rehearsal
}

// Options are a run's inputs besides the script and the HSM.
type Options struct {
	// Previous is the folder of the sealed ceremony this one continues: the backup a restore
	// or reshare reads. It is verified before anything starts.
	Previous string
	// Where the custodians' share sheets go, when the ceremony hands out shares: exactly one of
	// SharesPrinter, a CUPS destination ("default": lp's default printer), or SharesDir, a
	// folder outside the evidence folder's tree (a removable medium per custodian, or a
	// rehearsal's own folder). See CheckSheetDestination.
	SharesDir     string
	SharesPrinter string
	// Print sends one share sheet to a printer; nil prints with CUPS lp, the PDF on its
	// standard input.
	Print func(printer, title string, pdf []byte) error
	Clock transcript.Clock
	// AfterSeal runs once the transcript is sealed, while the token is still logged in, with
	// the transcript-signing key: the report and evidence bundle are made here.
	AfterSeal func(dir string, signer crypto.Signer) error
	// ShareSheet renders a custodian's share sheet (a PDF, by reports.RenderShareSheet in
	// the app and the CLI). Ceremonies that hand out shares refuse to start without it.
	ShareSheet func(ShareSheet) ([]byte, error)
	// OnRecord sees every transcript record as it is written, for a UI to show. It is called
	// on the ceremony's goroutine.
	OnRecord func(transcript.Entry)

	// Transfer inputs. ImportJob is a sealed import-job ceremony folder (an export to another
	// HSM); WrappingKey a provider's wrapping public key (PEM), IssuedAt when the provider
	// issued it, AzureKEKID the Azure key exchange key's identifier; Transfer the sealed
	// export ceremony an import reads; Target the second token of a migration.
	ImportJob   string
	WrappingKey string
	IssuedAt    time.Time
	AzureKEKID  string
	Transfer    string
	Target      *Binding
	// CSR is the certificate signing request a sign-intermediate ceremony signs.
	CSR string
	// Revoked lists the certificates a CRL revokes: one per line, "serial-hex [reason-code]".
	Revoked string
	// Issued is a PEM file of certificates the root issued, for OCSP responses about them
	// (besides those the continued ceremony holds), each checked against the root.
	Issued string
	// Outside is the outside CA's certificate or certificate request (PEM) that a
	// cross-certify ceremony certifies.
	Outside string
	// InitSlot is the uninitialised slot a token-init ceremony initialises; nil: the only
	// one the module shows.
	InitSlot *uint
	// Evidence is the folder tree of sealed ceremonies a token-decommission reads to find the
	// keys whose only copy is on the token; "": the folder holding Previous.
	Evidence string
}

// Run is one ceremony in progress.
type Run struct {
	Script  *Script
	Dir     string
	UI      UI // the people's UI, every question answerable by an exception (control.go)
	Clock   transcript.Clock
	people  UI // the UI as the caller gave it
	ctx     context.Context
	opt     Options
	binding Binding
	w       *transcript.Writer
	token   *hsm.Token
	steps   []step
	current string
	resumed []transcript.Entry // a resumed ceremony's records before this process

	// What the steps produced so far.
	root       *hsm.KeyPair
	rootCert   *x509.Certificate
	signer     *hsm.KeyPair
	signerCert *x509.Certificate

	previous    *previousCeremony // the sealed ceremony this one continues
	quorumState                   // the quorum steps' (backup.go)

	// Confirmations taken before the HSM was touched, recorded once the transcript exists.
	early []earlyRecord
	// closed: a resumed transcript was closed but not sealed; the resume only seals it.
	closed bool

	target *hsm.Token      // a migration's second token
	xfer   *transferInputs // a transfer ceremony's checked inputs (transfer.go)
	tok    *tokenRun       // a token ceremony's token (token.go)
}

type earlyRecord struct {
	event string
	data  any
}

// step is one scripted step of a ceremony.
type step struct {
	id, title, explain string
	actorRole          string // who acts: the role whose first participant is named
	witness            bool   // a witness must confirm it happened as shown
	// volatile steps keep their results only in memory (a KEK, shares): if the ceremony stops
	// after them but before the step that uses their results, resume runs them again.
	volatile bool
	labels   []string
	outputs  []string
	sheets   bool // it renders share sheets (Options.ShareSheet)
	// gate says what exactly the step is about to do on the HSM (which key labels), for the
	// witness's "about to" gate before its first HSM call (control.go); nil: no gate.
	gate func(*Run) string
	// gateOn names the token the step acts on when it is not the ceremony's own (a token
	// ceremony's); nil: the ceremony's token.
	gateOn func(*Run) string
	run    func(*Run) error
	// restore reloads what a completed step produced when a ceremony resumes.
	restore func(*Run, []transcript.Entry) error
}

// ScriptFileName is the name of the script's copy inside a ceremony folder.
const ScriptFileName = "script.yaml"

// Start runs a new ceremony from script into dir, which must not exist or be empty. Nothing
// is written and the HSM is not changed until prepare has checked everything that can be
// checked without a secret. Cancelling ctx stops the ceremony at the next step or wait; what
// was recorded stays, and Resume continues it.
func Start(ctx context.Context, script *Script, dir string, b Binding, ui UI, opt Options) (err error) {
	hashExecutableEarly() // the opening record names it; hashed while the pre-flight runs
	if err := checkNewDir(dir, script); err != nil {
		return err
	}
	logState, err := openingLog(dir)
	if err != nil {
		return err
	}
	r := newRun(ctx, script, dir, b, ui, opt)
	defer r.disconnect()
	if err := r.prepare(nil); err != nil {
		return err
	}
	var prev *transcript.Previous
	if r.previous != nil {
		prev = &transcript.Previous{CeremonyID: r.previous.result.Opening.CeremonyID, Checkpoint: r.previous.result.Seal.Text}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create ceremony folder: %w", err)
	}
	// The script's copy is in place before the transcript that names it exists: a ceremony
	// killed at any moment can be resumed from its folder alone.
	if _, err := os.Stat(filepath.Join(dir, ScriptFileName)); err != nil {
		if err := transcript.WriteFileExclusive(filepath.Join(dir, ScriptFileName), script.Source, 0o644); err != nil {
			return err
		}
	}
	r.w, err = transcript.Create(filepath.Join(dir, transcript.FileName), r.Clock, r.actor("administrator"), transcript.Opening{
		CeremonyID: script.ID, Type: script.Type, Keyrite: ThisBuild(),
		ScriptFile: ScriptFileName, ScriptSHA256: hex.EncodeToString(script.SHA256[:]),
		ModulePath: b.Module.Path, ModuleSHA256: hex.EncodeToString(b.Module.SHA256[:]),
		Organization: script.Organization, Location: script.Location, RehearsalToken: b.Rehearsal, Previous: prev,
		Log: logState,
	})
	if err != nil {
		return err
	}
	defer r.w.Close()
	if opt.OnRecord != nil {
		r.w.Observe(opt.OnRecord)
	}
	return r.runFrom(0)
}

// newRun makes the run of script into dir; its steps come from the script's type.
func newRun(ctx context.Context, script *Script, dir string, b Binding, ui UI, opt Options) *Run {
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	r := &Run{Script: script, Dir: dir, people: ui, Clock: opt.Clock, ctx: ctx, opt: opt, binding: b, steps: typeOf(script.Type).steps(script)}
	r.UI = roomUI{UI: ui, r: r}
	return r
}

// prepare is the one path Start and Resume share before the first record: it loads and
// verifies the earlier ceremony this one continues, checks the type's run-time inputs, holds
// the roll call and the clock, opens the token(s) and logs in, and checks the token: for a
// new ceremony (entries nil) that it holds none of the labels the ceremony creates and offers
// every capability the ceremony needs (capabilities.go), for a
// resumed one (entries: its transcript) that it is the token the ceremony ran on. Whatever
// it refuses leaves no trace: nothing is written and nothing on the token changes.
func (r *Run) prepare(entries []transcript.Entry) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	t := typeOf(r.Script.Type)
	if err := r.loadPrevious(t, entries != nil); err != nil {
		return err
	}
	r.xfer = &transferInputs{files: map[string][]byte{}, migrated: map[string]string{}}
	if t.inputs != nil {
		if err := t.inputs(r); err != nil {
			return err
		}
	}
	if entries != nil && t.resumed != nil {
		t.resumed(r, entries)
	}
	if err := r.checkRenderers(); err != nil {
		return err
	}
	if !r.closed {
		if err := r.checkSheets(); err != nil {
			return err
		}
	}
	// The token is found, identified and logged in to before anyone is asked to confirm
	// anything; then the pre-flight (preflight.go) checks all that needs no secret. The people
	// in the room and the clock are confirmed last, before the HSM is changed (not for a
	// closed transcript that only needs its seal: nobody acts any more).
	if err := r.connect(); err != nil {
		return err
	}
	if entries != nil {
		if err := r.checkSameToken(entries); err != nil {
			return err
		}
	} else if err := r.checkLabelsFree(); err != nil {
		return err
	}
	if r.closed {
		return nil
	}
	if err := r.preflight(); err != nil {
		return err
	}
	return r.rollCall()
}

// loadPrevious verifies the sealed ceremony this one continues, if its type continues one.
func (r *Run) loadPrevious(t *ceremonyType, resuming bool) (err error) {
	if t.previous == noPrevious {
		return nil
	}
	if r.opt.Previous == "" {
		if resuming {
			return fmt.Errorf("resume a %s ceremony with the inputs it started with (--previous DIR and the rest)", r.Script.Type)
		}
		return fmt.Errorf("a %s ceremony continues an earlier one on the same key hierarchy: name its folder (--previous DIR)", r.Script.Type)
	}
	r.previous, err = loadPrevious(r.opt.Previous, t.previous == previousBackup)
	return err
}

// checkRenderers checks that what the ceremony will render was given: the share sheets of
// a ceremony that hands out shares.
func (r *Run) checkRenderers() error {
	for _, s := range r.steps {
		if s.sheets && r.opt.ShareSheet == nil {
			return errors.New("this ceremony hands out share sheets, but no share-sheet renderer was given (Options.ShareSheet); nothing was done")
		}
	}
	return nil
}

// checkLabelsFree checks that nothing on the token already carries a label this ceremony
// creates.
func (r *Run) checkLabelsFree() error {
	for _, s := range r.steps {
		for _, l := range s.labels {
			if has, err := r.token.HasLabel(l); err != nil {
				return err
			} else if has {
				return fmt.Errorf("token %q already holds a key labelled %q (%w): this ceremony was already run on this token, or another key has the label; nothing was done (choose a new label in the script)", r.token.Info.Label, l, hsm.ErrLabelTaken)
			}
		}
	}
	return nil
}

// rollCall asks every participant to confirm they are present in their role, and a witness
// to confirm the machine's clock. Nothing is written yet: a refusal leaves no trace.
func (r *Run) rollCall() error {
	for _, p := range r.Script.Participants {
		if err := r.UI.Confirm(r.ctx, p.Name, fmt.Sprintf("Roll call: is %s present, acting as %s?", p.Name, p.Role)); err != nil {
			return fmt.Errorf("roll call: %s is not confirmed present; nothing was done (%w)", p.Name, err)
		}
		r.early = append(r.early, earlyRecord{transcript.EventParticipantPresent, map[string]any{"name": p.Name, "role": p.Role, "confirmed_at": r.Clock().UTC().Format(time.RFC3339Nano)}})
	}
	now := r.Clock().UTC()
	w := r.Script.People("witness")[0]
	if err := r.UI.Confirm(r.ctx, w.Name, fmt.Sprintf("Clock: the machine's clock reads %s UTC. Witness %s: does it match the wall clock?", now.Format("2006-01-02 15:04:05"), w.Name)); err != nil {
		return fmt.Errorf("clock not confirmed: set the machine's clock and start again; nothing was done (%w)", err)
	}
	r.early = append(r.early, earlyRecord{transcript.EventClockConfirmed, map[string]any{"machine_time": now.Format(time.RFC3339), "witness": w.Name}})
	return nil
}

// checkNewDir is CheckNewDir, but also accepts the folder of a ceremony that was stopped
// after its script's copy was written and before its transcript was: it holds only that copy
// (and temporary files of an interrupted write, which are removed).
func checkNewDir(dir string, script *Script) error {
	// A kill while the first file was written leaves only a temporary file, never evidence.
	if _, err := atomicfile.RemoveStale(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	old, err := os.ReadFile(filepath.Join(dir, ScriptFileName))
	if err != nil || !bytes.Equal(old, script.Source) {
		return CheckNewDir(dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) != 1 {
		return CheckNewDir(dir)
	}
	return nil
}

// CheckNewDir reports whether dir can receive a new ceremony's outputs: it must not exist or
// be empty, because Keyrite never overwrites evidence.
func CheckNewDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("folder %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("folder %s is not empty: Keyrite never overwrites a ceremony's outputs; choose a new folder (an unfinished ceremony continues with `keyrite resume FOLDER`)", dir)
	}
	return nil
}

// RehearsalBinding binds to the rehearsal token label in store; its PINs come from the store.
func RehearsalBinding(m *hsm.Module, store *hsm.Rehearsal, label string) Binding {
	return Binding{Module: m, Token: hsm.Selector{Label: label}, Rehearsal: true, Store: store,
		PIN:   func() ([]byte, error) { return store.PIN(label, hsm.User) },
		SOPIN: func() ([]byte, error) { return store.PIN(label, hsm.SO) }}
}

// Open opens the token b names and logs in as its user. The caller closes the token.
func (b Binding) Open() (*hsm.Token, error) { return b.open("") }

// open is Open; with a holder it first takes the token's exclusive lock (hsm.Token.Lock),
// before the login, held until the token is closed.
func (b Binding) open(holder string) (*hsm.Token, error) {
	tok, err := b.Module.OpenToken(b.Token)
	if err != nil {
		return nil, err
	}
	if holder != "" {
		if err := tok.Lock(holder); err != nil {
			tok.Close()
			return nil, err
		}
	}
	pin, err := b.PIN()
	if err != nil {
		tok.Close()
		return nil, fmt.Errorf("read PIN: %w", err)
	}
	if err := tok.Login(hsm.User, pin); err != nil {
		tok.Close()
		return nil, err
	}
	return tok, nil
}

// connect opens the token(s) and holds their exclusive locks until disconnect: one ceremony
// at a time per token, resume included.
func (r *Run) connect() error {
	holder := fmt.Sprintf("ceremony %s in %s", r.Script.ID, r.Dir)
	if t := r.opt.Target; t != nil {
		tok, err := t.open(holder)
		if err != nil {
			return fmt.Errorf("target token: %w", err)
		}
		r.target = tok
	}
	tok, err := r.binding.open(holder)
	if err != nil {
		return err
	}
	r.token = tok
	return nil
}

func (r *Run) disconnect() {
	r.tok.end()
	if r.target != nil {
		r.target.Close()
		r.target = nil
	}
	if r.token != nil {
		r.token.Close()
		r.token = nil
	}
}

func (r *Run) runFrom(first int) error {
	for i := first; i < len(r.steps); i++ {
		s := r.steps[i]
		if err := r.ctx.Err(); err != nil {
			return fmt.Errorf("the ceremony was stopped before step %q: %w; resume it to continue", s.id, err)
		}
		r.current = s.id
		r.UI.Show(Screen{Step: s.id, Title: s.title, Explain: s.explain, Actor: r.actor(s.actorRole), Number: i + 1, Total: len(r.steps)})
		if _, err := r.record(transcript.EventStepStarted, map[string]any{"title": s.title, "actor": r.actor(s.actorRole), "witness_required": s.witness}); err != nil {
			return err
		}
		err := r.askGate(s.id, s.gate, s.gateOn)
		if err == nil {
			err = s.run(r)
		}
		if err == nil && s.witness {
			err = r.witnessConfirms(s)
		}
		if err != nil {
			return r.stepFailed(s, err)
		}
		if s.id == stepClose {
			return nil // the transcript is sealed; nothing may follow
		}
		if _, err := r.record(transcript.EventStepCompleted, nil); err != nil {
			return err
		}
	}
	return nil
}

// stepFailed records that step s failed with err, unless nothing may be recorded: after the
// seal (what failed is derived evidence, made again by a resume) or after the transcript
// itself could not be written (a full disk: the step stays in flight and a resume cleans it
// up). The error is returned once, never joined with a second report of the same cause.
func (r *Run) stepFailed(s step, err error) error {
	if r.w.Sealed() {
		return err
	}
	if r.w.Failed() == nil {
		if _, rerr := r.record(transcript.EventStepFailed, map[string]string{"error": err.Error()}); rerr != nil && !errors.Is(rerr, transcript.ErrStopped) {
			if sameErrno(err, rerr) {
				return &unrecordedFailure{step: fmt.Errorf("step %q: %w", s.id, err), record: rerr}
			}
			return errors.Join(fmt.Errorf("step %q: %w", s.id, err), rerr)
		}
	}
	if errors.Is(err, transcript.ErrStopped) || r.w.Failed() != nil {
		return fmt.Errorf("step %q stopped: %w", s.id, r.w.Failed())
	}
	if !interrupted(err) && s.id != stepClose {
		return r.abort(s, err) // abort.go: a refusal closes the ceremony, sealed
	}
	return fmt.Errorf("step %q: %w", s.id, err)
}

// unrecordedFailure is a step's failure that could not be recorded for the same reason the
// step failed (a full disk fails both writes): the cause is said once, not twice.
type unrecordedFailure struct{ step, record error }

func (e *unrecordedFailure) Error() string {
	return e.step.Error() + "; the failure could not be recorded for the same reason (the ceremony must stop; resume after fixing the cause)"
}

func (e *unrecordedFailure) Unwrap() []error { return []error{e.step, e.record} }

// sameErrno reports whether both errors come from the same operating-system error.
func sameErrno(a, b error) bool {
	var ea, eb syscall.Errno
	return errors.As(a, &ea) && errors.As(b, &eb) && ea == eb
}

func (r *Run) witnessConfirms(s step) error {
	w := r.Script.People("witness")[0]
	if err := r.UI.Confirm(r.ctx, w.Name, fmt.Sprintf("Witness %s: did %q happen as shown on the screen?", w.Name, s.title)); err != nil {
		if _, abort := abortRequested(err); abort {
			return err
		}
		r.record(transcript.EventWitnessDeclined, map[string]string{"witness": w.Name, "reason": reasonOf(err)})
		return fmt.Errorf("witness %s did not confirm the step: %w", w.Name, err)
	}
	_, err := r.record(transcript.EventWitnessConfirmed, map[string]string{"witness": w.Name})
	return err
}

// record appends an event for the current step.
func (r *Run) record(event string, data any) (transcript.Entry, error) {
	return r.w.Append(r.current, r.actor(r.stepRole()), event, data)
}

func (r *Run) stepRole() string {
	for _, s := range r.steps {
		if s.id == r.current {
			return s.actorRole
		}
	}
	return "administrator"
}

// actor names the first participant with role, as "Name (role)".
func (r *Run) actor(role string) string {
	if role == "" {
		role = "administrator"
	}
	if p := r.Script.People(role); len(p) > 0 {
		return fmt.Sprintf("%s (%s)", p[0].Name, role)
	}
	return role
}

// writeOutput writes a new file into the ceremony folder and records its hash. In a resumed
// ceremony, a step that runs again may find the file an earlier attempt wrote: the same bytes
// are kept (recorded if the kill came before the record); other bytes that a record vouches for
// are moved aside (output.superseded), and other bytes no record vouches for are removed once
// the administrator and a witness confirm. A recorded output is never overwritten.
func (r *Run) writeOutput(name string, data []byte) error {
	if old, err := os.ReadFile(filepath.Join(r.Dir, filepath.FromSlash(name))); err == nil && r.resumed != nil {
		recorded := recordedOutputs(r.resumed)[name]
		switch {
		case bytes.Equal(old, data) && recorded:
			return nil
		case bytes.Equal(old, data):
			return r.recordOutput(name, data)
		case recorded:
			if err := r.supersede(name, r.resumed); err != nil {
				return err
			}
		default:
			if err := r.removeUnvouched(name); err != nil {
				return err
			}
		}
	}
	if err := transcript.WriteFileExclusive(filepath.Join(r.Dir, name), data, 0o644); err != nil {
		return err
	}
	return r.recordOutput(name, data)
}

// recordOutput records the hash of a file in the ceremony folder, which must hold data.
func (r *Run) recordOutput(name string, data []byte) error {
	sum, size, err := transcript.HashFile(filepath.Join(r.Dir, name))
	if err != nil {
		return err
	}
	if want := sha256.Sum256(data); sum != want {
		return fmt.Errorf("%s in the ceremony folder is not the file this step writes; it was changed: stop and investigate", name)
	}
	if _, err := r.record(transcript.EventOutput, transcript.Output{File: name, SHA256: hex.EncodeToString(sum[:]), Size: size}); err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("Wrote %s (SHA-256 %s)", name, fingerprint.Grouped(sum[:8])+"…"))
	return nil
}

// keyRecord is the data of a "key.generated" record.
type keyRecord struct {
	Label      string         `json:"label"`
	ID         string         `json:"id"`
	Algorithm  string         `json:"algorithm"`
	SPKISHA256 string         `json:"spki_sha256"`
	Words      string         `json:"spki_sha256_words"`
	PublicKey  string         `json:"public_key"`
	Attributes hsm.Attributes `json:"attributes"`
	SelfTest   string         `json:"self_test"`
	Token      string         `json:"token_serial"`
	Purpose    string         `json:"purpose"`

	CryptoperiodEnd string `json:"cryptoperiod_end,omitempty"`
}

// findRecord returns the data of the last record with event and the given label.
func findKeyRecord(entries []transcript.Entry, label string) (*keyRecord, error) {
	for i := len(entries) - 1; i >= 0; i-- {
		if ev := entries[i].Event; ev != transcript.EventKeyGenerated && ev != transcript.EventKeyRestored && ev != transcript.EventKeyImported {
			continue
		}
		var k keyRecord
		if err := entries[i].DecodeData(&k); err != nil {
			return nil, err
		}
		if k.Label == label {
			return &k, nil
		}
	}
	return nil, fmt.Errorf("the transcript records no key %q", label)
}

// reloadKey finds a key a completed step generated and checks it is the one recorded.
func (r *Run) reloadKey(entries []transcript.Entry, label string) (*hsm.KeyPair, error) {
	rec, err := findKeyRecord(entries, label)
	if err != nil {
		return nil, err
	}
	k, err := r.token.FindKeyPair(label)
	if err != nil {
		return nil, err
	}
	fp, err := fingerprint.OfPublicKey(k.Public())
	if err != nil {
		return nil, err
	}
	if fp.Hex() != rec.SPKISHA256 {
		return nil, fmt.Errorf("key %q on token %q has fingerprint %s, but the transcript recorded %s: it is not the key this ceremony generated; stop and investigate", label, r.token.Info.Label, fp.Hex(), rec.SPKISHA256)
	}
	return k, nil
}

// keyPairOf finds the key pair labelled label on the token and checks that its public key is
// pub: a key that carries the right label but is not the certified key is refused. what
// names the key the ceremony expects, for the error.
func (r *Run) keyPairOf(label string, pub crypto.PublicKey, what string) (*hsm.KeyPair, error) {
	k, err := r.token.FindKeyPair(label)
	if err != nil {
		return nil, err
	}
	if !k.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
		return nil, fmt.Errorf("key %q on the token is not %s", label, what)
	}
	return k, nil
}

// readOutput reads an output a completed step wrote, checking it against its record.
func (r *Run) readOutput(entries []transcript.Entry, name string) ([]byte, error) {
	for _, e := range entries {
		if e.Event != transcript.EventOutput {
			continue
		}
		var o transcript.Output
		if err := e.DecodeData(&o); err != nil {
			return nil, err
		}
		if o.File != name {
			continue
		}
		b, err := os.ReadFile(filepath.Join(r.Dir, name))
		if err != nil {
			return nil, err
		}
		sum, _, _ := transcript.HashFile(filepath.Join(r.Dir, name))
		if hex.EncodeToString(sum[:]) != o.SHA256 {
			return nil, fmt.Errorf("output %s was changed since record %d wrote it", name, e.Seq)
		}
		return b, nil
	}
	return nil, fmt.Errorf("the transcript records no output %s", name)
}
