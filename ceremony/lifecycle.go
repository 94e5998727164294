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

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/quorum"
)

func destroySteps(s *Script) []step {
	root := rootSteps(s)
	d := s.Destroy
	return []step{root[0], continueStep(),
		{id: "identify-key", title: "Identify the key to destroy", actorRole: "administrator", witness: true,
			explain: fmt.Sprintf("The key %q is read from the HSM: its fingerprint or check value is recorded, so the transcript proves which key was destroyed.", d.Key),
			run:     (*Run).identifyKey},
		{id: "destroy-key", title: "Destroy the key", actorRole: "security-officer", witness: true,
			explain: fmt.Sprintf("The key %q is destroyed on the HSM (reason: %s), and the HSM is checked to hold it no longer. This cannot be undone.", d.Key, d.Reason),
			run:     (*Run).destroyKey},
		root[4]}
}

func (r *Run) identifyKey() error {
	label := r.Script.Destroy.Key
	data := map[string]any{"label": label}
	if k, err := r.token.FindKeyPair(label); err == nil {
		fp, _ := fingerprint.OfPublicKey(k.Public())
		data["kind"], data["algorithm"], data["spki_sha256"], data["spki_sha256_words"] = "key pair", k.Algorithm, fp.Hex(), fp.Words()
		r.UI.Note(fmt.Sprintf("Key %q, %s.\nSPKI SHA-256: %s\nRead aloud: %s", label, k.Algorithm, fp.Grouped(), fp.Words()))
	} else if sk, serr := r.token.FindSecretKey(label); serr == nil {
		kcv, kerr := sk.CheckValueECB()
		if kerr != nil {
			kcv = "unavailable (" + kerr.Error() + ")"
		}
		data["kind"], data["kcv"], data["kcv_method"] = "secret key", kcv, quorum.KCVECB
		r.UI.Note(fmt.Sprintf("Secret key %q, check value %s (%s).", label, kcv, quorum.KCVECB))
	} else {
		return fmt.Errorf("no key labelled %q on token %q: %v; nothing was destroyed", label, r.token.Info.Label, err)
	}
	_, err := r.record("key.identified", data)
	return err
}

func (r *Run) destroyKey() error {
	d := r.Script.Destroy
	so := r.Script.People("security-officer")
	who := r.actor("administrator")
	if len(so) > 0 {
		if err := r.UI.Confirm(so[0].Name, fmt.Sprintf("%s: destroy key %q now? This cannot be undone.", so[0].Name, d.Key)); err != nil {
			r.record("destruction.declined", map[string]string{"by": so[0].Name, "reason": reasonOf(err)})
			return fmt.Errorf("%s did not confirm the destruction: %w", so[0].Name, err)
		}
		who = so[0].Name
	}
	n, err := r.token.DestroyLabel(d.Key)
	if err != nil {
		return err
	}
	if has, err := r.token.HasLabel(d.Key); err != nil || has {
		return fmt.Errorf("key %q is still on the token after destruction (%v): stop and investigate", d.Key, err)
	}
	_, err = r.record("key.destroyed", map[string]any{"label": d.Key, "objects": n, "reason": d.Reason, "confirmed_by": who,
		"token_serial": r.token.Info.Serial, "verified_absent": true})
	r.UI.Note(fmt.Sprintf("Key %q destroyed (%d objects); the HSM no longer holds it.", d.Key, n))
	return err
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
	tmpl := &x509.RevocationList{Number: big.NewInt(c.Number), ThisUpdate: now, NextUpdate: now.Add(time.Duration(c.NextUpdateDays) * 24 * time.Hour),
		RevokedCertificateEntries: revoked}
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
	if zc, err := zx509.ParseRevocationList(der); err == nil {
		// A root's CRL covers CA certificates: the Baseline Requirements allow it 12 months
		// (subscriber CRLs, zlint's default, 10 days).
		registry, err := lint.GlobalRegistry().Filter(lint.FilterOptions{})
		if err != nil {
			return err
		}
		cfg, err := lint.NewConfigFromString("[e_crl_next_update_invalid]\nSubscriberCRL = false\n")
		if err != nil {
			return err
		}
		registry.SetConfiguration(cfg)
		res := zlint.LintRevocationListEx(zc, registry)
		var bad, warn []string
		for name, lr := range res.Results {
			switch lr.Status {
			case lint.Error, lint.Fatal:
				bad = append(bad, name)
			case lint.Warn:
				warn = append(warn, name)
			}
		}
		r.record("crl.linted", map[string]any{"linter": "zlint v3", "lints_run": len(res.Results), "errors": bad, "warnings": warn})
		if len(bad) > 0 {
			return fmt.Errorf("the CRL fails lints %v; nothing was written", bad)
		}
	}
	if _, err := r.record("crl.issued", map[string]any{"number": c.Number, "this_update": tmpl.ThisUpdate.Format(time.RFC3339), "next_update": tmpl.NextUpdate.Format(time.RFC3339),
		"revoked": len(revoked), "issuer": r.rootCert.Subject.String(), "sha256": sha256Hex(der)}); err != nil {
		return err
	}
	if err := r.writeOutput("root.crl", der); err != nil {
		return err
	}
	r.UI.Note(fmt.Sprintf("CRL number %d signed: %d revoked, next update %s.", c.Number, len(revoked), tmpl.NextUpdate.Format(time.DateOnly)))
	return r.writeOutput("root.crl.pem", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
}
