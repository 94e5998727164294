package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"golang.org/x/crypto/ocsp"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// privateOnly are the certificates the Baseline Requirements have no profile for, which
// Keyrite lints against the RFC sources only (docs/pki.md): the delegated CRL signer.
var privateOnly = map[string]bool{"crl-signer.pem": true}

// Every example script that issues a certificate, a CRL or an OCSP response is run, and
// everything it issued — each its transcript records as signed — is linted again here from
// the files it wrote, with every zlint source and nothing excluded or waived: no error, no
// warning (the public-trust preset the examples use). The transcript signers are among them.
func TestEveryExampleIssuesLintClean(t *testing.T) {
	dirs := map[string]string{}
	root := rootOn(t, "root-ceremony.yaml")
	dirs["root-ceremony.yaml"] = root.dir
	dirs["region-root-ceremony.yaml"] = rootOn(t, "region-root-ceremony.yaml").dir
	ui := &scriptedUI{}
	quorum := runIn(t, freshToken(t), loadTestScript(t, "root-quorum-ceremony.yaml"), ui, Options{})
	dirs["root-quorum-ceremony.yaml"] = quorum
	dirs["restore-ceremony.yaml"] = runIn(t, freshToken(t), loadTestScript(t, "restore-ceremony.yaml"), ui, Options{Previous: quorum})

	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	inter := mustRun(t, "sign-intermediate-ceremony.yaml", root.b, Options{Previous: root.dir, CSR: writeCSR(t, key, "Example Issuing CA 2026")})
	dirs["sign-intermediate-ceremony.yaml"] = inter
	for _, name := range []string{"sign-crl-ceremony.yaml", "sign-ocsp-responder-ceremony.yaml", "sign-crl-signer-ceremony.yaml", "sign-ocsp-responses-ceremony.yaml"} {
		dirs[name] = mustRun(t, name, root.b, Options{Previous: inter})
	}
	partner := newSoftCA(t, "Partner Root CA", nil, nil)
	dirs["cross-certify-ceremony.yaml"] = mustRun(t, "cross-certify-ceremony.yaml", root.b, Options{Previous: root.dir, Outside: writePEM(t, "partner.pem", "CERTIFICATE", partner.cert.Raw)})
	dirs["rotate-ceremony.yaml"] = mustRun(t, "rotate-ceremony.yaml", root.b, Options{Previous: root.dir})

	// Every example whose type issues certificates or CRLs is among them.
	examples, _ := filepath.Glob(filepath.Join("..", "testdata", "*-ceremony.yaml"))
	for _, p := range examples {
		s, err := LoadScript(p)
		if err != nil {
			t.Fatalf("example %s: %v", p, err)
		}
		if tp := typeOf(s.Type); (tp.lints != nil || tp.profiles != nil) && dirs[filepath.Base(p)] == "" {
			t.Errorf("example %s (%s) issues certificates or CRLs but is not run here", filepath.Base(p), s.Type)
		}
	}
	names := make([]string, 0, len(dirs))
	for n := range dirs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		lintOutputs(t, n, dirs[n])
	}
}

// lintOutputs lints, with every lint, each certificate and CRL the ceremony in dir records as
// issued, read from the files it wrote.
func lintOutputs(t *testing.T, example, dir string) {
	t.Helper()
	issued := map[string]string{} // SHA-256 of what the transcript says was signed -> its name
	res := verified(t, dir)
	for i := range res.Entries {
		e := &res.Entries[i].Record
		switch e.Event {
		case transcript.EventCertificateIssued:
			d, err := transcript.Data[transcript.CertificateIssued](e)
			if err != nil {
				t.Fatal(err)
			}
			issued[d.SHA256] = d.Name
		case transcript.EventCRLIssued:
			d, err := transcript.Data[transcript.CRLIssued](e)
			if err != nil {
				t.Fatal(err)
			}
			issued[d.SHA256] = "CRL " + d.Issuer
		case transcript.EventOCSPSigned:
			d, err := transcript.Data[transcript.OCSPSigned](e)
			if err != nil {
				t.Fatal(err)
			}
			issued[d.SHA256] = "OCSP " + d.File
		}
	}
	linted := map[string]bool{}
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil || f.IsDir() {
			continue
		}
		for _, der := range derObjects(b) {
			sum := sha256.Sum256(der)
			h := hex.EncodeToString(sum[:])
			name, ok := issued[h]
			if !ok || linted[h] {
				continue
			}
			linted[h] = true
			findings := lintDER(t, name, der, filepath.Join(dir, rootPEM))
			if len(findings) > 0 {
				t.Errorf("%s: %s (%s) has findings %v", example, name, f.Name(), findings)
			}
		}
	}
	if len(issued) == 0 {
		t.Errorf("%s issued nothing", example)
	}
	for h, name := range issued {
		if !linted[h] {
			t.Errorf("%s: %s is recorded as issued but no output file holds it", example, name)
		}
	}
}

// derObjects are the DER objects of a PEM file (every block), or the file itself.
func derObjects(b []byte) [][]byte {
	var out [][]byte
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		out = append(out, blk.Bytes)
	}
	if len(out) == 0 {
		out = append(out, b)
	}
	return out
}

// lintDER lints a certificate, CRL or OCSP response (whose issuer is the certificate in
// rootFile) with every lint and returns its errors, warnings and fatal findings.
func lintDER(t *testing.T, name string, der []byte, rootFile string) []string {
	t.Helper()
	var res *zlint.ResultSet
	switch {
	case strings.HasPrefix(name, "OCSP "):
		resp, err := ocsp.ParseResponse(der, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := resp.CheckSignatureFrom(readCert(t, rootFile)); err != nil && resp.Certificate == nil {
			t.Fatalf("%s does not verify under the root: %v", name, err)
		}
		registry, _ := lint.GlobalRegistry().Filter(lint.FilterOptions{})
		res = zlint.LintOcspResponseEx(resp, registry)
	case strings.HasPrefix(name, "CRL "):
		crl, err := zx509.ParseRevocationList(der)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		registry, _ := lint.GlobalRegistry().Filter(lint.FilterOptions{})
		cfg, _ := lint.NewConfigFromString("[e_crl_next_update_invalid]\nSubscriberCRL = false\n")
		registry.SetConfiguration(cfg)
		res = zlint.LintRevocationListEx(crl, registry)
	default:
		c, err := zx509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		opts := lint.FilterOptions{}
		if privateOnly[name] {
			opts.IncludeSources = signerLintSources
		}
		registry, _ := lint.GlobalRegistry().Filter(opts)
		res = zlint.LintCertificateEx(c, registry)
	}
	var out []string
	for n, r := range res.Results {
		if r.Status == lint.Warn || r.Status == lint.Error || r.Status == lint.Fatal {
			out = append(out, r.Status.String()+" "+n)
		}
	}
	sort.Strings(out)
	return out
}
