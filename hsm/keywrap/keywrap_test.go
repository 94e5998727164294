package keywrap

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestVectors(t *testing.T) {
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		fs := strings.Fields(l)
		kek, _ := hex.DecodeString(fs[1])
		key, _ := hex.DecodeString(fs[2])
		want, _ := hex.DecodeString(fs[3])
		wrap, unwrap := Wrap, Unwrap
		if fs[0] == "kwp" {
			wrap, unwrap = WrapPad, UnwrapPad
		}
		got, err := wrap(kek, key)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s vector %d: wrap = %x, %v; want %x", fs[0], n+1, got, err, want)
		}
		back, err := unwrap(kek, want)
		if err != nil || !bytes.Equal(back, key) {
			t.Errorf("%s vector %d: unwrap = %x, %v", fs[0], n+1, back, err)
		}
		n++
	}
	if n != 6 {
		t.Fatalf("%d vectors, want 6", n)
	}
}

func TestUnwrapPadRejectsDamage(t *testing.T) {
	kek := bytes.Repeat([]byte{1}, 32)
	w, _ := WrapPad(kek, []byte("a private key of any length, e.g. PKCS#8"))
	for name, bad := range map[string][]byte{
		"bit flipped": func() []byte { b := bytes.Clone(w); b[9] ^= 1; return b }(),
		"truncated":   w[:len(w)-8],
		"other KEK":   nil,
	} {
		k := kek
		if bad == nil {
			bad, k = w, bytes.Repeat([]byte{2}, 32)
		}
		if _, err := UnwrapPad(k, bad); !errors.Is(err, ErrIntegrity) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := UnwrapPad(kek, w[:12]); err == nil {
		t.Error("short input accepted")
	}
}

func FuzzUnwrapPad(f *testing.F) {
	kek := bytes.Repeat([]byte{3}, 32)
	w, _ := WrapPad(kek, []byte("seed"))
	f.Add(w)
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := UnwrapPad(kek, in)
		if err != nil {
			return
		}
		again, _ := WrapPad(kek, p)
		if !bytes.Equal(again, in) {
			t.Fatal("accepted input is not the wrap of its plaintext")
		}
	})
}
