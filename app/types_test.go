package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/evidence"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/hsm/hsmtest"
	"github.com/keyrite/keyrite/quorum/quorumtest"
)

// typeDriver drives one ceremony type end to end through the app.
type typeDriver struct {
	// heavy: the earlier ceremonies it needs take long (a 3-of-5 quorum backup, another
	// HSM's root and import job); the -short tier leaves it out, saying so.
	heavy bool
	// run makes, through the app, the earlier ceremonies the type continues, then drives a
	// ceremony of the type and returns its folder.
	run func(h *harness) string
	// check, if set, checks what the type promises beyond a verified, completed ceremony.
	check func(t *testing.T, h *harness, dir string)
}

// typeDrivers has one driver per registered ceremony type; TestEveryTypeDrivenThroughTheApp
// fails for a registered type without one.
var typeDrivers = map[string]typeDriver{
	ceremony.TypeRoot: {run: func(h *harness) string { return h.root("root") }},
	ceremony.TypeCRL: {run: func(h *harness) string {
		return h.made("crl", Ceremony{Template: Template(ceremony.TypeCRL), Previous: h.root("root")})
	}},
	ceremony.TypeIntermediate: {run: func(h *harness) string { return h.intermediate() }},
	ceremony.TypeOCSPResponses: {run: func(h *harness) string {
		// About the intermediate the continued ceremony issued.
		return h.made("ocsp responses", Ceremony{Template: Template(ceremony.TypeOCSPResponses), Previous: h.intermediate()})
	}},
	ceremony.TypeCrossCertify: {run: func(h *harness) string {
		return h.made("cross-certify", Ceremony{Template: Template(ceremony.TypeCrossCertify), Previous: h.root("root"), Outside: h.csr("Partner Root CA R2")})
	}},
	ceremony.TypeCRLSigner:  {run: func(h *harness) string { return h.signedByRoot(ceremony.TypeCRLSigner) }},
	ceremony.TypeOCSPSigner: {run: func(h *harness) string { return h.signedByRoot(ceremony.TypeOCSPSigner) }},
	ceremony.TypeKeyState: {run: func(h *harness) string {
		return h.made("key-state", Ceremony{Template: Template(ceremony.TypeKeyState), Previous: h.root("root for key-state")})
	}},
	ceremony.TypeRotate: {run: func(h *harness) string {
		return h.made("rotate", Ceremony{Template: Template(ceremony.TypeRotate), Previous: h.root("root for rotate")})
	}},
	ceremony.TypeDestroy: {run: func(h *harness) string {
		root := h.root("root")
		h.deks(root)
		return h.made("destroy", Ceremony{Template: Template(ceremony.TypeDestroy), Previous: root})
	}},
	ceremony.TypeMigrate: {run: func(h *harness) string {
		root := h.root("root")
		h.deks(root)
		return h.made("migrate", Ceremony{Template: Template(ceremony.TypeMigrate), Previous: root, Target: "appdrive-migration-target"})
	}, check: func(t *testing.T, h *harness, dir string) {
		// Every key made beside the root is reconciled, whether or not a destruction ran first.
		csv, err := os.ReadFile(filepath.Join(dir, "reconciliation.csv"))
		if n := strings.Count(string(csv), ",true\n"); err != nil || n < deks-1 {
			t.Fatalf("reconciliation (%d keys moved, want %d or more): %v\n%s", n, deks-1, err, csv)
		}
	}},
	ceremony.TypeDrill: {heavy: true, run: func(h *harness) string {
		return h.made("drill", Ceremony{Template: Template(ceremony.TypeDrill), Previous: h.quorum("backup")})
	}, check: func(t *testing.T, h *harness, dir string) {
		if n := len(quorumtest.Records(t, dir, transcript.EventShareProven)); n != 5 {
			t.Fatalf("%d custodians proved possession in the app, want 5", n)
		}
	}},
	ceremony.TypeRestore: {heavy: true, run: func(h *harness) string {
		return h.made("restore", Ceremony{Template: Template(ceremony.TypeRestore), Previous: h.quorum("backup")})
	}},
	ceremony.TypeReshare: {heavy: true, run: func(h *harness) string {
		// Its own backup: a reshare retires the split it replaces.
		return h.made("reshare", Ceremony{Template: Template(ceremony.TypeReshare), Previous: h.quorum("backup to reshare")})
	}},
	ceremony.TypeTokenInit: {run: func(h *harness) string { return h.tokenInit() }},
	ceremony.TypePINChange: {run: func(h *harness) string { return h.pinChange() }},
	ceremony.TypeDecommission: {run: func(h *harness) string {
		return h.made("token-decommission", Ceremony{Template: Template(ceremony.TypeDecommission), Previous: h.pinChange()})
	}, check: func(t *testing.T, h *harness, dir string) {
		d := quorumtest.Records(t, dir, transcript.EventTokenDecommissioned)
		if len(d) != 1 {
			t.Fatalf("%d token.decommissioned records through the app", len(d))
		}
		if got, err := transcript.Data[transcript.TokenDecommissioned](&d[0].Record); err != nil || got.UserObjects != 0 || got.PublicObjects != 0 {
			t.Fatalf("token.decommissioned through the app: %+v %v", got, err)
		}
	}},
	ceremony.TypeImportJob: {heavy: true, run: func(h *harness) string { return h.importJob() }},
	ceremony.TypeExport:    {heavy: true, run: func(h *harness) string { return h.export() }},
	ceremony.TypeImport: {heavy: true, run: func(h *harness) string {
		return h.made("import", Ceremony{Template: Template(ceremony.TypeImport), Previous: h.importJob(), Transfer: h.export()})
	}},
}

// Every registered ceremony type (the start screen offers each: TestEveryTemplateHasAScript)
// is driven end to end through the app on a rehearsal token, after the earlier ceremonies it continues (made
// through the app too); each ceremony, and every one it continues, verifies with the strict
// verifier and is of its type and completed. A type without a driver fails.
func TestEveryTypeDrivenThroughTheApp(t *testing.T) {
	h := newHarness(t)
	for _, typ := range ceremony.Types() {
		t.Run(typ.Name, func(t *testing.T) {
			d, ok := typeDrivers[typ.Name]
			if !ok {
				t.Fatalf("ceremony type %s has no driver in typeDrivers: add one", typ.Name)
			}
			if d.heavy && testing.Short() {
				t.Skipf("-short: %s needs a quorum backup or another HSM's root and import job made first (minutes under -race); the full tier drives it", typ.Name)
			}
			h.t = t
			dir := d.run(h)
			h.verify(typ.Name, dir)
			if d.check != nil {
				d.check(t, h, dir)
			}
		})
	}
}

// harness drives ceremonies through one app on one rehearsal store, making each earlier
// ceremony once.
type harness struct {
	t      *testing.T
	a      *App
	dir    string
	folder map[string]string            // ceremony folders by the harness's name for them
	prev   map[string]string            // folder -> the folder it continues
	held   map[string]map[string]string // a backup's folder -> the shares its custodians hold
	deked  map[string]bool              // root folders whose token holds the test's keys
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, a: newTestApp(t), dir: t.TempDir(), folder: map[string]string{}, prev: map[string]string{},
		held: map[string]map[string]string{}, deked: map[string]bool{}}
}

// made returns the folder of the ceremony the harness calls name, driving c through the app
// the first time (into a folder of its own).
func (h *harness) made(name string, c Ceremony) string {
	h.t.Helper()
	if dir, ok := h.folder[name]; ok {
		return dir
	}
	dir, err := h.try(name, c)
	if err != nil {
		h.t.Fatalf("%s through the app: %v", name, err)
	}
	h.folder[name] = dir
	return dir
}

// try drives c through the app into a new folder named after name and returns the folder
// and how the ceremony ended.
func (h *harness) try(name string, c Ceremony) (string, error) {
	// Each ceremony in a folder of its own: the harness branches hierarchies (one root continued
	// by several ceremonies), which ceremonies kept side by side refuse as a fork (ceremony/fork.go).
	slug := strings.ReplaceAll(name, " ", "-")
	c.Out = filepath.Join(h.dir, slug, slug)
	if err := os.MkdirAll(filepath.Dir(c.Out), 0o755); err != nil {
		return c.Out, err
	}
	held := h.held[c.Previous]
	if held == nil {
		held = map[string]string{}
	}
	if err := RunCeremony(h.a, c, 3*time.Minute, held); err != nil {
		return c.Out, err
	}
	h.prev[c.Out] = c.Previous
	if len(held) > 0 && h.held[c.Previous] == nil {
		h.held[c.Out] = held // the shares this ceremony handed out
	}
	return c.Out, nil
}

// root is a root ceremony (the root template) on a token of its own.
func (h *harness) root(name string) string {
	return h.made(name, Ceremony{Template: Template(ceremony.TypeRoot)})
}

// quorum is a root ceremony with a 3-of-5 backup, its shares held by its custodians.
func (h *harness) quorum(name string) string {
	return h.made(name, Ceremony{Template: TemplateQuorum, Threshold: "3", Total: "5"})
}

// importJob is the in-region HSM's import job, on its own root (the region root example,
// opened as a script file).
func (h *harness) importJob() string {
	region := h.made("region root", Ceremony{Template: TemplateFile, ScriptFile: filepath.Join("..", "testdata", "region-root-ceremony.yaml")})
	return h.made("import job", Ceremony{Template: Template(ceremony.TypeImportJob), Previous: region})
}

// export exports the quorum root's key to the import job.
func (h *harness) export() string {
	return h.made("export", Ceremony{Template: Template(ceremony.TypeExport), Previous: h.quorum("backup"), ImportJob: h.importJob()})
}

// intermediate is the root's intermediate CA, "Example Issuing CA 2026", from a CSR.
func (h *harness) intermediate() string {
	return h.made("intermediate", Ceremony{Template: Template(ceremony.TypeIntermediate), Previous: h.root("root"), CSR: h.csr("Example Issuing CA 2026")})
}

// signedByRoot is a delegated signer (OCSP responder, CRL signer) the root certifies; its
// key is made on the HSM in the ceremony.
func (h *harness) signedByRoot(typ string) string {
	return h.made(typ, Ceremony{Template: Template(typ), Previous: h.root("root")})
}

// tokenInit initialises the example's new token (on the rehearsal store's free slot), under
// the root's hierarchy; pinChange changes its user PIN.
func (h *harness) tokenInit() string {
	return h.made("token-init", Ceremony{Template: Template(ceremony.TypeTokenInit), Previous: h.root("root")})
}

func (h *harness) pinChange() string {
	return h.made("token-pin-change", Ceremony{Template: Template(ceremony.TypePINChange), Previous: h.tokenInit()})
}

// csr writes a CSR for a CA's key (an issuing CA, an outside root).
func (h *harness) csr(cn string) string {
	h.t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: []string{"Example Sovereign Cloud GmbH"}, Country: []string{"DE"}}}, key)
	if err != nil {
		h.t.Fatal(err)
	}
	p := filepath.Join(h.dir, strings.ReplaceAll(cn, " ", "-")+".csr")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// deks is how many data keys deks makes: the destruction's dek-00000 and the migration's
// others.
const deks = 5

// deks makes data keys (dek-00000, …) on the token of the root ceremony in root, once: the
// keys a destruction and a migration act on, made by the application that uses the HSM, not
// in a ceremony.
func (h *harness) deks(root string) {
	h.t.Helper()
	if h.deked[root] {
		return
	}
	ti, err := ceremony.TokenOf(root)
	if err != nil {
		h.t.Fatal(err)
	}
	store, err := hsm.PrepareRehearsal(h.a.RehearsalDir)
	if err != nil {
		h.t.Fatal(err)
	}
	m, err := hsm.Open(hsm.SoftHSMModule)
	if err != nil {
		h.t.Fatal(err)
	}
	defer m.Close()
	tok, err := m.OpenToken(hsm.Selector{Label: ti.Label})
	if err != nil {
		h.t.Fatal(err)
	}
	defer tok.Close()
	pin, _ := store.PIN(ti.Label, hsm.User)
	if err := tok.Login(hsm.User, pin); err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i < deks; i++ {
		if _, err := tok.GenerateDEK(hsm.DEKSpec{Label: fmt.Sprintf("dek-%05d", i), ID: []byte{byte(i)}, Extractable: true}); err != nil {
			h.t.Fatal(err)
		}
	}
	h.deked[root] = true
}

// verify checks the folder dir strictly (evidence.VerifyFolder: transcript, seal, outputs,
// report and bundle, nothing else in the folder), every ceremony it continues likewise, the
// chain between them, and that dir holds a completed ceremony of type typ.
func (h *harness) verify(typ, dir string) {
	h.t.Helper()
	var chain []transcript.Folder
	for d := dir; d != ""; d = h.prev[d] {
		f, err := evidence.VerifyFolder(d, evidence.Options{})
		if err != nil {
			h.t.Fatalf("%s does not verify: %v", filepath.Base(d), err)
		}
		if f.Report == "" {
			h.t.Errorf("%s has no report and bundle", filepath.Base(d))
		}
		chain = append(chain, f.Folder)
	}
	if err := transcript.CheckChains(chain); err != nil {
		h.t.Fatal(err)
	}
	res := chain[0].Result
	if res.Opening.Type != typ {
		h.t.Errorf("%s holds a %s ceremony, want %s", filepath.Base(dir), res.Opening.Type, typ)
	}
	last := res.Entries[len(res.Entries)-1]
	closing, err := transcript.Data[transcript.Closing](&last.Record)
	if last.Event != transcript.EventClosed || err != nil || closing.Result != transcript.ResultCompleted {
		h.t.Errorf("%s did not close completed: %s %+v %v", filepath.Base(dir), last.Event, closing, err)
	}
}

// The README's list of what the app offers is the start screen's list: each template offered
// is listed, and each listed is offered.
func TestREADMEListsWhatTheAppOffers(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "\n## The desktop app\n")
	section, _, _ = strings.Cut(section, "\n## ")
	listed := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if rest, ok := strings.CutPrefix(line, "- *"); ok {
			title, _, _ := strings.Cut(rest, "*")
			listed[title] = true
		}
	}
	a := newTestApp(t)
	for _, o := range a.Start.Template.Options {
		if !listed[o] {
			t.Errorf("the app offers %q; the README's list of what it offers does not name it", o)
		}
		delete(listed, o)
	}
	for title := range listed {
		t.Errorf("the README lists %q; the app does not offer it", title)
	}
}

// A key declared compromised in a key-state ceremony, then an export of it: the pre-flight
// refuses the export, naming the state and the ceremony that set it, before anything is
// recorded and before any call changes or uses what the token keeps (traced at the PKCS#11
// seam); the app offers no resume and says what to do.
func TestExportOfCompromisedKeyRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs a 3-of-5 quorum backup and another HSM's root and import job first; the full tier runs it")
	}
	h := newHarness(t)
	job := h.importJob()
	state := h.made("compromised", Ceremony{Template: Template(ceremony.TypeKeyState), Previous: h.quorum("backup")})

	var mu sync.Mutex
	var calls []hsmtest.Call
	h.a.OpenModule = func(path string) (*hsm.Module, error) {
		m, err := hsm.Open(path)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { m.Close() })
		return hsmtest.WithTrace(m, func(c hsmtest.Call) { mu.Lock(); calls = append(calls, c); mu.Unlock() }), nil
	}
	out, err := h.try("export", Ceremony{Template: Template(ceremony.TypeExport), Previous: state, ImportJob: job})
	if err == nil {
		t.Fatal("the export of a compromised key sealed")
	}
	for _, want := range []string{"export.key", `"example-root-2026" is compromised`, "example-root-2026-compromised", "nothing was done"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the app's refusal does not say %q:\n%v", want, err)
		}
	}
	doAndWait(func() {
		if h.a.Run.Resume.Visible() {
			t.Error("a pre-flight refusal is offered a resume")
		}
	})
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the refused export left %s (%v): nothing may be recorded", out, err)
	}
	// The fork: an export continuing the backup, from before the compromise, beside it.
	fork := filepath.Join(filepath.Dir(state), "export-fork")
	err = RunCeremony(h.a, Ceremony{Template: Template(ceremony.TypeExport), Previous: h.quorum("backup"), ImportJob: job, Out: fork}, 3*time.Minute, map[string]string{})
	for _, want := range []string{"not the newest ceremony of its hierarchy", "example-root-2026-compromised", "--previous " + state, "nothing was done"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the app's refusal of the fork does not say %q:\n%v", want, err)
		}
	}
	if _, err := os.Stat(fork); !os.IsNotExist(err) {
		t.Errorf("the refused fork left %s (%v)", fork, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) == 0 {
		t.Fatal("the trace saw no PKCS#11 call: the pre-flight never reached the token through it")
	}
	for _, c := range calls {
		if c.Token {
			t.Errorf("%s changed or used what the token keeps before the refusal", c.Name)
		}
	}
}
