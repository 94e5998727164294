package killtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/reports"
)

var (
	killAll    = flag.String("kill", "", `"all": kill at every record boundary of every ceremony (long); by default every boundary of the quorum root ceremony and a sample of the migration's`)
	killRandom = flag.Int("kill-random", 0, "kills at random moments per ceremony (default 6, 2 with -short)")
	killSeed   = flag.Int64("kill-seed", 0, "seed of the random kill moments (default: the time; printed)")
	workers    = flag.Int("kill-workers", 3, "kill points tried at once (each in its own token store)")
)

func TestMain(m *testing.M) {
	if raw := os.Getenv(childEnv); raw != "" {
		os.Exit(child(raw))
	}
	os.Exit(m.Run())
}

// harness runs one ceremony type again and again, each time on fresh tokens in a fresh folder.
type harness struct {
	t       *testing.T
	script  string
	migrate bool
	mu      sync.Mutex
	n       int
	// What an uninterrupted run leaves: its records and the token objects.
	records  int
	duration time.Duration
	objects  map[string][]string
	tried    map[string]int
	passed   map[string]int
	// inconclusive counts random kill points after which SoftHSM itself lost a token.
	inconclusive map[string]int
}

type trial struct {
	spec childSpec
	name string
}

func newHarness(t *testing.T, script string, migrate bool) *harness {
	abs, err := filepath.Abs(filepath.Join("..", "..", "testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, script: abs, migrate: migrate, tried: map[string]int{}, passed: map[string]int{}, inconclusive: map[string]int{}}
}

// fresh makes new tokens (and, for a migration, the root ceremony and data keys it moves) and
// returns a spec for a run into a new folder.
func (h *harness) fresh(store string) childSpec {
	h.mu.Lock()
	h.n++
	n := h.n
	h.mu.Unlock()
	base := h.t.TempDir()
	spec := childSpec{Store: store, Token: fmt.Sprintf("kill-%d", n), Script: h.script, Dir: filepath.Join(base, "ceremony"),
		Shares: filepath.Join(base, "shares"), KillAt: -1}
	if !h.migrate {
		return spec // the run's child makes its token
	}
	spec.Target = fmt.Sprintf("kill-%d-target", n)
	spec.Previous = filepath.Join(base, "root")
	prep := spec
	prep.Mode, prep.Script, prep.Dir, prep.DEKs = "prepare-migrate", filepath.Join(filepath.Dir(h.script), "root-ceremony.yaml"), spec.Previous, 6
	if _, code, out := h.spawn(prep, 0); code != 0 {
		h.t.Fatalf("prepare tokens: %s", out)
	}
	return spec
}

// spawn runs spec in a child process, killed after killAfter if that is set. It says whether
// the child died of SIGKILL, its exit code otherwise, and what it printed.
func (h *harness) spawn(spec childSpec, killAfter time.Duration) (killed bool, code int, out string) {
	raw, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	if killAfter > 0 {
		timer := time.AfterFunc(killAfter, func() { cmd.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true, -1, buf.String()
		}
		return false, ee.ExitCode(), buf.String()
	} else if err != nil {
		h.t.Fatal(err)
	}
	return false, 0, buf.String()
}

// reference runs the ceremony once without a kill and remembers what it leaves.
func (h *harness) reference() {
	spec := h.fresh(h.t.TempDir())
	spec.Mode = "start"
	start := time.Now()
	if _, code, out := h.spawn(spec, 0); code != 0 {
		h.t.Fatalf("uninterrupted run: %s", out)
	}
	h.duration = time.Since(start)
	res, err := h.check(spec)
	if err != nil {
		h.t.Fatalf("uninterrupted run: %v", err)
	}
	h.records = len(res.Entries)
}

// try runs one kill point: a run killed as spec and after says, then one resume, then the
// checks. It returns an error that names what went wrong.
func (h *harness) try(kind string, spec childSpec, after time.Duration) {
	err := h.tryOne(spec, after)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tried[kind]++
	if err != nil && kind == "random moment" && strings.Contains(err.Error(), hsm.ErrRehearsalTokenUnseen.Error()) {
		// A kill at a random moment can tear SoftHSM's own files for a token (SoftHSM 2.6.1
		// writes them without fsync), after which no process lists that token: a limit of the
		// rehearsal HSM, not of Keyrite, which says so and keeps every record. Counted apart.
		h.t.Logf("%s kill point after %v: inconclusive, SoftHSM lost the token: %v", kind, after, err)
		h.inconclusive[kind]++
		return
	}
	if err != nil {
		raw, _ := json.Marshal(struct {
			KillAt        int64
			KillSheet     int
			KillAfterSeal time.Duration
			KillResume    time.Duration
			After         time.Duration
		}{spec.KillAt, spec.KillSheet, spec.KillAfterSeal, spec.KillResume, after})
		h.t.Errorf("%s kill point %s: %v", kind, raw, err)
		return
	}
	h.passed[kind]++
}

func (h *harness) tryOne(spec childSpec, after time.Duration) error {
	spec.Mode = "start"
	again := spec.KillResume
	killed, code, out := h.spawn(spec, after)
	if !killed && code != 0 {
		return fmt.Errorf("the run failed without being killed: %s", out)
	}
	for killed {
		spec.KillAt, spec.KillSheet, spec.KillAfterSeal, spec.KillResume = -1, 0, 0, 0
		spec.Mode = "resume"
		if _, err := os.Stat(filepath.Join(spec.Dir, "script.yaml")); err != nil {
			// Killed before the ceremony opened: nothing was recorded, and the custodians
			// simply start it again (resume says so). A rehearsal run made its own token, so
			// starting again makes a fresh one, as `keyrite rehearse` does: the kill may have
			// torn SoftHSM's files for the first while it was being made.
			spec.Mode = "start"
			if !h.migrate {
				spec.Token += "-again"
			}
		}
		// A resume killed in turn (again > 0) is resumed once more.
		killed, code, out = h.spawn(spec, again)
		if !killed && code != 0 {
			return fmt.Errorf("%s after the kill failed: %s", spec.Mode, out)
		}
		again = 0
	}
	_, err := h.check(spec)
	return err
}

// check verifies the ceremony in spec.Dir and its bundle, compares the tokens' objects with
// an uninterrupted run's, and checks that no operation the transcript records was done twice.
func (h *harness) check(spec childSpec) (*transcript.Result, error) {
	res, err := transcript.Verify(spec.Dir, transcript.Options{})
	if err != nil {
		return nil, fmt.Errorf("the ceremony does not verify: %w", err)
	}
	var sink bytes.Buffer
	if err := reports.VerifyPath(&sink, filepath.Join(spec.Dir, reports.BundleName(res.Opening.CeremonyID)), ""); err != nil {
		return nil, fmt.Errorf("the bundle does not verify: %w", err)
	}
	if err := onceEach(res.Entries); err != nil {
		return nil, err
	}
	spec.Mode = "inspect"
	_, code, out := h.spawn(spec, 0)
	if code != 0 {
		return nil, fmt.Errorf("inspect the tokens: %s", out)
	}
	var objs map[string][]hsm.Object
	if err := json.Unmarshal([]byte(out), &objs); err != nil {
		return nil, fmt.Errorf("inspect the tokens: %v: %s", err, out)
	}
	got := map[string][]string{}
	for role, os := range objs {
		for _, o := range os {
			got[role] = append(got[role], fmt.Sprintf("%s/%s/%q", o.Class, o.KeyType, o.Label))
		}
		sort.Strings(got[role])
	}
	h.mu.Lock()
	want := h.objects
	h.mu.Unlock()
	if want == nil {
		h.objects = got
		return res, namedByTranscript(res.Entries, got)
	}
	for role := range objs {
		if strings.Join(got[role], " ") != strings.Join(want[role], " ") {
			return nil, fmt.Errorf("the %s token holds %v, an uninterrupted run leaves %v", role, got[role], want[role])
		}
	}
	return res, nil
}

// keyEvents name a key by its label ("label" in their data) that an HSM operation made.
var keyEvents = map[string]bool{"key.generated": true, "key.restored": true, "key.imported": true, "key.migrated": true}

// onceEach checks that the transcript records each key operation once: a key is made (or
// moved) again only after a clean-up record says the earlier one was destroyed.
func onceEach(entries []transcript.Entry) error {
	live := map[string]uint64{}
	for _, e := range entries {
		var d struct {
			Label string `json:"label"`
		}
		switch {
		case keyEvents[e.Event]:
			e.DecodeData(&d)
			if seq, ok := live[e.Event+" "+d.Label]; ok {
				return fmt.Errorf("record %d: %s %q again (first in record %d) with no clean-up between: an HSM operation was done twice", e.Seq, e.Event, d.Label, seq)
			}
			live[e.Event+" "+d.Label] = e.Seq
		case e.Event == "cleanup.destroyed":
			e.DecodeData(&d)
			for k := range live {
				if strings.HasSuffix(k, " "+d.Label) {
					delete(live, k)
				}
			}
		}
	}
	return nil
}

// namedByTranscript checks that every key object the ceremony left on a token is one the
// transcript names (or was there before it opened, as its first inventory records).
func namedByTranscript(entries []transcript.Entry, objs map[string][]string) error {
	named := map[string]bool{}
	for _, e := range entries {
		var d struct {
			Label   string       `json:"label"`
			Objects []hsm.Object `json:"objects"`
			When    string       `json:"when"`
		}
		if e.DecodeData(&d) != nil {
			continue
		}
		if keyEvents[e.Event] {
			named[fmt.Sprintf("%q", d.Label)] = true
		}
		if e.Event == "token.inventory" && d.When == "before" {
			for _, o := range d.Objects {
				named[fmt.Sprintf("%q", o.Label)] = true
			}
		}
	}
	for role, os := range objs {
		for _, o := range os {
			label := o[strings.LastIndex(o, "/")+1:]
			if !named[label] && !(role == "target" && strings.HasPrefix(label, `"dek-`)) {
				return fmt.Errorf("the %s token holds %s, which the transcript does not name", role, o)
			}
		}
	}
	return nil
}

// spread chooses the record boundaries to kill at: all of them, or n spread evenly (always
// the first and the last).
func spread(records, n int) []int64 {
	var out []int64
	if n <= 0 || n >= records {
		for i := 0; i < records; i++ {
			out = append(out, int64(i))
		}
		return out
	}
	for i := 0; i < n; i++ {
		out = append(out, int64(i*(records-1)/(n-1)))
	}
	return out
}

func (h *harness) report() {
	var kinds []string
	for k := range h.tried {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	total, passed := 0, 0
	for _, k := range kinds {
		h.t.Logf("kill points %-28s tried %3d, passed %3d, inconclusive %d", k, h.tried[k], h.passed[k], h.inconclusive[k])
		if 2*h.inconclusive[k] > h.tried[k] {
			h.t.Errorf("%s: %d of %d kill points inconclusive: too many to say anything", k, h.inconclusive[k], h.tried[k])
		}
		total += h.tried[k]
		passed += h.passed[k]
	}
	h.t.Logf("kill points in all: tried %d, passed %d (%d records in an uninterrupted run)", total, passed, h.records)
}

// point is one kill point to try.
type point struct {
	kind  string
	spec  childSpec // its kill fields set
	after time.Duration
}

// boundaries are kill points at the given record boundaries.
func boundaries(ps []int64) []point {
	var out []point
	for _, p := range ps {
		out = append(out, point{kind: "record boundary", spec: childSpec{KillAt: p}})
	}
	return out
}

// random are n kill points at random moments of a run, and n/2 while the report and bundle
// are made.
func (h *harness) random(n int, seed int64) []point {
	rng := rand.New(rand.NewSource(seed))
	var out []point
	for i := 0; i < n; i++ {
		out = append(out, point{kind: "random moment", spec: childSpec{KillAt: -1}, after: time.Duration(rng.Int63n(int64(h.duration)))})
	}
	for i := 0; i < (n+1)/2; i++ {
		out = append(out, point{kind: "again while resuming", spec: childSpec{KillAt: rng.Int63n(int64(h.records)),
			KillResume: time.Duration(rng.Int63n(int64(h.duration / 2)))}})
	}
	for i := 0; i < (n+1)/2; i++ {
		out = append(out, point{kind: "while making report/bundle", spec: childSpec{KillAt: -1, KillAfterSeal: time.Duration(rng.Int63n(int64(300 * time.Millisecond)))}})
	}
	return out
}

// run tries every point, on *workers workers, each with its own token store.
func (h *harness) run(points []point) {
	next := make(chan point)
	var wg sync.WaitGroup
	for w := 0; w < max(1, *workers); w++ {
		store := h.t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				spec := h.fresh(store)
				spec.KillAt, spec.KillSheet, spec.KillAfterSeal, spec.KillResume = p.spec.KillAt, p.spec.KillSheet, p.spec.KillAfterSeal, p.spec.KillResume
				h.try(p.kind, spec, p.after)
			}
		}()
	}
	for _, p := range points {
		next <- p
	}
	close(next)
	wg.Wait()
}

func randomCount() (int, int64) {
	n := *killRandom
	if n == 0 {
		n = 6
		if testing.Short() {
			n = 2
		}
	}
	seed := *killSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	return n, seed
}

// TestKillQuorumRootCeremony kills the 3-of-5 quorum root ceremony at every record boundary
// (a sample with -short), while a share sheet is written but not yet recorded, at random
// moments and while the report and bundle are made; every run resumes unaided and checks.
func TestKillQuorumRootCeremony(t *testing.T) {
	h := newHarness(t, "root-quorum-ceremony.yaml", false)
	h.reference()
	defer h.report()
	n := 0
	if testing.Short() {
		n = 5
	}
	points := boundaries(spread(h.records, n))
	for _, sheet := range []int{1, 3, 5} {
		points = append(points, point{kind: "share sheet not recorded", spec: childSpec{KillAt: -1, KillSheet: sheet}})
	}
	rn, seed := randomCount()
	t.Logf("random kill seed %d (-kill-seed)", seed)
	h.run(append(points, h.random(rn, seed)...))
}

// TestKillMigration kills a bulk migration of data keys to a second token the same way: a
// sample of its record boundaries by default, all with -kill=all.
func TestKillMigration(t *testing.T) {
	h := newHarness(t, "migrate-ceremony.yaml", true)
	h.reference()
	defer h.report()
	n := 10
	if testing.Short() {
		n = 3
	}
	if *killAll == "all" {
		n = 0
	}
	rn, seed := randomCount()
	t.Logf("random kill seed %d (-kill-seed)", seed)
	h.run(append(boundaries(spread(h.records, n)), h.random(rn, seed)...))
}
