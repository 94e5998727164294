package transfer

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyrite/keyrite/hsm/keywrap"
)

var rsaKeys = map[int]*rsa.PrivateKey{}

func rsaKey(t *testing.T, bits int) *rsa.PrivateKey {
	if k, ok := rsaKeys[bits]; ok {
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	rsaKeys[bits] = k
	return k
}

// Each provider's file is checked against its documented layout and parameters.
func TestProviderLayouts(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ec)
	tests := []struct {
		provider Provider
		bits     int
		oaep     func() []byte // decrypts the RSA block with the documented hash
	}{
		// AWS: RSA_AES_KEY_WRAP_SHA_256 = RSAES_OAEP_SHA_256 of a 256-bit AES key, then AES key
		// wrap with padding (RFC 5649) of the key material; PKCS #8 for asymmetric keys.
		// https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-encrypt-key-material.html
		{AWS, 4096, nil},
		// GCP: RSA_OAEP_3072_SHA256_AES_256 / RSA_OAEP_4096_SHA256_AES_256: RSAES-OAEP with SHA-256
		// and MGF1-SHA-256, empty label, of an AES-256 key, then AES-KWP of the formatted key.
		// https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.importJobs
		{GCP, 3072, nil},
		// Azure: CKM_RSA_AES_KEY_WRAP with RSA-OAEP using SHA-1, AES key wrap with padding, in a
		// JSON .byok file: schema_version 1.0.0, header {kid, alg "dir", enc "CKM_RSA_AES_KEY_WRAP"},
		// ciphertext base64url. https://learn.microsoft.com/azure/key-vault/keys/byok-specification
		{Azure, 2048, nil},
		{PKCS11, 4096, nil},
	}
	for _, tc := range tests {
		t.Run(string(tc.provider), func(t *testing.T) {
			spec := Specs[tc.provider]
			priv := rsaKey(t, tc.bits)
			for _, mm := range spec.Methods {
				method, err := spec.Method("", tc.bits)
				if mm.OAEPHash != method.OAEPHash {
					method, err = spec.Method(strings.ReplaceAll(mm.Name, "%d", fmt.Sprint(tc.bits)), tc.bits)
				}
				if err != nil {
					t.Fatal(err)
				}
				blob, err := keywrap.WrapRSAAES(&priv.PublicKey, HashOf(method.OAEPHash), pkcs8)
				if err != nil {
					t.Fatal(err)
				}
				// Size: one RSA block, then KWP of the PKCS #8 (8-byte header, padded to 8).
				if want := tc.bits/8 + 8 + (len(pkcs8)+7)/8*8; len(blob) != want {
					t.Fatalf("blob is %d bytes, want %d", len(blob), want)
				}
				// The RSA block opens with the documented OAEP hash and no other.
				h, other := sha256.New(), sha1.New()
				if method.OAEPHash == "SHA-1" {
					h, other = sha1.New(), sha256.New()
				}
				aesKey, err := rsa.DecryptOAEP(h, nil, priv, blob[:tc.bits/8], nil)
				if err != nil || len(aesKey) != 32 {
					t.Fatalf("%s: RSA block with %s: %v (%d-byte key)", method.Name, method.OAEPHash, err, len(aesKey))
				}
				if _, err := rsa.DecryptOAEP(other, nil, priv, blob[:tc.bits/8], nil); err == nil {
					t.Fatal("the RSA block also opens with the other hash")
				}
				got, err := keywrap.UnwrapPad(aesKey, blob[tc.bits/8:])
				if err != nil || !bytes.Equal(got, pkcs8) {
					t.Fatalf("KWP: %v", err)
				}
				file, err := File(tc.provider, blob, "https://example.vault.azure.net/keys/kek/0123", "Keyrite test")
				if err != nil {
					t.Fatal(err)
				}
				if tc.provider == Azure {
					var m map[string]any
					json.Unmarshal(file, &m)
					hdr, _ := m["header"].(map[string]any)
					if m["schema_version"] != "1.0.0" || hdr["alg"] != "dir" || hdr["enc"] != "CKM_RSA_AES_KEY_WRAP" || hdr["kid"] == "" {
						t.Fatalf(".byok layout: %s", file)
					}
					ct, err := base64.RawURLEncoding.DecodeString(m["ciphertext"].(string))
					if err != nil || !bytes.Equal(ct, blob) {
						t.Fatal(".byok ciphertext is not base64url of the blob")
					}
				} else if !bytes.Equal(file, blob) {
					t.Fatal("the file is not the raw blob")
				}
				back, err := Blob(tc.provider, file)
				if err != nil || !bytes.Equal(back, blob) {
					t.Fatalf("Blob: %v", err)
				}
				if got, err := keywrap.UnwrapRSAAES(priv, HashOf(method.OAEPHash), blob); err != nil || !bytes.Equal(got, pkcs8) {
					t.Fatalf("Unwrap: %v", err)
				}
			}
		})
	}
}

func TestWrappingKeyChecks(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	k3072 := &rsaKey(t, 3072).PublicKey
	k2048 := &rsaKey(t, 2048).PublicKey
	cases := []struct {
		name   string
		p      Provider
		pub    *rsa.PublicKey
		issued time.Time
		want   string
	}{
		{"AWS token fresh", AWS, k3072, now.Add(-23 * time.Hour), ""},
		{"AWS token expired", AWS, k3072, now.Add(-25 * time.Hour), "expired"},
		{"AWS issue time unknown", AWS, k3072, time.Time{}, "--issued-at"},
		{"GCP job fresh", GCP, k3072, now.Add(-71 * time.Hour), ""},
		{"GCP job expired", GCP, k3072, now.Add(-73 * time.Hour), "expired"},
		{"GCP has no 2048-bit jobs", GCP, k2048, now, "issues RSA wrapping keys of [3072 4096]"},
		{"Azure KEK", Azure, k2048, time.Time{}, ""},
	}
	for _, c := range cases {
		err := Specs[c.p].CheckWrappingKey(c.pub, c.issued, now)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestUnwrapRefusesDamage(t *testing.T) {
	priv := rsaKey(t, 3072)
	m256, _ := Specs[PKCS11].Method("", 3072)
	blob, _ := keywrap.WrapRSAAES(&priv.PublicKey, HashOf(m256.OAEPHash), []byte("0123456789abcdef0123456789abcdef"))
	for name, bad := range map[string][]byte{
		"truncated":             blob[:len(blob)-8],
		"cut into the RSA part": blob[:100],
		"flipped":               append(bytes.Clone(blob[:len(blob)-1]), blob[len(blob)-1]^1),
	} {
		if _, err := keywrap.UnwrapRSAAES(priv, HashOf(m256.OAEPHash), bad); err == nil {
			t.Errorf("%s: unwrapped", name)
		}
	}
	if _, err := keywrap.UnwrapRSAAES(priv, HashOf("SHA-1"), blob); err == nil {
		t.Error("SHA-256 blob opened as SHA-1")
	}
}

func TestMethodNames(t *testing.T) {
	for _, c := range []struct {
		p          Provider
		name, want string
		bits       int
	}{
		{AWS, "", "RSA_AES_KEY_WRAP_SHA_256", 4096},
		{AWS, "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_1", 4096},
		{GCP, "", "RSA_OAEP_3072_SHA256_AES_256", 3072},
		{GCP, "RSA_OAEP_4096_SHA1_AES_256", "RSA_OAEP_4096_SHA1_AES_256", 4096},
		{Azure, "", "CKM_RSA_AES_KEY_WRAP", 2048},
	} {
		m, err := Specs[c.p].Method(c.name, c.bits)
		if err != nil || m.Name != c.want {
			t.Errorf("%s %q: %v %v", c.p, c.name, m, err)
		}
	}
	if _, err := Specs[AWS].Method("RSAES_PKCS1_V1_5", 2048); err == nil {
		t.Error("an undocumented method was accepted")
	}
}

func FuzzBlobAzure(f *testing.F) {
	f.Add([]byte(`{"schema_version":"1.0.0","header":{"kid":"k","alg":"dir","enc":"CKM_RSA_AES_KEY_WRAP"},"ciphertext":"AAAA"}`))
	f.Fuzz(func(t *testing.T, b []byte) { Blob(Azure, b) })
}
