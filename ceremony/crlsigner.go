package ceremony

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"time"
)

// TypeCRLSigner has the root certify a delegated CRL signer: a key that signs CRLs for the
// root (an indirect CRL issuer, RFC 5280 5.2.5 and 6.3.3), so an in-region service can publish
// them while the root key stays offline.
const TypeCRLSigner = "sign-crl-signer"

// The CRL signer certificate: an end-entity certificate (CA:FALSE: it signs CRLs, never
// certificates) with the cRLSign key usage only, no extended key usage (none is defined for
// CRL signing). Its validity is 365 days unless the script says otherwise, at most 1,096.
//
// The Baseline Requirements have no profile for it: their CRL distribution points may not name
// a cRLIssuer (7.1.2.11.2), so a relying party of the Web PKI never takes a CRL from anyone but
// the CA itself. It is linted against the RFC lint sources only (RFC 5280, 3279, 5480, 8813),
// like the transcript signer; docs/pki.md says what an indirect CRL needs besides it.
var crlSigner = &delegation{
	typ: TypeCRLSigner, section: "crl_signer", what: "CRL signer", purpose: "crl-signer", file: "crl-signer",
	defaultDays: 365, maxDays: 1096, kind: kindCRLSigner,
	config: func(s *Script) *DelegatedConfig { return s.CRLSigner },
}

func init() {
	crlSigner.template = crlSignerTemplate
	crlSigner.register("Delegated CRL signer certificate",
		"The root certifies a CRL signer's key (generated in the HSM, or from its CSR): key usage cRLSign, not a CA; linted before the root signs.")
}

// crlSignerTemplate is the CRL signer certificate for subject under root.
func crlSignerTemplate(subject pkix.Name, root *x509.Certificate, days int, p Profile, serial *big.Int, now time.Time) (*x509.Certificate, error) {
	notBefore, notAfter, err := crlSigner.validity(p, root, days, now)
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{SerialNumber: serial, Subject: subject, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageCRLSign, BasicConstraintsValid: true}
	return t, p.apply(t)
}
