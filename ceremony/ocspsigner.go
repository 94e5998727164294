package ceremony

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"time"
)

// TypeOCSPSigner has the root certify a delegated OCSP responder: a key that signs OCSP
// responses about the certificates the root issued, so the root key can stay offline.
const TypeOCSPSigner = "sign-ocsp-responder"

// The OCSP responder certificate (RFC 6960 4.2.2.2; Baseline Requirements 7.1.2.8):
// digitalSignature only, id-kp-OCSPSigning only, id-pkix-ocsp-nocheck (relying parties do not
// ask about the responder's own status, so it cannot be revoked in practice: hence its short
// life), no CRL distribution point and no certificate policies (the BR forbid both), CA:FALSE.
// Its validity is 90 days unless the script says otherwise, at most 366.
var ocspResponder = &delegation{
	typ: TypeOCSPSigner, section: "ocsp_responder", what: "OCSP responder", purpose: "ocsp-responder", file: "ocsp-responder",
	defaultDays: 90, maxDays: 366, webPKI: true, kind: kindOCSPResponder,
	config: func(s *Script) *DelegatedConfig { return s.OCSPResponder },
}

func init() {
	ocspResponder.template = ocspResponderTemplate
	ocspResponder.register("Delegated OCSP responder certificate",
		"The root certifies an OCSP responder's key (generated in the HSM, or from its CSR): id-kp-OCSPSigning, id-pkix-ocsp-nocheck, a short validity; linted before the root signs.")
}

// oidOCSPNoCheck is id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1); its value is NULL.
var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// ocspResponderTemplate is the OCSP responder certificate for subject under root.
// Its profile may add AIA (the top-level issuer facts); the profile checks refuse a CRL
// distribution point, policies and other extended key usages on it.
func ocspResponderTemplate(subject pkix.Name, root *x509.Certificate, days int, p Profile, serial *big.Int, now time.Time) (*x509.Certificate, error) {
	notBefore, notAfter, err := ocspResponder.validity(p, root, days, now)
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{SerialNumber: serial, Subject: subject, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true,
		ExtraExtensions: []pkix.Extension{{Id: oidOCSPNoCheck, Value: []byte{0x05, 0x00}}}}
	if err := p.apply(t); err != nil {
		return nil, err
	}
	t.ExtKeyUsage, t.UnknownExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}, nil
	return t, nil
}
