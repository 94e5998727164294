package quorum

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
)

// A share code is how a custodian reads, writes down and types a share. It is Crockford
// base32 (no I, L, O or U; case-insensitive; O read as 0, I and L as 1), in groups of four
// symbols followed by one check symbol. The check symbol is Luhn mod 32 over the group's
// position and its four symbols, so any single mistyped symbol, and almost every swap of two
// neighbours, is caught and the group named as it is typed; a group typed in the wrong place
// fails its check too. A 2-byte checksum over the whole payload backs the groups up.
//
// Payload, version 1 (43 bytes):
//
//	version (1) = 1 | ceremony tag (4) | threshold M (1) | total N (1) | share number k (1) |
//	share (33: 32 bytes of y values, 1 byte x coordinate) | checksum (2)
//
// The ceremony tag is SHA-256("keyrite share v1\n" || ceremony id)[:4].
const (
	alphabet   = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	groupData  = 4
	codeV1     = 1
	payloadLen = 1 + 4 + 3 + 33 + 2
	// Groups is the number of groups in a version 1 share code.
	Groups = (payloadLen*8 + groupData*5 - 1) / (groupData * 5)
)

// Share is one custodian's part of a split key.
type Share struct {
	CeremonyTag [4]byte
	Threshold   int
	Total       int
	Number      int    // 1..Total, the custodian's share number
	Data        []byte // vault/shamir share: y values then the x coordinate
}

// CeremonyTag binds shares to the ceremony that made them.
func CeremonyTag(ceremonyID string) [4]byte {
	h := sha256.Sum256([]byte("keyrite share v1\n" + ceremonyID))
	return [4]byte(h[:4])
}

// Code encodes the share for humans: groups of five symbols separated by spaces.
func (s *Share) Code() string {
	p := make([]byte, 0, payloadLen)
	p = append(p, codeV1)
	p = append(p, s.CeremonyTag[:]...)
	p = append(p, byte(s.Threshold), byte(s.Total), byte(s.Number))
	p = append(p, s.Data...)
	sum := sha256.Sum256(p)
	p = append(p, sum[:2]...)
	syms := toSymbols(p)
	zero(p)
	var b strings.Builder
	for g := 0; g*groupData < len(syms); g++ {
		if g > 0 {
			b.WriteByte(' ')
		}
		grp := syms[g*groupData : (g+1)*groupData]
		for _, v := range grp {
			b.WriteByte(alphabet[v])
		}
		b.WriteByte(alphabet[checkSymbol(g, grp)])
	}
	zero(syms)
	return b.String()
}

// toSymbols splits bytes into 5-bit symbols, padding with zero bits to whole groups.
func toSymbols(p []byte) []byte {
	n := (len(p)*8 + 4) / 5
	n = (n + groupData - 1) / groupData * groupData
	out := make([]byte, n)
	for i := range out {
		var v byte
		for j := 0; j < 5; j++ {
			bit := i*5 + j
			v <<= 1
			if bit/8 < len(p) && p[bit/8]&(0x80>>(bit%8)) != 0 {
				v |= 1
			}
		}
		out[i] = v
	}
	return out
}

func fromSymbols(s []byte, n int) []byte {
	out := make([]byte, n)
	for bit := 0; bit < n*8; bit++ {
		if s[bit/5]&(0x10>>(bit%5)) != 0 {
			out[bit/8] |= 0x80 >> (bit % 8)
		}
	}
	return out
}

// checkSymbol is Luhn mod 32 over the group number and the group's symbols.
func checkSymbol(group int, syms []byte) byte {
	in := append([]byte{byte(group % 32)}, syms...)
	factor, sum := 2, 0
	for i := len(in) - 1; i >= 0; i-- {
		a := factor * int(in[i])
		a = a/32 + a%32
		sum += a
		factor = 3 - factor
	}
	return byte((32 - sum%32) % 32)
}

// GroupError names the group of a share code that is wrong. Its message never quotes the
// group: that is part of a share, and messages end up on screens and in logs. A UI that wants
// to highlight the group has Text.
type GroupError struct {
	Group int    // 1-based
	Text  string // the group as typed: secret
	Msg   string
}

func (e *GroupError) Error() string {
	return fmt.Sprintf("group %d %s", e.Group, e.Msg)
}

// ErrIncomplete is wrapped when a code has fewer groups than a share needs: the custodian is
// still typing, or left a group out.
var ErrIncomplete = errors.New("the share code is incomplete")

func symbolValue(r rune) (byte, bool) {
	switch r {
	case 'o', 'O':
		r = '0'
	case 'i', 'I', 'l', 'L':
		r = '1'
	}
	if r >= 'a' && r <= 'z' {
		r -= 'a' - 'A'
	}
	i := strings.IndexRune(alphabet, r)
	return byte(i), i >= 0
}

// CheckGroups checks the groups typed so far and returns how many are complete and correct.
// It is what a share entry field calls as the custodian types, to point at a wrong group at
// once.
func CheckGroups(code string) (int, error) {
	groups := strings.Fields(strings.ReplaceAll(code, "-", " "))
	if len(groups) > Groups {
		return Groups, fmt.Errorf("a share code has %d groups; this one has %d", Groups, len(groups))
	}
	for g, text := range groups {
		if len([]rune(text)) != groupData+1 {
			if g == len(groups)-1 && len([]rune(text)) < groupData+1 && !strings.HasSuffix(code, " ") {
				// Still being typed; check its symbols only.
				if err := checkChars(g, text); err != nil {
					return g, err
				}
				return g, nil
			}
			return g, &GroupError{g + 1, text, fmt.Sprintf("has %d symbols; every group has %d", len([]rune(text)), groupData+1)}
		}
		if err := checkChars(g, text); err != nil {
			return g, err
		}
		syms := make([]byte, 0, groupData+1)
		for _, r := range text {
			v, _ := symbolValue(r)
			syms = append(syms, v)
		}
		if checkSymbol(g, syms[:groupData]) != syms[groupData] {
			return g, &GroupError{g + 1, text, "does not check out: a symbol is mistyped, or the group is in the wrong place; read this group again"}
		}
	}
	return len(groups), nil
}

func checkChars(g int, text string) error {
	for i, r := range text {
		if _, ok := symbolValue(r); !ok {
			return &GroupError{g + 1, text, fmt.Sprintf("symbol %d is not used in share codes (they use 0-9 and A-Z without I, L, O, U)", i+1)}
		}
	}
	return nil
}

// ParseCode decodes a share code, naming the group that is wrong if any.
func ParseCode(code string) (*Share, error) {
	n, err := CheckGroups(code)
	if err != nil {
		return nil, err
	}
	if n < Groups {
		return nil, fmt.Errorf("%w: it has %d of %d groups", ErrIncomplete, n, Groups)
	}
	var syms []byte
	for _, text := range strings.Fields(strings.ReplaceAll(code, "-", " ")) {
		for i, r := range text {
			if i < groupData {
				v, _ := symbolValue(r)
				syms = append(syms, v)
			}
		}
	}
	p := fromSymbols(syms, payloadLen)
	zero(syms)
	defer zero(p)
	if sum := sha256.Sum256(p[:payloadLen-2]); sum[0] != p[payloadLen-2] || sum[1] != p[payloadLen-1] {
		return nil, errors.New("the share code's groups each check out, but the whole does not: groups may be swapped; read the share again")
	}
	if p[0] != codeV1 {
		return nil, fmt.Errorf("share code version %d is not supported (this Keyrite reads version %d)", p[0], codeV1)
	}
	s := &Share{CeremonyTag: [4]byte(p[1:5]), Threshold: int(p[5]), Total: int(p[6]), Number: int(p[7]), Data: append([]byte(nil), p[8:8+33]...)}
	if s.Threshold < 2 || s.Total < s.Threshold || s.Number < 1 || s.Number > s.Total {
		return nil, fmt.Errorf("the share says it is share %d of %d with threshold %d, which is impossible", s.Number, s.Total, s.Threshold)
	}
	return s, nil
}

func zero(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
