package ledger

import (
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// GenerateWitnessKey makes an Ed25519 key pair for a witness (an auditor or a second site)
// named name, in golang.org/x/mod/sumdb/note's text forms. The private key stays with the
// witness; the verifier key goes to everyone who runs `keyrite verify --witness`.
func GenerateWitnessKey(name string) (skey, vkey string, err error) {
	skey, vkey, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", err
	}
	// Cosignatures are c2sp.org/tlog-cosignature/v1: timestamped, under their own key type.
	vkey, err = fnote.VKeyToCosignatureV1(vkey)
	return skey, vkey, err
}

// WitnessVerifier parses a witness's verifier key.
func WitnessVerifier(vkey string) (note.Verifier, error) {
	v, err := fnote.NewVerifierForCosignatureV1(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("witness key %q: %w (it is the line `keyrite cosign --generate` wrote to the .pub file)", firstField(vkey), err)
	}
	return v, nil
}

func firstField(s string) string {
	name, _, _ := strings.Cut(strings.TrimSpace(s), "+")
	return name
}

// Cosign has a witness cosign the newest checkpoint of the evidence root dir. The witness
// first checks that the root verifies (with opt), that the log is consistent with every
// checkpoint cosigned before (in the root, and — stronger — in the witness's own state file, if
// statePath is set, which it then updates), and only then signs. The cosigned checkpoint is kept
// as log/cosignatures/<size>, with the cosignatures of any other witness.
func Cosign(dir string, v func(dir string) error, skey, statePath string) (size int64, err error) {
	s, err := fnote.NewSignerForCosignatureV1(strings.TrimSpace(skey))
	if err != nil {
		return 0, fmt.Errorf("witness private key: %w", err)
	}
	if err := v(dir); err != nil {
		return 0, fmt.Errorf("the evidence root does not verify, so the witness does not cosign it: %w", err)
	}
	unlock, err := lock(dir)
	if err != nil {
		return 0, err
	}
	defer unlock()
	l, err := Open(dir)
	if err != nil {
		return 0, err
	}
	if l.Size() == 0 {
		return 0, errors.New("the ceremony log is empty: there is nothing to cosign")
	}
	if statePath != "" {
		if err := l.consistentWithState(statePath); err != nil {
			return 0, err
		}
	}
	name := filepath.Join(dir, Dir, "cosignatures", strconv.FormatInt(l.Size(), 10))
	base := l.signed
	if old, err := transcript.ReadFileMax(name, 64<<10); err == nil {
		base = old // other witnesses cosigned this checkpoint already
	}
	n, err := openAny(base)
	if err != nil {
		return 0, err
	}
	if n.Text != noteText(l.signed) {
		return 0, fmt.Errorf("%s is not a cosigned copy of the newest checkpoint", name)
	}
	for _, sig := range n.Sigs {
		if sig.Name == s.Name() && sig.Hash == s.KeyHash() {
			return l.Size(), nil // cosigned already
		}
	}
	out, err := note.Sign(n, s)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return 0, err
	}
	if err := writeAtomic(name, out); err != nil {
		return 0, err
	}
	if statePath != "" {
		if err := writeAtomic(statePath, l.signed); err != nil {
			return 0, fmt.Errorf("cosigned, but the witness's state file was not updated: %w", err)
		}
	}
	return l.Size(), nil
}

// consistentWithState checks the log against the checkpoint a witness last cosigned, kept in
// the witness's own state file (absent the first time).
func (l *Log) consistentWithState(statePath string) error {
	text, err := os.ReadFile(statePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	c, err := parseCheckpointText(text)
	if err != nil {
		return fmt.Errorf("witness state %s: %w", statePath, err)
	}
	if c.Origin != l.origin {
		return fmt.Errorf("witness state %s is for log %q, not %q", statePath, c.Origin, l.origin)
	}
	if int64(c.Size) > l.Size() {
		return fmt.Errorf("this witness cosigned %d entries before, but the log now holds %d: entries were removed; stop and investigate", c.Size, l.Size())
	}
	if len(c.Hash) != len(tlog.Hash{}) {
		return fmt.Errorf("witness state %s: root hash is not 32 bytes", statePath)
	}
	p, err := l.ConsistencyProof(int64(c.Size), l.Size())
	if err == nil {
		err = tlog.CheckTree(p, l.Size(), l.rootHash(), int64(c.Size), tlog.Hash(c.Hash))
	}
	if err != nil {
		return fmt.Errorf("the log is not an extension of the %d entries this witness cosigned before: it was rewritten; stop and investigate", c.Size)
	}
	return nil
}

// openAny parses a signed note without checking any signature, keeping every signature line.
func openAny(text []byte) (*note.Note, error) {
	_, err := note.Open(text, note.VerifierList())
	var u *note.UnverifiedNoteError
	if !errors.As(err, &u) {
		return nil, fmt.Errorf("not a signed note: %v", err)
	}
	n := u.Note
	n.Sigs, n.UnverifiedSigs = append(n.Sigs, n.UnverifiedSigs...), nil
	return n, nil
}
