package ceremony

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"github.com/keyrite/keyrite/hsm/keycheck"
	"github.com/keyrite/keyrite/quorum"
)

// TypeMigrate moves many secret keys from this token to another, reconciled.
const TypeMigrate = "migrate"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeMigrate, Title: "Bulk key migration to a second token", Example: "migrate", Inputs: []Input{InputTarget},
			Description: "Every secret key with the script's label prefix moves to a second token under a transport key; check values on both sides must match, and a reconciliation lists them all."},
		previous: previousSealed,
		validate: (*Script).validateMigrate,
		steps:    migrateSteps,
		inputs: func(r *Run) error {
			if r.opt.Target == nil {
				return errors.New("a migration moves keys to a second token: name it (--target-token LABEL)")
			}
			return nil
		},
		resumed: func(r *Run, entries []transcript.Entry) {
			for _, e := range entries {
				var d map[string]string
				if e.Event == transcript.EventKeyMigrated && json.Unmarshal(e.Data, &d) == nil {
					r.xfer.migrated[d["label"]] = d["kcv"]
				}
			}
		},
		needs: migrateNeeds,
		supports: func() []supportCase {
			return []supportCase{{"migrate (source and target alike)", &Run{Script: supportScript(TypeMigrate)}}}
		},
	})
}

func (s *Script) validateMigrate(v *validator) {
	s.onlySection(v)
	if s.Migrate == nil || strings.TrimSpace(s.Migrate.Keys) == "" {
		v.errorf("migrate.keys", "name the label prefix of the keys to move")
	}
}

// MigrateConfig moves many secret keys from this token to a target token.
type MigrateConfig struct {
	Keys string `yaml:"keys"` // label prefix of the secret keys to move
}

func migrateSteps(s *Script) []step {
	root := rootSteps(s)
	return []step{root[0], continueStep(),
		{id: "establish-transport", title: "Set up the transport key", actorRole: "security-officer", witness: true, volatile: true,
			gate: func(r *Run) string {
				return fmt.Sprintf("generate an AES-256 transport key and install it as a trusted wrapping key here and as an unwrapping key on the target token %q", r.targetLabel())
			},
			explain: "A fresh AES-256 transport key from the source HSM's random number generator is installed as a trusted wrap-only key on the source (by the Security Officer) and as an unwrap-only key on the target. It exists in the clear only in memory, only now.",
			run:     (*Run).establishTransport},
		{id: "migrate-keys", title: "Move the keys", actorRole: "administrator",
			gate: func(r *Run) string {
				return fmt.Sprintf("wrap every secret key labelled %q… here and unwrap it on the target token %q", s.Migrate.Keys, r.targetLabel())
			},
			explain: fmt.Sprintf("Every secret key labelled %q… is wrapped on the source and unwrapped on the target, non-extractable; its check values on both sides must match. One record per key: an interrupted move continues where it stopped.", s.Migrate.Keys),
			run:     (*Run).migrateKeys},
		{id: "reconcile", title: "Reconcile", actorRole: "administrator", witness: true, outputs: []string{"reconciliation.csv"},
			explain: "Every key on both HSMs is listed with its check value; all must match.",
			run:     (*Run).reconcile},
		root[4]}
}

func (r *Run) establishTransport() error {
	value, err := r.token.Random(32)
	if err != nil {
		return err
	}
	defer quorum.ZeroKey(value)
	kcv, _ := keycheck.Compute(value, keycheck.MethodCMAC)
	if err := r.asSO(); err != nil {
		return err
	}
	src, err := r.token.ImportKEK(value, "migration-transport", hsm.WrapOnly)
	if err != nil {
		r.relogin()
		return err
	}
	if err := r.relogin(); err != nil {
		return err
	}
	dst, err := r.target.ImportKEK(value, "migration-transport", hsm.UnwrapOnly)
	if err != nil {
		return err
	}
	r.xfer.transport = [2]*hsm.SecretKey{src, dst}
	_, err = r.record(transcript.EventTransportEstablished, map[string]any{"kcv": kcv, "source_token": r.token.Info.Serial, "target_token": r.target.Info.Serial,
		"source_attributes": src.Attributes, "target_attributes": dst.Attributes})
	return err
}

// migrationKeys lists the keys the migration moves: those on the source, sorted by label, and
// those already on the target by label. A label the target holds twice is refused: no check
// value could say which of the two is the migrated key.
func (r *Run) migrationKeys() ([]hsm.SecretKeyInfo, map[string]hsm.SecretKeyInfo, error) {
	srcKeys, err := r.sourceKeys()
	if err != nil {
		return nil, nil, err
	}
	dstKeys, err := r.target.SecretKeys(r.Script.Migrate.Keys)
	if err != nil {
		return nil, nil, err
	}
	dst, err := byLabel(dstKeys)
	return srcKeys, dst, err
}

// sourceKeys lists the keys to move, sorted by label.
func (r *Run) sourceKeys() ([]hsm.SecretKeyInfo, error) {
	srcKeys, err := r.token.SecretKeys(r.Script.Migrate.Keys)
	sort.Slice(srcKeys, func(i, j int) bool { return srcKeys[i].Label < srcKeys[j].Label })
	return srcKeys, err
}

// byLabel maps the target's keys by label, refusing a label it holds twice.
func byLabel(dstKeys []hsm.SecretKeyInfo) (map[string]hsm.SecretKeyInfo, error) {
	dst := map[string]hsm.SecretKeyInfo{}
	for _, k := range dstKeys {
		if _, dup := dst[k.Label]; dup {
			return nil, fmt.Errorf("the target holds key %q twice", k.Label)
		}
		dst[k.Label] = k
	}
	return dst, nil
}

// claimTargetLabels prepares the claims of the labels of the toMove keys on the target and
// lists the keys already there, from one listing of the target where the claims make one
// (hsm.Token.ClaimLabelsAndList), or with a search.
func (r *Run) claimTargetLabels(toMove int) (*hsm.LabelClaims, map[string]hsm.SecretKeyInfo, error) {
	keys := &hsm.KeyList{Prefix: r.Script.Migrate.Keys}
	claims, listed, err := r.target.ClaimLabelsAndList(toMove, keys)
	if err != nil {
		return nil, nil, err
	}
	if !listed {
		if keys.Keys, err = r.target.SecretKeys(keys.Prefix); err != nil {
			return nil, nil, err
		}
	}
	onTarget, err := byLabel(keys.Keys)
	return claims, onTarget, err
}

// migrateKeys moves every key not yet recorded as moved. Each new key's label is claimed on the
// target in bulk (hsm.LabelClaims): checked free before the unwrap and checked again, with the
// keys made since, before any of them is recorded. A key is recorded (key.migrated) only once
// its check values match and that second check passed it.
func (r *Run) migrateKeys() error {
	srcKeys, err := r.sourceKeys()
	if err != nil {
		return err
	}
	moved := r.xfer.migrated
	toMove := 0
	for _, k := range srcKeys {
		if _, done := moved[k.Label]; !done {
			toMove++
		}
	}
	claims, onTarget, err := r.claimTargetLabels(toMove)
	if err != nil {
		return err
	}
	if _, err := r.record(transcript.EventMigrationStarted, map[string]any{"keys": len(srcKeys), "already_moved": len(moved), "already_on_target": len(onTarget)}); err != nil {
		return err
	}
	m := &mover{r: r, claims: claims, onTarget: onTarget}
	moving := fmt.Sprintf("Moving %d keys from token %q to token %q", len(srcKeys), r.token.Info.Label, r.target.Info.Label)
	for i, k := range srcKeys {
		r.UI.Progress(moving, i, len(srcKeys))
		if _, done := moved[k.Label]; done {
			continue
		}
		if err := m.move(k); err != nil {
			return errors.Join(err, m.flush()) // what was moved before is recorded
		}
		if claims.Due() {
			if err := m.flush(); err != nil {
				return err
			}
		}
	}
	if err := m.flush(); err != nil {
		return err
	}
	r.UI.Progress(moving, len(srcKeys), len(srcKeys))
	r.UI.Note(fmt.Sprintf("%d keys moved.", len(srcKeys)))
	return nil
}

// mover moves keys to the target and records them in batches, once their labels pass the
// claims' second check.
type mover struct {
	r        *Run
	claims   *hsm.LabelClaims
	onTarget map[string]hsm.SecretKeyInfo
	batch    []movedKey // moved, not yet recorded, in order
}

type movedKey struct {
	data    map[string]string // the key.migrated record
	created bool              // made now: recorded only once its label is checked again
}

// move moves k, or accepts the copy an interruption left on the target if its check value is
// k's, and adds it to the batch.
func (m *mover) move(k hsm.SecretKeyInfo) error {
	r := m.r
	kcv, err := k.Key().CheckValueECB()
	if err != nil {
		return err
	}
	note := ""
	t, onTgt := m.onTarget[k.Label]
	if onTgt {
		// Moved before an interruption, not yet recorded: it must be the same key.
		tk, err := t.Key().CheckValueECB()
		if err != nil {
			// Half-written by the interruption: the transcript cannot vouch for it. The keys
			// moved before are recorded first, so the records keep the keys' order.
			if err := m.flush(); err != nil {
				return err
			}
			if err := r.destroyUnverifiable(k.Label, err, m.claims); err != nil {
				return err
			}
			onTgt = false
		} else if tk != kcv {
			return fmt.Errorf("the target already holds a different key labelled %q (check value %s, source %s): stop and investigate", k.Label, tk, kcv)
		} else {
			note = "found on the target after an interruption; check values match"
		}
	}
	if !onTgt {
		if err := m.unwrap(k, kcv); err != nil {
			return err
		}
	}
	data := map[string]string{"label": k.Label, "id": hex.EncodeToString(k.ID), "kcv": kcv, "kcv_method": keycheck.MethodECB}
	if note != "" {
		data["note"] = note
	}
	m.batch = append(m.batch, movedKey{data: data, created: !onTgt})
	return nil
}

// unwrap wraps k on the source, unwraps it on the target and compares the check values.
func (m *mover) unwrap(k hsm.SecretKeyInfo, kcv string) error {
	r := m.r
	blob, err := r.token.WrapSecretKey(r.xfer.transport[0], k.Key())
	if err != nil {
		return err
	}
	nk, err := m.claims.UnwrapDEK(r.xfer.transport[1], blob, hsm.DEKSpec{Label: k.Label, ID: k.ID})
	if err != nil {
		return err
	}
	tk, err := nk.CheckValueECB()
	if err != nil {
		return err
	}
	if tk != kcv {
		return fmt.Errorf("key %q arrived with check value %s, the source has %s", k.Label, tk, kcv)
	}
	return nil
}

// flush checks the labels of the keys made since the last flush again and records every key of
// the batch that passed (a key another object's label collided with was destroyed: the error
// says so, and it is not recorded).
func (m *mover) flush() error {
	passed, err := m.claims.Recheck()
	ok := make(map[string]bool, len(passed))
	for _, l := range passed {
		ok[l] = true
	}
	batch := m.batch
	m.batch = nil
	for _, b := range batch {
		label := b.data["label"]
		if b.created && !ok[label] {
			continue
		}
		if _, rerr := m.r.record(transcript.EventKeyMigrated, b.data); rerr != nil {
			return errors.Join(err, rerr)
		}
		m.r.xfer.migrated[label] = b.data["kcv"]
	}
	return err
}

func (r *Run) reconcile() error {
	srcKeys, dst, err := r.migrationKeys()
	if err != nil {
		return err
	}
	var csv bytes.Buffer
	csv.WriteString("label,id,source_kcv,target_kcv,kcv_method,match\n")
	matching, missing, differ := 0, []string{}, []string{}
	for _, k := range srcKeys {
		skcv, err := k.Key().CheckValueECB()
		if err != nil {
			return err
		}
		tkcv := ""
		if t, ok := dst[k.Label]; ok {
			if tkcv, err = t.Key().CheckValueECB(); err != nil {
				return err
			}
		}
		ok := tkcv == skcv
		switch {
		case ok:
			matching++
		case tkcv == "":
			missing = append(missing, k.Label)
		default:
			differ = append(differ, k.Label)
		}
		fmt.Fprintf(&csv, "%s,%x,%s,%s,%s,%v\n", k.Label, k.ID, skcv, tkcv, keycheck.MethodECB, ok)
	}
	if err := r.writeOutput("reconciliation.csv", csv.Bytes()); err != nil {
		return err
	}
	if _, err := r.record(transcript.EventReconciliation, map[string]any{"source_keys": len(srcKeys), "target_keys": len(dst), "matching": matching, "missing": missing, "different": differ}); err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("Reconciliation: %d of %d keys match on both HSMs.", matching, len(srcKeys)))
	if len(missing)+len(differ) > 0 || len(dst) != len(srcKeys) {
		return fmt.Errorf("reconciliation failed: %d missing, %d different, %d keys on the target for %d on the source", len(missing), len(differ), len(dst), len(srcKeys))
	}
	return nil
}

// destroyUnverifiable removes, with the administrator's and a witness's consent, a target
// object an interruption left half-written, so the key can be moved again.
func (r *Run) destroyUnverifiable(label string, cause error, claims *hsm.LabelClaims) error {
	q := fmt.Sprintf("The target holds an object labelled %q that the interruption left unreadable (%v). Destroy it and move the key again?", label, cause)
	confirmedBy, err := r.confirmCleanup(q, map[string]any{"label": label})
	if err != nil {
		return fmt.Errorf("%w (the unreadable object %q on the target); the migration stops here and can be resumed", err, label)
	}
	n, err := claims.DestroyLabel(label)
	if err != nil {
		return err
	}
	_, err = r.record(transcript.EventCleanupDestroyed, map[string]any{"label": label, "objects": n, "token_serial": r.target.Info.Serial, "confirmed_by": confirmedBy,
		"reason": "left unreadable on the target by an interruption: " + cause.Error()})
	return err
}

// migrateNeeds lists the token capabilities a migrate ceremony needs (the pre-flight checks them).
func migrateNeeds(r *Run) []Need {
	var out []Need
	out = append(out,
		need(hsm.CapRandom, "the transport key, from the source token's random number generator"),
		need(hsm.CapTrusted, "the transport key, which the Security Officer installs on the source as a trusted wrapping key"),
		need(hsm.CapAESKWPWrap, "wrapping each key on the source (RFC 5649)"),
		Need{AnyOf: []hsm.Capability{hsm.CapAESKWPUnwrap}, For: "unwrapping each key on the target (RFC 5649)", Target: true})
	return out
}
