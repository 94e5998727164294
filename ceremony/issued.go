package ceremony

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// issuedBy lists the certificates issuer signed that the sealed ceremony this one continues
// holds as outputs (its verified files: an intermediate, a delegated responder, a
// cross-certificate), and those in the PEM file extra (--issued), in that order, each once.
// A certificate of extra that issuer did not sign is an error; the root itself is left out.
func (r *Run) issuedBy(issuer *x509.Certificate, extra string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	seen := map[string]bool{string(issuer.Raw): true}
	add := func(c *x509.Certificate) {
		if !seen[string(c.Raw)] {
			seen[string(c.Raw)] = true
			out = append(out, c)
		}
	}
	if p := r.previous; p != nil {
		for _, o := range p.result.Outputs {
			if ext := path.Ext(o.File); ext != ".pem" && ext != ".der" {
				continue
			}
			b, err := os.ReadFile(filepath.Join(p.dir, filepath.FromSlash(o.File)))
			if err != nil {
				continue // the verifier checked it; a file gone since is no certificate to use
			}
			for _, c := range parseCertificates(b) {
				if c.CheckSignatureFrom(issuer) == nil {
					add(c)
				}
			}
		}
	}
	if extra == "" {
		return out, nil
	}
	b, err := os.ReadFile(extra)
	if err != nil {
		return nil, fmt.Errorf("read the issued certificates: %w", err)
	}
	certs := parseCertificates(b)
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s holds no certificate (PEM \"CERTIFICATE\" blocks or one DER certificate)", extra)
	}
	for _, c := range certs {
		if err := c.CheckSignatureFrom(issuer); err != nil {
			return nil, fmt.Errorf("%s: certificate %q (serial %x) was not issued by %q: %v", extra, c.Subject.String(), c.SerialNumber, issuer.Subject.String(), err)
		}
		add(c)
	}
	return out, nil
}

// parseCertificates reads PEM "CERTIFICATE" blocks, or one DER certificate; what does not
// parse is left out.
func parseCertificates(b []byte) []*x509.Certificate {
	if c, err := x509.ParseCertificate(b); err == nil {
		return []*x509.Certificate{c}
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
			out = append(out, c)
		}
	}
}

// oidIssuingDistributionPoint is id-ce-issuingDistributionPoint (RFC 5280 5.2.5).
var oidIssuingDistributionPoint = asn1.ObjectIdentifier{2, 5, 29, 28}

// idpExtension is a critical issuing distribution point naming the CRL distribution point
// uri (a full name, one URI), limited to CA certificates if onlyCA:
//
//	IssuingDistributionPoint ::= SEQUENCE {
//	     distributionPoint          [0] DistributionPointName OPTIONAL,
//	     onlyContainsUserCerts      [1] BOOLEAN DEFAULT FALSE,
//	     onlyContainsCACerts        [2] BOOLEAN DEFAULT FALSE, ... }
//	DistributionPointName ::= CHOICE { fullName [0] GeneralNames, ... }
func idpExtension(uri string, onlyCA bool) (ext pkix.Extension, err error) {
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(casn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(casn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(uri)) })
			})
		})
		if onlyCA {
			b.AddASN1(casn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddUint8(0xff) })
		}
	})
	der, err := b.Bytes()
	if err != nil {
		return ext, err
	}
	return pkix.Extension{Id: oidIssuingDistributionPoint, Critical: true, Value: der}, nil
}

// crlScope checks, in the pre-flight, that a CRL's issuing distribution point names the CRL
// distribution point of the certificates it covers (those the ceremony it continues holds):
// a relying party (openssl among them) refuses a CRL whose scope does not match the
// certificate's distribution point.
func (p *preflighter) crlScope(c *CRLConfig) {
	root, _, _, err := p.r.hierarchy()
	if err != nil || root == nil || c.DistributionPoint == "" {
		return
	}
	certs, _ := p.r.issuedBy(root, "")
	for _, cert := range certs {
		if len(cert.CRLDistributionPoints) == 0 || (c.OnlyCACertificates && !cert.IsCA) {
			continue
		}
		if !contains(cert.CRLDistributionPoints, c.DistributionPoint) {
			p.fieldf("crl.distribution_point", "%q is not the CRL distribution point of certificate %q (serial %x), which names %s: a CRL with this issuing distribution point does not cover it",
				c.DistributionPoint, cert.Subject.String(), cert.SerialNumber, strings.Join(cert.CRLDistributionPoints, ", "))
		}
	}
}
