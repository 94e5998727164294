package quorum

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// A commitment binds one share to the split that made it and the custodian it was handed to,
// without revealing anything about the share. It is recorded in the transcript at the split,
// and every share typed later is checked against it before any combination: a share typed by
// the wrong custodian, a share of another split made under the same ceremony ID (a rehearsal,
// an aborted run) and a damaged share are each refused by name, before the key check value is
// ever computed.
//
// The commitment to share k is
//
//	SHA-256( "keyrite share commitment v1" 0x00 |
//	         len(ceremony id) (4, big endian) | ceremony id |
//	         salt (32) | M (1) | N (1) | k (1) |
//	         share (33: the y values, then the x coordinate) )
//
// Every field has a fixed length or a length prefix, so no two inputs encode alike. The salt is
// 32 random bytes drawn once per split and recorded with the commitments.
//
// Why publishing it is safe: the KEK is 32 uniformly random bytes, and Shamir over GF(2^8) with
// fewer than M shares leaves every byte of the secret — and so every byte of each other share's
// y values — uniformly distributed. Whoever holds the transcript and up to M-1 shares still faces
// 2^256 equally likely values for any other share. Testing a guess against its commitment is
// no easier than testing a guess of the KEK against the key check value the transcript already
// records: both searches are 2^256 guesses long. The salt adds margin: no two splits, even of the same KEK
// under the same ceremony ID, share a commitment, and no table computed before a split helps
// against it.
type Commitment struct {
	Number    int    `json:"number"`
	Custodian string `json:"custodian"`
	SHA256    string `json:"sha256"` // hex
}

// Commitments are a split's commitments, one per share, and the salt they were made with.
type Commitments struct {
	Scheme string       `json:"scheme"` // CommitmentScheme
	Salt   string       `json:"salt"`   // hex, 32 bytes
	Shares []Commitment `json:"shares"`
}

// CommitmentScheme names the encoding above.
const CommitmentScheme = "keyrite share commitment v1: SHA-256 over domain, ceremony id, salt, M, N, number, share"

const commitDomain = "keyrite share commitment v1\x00"

// Errors a commitment check can return; each is wrapped with the share and the people named.
var (
	ErrWrongCustodian = errors.New("share belongs to another custodian")
	ErrNotCommitted   = errors.New("share does not match the commitment recorded at the split")
)

// Commit makes the commitments of a split's shares, in order; custodians[i] receives
// shares[i].
func Commit(shares []*Share, custodians []string, ceremonyID string) (*Commitments, error) {
	if len(shares) != len(custodians) {
		return nil, fmt.Errorf("commit: %d shares for %d custodians", len(shares), len(custodians))
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	c := &Commitments{Scheme: CommitmentScheme, Salt: hex.EncodeToString(salt)}
	for i, s := range shares {
		c.Shares = append(c.Shares, Commitment{Number: s.Number, Custodian: custodians[i], SHA256: hex.EncodeToString(commitment(s, ceremonyID, salt))})
	}
	return c, nil
}

func commitment(s *Share, ceremonyID string, salt []byte) []byte {
	h := sha256.New()
	h.Write([]byte(commitDomain))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(ceremonyID))))
	h.Write([]byte(ceremonyID))
	h.Write(salt)
	h.Write([]byte{byte(s.Threshold), byte(s.Total), byte(s.Number)})
	h.Write(s.Data)
	return h.Sum(nil)
}

// Check checks a share, typed by custodian, against the split's commitments: it must be a
// share this split committed to, and the one handed to custodian. The error names the share
// and, for a share of another custodian, both custodians.
func (c *Commitments) Check(s *Share, ceremonyID, custodian string) error {
	salt, err := hex.DecodeString(c.Salt)
	if err != nil || len(salt) != 32 || c.Scheme != CommitmentScheme {
		return fmt.Errorf("the split's commitments are not in a form this Keyrite reads (scheme %q)", c.Scheme)
	}
	var rec *Commitment
	for i := range c.Shares {
		if c.Shares[i].Number == s.Number {
			rec = &c.Shares[i]
		}
	}
	if rec == nil {
		return fmt.Errorf("share %d: %w: the split committed to no share %d", s.Number, ErrNotCommitted, s.Number)
	}
	want, err := hex.DecodeString(rec.SHA256)
	if err != nil {
		return fmt.Errorf("share %d: the recorded commitment is not hex", s.Number)
	}
	if subtle.ConstantTimeCompare(commitment(s, ceremonyID, salt), want) != 1 {
		return fmt.Errorf("share %d: %w of ceremony %q: it is share %d of another split made under the same ceremony ID (a rehearsal or an earlier run), or it was changed; bring the sealed sheet of this backup", s.Number, ErrNotCommitted, ceremonyID, s.Number)
	}
	if rec.Custodian != custodian {
		return fmt.Errorf("share %d: %w: it was handed to %s, and %s typed it; each custodian types only their own share", s.Number, ErrWrongCustodian, rec.Custodian, custodian)
	}
	return nil
}

// Of returns the commitment recorded for custodian, if any.
func (c *Commitments) Of(custodian string) (Commitment, bool) {
	for _, s := range c.Shares {
		if s.Custodian == custodian {
			return s, true
		}
	}
	return Commitment{}, false
}
