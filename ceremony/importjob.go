package ceremony

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
)

// TypeImportJob makes an unwrap-only wrapping key for imports into this token.
const TypeImportJob = "import-job"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeImportJob, Title: "Import job: this HSM's wrapping key for incoming keys", Example: "import-job",
			Description: "The HSM generates an RSA key pair that can only unwrap: keys sent to this HSM are wrapped to its public key, valid for a limited time."},
		previous: previousSealed,
		validate: (*Script).validateImportJob,
		steps:    importJobSteps,
		labels:   func(s *Script) []string { return []string{s.ImportJob.Label} },
		needs:    importJobNeeds,
		supports: importJobSupports,
	})
}

func (s *Script) validateImportJob(v *validator) {
	s.onlySection(v)
	j := s.ImportJob
	if j == nil {
		v.errorf("import_job", "is required")
		return
	}
	v.label("import_job.label", j.Label)
	if j.Algorithm != string(hsm.RSA3072) && j.Algorithm != string(hsm.RSA4096) {
		v.errorf("import_job.algorithm", "%q: an import job's wrapping key is rsa-3072 or rsa-4096", j.Algorithm)
	}
	if j.ValidHours < 1 || j.ValidHours > 24*365 {
		v.errorf("import_job.valid_hours", "%d must be between 1 and %d", j.ValidHours, 24*365)
	}
}

// ImportJobConfig makes this token's wrapping key for imports (its local root of trust for
// keys arriving from elsewhere).
type ImportJobConfig struct {
	Label      string `yaml:"label"`
	Algorithm  string `yaml:"algorithm"` // rsa-3072 or rsa-4096
	ValidHours int    `yaml:"valid_hours"`
}

// ImportJob describes an import job: the wrapping key a token issued for keys coming in. It is
// written as import-job.json beside wrapping-key.pem and holds no secret.
type ImportJob struct {
	Format     string         `json:"format"` // "keyrite-import-job/v1"
	CeremonyID string         `json:"ceremony_id"`
	KeyLabel   string         `json:"key_label"`
	Algorithm  string         `json:"algorithm"`
	SPKISHA256 string         `json:"spki_sha256"`
	Words      string         `json:"spki_sha256_words"`
	OAEPHashes []hsm.OAEPHash `json:"oaep_hashes"` // the token passed its unwrap test with these
	Created    time.Time      `json:"created"`
	Expires    time.Time      `json:"expires"`
	Token      string         `json:"token_serial"`
}

const (
	importJobFormat = "keyrite-import-job/v1"
	importJobFile   = "import-job.json"
	wrappingKeyFile = "wrapping-key.pem"
)

// loadImportJob verifies an import-job ceremony and reads its job and wrapping key.
func loadImportJob(dir string) (*ImportJob, *rsa.PublicKey, map[string][]byte, error) {
	res, err := transcript.Verify(dir, transcript.Options{})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the import-job ceremony %s does not verify: %w", dir, err)
	}
	if res.Opening.Type != TypeImportJob {
		return nil, nil, nil, fmt.Errorf("%s is a %s ceremony, not an import job", dir, res.Opening.Type)
	}
	jb, err := os.ReadFile(filepath.Join(dir, importJobFile))
	if err != nil {
		return nil, nil, nil, err
	}
	var job ImportJob
	if err := json.Unmarshal(jb, &job); err != nil || job.Format != importJobFormat {
		return nil, nil, nil, fmt.Errorf("%s/%s is not a Keyrite import job", dir, importJobFile)
	}
	kb, err := os.ReadFile(filepath.Join(dir, wrappingKeyFile))
	if err != nil {
		return nil, nil, nil, err
	}
	pub, err := parseRSAPublicKey(kb)
	if err != nil {
		return nil, nil, nil, err
	}
	if fp, _ := fingerprint.OfPublicKey(pub); fp.Hex() != job.SPKISHA256 {
		return nil, nil, nil, fmt.Errorf("%s/%s is not the key the import job recorded", dir, wrappingKeyFile)
	}
	return &job, pub, map[string][]byte{importJobFile: jb, wrappingKeyFile: kb}, nil
}

func importJobSteps(s *Script) []step {
	root := rootSteps(s)
	j := s.ImportJob
	return []step{root[0], continueStep(),
		{id: "create-import-key", title: "Create the import wrapping key", actorRole: "administrator", witness: true,
			labels: []string{j.Label}, outputs: []string{wrappingKeyFile, importJobFile},
			gate:    func(*Run) string { return fmt.Sprintf("generate the %s import key pair %q", j.Algorithm, j.Label) },
			explain: fmt.Sprintf("The HSM generates the %s key pair %q that can only unwrap: keys sent to this HSM are wrapped to its public key, valid %d hours.", j.Algorithm, j.Label, j.ValidHours),
			run:     (*Run).createImportJob},
		root[4]}
}

func (r *Run) createImportJob() error {
	j := r.Script.ImportJob
	k, err := r.generate(hsm.KeySpec{Label: j.Label, Algorithm: hsm.Algorithm(j.Algorithm), Use: hsm.UseUnwrap}, "import-job")
	if err != nil {
		return err
	}
	fp, _ := fingerprint.OfPublicKey(k.Public())
	pemKey := publicKeyPEM(k)
	now := r.Clock().UTC().Truncate(time.Second)
	job := ImportJob{Format: importJobFormat, CeremonyID: r.Script.ID, KeyLabel: j.Label, Algorithm: string(k.Algorithm), SPKISHA256: fp.Hex(), Words: fp.Words(),
		OAEPHashes: k.UnwrapHashes, Created: now, Expires: now.Add(time.Duration(j.ValidHours) * time.Hour), Token: r.token.Info.Serial}
	jb, _ := json.MarshalIndent(job, "", "  ")
	if err := r.writeOutput(wrappingKeyFile, pemKey); err != nil {
		return err
	}
	if err := r.writeOutput(importJobFile, append(jb, '\n')); err != nil {
		return err
	}
	_, err = r.record(transcript.EventImportJobCreated, map[string]any{"key_label": j.Label, "spki_sha256": fp.Hex(), "expires": job.Expires.Format(time.RFC3339), "oaep_hashes": k.UnwrapHashes})
	r.UI.Note(fmt.Sprintf("Import wrapping key %q (fingerprint above) is valid until %s.", j.Label, job.Expires.Format(time.RFC3339)))
	return err
}

// importJobNeeds lists the token capabilities an import-job ceremony needs (the pre-flight checks them).
func importJobNeeds(r *Run) []Need {
	s := r.Script
	var out []Need
	out = append(out, keyPairNeed(s.ImportJob.Algorithm, "the import job's unwrap-only key")...)
	out = append(out, Need{AnyOf: []hsm.Capability{hsm.CapOAEPUnwrap(hsm.OAEPSHA256), hsm.CapOAEPUnwrap(hsm.OAEPSHA1)},
		For: "unwrapping transport keys sent to the import job"})
	return out
}

// importJobSupports are the import job's capability cases: each wrapping key size.
func importJobSupports() []supportCase {
	var out []supportCase
	for _, a := range []hsm.Algorithm{hsm.RSA3072, hsm.RSA4096} {
		s := supportScript(TypeImportJob)
		s.ImportJob.Algorithm = string(a)
		out = append(out, supportCase{"import-job, " + string(a), &Run{Script: s}})
	}
	return out
}
