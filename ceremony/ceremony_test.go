package ceremony

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/reports"
)

// scriptedUI answers yes to everything except questions containing one of decline. It plays
// the custodians too: it remembers each share it is shown (by custodian name) and types it
// back, after first typing anything queued for that custodian in typeFirst.
type scriptedUI struct {
	mu        sync.Mutex
	decline   []string
	asked     []string
	shares    map[string]string   // custodian name -> share code they hold
	typeFirst map[string][]string // custodian name -> codes typed before their own
	refused   []string            // errors AskShare's check returned
	notes     []string
}

func (u *scriptedUI) RevealShare(_ context.Context, c Participant, number, total int, code string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.shares == nil {
		u.shares = map[string]string{}
	}
	u.shares[c.Name] = code
	return nil
}

func (u *scriptedUI) AskShare(_ context.Context, c Participant, prompt string, check func(string) error) (string, error) {
	u.mu.Lock()
	tries := append(append([]string(nil), u.typeFirst[c.Name]...), u.shares[c.Name])
	u.mu.Unlock()
	for _, code := range tries {
		if code == "" {
			continue
		}
		if err := check(code); err != nil {
			u.mu.Lock()
			u.refused = append(u.refused, c.Name+": "+err.Error())
			u.mu.Unlock()
			continue
		}
		return code, nil
	}
	return "", errors.New("custodian gave up")
}

func (u *scriptedUI) Show(Screen)               {}
func (u *scriptedUI) Progress(string, int, int) {}
func (u *scriptedUI) AskSecret(context.Context, string) ([]byte, error) {
	return nil, errors.New("no secrets in tests")
}
func (u *scriptedUI) Note(s string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.notes = append(u.notes, s)
}

func (u *scriptedUI) Confirm(_ context.Context, who, q string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.asked = append(u.asked, q)
	for _, d := range u.decline {
		if strings.Contains(q, d) {
			return ErrDeclined
		}
	}
	return nil
}

// start runs Start with the test's context and the real share-sheet renderer.
func start(t testing.TB, s *Script, dir string, b Binding, ui UI, opt Options) error {
	return Start(t.Context(), s, dir, b, ui, sheetsBeside(dir, withSheets(opt)))
}

// resume runs Resume with the test's context and the real share-sheet renderer.
func resume(t testing.TB, dir string, b Binding, ui UI, opt Options) error {
	return Resume(t.Context(), dir, b, ui, sheetsBeside(dir, withSheets(opt)))
}

// withSheets renders share sheets as the app and the CLI do, with reports.RenderShareSheet.
func withSheets(opt Options) Options {
	if opt.ShareSheet == nil {
		opt.ShareSheet = func(s ShareSheet) ([]byte, error) { return reports.RenderShareSheet(reports.ShareSheet(s)) }
	}
	return opt
}

// sheetsBeside sends share sheets to sheetsOf(dir) unless opt says where they go.
func sheetsBeside(dir string, opt Options) Options {
	if opt.SharesDir == "" && opt.SharesPrinter == "" {
		opt.SharesDir = sheetsOf(dir)
	}
	return opt
}

// sheetsOf is where a test ceremony's share sheets go: beside its folder, never inside.
func sheetsOf(dir string) string { return dir + ".share-sheets" }

var (
	storeOnce sync.Once
	store     *hsm.Rehearsal
	module    *hsm.Module
	storeErr  error
	tokenN    int
)

// freshToken returns a binding to a new, empty rehearsal token on real SoftHSM2. The tokens'
// store is a new folder in KEYRITE_TEST_TOKEN_DIR if set (scripts/bench puts the migration
// benchmark's in memory), else in the temporary folder.
func freshToken(t testing.TB) Binding {
	t.Helper()
	storeOnce.Do(func() {
		dir, err := os.MkdirTemp(os.Getenv("KEYRITE_TEST_TOKEN_DIR"), "keyrite-ceremony-test-")
		if err == nil {
			store, err = hsm.PrepareRehearsal(dir)
		}
		if err == nil {
			module, err = hsm.Open(hsm.SoftHSMModule)
		}
		storeErr = err
	})
	if storeErr != nil {
		t.Fatalf("SoftHSM2 is needed: %v", storeErr)
	}
	tokenN++
	label := fmt.Sprintf("ceremony-test-%d", tokenN)
	if _, err := store.EnsureToken(module, label); err != nil {
		t.Fatal(err)
	}
	return RehearsalBinding(module, store, label)
}

// openLoggedIn opens the token b names and logs in as its user; the caller closes it.
func openLoggedIn(t testing.TB, b Binding) *hsm.Token {
	t.Helper()
	tok, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func exampleScript(t *testing.T) *Script {
	t.Helper()
	s, err := LoadScript(filepath.Join("..", "testdata", "root-ceremony.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verified(t *testing.T, dir string) *transcript.Result {
	t.Helper()
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := CheckGates(res.Entries); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return res
}

func events(res *transcript.Result) string {
	var e []string
	for _, r := range res.Entries {
		e = append(e, r.Event)
	}
	return strings.Join(e, " ")
}

func TestRootCeremony(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	if err := start(t, exampleScript(t), dir, b, &scriptedUI{}, Options{}); err != nil {
		t.Fatal(err)
	}
	res := verified(t, dir)
	ev := events(res)
	for _, want := range []string{"participant.present", "clock.confirmed", "hsm.identified", "token.inventory", "key.generated", "certificate.linted", "certificate.issued", "witness.confirmed", "transcript.signer", "bags.sealed", "ceremony.closed"} {
		if !strings.Contains(ev, want) {
			t.Errorf("transcript lacks %s", want)
		}
	}
}

// A witness who does not confirm stops the ceremony; resume cleans up the unconfirmed key
// (with the administrator's and a witness's consent) and finishes.
func TestResumeAfterWitnessDeclined(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	err := start(t, exampleScript(t), dir, b, &scriptedUI{decline: []string{`did "Generate the root key" happen`}}, Options{})
	if !errors.Is(err, ErrDeclined) {
		t.Fatalf("Start: %v", err)
	}
	if _, err := transcript.Verify(dir, transcript.Options{}); err == nil || !strings.Contains(err.Error(), "not sealed") {
		t.Fatalf("unfinished ceremony: %v", err)
	}
	ui := &scriptedUI{}
	if err := resume(t, dir, b, ui, Options{}); err != nil {
		t.Fatal(err)
	}
	ev := events(verified(t, dir))
	for _, want := range []string{"witness.declined step.failed ceremony.resumed hsm.login preflight.passed participant.present", "clock.confirmed cleanup.destroyed step.started gate.confirmed key.generated"} {
		if !strings.Contains(ev, want) {
			t.Fatalf("events lack %q: %s", want, ev)
		}
	}
	if !strings.Contains(strings.Join(ui.asked, "\n"), "was interrupted") {
		t.Fatalf("cleanup was not confirmed: %q", ui.asked)
	}
}

// A crash between generating a key and recording it leaves a key the transcript cannot vouch
// for; resume destroys it only with consent, and otherwise changes nothing.
func TestResumeAfterCrashMidStep(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	start(t, exampleScript(t), dir, b, &scriptedUI{decline: []string{`did "Self-sign the root certificate" happen`}}, Options{})
	// Cut the transcript back to just after "step.started" of generate-root-key: the state
	// a crash inside C_GenerateKeyPair leaves (the key exists, the transcript never says so).
	p := filepath.Join(dir, transcript.FileName)
	data, _ := os.ReadFile(p)
	i := bytes.Index(data, []byte(`"step":"generate-root-key"`))
	i += bytes.IndexByte(data[i:], '\n') + 1
	os.WriteFile(p, data[:i], 0o644)
	os.Remove(filepath.Join(dir, "root.der"))
	os.Remove(filepath.Join(dir, "root.pem"))
	// Leave a half-written record as well.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"v":1,"seq":`)
	f.Close()

	before, _ := os.ReadFile(p)
	err := resume(t, dir, b, &scriptedUI{decline: []string{"Destroy them"}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "declined to destroy") {
		t.Fatalf("declined cleanup: %v", err)
	}
	tok := openLoggedIn(t, b)
	has, _ := tok.HasLabel("example-root-2026")
	tok.Close()
	if !has {
		t.Fatal("declined cleanup destroyed the key anyway")
	}
	after, _ := os.ReadFile(p)
	if !bytes.HasPrefix(after, before[:len(before)-len(`{"v":1,"seq":`)]) {
		t.Fatal("declined resume rewrote earlier records")
	}

	if err := resume(t, dir, b, &scriptedUI{}, Options{}); err != nil {
		t.Fatal(err)
	}
	ev := events(verified(t, dir))
	for _, want := range []string{"transcript.torn-record-discarded", "cleanup.destroyed", "ceremony.closed"} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %s: %s", want, ev)
		}
	}
}

func TestResumeRefusesAnotherToken(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	start(t, exampleScript(t), dir, b, &scriptedUI{decline: []string{"Generate the root key"}}, Options{})
	other := freshToken(t)
	err := resume(t, dir, other, &scriptedUI{}, Options{})
	if err == nil || !strings.Contains(err.Error(), "connect the original token") {
		t.Fatalf("resume on another token: %v", err)
	}
}

func TestParseScriptReportsEveryProblem(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown field", "version: 1\ntype: root\nkeyy: {}\n", "s.yaml:3: (yaml): unknown field keyy"},
		{"wrong type", "version: one\n", "s.yaml:1: (yaml)"},
		{"not yaml", "version: [\n", "s.yaml:"},
		{"empty", "", "the script is empty"},
		{"no witness", "version: 1\ntype: root\nid: x\norganization: o\nlocation: l\nparticipants:\n  - {name: A, role: administrator}\n", "s.yaml:6: participants: needs at least one witness"},
		{"bad country", "type: root\ncertificate:\n  subject:\n    country: Germany\n", "s.yaml:4: certificate.subject.country"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScript("s.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func FuzzParseScript(f *testing.F) {
	f.Add(must(os.ReadFile(filepath.Join("..", "testdata", "root-ceremony.yaml"))))
	f.Add([]byte("version: 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseScript("f.yaml", b)
		if err == nil && (s.Version != 1 || s.Key.Label == "") {
			t.Fatal("accepted an invalid script")
		}
	})
}

// A witness's "no" carries a reason, and the reason is in the transcript.
func TestDeclineRecordsReason(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	ui := &reasonUI{scriptedUI: scriptedUI{}, reason: "the HSM serial on screen differs from the label on the device"}
	err := start(t, exampleScript(t), dir, b, ui, Options{})
	if !errors.Is(err, ErrDeclined) {
		t.Fatalf("err = %v", err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, transcript.FileName))
	if !strings.Contains(string(data), ui.reason) {
		t.Fatal("the reason is not in the transcript")
	}
}

type reasonUI struct {
	scriptedUI
	reason string
}

func (u *reasonUI) Confirm(_ context.Context, who, q string) error {
	if strings.Contains(q, `did "Generate the root key" happen`) {
		return &Declined{Reason: u.reason}
	}
	return nil
}
