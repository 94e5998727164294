package ceremony

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
)

// continueStep continues an earlier ceremony's key hierarchy: it records that ceremony,
// carries its root certificate, and adopts its transcript signer, which must be on this token.
func continueStep() step {
	return step{id: "continue-hierarchy", title: "Continue the key hierarchy", actorRole: "administrator",
		explain: "The earlier ceremony on this key hierarchy is verified and quoted; its transcript-signing key, on this HSM, will seal this ceremony too.",
		run: func(r *Run) error {
			p := r.previous
			if _, err := r.record(transcript.EventPreviousVerified, map[string]any{"ceremony_id": p.result.Opening.CeremonyID, "checkpoint": p.result.Seal.Text,
				"records": len(p.result.Entries), "root_spki_sha256": p.result.RootSPKI.Hex()}); err != nil {
				return err
			}
			// The key states and CRL numbers it inherits, for the pre-flight of the next one.
			if _, err := r.record(transcript.EventHierarchyState, hierarchyStateOf(p.result).record()); err != nil {
				return err
			}
			// After a rotation, the new hierarchy's signer and root take over.
			root, signer, rot, err := r.hierarchy()
			if err != nil {
				return err
			}
			if rot != nil && signer != p.signer {
				if _, err := r.record(transcript.EventHierarchyRotated, map[string]string{"from_root_spki_sha256": rot.OldRootSPKI, "to_root_spki_sha256": rot.NewRootSPKI}); err != nil {
					return err
				}
			}
			if err := r.writeOutput(rootDER, root.Raw); err != nil {
				return err
			}
			if err := r.writeOutput(rootPEM, certPEM(root)); err != nil {
				return err
			}
			r.rootCert = root
			for name, b := range r.xfer.files {
				if err := os.MkdirAll(filepath.Join(r.Dir, filepath.Dir(filepath.FromSlash(name))), 0o755); err != nil {
					return err
				}
				if err := r.writeOutput(name, b); err != nil {
					return err
				}
			}
			return r.adoptSigner(signer)
		},
		restore: func(r *Run, e []transcript.Entry) error {
			if err := r.reloadRootCert(e); err != nil {
				return err
			}
			return r.reloadSigner(e)
		}}
}

// adoptSigner finds the transcript signer whose certificate is cert (the previous ceremony's,
// or after a rotation the new hierarchy's) on this token, and records it as this ceremony's.
func (r *Run) adoptSigner(cert *x509.Certificate) error {
	id := r.previous.result.Opening.CeremonyID
	s, err := r.keyPairOf(r.Script.Signer.Label, cert.PublicKey, "the one that ceremony certified")
	if err != nil {
		return fmt.Errorf("the transcript signer of ceremony %s must be on this token: %w", id, err)
	}
	r.signer, r.signerCert = s, cert
	if err := r.writeOutput(signerPEM, certPEM(r.signerCert)); err != nil {
		return err
	}
	_, err = r.record(transcript.EventSigner, transcript.Signer{
		Name:        s.Label,
		Certificate: string(certPEM(r.signerCert, r.rootCert)),
		Issuer:      spkiHex(r.rootCert),
	})
	return err
}

func spkiHex(c *x509.Certificate) string {
	fp, _ := fingerprint.OfPublicKey(c.PublicKey)
	return fp.Hex()
}

// parseChain reads PEM certificates: a signer, then its root.
func parseChain(p string) ([]*x509.Certificate, error) {
	out, err := transcript.ParseCertificates(p)
	if err != nil {
		return nil, err
	}
	if len(out) != 2 {
		return nil, fmt.Errorf("a signer chain holds the signer and its root, not %d certificates", len(out))
	}
	return out, nil
}

// reloadSigner finds, on a resume, the signer this transcript recorded.
func (r *Run) reloadSigner(e []transcript.Entry) error {
	for i := len(e) - 1; i >= 0; i-- {
		if e[i].Event != transcript.EventSigner {
			continue
		}
		var d transcript.Signer
		if err := e[i].DecodeData(&d); err != nil {
			return err
		}
		certs, err := transcript.ParseCertificates(d.Certificate)
		if err == nil && len(certs) == 0 {
			err = errors.New("it holds no certificate")
		}
		if err != nil {
			return fmt.Errorf("the signer record: %w", err)
		}
		c := certs[0]
		s, err := r.keyPairOf(d.Name, c.PublicKey, "the recorded transcript signer")
		if err != nil {
			return err
		}
		r.signer, r.signerCert = s, c
		return nil
	}
	return errors.New("the transcript records no signer")
}
