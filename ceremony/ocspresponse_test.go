package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/keyrite/keyrite/ceremony/transcript"
	evid "github.com/keyrite/keyrite/evidence"
)

// pkiChain is a root ceremony and the sign-intermediate ceremony that continues it.
func pkiChain(t *testing.T) (hierarchy, string) {
	t.Helper()
	root := rootOn(t, "root-ceremony.yaml")
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	inter := mustRun(t, "sign-intermediate-ceremony.yaml", root.b, Options{Previous: root.dir, CSR: writeCSR(t, key, "Example Issuing CA 2026")})
	return root, inter
}

func parseOCSP(t *testing.T, dir string, serial fmt.Stringer) *ocsp.Response {
	t.Helper()
	der, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("ocsp-%x.der", serial)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ocsp.ParseResponse(der, readCert(t, filepath.Join(dir, "root.pem")))
	if err != nil {
		t.Fatalf("the response does not verify against the root: %v", err)
	}
	return resp
}

// openSSLOCSP checks a response with openssl ocsp against the root, as an auditor would, and
// returns what it printed.
func openSSLOCSP(t *testing.T, dir string, serialHex string, issued string) string {
	t.Helper()
	out := opensslOK(t, "ocsp", "-respin", filepath.Join(dir, "ocsp-"+serialHex+".der"), "-issuer", filepath.Join(dir, "root.pem"),
		"-CAfile", filepath.Join(dir, "root.pem"), "-no_nonce", "-cert", issued, "-resp_text")
	if !strings.Contains(out, "Response verify OK") {
		t.Fatalf("openssl ocsp does not verify the response:\n%s", out)
	}
	return out
}

// The root signs a good response about the intermediate it issued (named by its common name)
// and a revoked one, with time and reason, about another of its certificates (--issued); both
// parse and verify against the root with x/crypto/ocsp and with openssl ocsp.
func TestOCSPResponsesSignedByRoot(t *testing.T) {
	root, inter := pkiChain(t)
	rc := readCert(t, filepath.Join(inter, "root.pem"))
	ic := readCert(t, filepath.Join(inter, "intermediate.pem"))
	// A second intermediate, signed in another ceremony, is revoked: given with --issued.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	old := mustRun(t, "sign-intermediate-ceremony.yaml", root.b, Options{Previous: root.dir, CSR: writeCSR(t, key, "Example Issuing CA 2025")})
	oc := readCert(t, filepath.Join(old, "intermediate.pem"))
	s := edited(t, loadTestScript(t, "sign-ocsp-responses-ceremony.yaml"), func(s *Script) {
		s.OCSP.Responses = append(s.OCSP.Responses, OCSPStatus{Serial: fmt.Sprintf("%x", oc.SerialNumber), Status: "revoked", RevokedAt: "2026-11-20T09:30:00Z", Reason: "keyCompromise"})
	})
	dir := mustRunScript(t, s, root.b, Options{Previous: inter, Issued: filepath.Join(old, "intermediate.pem")})
	good := parseOCSP(t, dir, ic.SerialNumber)
	if good.Status != ocsp.Good || good.SerialNumber.Cmp(ic.SerialNumber) != 0 || good.NextUpdate.Sub(good.ThisUpdate) != 365*24*time.Hour || good.Certificate != nil {
		t.Fatalf("good response: %+v", good)
	}
	if err := good.CheckSignatureFrom(rc); err != nil {
		t.Fatal(err)
	}
	revoked := parseOCSP(t, dir, oc.SerialNumber)
	if revoked.Status != ocsp.Revoked || revoked.RevocationReason != ocsp.KeyCompromise || !revoked.RevokedAt.Equal(time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)) {
		t.Fatalf("revoked response: %+v", revoked)
	}
	out := openSSLOCSP(t, dir, fmt.Sprintf("%x", ic.SerialNumber), filepath.Join(inter, "intermediate.pem"))
	if !strings.Contains(out, ": good") {
		t.Fatalf("openssl ocsp:\n%s", out)
	}
	out = openSSLOCSP(t, dir, fmt.Sprintf("%x", oc.SerialNumber), filepath.Join(old, "intermediate.pem"))
	for _, w := range []string{": revoked", "Reason: keyCompromise", "Revocation Time: Nov 20 09:30:00 2026 GMT"} {
		if !strings.Contains(out, w) {
			t.Errorf("openssl ocsp lacks %q:\n%s", w, out)
		}
	}
	res := verified(t, dir)
	if n := strings.Count(events(res), "ocsp.signed"); n != 2 {
		t.Fatalf("%d ocsp.signed records", n)
	}
	lintedCleanOCSP(t, res, 2)
}

// A delegated responder generated in the HSM (sign-ocsp-responder) signs the responses; each
// carries its certificate, and openssl accepts the delegation.
func TestOCSPResponsesSignedByDelegatedResponder(t *testing.T) {
	root, inter := pkiChain(t)
	ic := readCert(t, filepath.Join(inter, "intermediate.pem"))
	responder := mustRun(t, "sign-ocsp-responder-ceremony.yaml", root.b, Options{Previous: inter})
	s := edited(t, loadTestScript(t, "sign-ocsp-responses-ceremony.yaml"), func(s *Script) {
		s.OCSP.Responder = "example-root-2026-ocsp-1"
		s.OCSP.NextUpdateDays = 30
	})
	dir := mustRunScript(t, s, root.b, Options{Previous: responder, Issued: filepath.Join(inter, "intermediate.pem")})
	resp := parseOCSP(t, dir, ic.SerialNumber)
	rcert := readCert(t, filepath.Join(responder, "ocsp-responder.pem"))
	if resp.Certificate == nil || !resp.Certificate.Equal(rcert) || resp.Status != ocsp.Good {
		t.Fatalf("delegated response: %+v", resp)
	}
	out := openSSLOCSP(t, dir, fmt.Sprintf("%x", ic.SerialNumber), filepath.Join(inter, "intermediate.pem"))
	if !strings.Contains(out, ": good") || !strings.Contains(out, "Example Root CA 2026 OCSP Responder 1") {
		t.Fatalf("openssl ocsp:\n%s", out)
	}
	lintedCleanOCSP(t, verified(t, dir), 1)
	// The key inventory lists the response among the responder key's uses.
	var folders []transcript.Folder
	for _, d := range []string{responder, dir} {
		f, err := transcript.VerifyTree(d, transcript.Options{})
		if err != nil {
			t.Fatal(err)
		}
		folders = append(folders, f...)
	}
	if inv := evid.Inventory(folders).String(); !strings.Contains(inv, fmt.Sprintf("signed the OCSP response about serial %x (good", ic.SerialNumber)) {
		t.Fatalf("the inventory does not show the response:\n%s", inv)
	}

	// The responder's certificate (90 days) does not cover a year of responses: refused
	// before the HSM is touched.
	long := edited(t, s, func(s *Script) { s.OCSP.NextUpdateDays = 365; s.ID = "too-long" })
	d := filepath.Join(t.TempDir(), "long")
	refusedBeforeHSM(t, root.b, d, func(ui UI) error {
		return start(t, long, d, root.b, ui, Options{Previous: responder, Issued: filepath.Join(inter, "intermediate.pem")})
	}, "ocsp:", "does not cover the responses'")
}

// What the pre-flight refuses about OCSP responses, before the HSM is touched.
func TestOCSPResponsesRefusedBeforeHSM(t *testing.T) {
	root, inter := pkiChain(t)
	other := newSoftCA(t, "Elsewhere CA", nil, nil)
	foreign := filepath.Join(t.TempDir(), "foreign.pem")
	os.WriteFile(foreign, certPEM(other.cert), 0o644)
	for name, c := range map[string]struct {
		edit func(*Script)
		opt  Options
		want string
	}{
		"unknown serial":        {func(s *Script) { s.OCSP.Responses[0] = OCSPStatus{Serial: "7fff01", Status: "good"} }, Options{Previous: inter}, "serial 7fff01 is not a certificate of"},
		"certificate elsewhere": {func(s *Script) {}, Options{Previous: root.dir}, `certificate "Example Issuing CA 2026" is not a certificate of`},
		"this_update ahead": {func(s *Script) { s.OCSP.ThisUpdate = time.Now().Add(time.Hour).UTC().Format(time.RFC3339) }, Options{Previous: inter},
			"is after the ceremony's clock"},
		"no responder certificate": {func(s *Script) { s.OCSP.Responder = "example-root-2026-transcript" }, Options{Previous: inter}, "no OCSP responder certificate of the root certifies key"},
		"revoked after thisUpdate": {func(s *Script) {
			s.OCSP.Responses[0] = OCSPStatus{CommonName: "Example Issuing CA 2026", Status: "revoked", RevokedAt: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
		}, Options{Previous: inter}, "after the responses' thisUpdate"},
	} {
		t.Run(name, func(t *testing.T) {
			s := edited(t, loadTestScript(t, "sign-ocsp-responses-ceremony.yaml"), c.edit)
			dir := filepath.Join(t.TempDir(), "refused")
			refusedBeforeHSM(t, root.b, dir, func(ui UI) error { return start(t, s, dir, root.b, ui, c.opt) }, c.want)
		})
	}
	// A certificate given with --issued that the root did not issue is refused by name.
	s := loadTestScript(t, "sign-ocsp-responses-ceremony.yaml")
	dir := filepath.Join(t.TempDir(), "foreign")
	refusedBeforeHSM(t, root.b, dir, func(ui UI) error {
		return start(t, s, dir, root.b, ui, Options{Previous: inter, Issued: foreign})
	}, `"CN=Elsewhere CA,O=Outside Org,C=NL"`, "was not issued by")
	// Script errors: status, a good certificate with a revocation time, both names, an
	// unspecified reason, a year and a day.
	src := string(s.Source)
	for from, want := range map[string]string{
		"status: good}":         `status "bad" must be good or revoked`,
		"next_update_days: 365": "ocsp.next_update_days: 367 must be between 1 and 366",
		"{common_name":          "name the certificate by its serial or by its common_name",
	} {
		to := map[string]string{"status: good}": "status: bad}", "next_update_days: 365": "next_update_days: 367", "{common_name": "{serial: 01, common_name"}[from]
		if _, err := ParseScript("s.yaml", []byte(strings.Replace(src, from, to, 1))); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
	for _, st := range []OCSPStatus{{Serial: "01", Status: "good", RevokedAt: "2026-11-20T09:30:00Z"}, {Serial: "01", Status: "revoked", RevokedAt: "2026-11-20T09:30:00Z", Reason: "unspecified"}} {
		if _, err := st.template(); err == nil {
			t.Errorf("%+v accepted", st)
		}
	}
}

// A witness who does not confirm what a signing step did stops the ceremony; a resume signs
// again (the earlier files moved aside) and the ceremony seals and verifies: the OCSP
// responses, the delegated responder's certificate and the cross-certificate alike.
func TestPKIStepsResumeAfterWitnessDeclined(t *testing.T) {
	root, inter := pkiChain(t)
	partner := newSoftCA(t, "Partner Root CA", nil, nil)
	for _, c := range []struct {
		script, step string
		opt          Options
		file         string
	}{
		{"sign-ocsp-responses-ceremony.yaml", "Sign the OCSP responses", Options{Previous: inter}, ""},
		{"sign-ocsp-responder-ceremony.yaml", "Sign the OCSP responder certificate", Options{Previous: inter}, "ocsp-responder.pem"},
		{"cross-certify-ceremony.yaml", "Sign the cross-certificate", Options{Previous: inter, Outside: writePEM(t, "p.pem", "CERTIFICATE", partner.cert.Raw)}, "cross-certificate.pem"},
	} {
		t.Run(c.script, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "c")
			err := start(t, loadTestScript(t, c.script), dir, root.b, &scriptedUI{decline: []string{`did "` + c.step + `" happen`}}, c.opt)
			if !errors.Is(err, ErrDeclined) {
				t.Fatalf("Start: %v", err)
			}
			if err := resume(t, dir, root.b, &scriptedUI{}, c.opt); err != nil {
				t.Fatal(err)
			}
			res := verified(t, dir)
			if !strings.Contains(events(res), "witness.declined") {
				t.Fatal("the declined step is not recorded")
			}
			if c.file != "" {
				readCert(t, filepath.Join(dir, c.file))
			}
		})
	}
}
