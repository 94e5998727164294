package ceremony

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
)

// TypeCRL has the root sign a certificate revocation list.
const TypeCRL = "sign-crl"

func init() {
	register(ceremonyType{
		TypeInfo: TypeInfo{Name: TypeCRL, Title: "CRL signing by the root", Example: "sign-crl", Inputs: []Input{InputRevoked},
			Description: "The root signs a certificate revocation list of the revoked serials, linted before it is written."},
		previous:  previousSealed,
		validate:  (*Script).validateCRL,
		steps:     crlSteps,
		keyStates: crlKeyStates,
		lints:     crlLints,
		supports:  onTokenCases(TypeCRL),
	})
}

func (s *Script) validateCRL(v *validator) {
	c := s.CRL
	if c == nil {
		v.errorf("crl", "a sign-crl ceremony needs a crl section")
		return
	}
	if !labelRE.MatchString(c.RootKey) {
		v.errorf("crl.root_key", "%q must be the root key's label on the token", c.RootKey)
	}
	if c.Number < 1 {
		v.errorf("crl.number", "%d: the CRL number must be positive and higher than the last CRL's", c.Number)
	}
	if c.NextUpdateDays < 1 || c.NextUpdateDays > 365 {
		v.errorf("crl.next_update_days", "%d must be between 1 and 365 (12 months for a CRL of CA certificates)", c.NextUpdateDays)
	}
}

func crlSteps(s *Script) []step {
	root := rootSteps(s)
	c := s.CRL
	return []step{root[0], continueStep(),
		{id: "sign-crl", title: "Sign the revocation list", actorRole: "administrator", witness: true,
			outputs: []string{"root.crl", "root.crl.pem"},
			explain: fmt.Sprintf("The root key %q signs CRL number %d, valid %d days, listing the revoked certificates; it is linted first.", c.RootKey, c.Number, c.NextUpdateDays),
			run:     (*Run).signCRL},
		root[4]}
}

// reasonCodes are RFC 5280 CRLReason names.
var reasonCodes = map[string]int{"unspecified": 0, "keyCompromise": 1, "cACompromise": 2, "affiliationChanged": 3,
	"superseded": 4, "cessationOfOperation": 5, "certificateHold": 6, "removeFromCRL": 8, "privilegeWithdrawn": 9, "aACompromise": 10}

// readRevoked parses "serial-hex [reason]" lines; # starts a comment.
func readRevoked(path string, when time.Time) ([]x509.RevocationListEntry, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the revoked list: %w", err)
	}
	var out []x509.RevocationListEntry
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.SplitN(sc.Text(), "#", 2)[0])
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		serial, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(f[0]), "0x"), 16)
		if !ok || serial.Sign() <= 0 {
			return nil, fmt.Errorf("%s:%d: %q is not a serial number in hex", path, n, f[0])
		}
		if seen[serial.String()] {
			return nil, fmt.Errorf("%s:%d: serial %s is listed twice", path, n, f[0])
		}
		seen[serial.String()] = true
		e := x509.RevocationListEntry{SerialNumber: serial, RevocationTime: when}
		if len(f) > 1 {
			code, ok := reasonCodes[f[1]]
			if !ok {
				if c, err := strconv.Atoi(f[1]); err == nil {
					code, ok = c, c >= 0 && c <= 10 && c != 7
				}
			}
			if !ok {
				return nil, fmt.Errorf("%s:%d: %q is not an RFC 5280 revocation reason", path, n, f[1])
			}
			e.ReasonCode = code
		}
		out = append(out, e)
	}
	return out, nil
}

func (r *Run) signCRL() error {
	c := r.Script.CRL
	now := r.Clock().UTC().Truncate(time.Second)
	revoked, err := readRevoked(r.opt.Revoked, now)
	if err != nil {
		return err
	}
	rootKey, err := r.rootKey(c.RootKey)
	if err != nil {
		return err
	}
	tmpl := crlTemplate(c, revoked, now)
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, r.rootCert, rootKey)
	if err != nil {
		return fmt.Errorf("sign the CRL with root key %q: %w", c.RootKey, err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err == nil {
		err = crl.CheckSignatureFrom(r.rootCert)
	}
	if err != nil {
		return fmt.Errorf("the new CRL does not verify under the root: %w", err)
	}
	res, err := lintCRLBytes("root.crl", "issued by "+r.rootCert.Subject.String(), der)
	if err != nil {
		return err
	}
	bad := refusedLints(res)
	if _, err := r.record(transcript.EventCRLLinted, transcript.CRLLinted{Linter: "zlint v3", LintsRun: res.LintsRun, Errors: bad, Warnings: res.Findings["warn"]}); err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("the CRL fails lints %v; nothing was written", bad)
	}
	if _, err := r.record(transcript.EventCRLIssued, map[string]any{"number": c.Number, "this_update": tmpl.ThisUpdate.Format(time.RFC3339), "next_update": tmpl.NextUpdate.Format(time.RFC3339),
		"revoked": len(revoked), "issuer": r.rootCert.Subject.String(), "sha256": sha256Hex(der)}); err != nil {
		return err
	}
	if err := r.writeOutput("root.crl", der); err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("CRL number %d signed: %d revoked, next update %s.", c.Number, len(revoked), tmpl.NextUpdate.Format(time.DateOnly)))
	return r.writeOutput("root.crl.pem", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
}

// CRLConfig is the certificate revocation list the root signs.
type CRLConfig struct {
	RootKey        string `yaml:"root_key"`
	Number         int64  `yaml:"number"` // the CRL number; each CRL's is higher than the last
	NextUpdateDays int    `yaml:"next_update_days"`
}

// crlKeyStates refuses, in the pre-flight, keys whose recorded state forbids what a sign-crl ceremony does with them.
func crlKeyStates(k keyStateCheck) {
	s := k.p.r.Script
	// A deactivated root still signs CRLs for what it issued (NIST SP 800-57: it may
	// "process" but not "apply protection" to new subjects; revocation is processing).
	k.refuse("crl.root_key", s.CRL.RootKey, k.rootSPKI, true, "sign CRLs")
	if k.root != nil {
		if last, ok := k.st.lastCRL(k.root.Subject.String()); ok && s.CRL.Number <= last.Number {
			k.p.fieldf("crl.number", "%d does not exceed CRL number %d, which ceremony %s recorded for %s; CRL numbers only grow: use %d or higher", s.CRL.Number, last.Number, last.Ceremony, last.Issuer, last.Number+1)
		}
	}
}

// crlLints builds every certificate and CRL a sign-crl ceremony issues, in its real shape, and lints it.
func crlLints(l lintRun) {
	s := l.p.r.Script
	if l.root == nil {
		return
	}
	revoked, err := readRevoked(l.p.r.opt.Revoked, l.now.UTC().Truncate(1e9))
	if err != nil {
		l.p.errorf("%v; nothing was signed", err)
		return
	}
	res, err := lintCRL("l.root.crl", crlTemplate(s.CRL, revoked, l.now), l.root, l.rootAlg)
	if err != nil {
		l.p.fieldf("crl", "%v", err)
		return
	}
	if bad := refusedLints(res); len(bad) > 0 {
		l.p.fieldf("crl", "the CRL (%s, with the revoked list %s) fails lints %s; fix the revoked list or the script's crl section", res.Shape, l.p.r.opt.Revoked, strings.Join(bad, ", "))
		return
	}
	l.p.rec.Lints = append(l.p.rec.Lints, res)
}
