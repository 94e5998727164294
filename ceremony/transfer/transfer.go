// Package transfer defines how Keyrite moves a key to another HSM or a cloud KMS: the
// CKM_RSA_AES_KEY_WRAP layout (an ephemeral AES-256 key wrapped with RSA-OAEP, followed by the
// target key wrapped with AES key wrap with padding, RFC 5649), the parameters each provider
// documents, the file each provider expects, and the metadata Keyrite records beside it.
//
// It is pure Go. Wrapping happens inside the HSM; the layout is opened in Go only by tests and
// offline tools (hsm/keywrap.UnwrapRSAAES), which the keyrite binary does not link.
package transfer

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Provider is where an exported key goes.
type Provider string

const (
	PKCS11 Provider = "pkcs11"          // another HSM, through a Keyrite import job
	AWS    Provider = "aws-kms"         // AWS KMS ImportKeyMaterial
	GCP    Provider = "gcp-kms"         // Google Cloud KMS import job
	Azure  Provider = "azure-key-vault" // Azure Key Vault BYOK (.byok)
)

// Providers lists every target.
var Providers = []Provider{PKCS11, AWS, GCP, Azure}

// Method is one of a provider's documented import methods in the CKM_RSA_AES_KEY_WRAP layout.
// The provider fixes it when it issues the wrapping key (AWS: the WrappingAlgorithm of
// GetParametersForImport; GCP: the import job's import method), so the export must use the
// same one.
type Method struct {
	Name     string // the provider's name; %d is the wrapping key's bits
	OAEPHash string // "SHA-1" or "SHA-256": the OAEP hash and its MGF1 hash
}

// Spec is what a provider documents for imports in the CKM_RSA_AES_KEY_WRAP layout.
type Spec struct {
	Provider  Provider
	Methods   []Method // preferred first
	RSABits   []int    // wrapping key sizes the provider issues
	Validity  time.Duration
	Extension string // the file to hand over
	Doc       string // where the provider documents it
}

// Specs are the providers' documented parameters.
var Specs = map[Provider]Spec{
	PKCS11: {PKCS11, []Method{{"CKM_RSA_AES_KEY_WRAP/OAEP-SHA-256", "SHA-256"}, {"CKM_RSA_AES_KEY_WRAP/OAEP-SHA-1", "SHA-1"}}, []int{3072, 4096}, 0, ".transfer",
		"PKCS #11 v2.40 section 2.1.21 (CKM_RSA_AES_KEY_WRAP), composed from CKM_RSA_PKCS_OAEP and CKM_AES_KEY_WRAP_PAD"},
	AWS: {AWS, []Method{{"RSA_AES_KEY_WRAP_SHA_256", "SHA-256"}, {"RSA_AES_KEY_WRAP_SHA_1", "SHA-1"}}, []int{2048, 3072, 4096}, 24 * time.Hour, ".bin",
		"https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-encrypt-key-material.html; wrapping public key and import token valid 24 hours: https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-get-public-key-and-token.html"},
	GCP: {GCP, []Method{{"RSA_OAEP_%d_SHA256_AES_256", "SHA-256"}, {"RSA_OAEP_%d_SHA1_AES_256", "SHA-1"}}, []int{3072, 4096}, 72 * time.Hour, ".bin",
		"https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.importJobs (ImportMethod; an ImportJob expires 3 days after it is created)"},
	Azure: {Azure, []Method{{"CKM_RSA_AES_KEY_WRAP", "SHA-1"}}, []int{2048, 3072, 4096}, 0, ".byok",
		"https://learn.microsoft.com/azure/key-vault/keys/byok-specification (RSA-OAEP with SHA1; JSON transfer blob)"},
}

// Method finds the provider's method by name ("" is the preferred one) for a wrapping key of
// bits.
func (s Spec) Method(name string, bits int) (Method, error) {
	var names []string
	for _, m := range s.Methods {
		n := m.Name
		if strings.Contains(n, "%d") {
			n = fmt.Sprintf(n, bits)
		}
		if name == "" || name == n {
			return Method{Name: n, OAEPHash: m.OAEPHash}, nil
		}
		names = append(names, n)
	}
	return Method{}, fmt.Errorf("%s has no import method %q; it documents %s", s.Provider, name, strings.Join(names, ", "))
}

// HashOf is the Go hash for an OAEP hash name.
func HashOf(name string) crypto.Hash {
	if name == "SHA-1" {
		return crypto.SHA1
	}
	return crypto.SHA256
}

// CheckWrappingKey refuses a wrapping key the provider would not have issued, or one that has
// expired: issued is when the provider issued it (downloaded with the import token, or the
// import job's creation), zero if unknown.
func (s Spec) CheckWrappingKey(pub *rsa.PublicKey, issued, now time.Time) error {
	ok := false
	for _, b := range s.RSABits {
		ok = ok || pub.N.BitLen() == b
	}
	if !ok {
		return fmt.Errorf("%s issues RSA wrapping keys of %v bits; this one has %d: is it the right wrapping key?", s.Provider, s.RSABits, pub.N.BitLen())
	}
	if s.Validity > 0 {
		if issued.IsZero() {
			return fmt.Errorf("%s wrapping keys expire %v after they are issued: give the time it was issued (--issued-at)", s.Provider, s.Validity)
		}
		if now.After(issued.Add(s.Validity)) {
			return fmt.Errorf("%s wrapping key and import token expired at %s (issued %s, valid %v): download a new set and export again", s.Provider, issued.Add(s.Validity).UTC().Format(time.RFC3339), issued.UTC().Format(time.RFC3339), s.Validity)
		}
	}
	return nil
}

// Metadata describes an exported key; it is written beside the file and recorded in the
// transcript. It holds no secret.
type Metadata struct {
	Format           string    `json:"format"` // "keyrite-transfer/v1"
	Provider         Provider  `json:"provider"`
	Method           string    `json:"method"`
	OAEPHash         string    `json:"oaep_hash"`
	Mechanism        string    `json:"mechanism"`
	KeyLabel         string    `json:"key_label"`
	KeyKind          string    `json:"key_kind"` // "private" or "secret"
	Algorithm        string    `json:"algorithm"`
	SPKISHA256       string    `json:"spki_sha256,omitempty"`
	PublicKey        string    `json:"public_key,omitempty"`
	KCV              string    `json:"kcv,omitempty"`
	KCVMethod        string    `json:"kcv_method,omitempty"`
	Payload          string    `json:"payload"`
	WrappingKeySPKI  string    `json:"wrapping_key_spki_sha256"`
	WrappingKeyBits  int       `json:"wrapping_key_bits"`
	WrappingIssued   time.Time `json:"wrapping_key_issued,omitzero"`
	WrappingExpires  time.Time `json:"wrapping_key_expires,omitzero"`
	ImportJob        string    `json:"import_job_ceremony,omitempty"`
	ImportJobKey     string    `json:"import_job_key,omitempty"`
	File             string    `json:"file"`
	FileSHA256       string    `json:"file_sha256"`
	AzureKEKID       string    `json:"azure_kek_id,omitempty"`
	ExportedAt       time.Time `json:"exported_at"`
	SourceCeremonyID string    `json:"source_ceremony_id"`
}

// MetadataFormat is Metadata.Format.
const MetadataFormat = "keyrite-transfer/v1"

// AzureBYOK is the .byok transfer blob Azure Key Vault imports.
type AzureBYOK struct {
	SchemaVersion string `json:"schema_version"`
	Header        struct {
		KID string `json:"kid"`
		Alg string `json:"alg"`
		Enc string `json:"enc"`
	} `json:"header"`
	Ciphertext string `json:"ciphertext"` // base64url, no padding
	Generator  string `json:"generator"`
}

// File is what to hand to the provider for blob.
func File(p Provider, blob []byte, azureKEKID, generator string) ([]byte, error) {
	if p != Azure {
		return blob, nil
	}
	if azureKEKID == "" {
		return nil, errors.New("an Azure .byok file names the key exchange key (KEK) it was wrapped for: give its key identifier (--azure-kek-id https://<vault>.vault.azure.net/keys/<name>/<version>)")
	}
	var b AzureBYOK
	b.SchemaVersion = "1.0.0"
	b.Header.KID, b.Header.Alg, b.Header.Enc = azureKEKID, "dir", "CKM_RSA_AES_KEY_WRAP"
	b.Ciphertext = base64.RawURLEncoding.EncodeToString(blob)
	b.Generator = generator
	return json.MarshalIndent(b, "", "  ")
}

// Blob reads the wrapped bytes back out of a provider file.
func Blob(p Provider, file []byte) ([]byte, error) {
	if p != Azure {
		return file, nil
	}
	var b AzureBYOK
	if err := json.Unmarshal(file, &b); err != nil {
		return nil, fmt.Errorf(".byok file: %w", err)
	}
	if b.SchemaVersion != "1.0.0" || b.Header.Alg != "dir" || b.Header.Enc != "CKM_RSA_AES_KEY_WRAP" {
		return nil, errors.New(".byok file: not a CKM_RSA_AES_KEY_WRAP transfer blob of schema 1.0.0")
	}
	return base64.RawURLEncoding.DecodeString(b.Ciphertext)
}
