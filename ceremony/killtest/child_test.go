package killtest

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/ceremony/ceremonytest"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/reports"
)

// childEnv carries a childSpec (JSON) to a child process of the test binary.
const childEnv = "KEYRITE_KILLTEST_CHILD"

// childSpec is one child process's job. Every HSM call of the test happens in a child, so
// the parent never holds SoftHSM state that a killed child changed under it.
type childSpec struct {
	Mode     string // "prepare-migrate", "start", "resume", "inspect"
	Store    string // the rehearsal store
	Token    string // the token label (the source, for a migration)
	Target   string // a migration's target token label
	Script   string
	Dir      string
	Previous string
	Shares   string
	DEKs     int // prepare-migrate: data keys to make on the source
	// KillAt kills the process (SIGKILL) right after record KillAt is on disk (start only;
	// -1 never). KillSheet kills it after share sheet KillSheet is written and shown, before
	// it is recorded. KillAfterSeal kills it that long into making the report and bundle.
	KillAt        int64
	KillSheet     int
	KillAfterSeal time.Duration
	// KillResume, for the parent: the first resume is killed that long after it starts, and
	// resumed again.
	KillResume time.Duration
}

func kill() {
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// killUI plays everyone in the room (ceremonytest.UI) and can die after a share is shown.
type killUI struct {
	ceremonytest.UI
	killSheet int
}

func (u *killUI) RevealShare(ctx context.Context, c ceremony.Participant, n, total int, code string) error {
	if n == u.killSheet {
		kill()
	}
	return u.UI.RevealShare(ctx, c, n, total, code)
}

// child runs spec and returns the process's exit code.
func child(raw string) int {
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := spec.run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func (spec childSpec) run() error {
	store, err := hsm.PrepareRehearsal(spec.Store)
	if err != nil {
		return err
	}
	m, err := hsm.Open(hsm.SoftHSMModule)
	if err != nil {
		return err
	}
	defer m.Close()
	bind := func(label string) (ceremony.Binding, error) {
		_, err := store.EnsureToken(m, label)
		return ceremony.RehearsalBinding(m, store, label), err
	}
	b, err := bind(spec.Token)
	if err != nil {
		return err
	}
	opt := ceremony.Options{Previous: spec.Previous, SharesDir: spec.Shares,
		ShareSheet: func(s ceremony.ShareSheet) ([]byte, error) { return reports.RenderShareSheet(reports.ShareSheet(s)) }}
	if spec.Target != "" {
		tb, err := bind(spec.Target)
		if err != nil {
			return err
		}
		opt.Target = &tb
	}
	switch spec.Mode {
	case "prepare-migrate":
		s, err := ceremony.LoadScript(spec.Script)
		if err != nil {
			return err
		}
		if err := ceremony.Start(context.Background(), s, spec.Dir, b, &ceremonytest.UI{}, ceremony.Options{}); err != nil {
			return err
		}
		tok, err := b.Open()
		if err != nil {
			return err
		}
		defer tok.Close()
		for i := 0; i < spec.DEKs; i++ {
			if _, err := tok.GenerateDEK(hsm.DEKSpec{Label: fmt.Sprintf("dek-%05d", i), ID: []byte(fmt.Sprint(i)), Extractable: true}); err != nil {
				return err
			}
		}
		return nil
	case "inspect":
		out := map[string][]hsm.Object{}
		for role, bb := range map[string]*ceremony.Binding{"source": &b, "target": opt.Target} {
			if bb == nil {
				continue
			}
			tok, err := bb.Open()
			if err != nil {
				return err
			}
			objs, err := tok.Objects()
			tok.Close()
			if err != nil {
				return err
			}
			out[role] = objs
		}
		return json.NewEncoder(os.Stdout).Encode(out)
	}
	opt.AfterSeal = func(dir string, signer crypto.Signer) error {
		if spec.KillAfterSeal > 0 {
			go func() { time.Sleep(spec.KillAfterSeal); kill() }()
		}
		_, _, err := reports.WriteEvidence(dir, signer)
		return err
	}
	ui := &killUI{killSheet: spec.KillSheet}
	if spec.Mode == "resume" {
		return ceremony.Resume(context.Background(), spec.Dir, b, ui, opt)
	}
	if spec.KillAt >= 0 {
		opt.OnRecord = func(e transcript.Entry) {
			if int64(e.Seq) == spec.KillAt {
				kill()
			}
		}
	}
	s, err := ceremony.LoadScript(spec.Script)
	if err != nil {
		return err
	}
	return ceremony.Start(context.Background(), s, spec.Dir, b, ui, opt)
}
