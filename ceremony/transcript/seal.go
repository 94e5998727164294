package transcript

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
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

// SealCheckpoint signs c with signer and returns the seal text.
func SealCheckpoint(c Checkpoint, name string, signer crypto.Signer) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, " \n+") || !utf8.ValidString(name) {
		return nil, fmt.Errorf("seal signer name %q must be non-empty with no spaces or '+'", name)
	}
	id, err := KeyID(signer.Public())
	if err != nil {
		return nil, err
	}
	h, err := signatureHash(signer.Public())
	if err != nil {
		return nil, err
	}
	body := c.Body()
	msg := body
	if h != 0 {
		d := h.New()
		d.Write(body)
		msg = d.Sum(nil)
	}
	sig, err := signer.Sign(rand.Reader, msg, h)
	if err != nil {
		return nil, fmt.Errorf("seal transcript: sign checkpoint: %w", err)
	}
	var b bytes.Buffer
	b.Write(body)
	b.WriteString("\n— ")
	b.WriteString(name)
	b.WriteByte(' ')
	b.WriteString(base64.StdEncoding.EncodeToString(append(id[:], sig...)))
	b.WriteByte('\n')
	return b.Bytes(), nil
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

// Verify checks the seal's signature with pub.
func (s *Seal) Verify(pub crypto.PublicKey) error {
	id, err := KeyID(pub)
	if err != nil {
		return err
	}
	if id != s.KeyID {
		return fmt.Errorf("seal was signed by key ID %x, not by the transcript signer (key ID %x)", s.KeyID, id)
	}
	h, err := signatureHash(pub)
	if err != nil {
		return err
	}
	body := s.Body()
	msg := body
	if h != 0 {
		d := h.New()
		d.Write(body)
		msg = d.Sum(nil)
	}
	ok := false
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, msg, s.Signature)
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, h, msg, s.Signature) == nil
	case ed25519.PublicKey:
		ok = ed25519.Verify(k, msg, s.Signature)
	}
	if !ok {
		return errors.New("seal signature does not verify: the checkpoint or the signature was altered")
	}
	return nil
}
