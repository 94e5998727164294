package ceremony

import (
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

func TestDestroyKey(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	makeDEKs(t, root.b, 2)
	dir := mustRun(t, "destroy-ceremony.yaml", root.b, Options{Previous: root.dir})
	if n := secretKeys(t, root.b); n != 1 {
		t.Fatalf("%d data keys left, want 1", n)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "transcript.jsonl"))
	for _, want := range []string{`"event":"key.identified"`, `"kcv_method":"AES-ECB"`, `"event":"key.destroyed"`, `"verified_absent":true`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("transcript lacks %s", want)
		}
	}
	// Destroying it again finds nothing and changes nothing.
	if _, err := run(t, "destroy-ceremony.yaml", root.b, Options{Previous: root.dir}); err == nil || !strings.Contains(err.Error(), "no key labelled") {
		t.Fatalf("second destruction: %v", err)
	}
	// The signer that seals a ceremony cannot be its subject.
	src, _ := os.ReadFile(filepath.Join("..", "testdata", "destroy-ceremony.yaml"))
	bad := strings.Replace(string(src), "key: dek-00000", "key: example-root-2026-transcript", 1)
	if _, err := ParseScript("s.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "cannot destroy itself") {
		t.Fatalf("destroying the signer: %v", err)
	}
}

func TestSignCRL(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	revoked := filepath.Join(t.TempDir(), "revoked.txt")
	os.WriteFile(revoked, []byte("# serial reason\n4a1f00c3 keyCompromise\n0x77aa superseded\n"), 0o644)
	dir := mustRun(t, "sign-crl-ceremony.yaml", root.b, Options{Previous: root.dir, Revoked: revoked})
	der, _ := os.ReadFile(filepath.Join(dir, "root.crl"))
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	rootDER, _ := os.ReadFile(filepath.Join(root.dir, "root.der"))
	rc, _ := x509.ParseCertificate(rootDER)
	if err := crl.CheckSignatureFrom(rc); err != nil || len(crl.RevokedCertificateEntries) != 4 || crl.RevokedCertificateEntries[2].ReasonCode != 1 || crl.Number.Int64() != 1 {
		t.Fatalf("CRL: %v %+v", err, crl)
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		out, err := exec.Command("openssl", "crl", "-in", filepath.Join(dir, "root.crl.pem"), "-CAfile", filepath.Join(dir, "root.pem"), "-noout", "-verify").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "verify OK") {
			t.Fatalf("openssl crl -verify: %v %s", err, out)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, []byte("4a1f00c3 keyCompromise\n4A1F00C3\n"), 0o644)
	if _, err := run(t, "sign-crl-ceremony.yaml", root.b, Options{Previous: root.dir, Revoked: bad}); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Fatalf("duplicate serial: %v", err)
	}
}

// A CRL lists each entry with its own revocation time and reason, from the script and the
// revoked list, and names its scope in an issuing distribution point; openssl reads them all.
func TestCRLEntriesDatesReasonsAndScope(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	revoked := filepath.Join(t.TempDir(), "revoked.txt")
	os.WriteFile(revoked, []byte("77aa superseded 2026-11-22T08:15:00Z\n"), 0o644)
	dir := mustRun(t, "sign-crl-ceremony.yaml", root.b, Options{Previous: root.dir, Revoked: revoked})
	der, _ := os.ReadFile(filepath.Join(dir, "root.crl"))
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		serial string
		at     string
		reason int
	}{{"5c2e9a0d41b7", "2026-11-20T09:30:00Z", 1}, {"e11f3", "2026-11-21T14:00:00Z", 5}, {"77aa", "2026-11-22T08:15:00Z", 4}}
	if len(crl.RevokedCertificateEntries) != len(want) {
		t.Fatalf("%d entries", len(crl.RevokedCertificateEntries))
	}
	for i, w := range want {
		e := crl.RevokedCertificateEntries[i]
		if fmt.Sprintf("%x", e.SerialNumber) != w.serial || e.RevocationTime.UTC().Format(time.RFC3339) != w.at || e.ReasonCode != w.reason {
			t.Errorf("entry %d: %x %s %d, want %+v", i, e.SerialNumber, e.RevocationTime, e.ReasonCode, w)
		}
	}
	var idp bool
	for _, x := range crl.Extensions {
		idp = idp || (x.Id.Equal(oidIssuingDistributionPoint) && x.Critical)
	}
	if !idp {
		t.Fatal("no critical issuing distribution point")
	}
	res := verified(t, dir)
	var rec *transcript.CRLIssued
	for i := range res.Entries {
		if res.Entries[i].Event == transcript.EventCRLIssued {
			if d, err := transcript.Data[transcript.CRLIssued](&res.Entries[i].Record); err == nil {
				rec = &d
			}
		}
	}
	if rec == nil || len(rec.Entries) != 3 || rec.Entries[0].Reason != "keyCompromise" || rec.DistributionPoint == "" {
		t.Fatalf("crl.issued record: %+v", rec)
	}
	// zlint, every source, finds no error and no warning in the CRL, before and after signing.
	linted := 0
	for i := range res.Entries {
		e := &res.Entries[i].Record
		switch e.Event {
		case transcript.EventCRLLinted:
			d, _ := transcript.Data[transcript.CRLLinted](e)
			linted++
			if len(d.Errors)+len(d.Warnings) > 0 || d.LintsRun == 0 {
				t.Errorf("the signed CRL linted with errors %v, warnings %v", d.Errors, d.Warnings)
			}
		case transcript.EventPreflightPassed:
			d, _ := transcript.Data[transcript.PreflightPassed](e)
			for _, l := range d.Lints {
				if l.Name == "root.crl" {
					linted++
					if len(l.Findings["error"])+len(l.Findings["warn"])+len(l.Waived) > 0 {
						t.Errorf("the CRL's shape linted with %v, waived %v", l.Findings, l.Waived)
					}
				}
			}
		}
	}
	if linted != 2 {
		t.Errorf("the CRL was linted %d times, want before and after signing", linted)
	}
	out, err := exec.Command("openssl", "crl", "-in", filepath.Join(dir, "root.crl.pem"), "-CAfile", filepath.Join(dir, "root.pem"), "-text", "-noout", "-verify").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl crl: %v %s", err, out)
	}
	for _, s := range []string{"verify OK", "Serial Number: 5C2E9A0D41B7", "Revocation Date: Nov 20 09:30:00 2026 GMT", "Key Compromise",
		"Serial Number: 0E11F3", "Cessation Of Operation", "Serial Number: 77AA", "Superseded",
		"Issuing Distribution Point: critical", "URI:http://pki.example-sovereign.de/crl/example-root-ca-2026.crl", "Only CA Certificates"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("openssl crl -text lacks %q:\n%s", s, out)
		}
	}
}

// A revocation dated after the CRL's thisUpdate, or a serial listed in the script and in the
// revoked list, is refused before the HSM is touched.
func TestCRLEntriesRefusedBeforeHSM(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	future := edited(t, loadTestScript(t, "sign-crl-ceremony.yaml"), func(s *Script) {
		s.CRL.Revoked[0].RevokedAt = time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	})
	dir := filepath.Join(t.TempDir(), "future")
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, future, dir, root.b, ui, Options{Previous: root.dir})
	}, "crl.revoked", "after this CRL's thisUpdate")
	twice := filepath.Join(t.TempDir(), "twice.txt")
	os.WriteFile(twice, []byte("5C2E9A0D41B7 keyCompromise\n"), 0o644)
	dir = filepath.Join(t.TempDir(), "twice")
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, loadTestScript(t, "sign-crl-ceremony.yaml"), dir, root.b, ui, Options{Previous: root.dir, Revoked: twice})
	}, "serial 5c2e9a0d41b7 is listed in the script and in the revoked list")
	bad := strings.Replace(string(loadTestScript(t, "sign-crl-ceremony.yaml").Source), "reason: keyCompromise", "reason: keyLost", 1)
	bad = strings.Replace(bad, "http://pki.", "ldap://pki.", 1)
	_, err := ParseScript("bad.yaml", []byte(bad))
	for _, w := range []string{"crl.revoked.0", `reason "keyLost" is not an RFC 5280 revocation reason`, "crl.distribution_point", "must be an http:// URL"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("script error lacks %q: %v", w, err)
		}
	}
}
