package transcript

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// SealFileName is the seal's name inside a ceremony folder.
const SealFileName = "transcript.seal"

// CheckpointOrigin is the first line of every checkpoint.
const CheckpointOrigin = "keyrite-transcript/v1"

// Checkpoint is what a seal signs: which ceremony, how many records, and the hash of the last.
// Its text form is four lines, each ending in a newline:
//
//	keyrite-transcript/v1
//	<ceremony id>
//	<number of records, decimal>
//	<SHA-256 of the last record's line, standard base64>
type Checkpoint struct {
	CeremonyID string
	Count      uint64
	Head       [32]byte
}

// Body is the exact text that is signed.
func (c Checkpoint) Body() []byte {
	return fmt.Appendf(nil, "%s\n%s\n%d\n%s\n", CheckpointOrigin, c.CeremonyID, c.Count, base64.StdEncoding.EncodeToString(c.Head[:]))
}

// ShortHash is the first 8 hex digits of the head hash: short enough for every report page.
func (c Checkpoint) ShortHash() string { return fmt.Sprintf("%x", c.Head[:4]) }

// ShortHashGrouped is ShortHash as people read it aloud, and as the screen at the close and
// every report page print it: upper case, two groups of four ("1A2B 3C4D").
func (c Checkpoint) ShortHashGrouped() string {
	h := strings.ToUpper(c.ShortHash())
	return h[:4] + " " + h[4:]
}

func parseCheckpoint(body string) (Checkpoint, error) {
	var c Checkpoint
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if len(lines) != 4 || !strings.HasSuffix(body, "\n") {
		return c, fmt.Errorf("checkpoint must be exactly 4 lines, has %d", len(lines))
	}
	if lines[0] != CheckpointOrigin {
		return c, fmt.Errorf("checkpoint origin %q, want %q", lines[0], CheckpointOrigin)
	}
	if !validID(lines[1]) {
		return c, fmt.Errorf("checkpoint ceremony id %q is not valid", lines[1])
	}
	c.CeremonyID = lines[1]
	n, err := strconv.ParseUint(lines[2], 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != lines[2] || n == 0 {
		return c, fmt.Errorf("checkpoint record count %q is not a positive decimal number", lines[2])
	}
	c.Count = n
	h, err := base64.StdEncoding.Strict().DecodeString(lines[3])
	if err != nil || len(h) != 32 {
		return c, fmt.Errorf("checkpoint head %q is not a base64 SHA-256", lines[3])
	}
	copy(c.Head[:], h)
	return c, nil
}

func validID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// Seal is a signed checkpoint in signed-note form: the checkpoint body, a blank line, and one
// signature line "— <name> <base64(key ID || signature)>" where the key ID is the first four
// bytes of the SHA-256 of the signer's DER SubjectPublicKeyInfo.
type Seal struct {
	Checkpoint
	Text       string // the whole seal as stored
	SignerName string
	KeyID      [4]byte
	Signature  []byte // ASN.1 DER for ECDSA, raw for Ed25519, PKCS #1 v1.5 for RSA
}

// KeyID is the key ID of a public key on a seal's signature line.
func KeyID(pub crypto.PublicKey) ([4]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return [4]byte{}, err
	}
	h := sha256.Sum256(der)
	return [4]byte(h[:4]), nil
}

// signatureHash is the digest a key signs the checkpoint with: SHA-256/384/512 by ECDSA curve
// size, SHA-256 for RSA (PKCS #1 v1.5), none for Ed25519.
func signatureHash(pub crypto.PublicKey) (crypto.Hash, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return crypto.SHA256, nil
		case elliptic.P384():
			return crypto.SHA384, nil
		case elliptic.P521():
			return crypto.SHA512, nil
		}
		return 0, errors.New("unsupported ECDSA curve")
	case *rsa.PublicKey:
		return crypto.SHA256, nil
	case ed25519.PublicKey:
		return 0, nil
	}
	return 0, fmt.Errorf("unsupported key type %T", pub)
}

// noteSigner signs a checkpoint as a golang.org/x/mod/sumdb/note Signer: the note's key hash
// is the seal's key ID, and the signature is the one Seal.Verify checks.
type noteSigner struct {
	name   string
	id     [4]byte
	hash   crypto.Hash
	signer crypto.Signer
}

func (s *noteSigner) Name() string    { return s.name }
func (s *noteSigner) KeyHash() uint32 { return binary.BigEndian.Uint32(s.id[:]) }
func (s *noteSigner) Sign(msg []byte) ([]byte, error) {
	return s.signer.Sign(rand.Reader, digest(s.hash, msg), s.hash)
}

// digest is what a key of the given hash signs for msg: its digest, or msg itself (Ed25519).
func digest(h crypto.Hash, msg []byte) []byte {
	if h == 0 {
		return msg
	}
	d := h.New()
	d.Write(msg)
	return d.Sum(nil)
}

// noteVerifier checks a seal's signature as a note Verifier, with the transcript signer's
// public key: ECDSA (P-256, P-384, P-521), RSA PKCS #1 v1.5 or Ed25519.
type noteVerifier struct {
	name string
	id   [4]byte
	hash crypto.Hash
	pub  crypto.PublicKey
}

func (v *noteVerifier) Name() string    { return v.name }
func (v *noteVerifier) KeyHash() uint32 { return binary.BigEndian.Uint32(v.id[:]) }
func (v *noteVerifier) Verify(msg, sig []byte) bool {
	d := digest(v.hash, msg)
	switch k := v.pub.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, d, sig)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, v.hash, d, sig) == nil
	case ed25519.PublicKey:
		return ed25519.Verify(k, d, sig)
	}
	return false
}

// NoteSigner is a golang.org/x/mod/sumdb/note Signer named name over signer (an HSM key):
// its key hash is the seal's key ID, its signatures those Seal.Verify checks. Seals and the
// ceremony log's checkpoints are signed with it.
func NoteSigner(name string, signer crypto.Signer) (note.Signer, error) {
	id, err := KeyID(signer.Public())
	if err != nil {
		return nil, err
	}
	h, err := signatureHash(signer.Public())
	if err != nil {
		return nil, err
	}
	return &noteSigner{name: name, id: id, hash: h, signer: signer}, nil
}

// NoteVerifier is the note Verifier named name for pub, the counterpart of NoteSigner.
func NoteVerifier(name string, pub crypto.PublicKey) (note.Verifier, error) {
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	h, err := signatureHash(pub)
	if err != nil {
		return nil, err
	}
	return &noteVerifier{name: name, id: id, hash: h, pub: pub}, nil
}

// SealCheckpoint signs c with signer and returns the seal text: a signed note
// (golang.org/x/mod/sumdb/note) whose text is the checkpoint body.
func SealCheckpoint(c Checkpoint, name string, signer crypto.Signer) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, " \n+") || !utf8.ValidString(name) {
		return nil, fmt.Errorf("seal signer name %q must be non-empty with no spaces or '+'", name)
	}
	ns, err := NoteSigner(name, signer)
	if err != nil {
		return nil, err
	}
	seal, err := note.Sign(&note.Note{Text: string(c.Body())}, ns)
	if err != nil {
		return nil, fmt.Errorf("seal transcript: sign checkpoint: %w", err)
	}
	return seal, nil
}

// ParseSeal parses a seal's text. It does not check the signature: see Seal.Verify.
func ParseSeal(text []byte) (*Seal, error) {
	s := string(text)
	if !utf8.ValidString(s) {
		return nil, errors.New("seal is not UTF-8")
	}
	i := strings.Index(s, "\n\n")
	if i < 0 {
		return nil, errors.New("seal has no blank line between checkpoint and signature")
	}
	c, err := parseCheckpoint(s[:i+1])
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	sigLines := strings.Split(strings.TrimSuffix(s[i+2:], "\n"), "\n")
	if len(sigLines) != 1 || !strings.HasSuffix(s, "\n") {
		return nil, errors.New("seal must end with exactly one signature line")
	}
	f := strings.Split(sigLines[0], " ")
	if len(f) != 3 || f[0] != "—" {
		return nil, errors.New("seal signature line must be \"— <name> <signature>\"")
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(f[2])
	if err != nil || len(raw) < 5 {
		return nil, errors.New("seal signature is not valid base64 of key ID and signature")
	}
	return &Seal{Checkpoint: c, Text: s, SignerName: f[1], KeyID: [4]byte(raw[:4]), Signature: raw[4:]}, nil
}

// Verify checks the seal's signature with pub through note.Open: the seal must be a
// well-formed signed note whose one signature is by pub under the seal's signer name.
func (s *Seal) Verify(pub crypto.PublicKey) error {
	id, err := KeyID(pub)
	if err != nil {
		return err
	}
	if id != s.KeyID {
		return fmt.Errorf("seal was signed by key ID %x, not by the transcript signer (key ID %x)", s.KeyID, id)
	}
	v, err := NoteVerifier(s.SignerName, pub)
	if err != nil {
		return err
	}
	n, err := note.Open([]byte(s.Text), note.VerifierList(v))
	if err != nil || len(n.Sigs) != 1 || len(n.UnverifiedSigs) != 0 || n.Text != string(s.Body()) {
		return errors.New("seal signature does not verify: the checkpoint or the signature was altered")
	}
	return nil
}
