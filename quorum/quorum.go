// Package quorum splits a backup key-encryption key (KEK) among custodians so that any M of N
// can rebuild it and fewer cannot, and encodes each share as a code a person can read aloud,
// write down and type back (see Share.Code).
//
// Guarantees, on top of github.com/hashicorp/vault/shamir (which has no integrity of its own
// and silently yields a wrong secret from too few or mixed shares):
//   - Split runs a self-test: every M-subset of the new shares must combine back to the KEK.
//   - Combine refuses, with a message naming the problem, shares from another ceremony,
//     duplicate shares, shares of different thresholds or totals, and fewer than M shares;
//     the rebuilt KEK must match the recorded key check value before it is returned.
//   - Share codes carry a check symbol per group, so a typo is named as it is typed.
//   - Commit makes a commitment to each share, bound to its custodian, for the transcript;
//     Commitments.Check refuses a share typed by the wrong custodian (naming both) or one that
//     is not this split's (naming the share), before any combination. See commit.go for the
//     encoding and why publishing commitments to shares of a random 256-bit key is safe.
//
// Secrets are byte slices; callers zero them with Zero when done.
package quorum

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"sort"

	"github.com/hashicorp/vault/shamir"

	"github.com/keyrite/keyrite/hsm/keycheck"
)

// Limits on a split.
const (
	MinThreshold = 2
	MaxShares    = 16
	KEKSize      = 32
)

// Split divides kek (32 bytes) into total shares, threshold of which rebuild it, for the
// ceremony ceremonyID. It self-tests every threshold-subset before returning and returns the
// number of subsets checked.
func Split(kek []byte, threshold, total int, ceremonyID string) ([]*Share, int, error) {
	if len(kek) != KEKSize {
		return nil, 0, fmt.Errorf("split: the KEK must be %d bytes, got %d", KEKSize, len(kek))
	}
	if threshold < MinThreshold || threshold > total || total > MaxShares {
		return nil, 0, fmt.Errorf("split: %d-of-%d is not allowed; need %d <= M <= N <= %d", threshold, total, MinThreshold, MaxShares)
	}
	parts, err := shamir.Split(kek, total, threshold)
	if err != nil {
		return nil, 0, fmt.Errorf("split: %w", err)
	}
	tag := CeremonyTag(ceremonyID)
	shares := make([]*Share, total)
	for i, p := range parts {
		shares[i] = &Share{CeremonyTag: tag, Threshold: threshold, Total: total, Number: i + 1, Data: p}
	}
	checked, err := selfTest(kek, shares)
	if err != nil {
		Zero(shares...)
		return nil, 0, err
	}
	return shares, checked, nil
}

// selfTest combines every threshold-subset of shares and compares with kek.
func selfTest(kek []byte, shares []*Share) (int, error) {
	m := shares[0].Threshold
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	checked := 0
	for {
		parts := make([][]byte, m)
		for i, j := range idx {
			parts[i] = shares[j].Data
		}
		got, err := shamir.Combine(parts)
		if err != nil || subtle.ConstantTimeCompare(got, kek) != 1 {
			return checked, fmt.Errorf("split self-test: shares %v do not combine back to the KEK; the split is discarded", numbers(shares, idx))
		}
		zero(got)
		checked++
		// Next combination in lexicographic order.
		i := m - 1
		for i >= 0 && idx[i] == len(shares)-m+i {
			i--
		}
		if i < 0 {
			return checked, nil
		}
		idx[i]++
		for j := i + 1; j < m; j++ {
			idx[j] = idx[j-1] + 1
		}
	}
}

func numbers(shares []*Share, idx []int) []int {
	out := make([]int, len(idx))
	for i, j := range idx {
		out[i] = shares[j].Number
	}
	return out
}

// Expect is what the rebuilt KEK must match: its ceremony and key check value.
type Expect struct {
	CeremonyID string
	Threshold  int
	Total      int
	KCV        keycheck.KCV
}

// Errors a Combine can return; each is wrapped with the details.
var (
	ErrOtherCeremony  = errors.New("share is from another ceremony")
	ErrDuplicate      = errors.New("share was already entered")
	ErrWrongThreshold = errors.New("share belongs to a different split")
	ErrTooFew         = errors.New("too few shares")
	ErrKCVMismatch    = errors.New("the rebuilt key does not match its key check value")
)

// Accept checks one more share against the expectation and the shares already accepted,
// so each can be accepted or refused as it is entered.
func (e Expect) Accept(s *Share, accepted []*Share) error {
	if s.CeremonyTag != CeremonyTag(e.CeremonyID) {
		return fmt.Errorf("share %d: %w, not %q; check that the custodian brought the share of this ceremony", s.Number, ErrOtherCeremony, e.CeremonyID)
	}
	if s.Threshold != e.Threshold || s.Total != e.Total {
		return fmt.Errorf("share %d: %w: it is from a %d-of-%d split, this backup is %d-of-%d; it may be a share from before a re-share", s.Number, ErrWrongThreshold, s.Threshold, s.Total, e.Threshold, e.Total)
	}
	for _, a := range accepted {
		if a.Number == s.Number || a.Data[len(a.Data)-1] == s.Data[len(s.Data)-1] {
			return fmt.Errorf("share %d: %w; each custodian enters a different share", s.Number, ErrDuplicate)
		}
	}
	return nil
}

// Combine rebuilds the KEK from exactly the threshold number of shares and checks its KCV.
// Extra shares are not used.
func (e Expect) Combine(shares []*Share) ([]byte, error) {
	var accepted []*Share
	for _, s := range shares {
		if err := e.Accept(s, accepted); err != nil {
			return nil, err
		}
		accepted = append(accepted, s)
	}
	if len(accepted) < e.Threshold {
		return nil, fmt.Errorf("%w: %d of the %d needed; more custodians must enter their shares", ErrTooFew, len(accepted), e.Threshold)
	}
	sort.Slice(accepted, func(i, j int) bool { return accepted[i].Number < accepted[j].Number })
	parts := make([][]byte, e.Threshold)
	for i := range parts {
		parts[i] = accepted[i].Data
	}
	kek, err := shamir.Combine(parts)
	if err != nil {
		return nil, fmt.Errorf("combine shares: %w", err)
	}
	got, err := keycheck.Compute(kek, e.KCV.Method)
	if err != nil {
		zero(kek)
		return nil, err
	}
	if !got.Equal(e.KCV) {
		zero(kek)
		return nil, fmt.Errorf("%w (%s, expected %s); the shares are from another backup or were changed", ErrKCVMismatch, got, e.KCV)
	}
	return kek, nil
}

// Zero overwrites the shares' secret data.
func Zero(shares ...*Share) {
	for _, s := range shares {
		if s != nil {
			zero(s.Data)
		}
	}
}

// ZeroKey overwrites a key.
func ZeroKey(k []byte) { zero(k) }
