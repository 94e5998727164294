// Package fingerprint names public keys and hashes the way people in a ceremony room compare
// them: a SHA-256 over the DER SubjectPublicKeyInfo, shown as grouped hex and as words from the
// PGP word list that can be read aloud and checked by ear.
//
// The PGP word list alternates two lists of 256 words (even and odd byte positions), so a
// dropped, repeated or swapped word is heard as a word from the wrong list. This package is pure
// Go and is used by the verifier, so it must build with CGO_ENABLED=0.
package fingerprint

import (
	"bufio"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

//go:embed pgpwords.txt
var pgpWordsFile string

var evenWords, oddWords = loadWords()

func loadWords() (even, odd [256]string) {
	sc := bufio.NewScanner(strings.NewReader(pgpWordsFile))
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		b, err := strconv.ParseUint(f[0], 16, 8)
		if len(f) != 3 || err != nil || int(b) != n {
			panic(fmt.Sprintf("fingerprint: pgpwords.txt line %q is malformed", line))
		}
		even[b], odd[b] = f[1], f[2]
		n++
	}
	if n != 256 {
		panic("fingerprint: pgpwords.txt must have 256 entries")
	}
	return even, odd
}

// Words spells b in the PGP word list: the even-position list for bytes 0, 2, 4..., the
// odd-position list for bytes 1, 3, 5....
func Words(b []byte) string {
	w := make([]string, len(b))
	for i, c := range b {
		if i%2 == 0 {
			w[i] = evenWords[c]
		} else {
			w[i] = oddWords[c]
		}
	}
	return strings.Join(w, " ")
}

// ParseWords is the inverse of Words. Case is ignored; a word from the wrong list (a word
// dropped or repeated) is an error naming its position.
func ParseWords(s string) ([]byte, error) {
	fields := strings.Fields(s)
	out := make([]byte, len(fields))
	for i, f := range fields {
		list := &evenWords
		if i%2 == 1 {
			list = &oddWords
		}
		found := false
		for b, w := range list {
			if strings.EqualFold(w, f) {
				out[i], found = byte(b), true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("word %d %q is not a PGP word for its position (a word may be missing or repeated before it)", i+1, f)
		}
	}
	return out, nil
}

// SPKI is the SHA-256 fingerprint of a public key's DER SubjectPublicKeyInfo, the same value
// `openssl pkey -pubin -outform DER | sha256sum` prints.
type SPKI [sha256.Size]byte

// OfPublicKey computes the SPKI fingerprint of pub.
func OfPublicKey(pub crypto.PublicKey) (SPKI, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return SPKI{}, fmt.Errorf("fingerprint: encode public key: %w", err)
	}
	return sha256.Sum256(der), nil
}

// Hex is the lowercase hex of the fingerprint, as sha256sum prints it.
func (f SPKI) Hex() string { return hex.EncodeToString(f[:]) }

// Grouped is the uppercase hex in groups of four, for printing and comparing by eye.
func (f SPKI) Grouped() string { return Grouped(f[:]) }

// Words is the fingerprint in PGP words, for reading aloud.
func (f SPKI) Words() string { return Words(f[:]) }

// Grouped formats b as uppercase hex in groups of four digits.
func Grouped(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var sb strings.Builder
	for i := 0; i < len(h); i += 4 {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(h[i:min(i+4, len(h))])
	}
	return sb.String()
}
