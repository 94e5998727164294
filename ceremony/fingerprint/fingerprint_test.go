package fingerprint

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"strings"
	"testing"
)

// The example from the PGP word list article (https://en.wikipedia.org/wiki/PGP_word_list).
func TestWordsKnownAnswer(t *testing.T) {
	b, _ := hex.DecodeString("E58294F2E9A227486E8B061B31CC528FD7FA3F19")
	want := "topmost Istanbul Pluto vagabond treadmill Pacific brackish dictator goldfish Medusa " +
		"afflict bravado chatter revolver Dupont midsummer stopwatch whimsical cowbell bottomless"
	if got := Words(b); got != want {
		t.Fatalf("Words:\n got %s\nwant %s", got, want)
	}
	back, err := ParseWords(strings.ToLower(want))
	if err != nil || hex.EncodeToString(back) != strings.ToLower(hex.EncodeToString(b)) {
		t.Fatalf("ParseWords = %x, %v", back, err)
	}
}

func TestParseWordsCatchesDroppedWord(t *testing.T) {
	// "Istanbul" dropped: "Pluto" now stands in an odd position, where it is not a word.
	_, err := ParseWords("topmost Pluto vagabond")
	if err == nil || !strings.Contains(err.Error(), "word 2") {
		t.Fatalf("err = %v, want word 2 named", err)
	}
}

func TestSPKIMatchesSHA256OfDER(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	fp, err := OfPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if fp != sha256.Sum256(der) {
		t.Fatal("fingerprint differs from SHA-256 of the DER SPKI")
	}
	if len(strings.Fields(fp.Words())) != 32 || len(strings.Fields(fp.Grouped())) != 16 {
		t.Fatalf("words %q grouped %q", fp.Words(), fp.Grouped())
	}
}

func FuzzParseWords(f *testing.F) {
	f.Add("topmost Istanbul Pluto vagabond")
	f.Add("aardvark")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseWords(s)
		if err != nil {
			return
		}
		if again, err := ParseWords(Words(b)); err != nil || string(again) != string(b) {
			t.Fatalf("round trip of %q failed", s)
		}
	})
}
