package ceremony

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"time"
)

// ekuNames are the extended key usages a profile names.
var ekuNames = map[string]x509.ExtKeyUsage{
	"serverAuth":      x509.ExtKeyUsageServerAuth,
	"clientAuth":      x509.ExtKeyUsageClientAuth,
	"codeSigning":     x509.ExtKeyUsageCodeSigning,
	"emailProtection": x509.ExtKeyUsageEmailProtection,
	"timeStamping":    x509.ExtKeyUsageTimeStamping,
	"OCSPSigning":     x509.ExtKeyUsageOCSPSigning,
}

// parseEKU is an extended key usage by name or dotted OID: a Go usage, or an OID Go does not
// name (documentSigning and any other).
func parseEKU(s string) (x509.ExtKeyUsage, asn1.ObjectIdentifier, error) {
	if u, ok := ekuNames[s]; ok {
		return u, nil, nil
	}
	if s == "documentSigning" {
		return 0, oidDocumentSigning, nil
	}
	if s == "any" || s == "2.5.29.37.0" {
		return 0, nil, fmt.Errorf("anyExtendedKeyUsage is not issued (BR 7.1.2.10.6, zlint e_ca_invalid_eku): name the usages")
	}
	arcs, err := parseOID(s)
	if err != nil {
		names := []string{"documentSigning"}
		for n := range ekuNames {
			names = append(names, n)
		}
		sort.Strings(names)
		return 0, nil, fmt.Errorf("%q is neither an extended key usage name (%s) nor a dotted OID", s, strings.Join(names, ", "))
	}
	return 0, asn1.ObjectIdentifier(arcs), nil
}

// apply puts the profile's extensions on t; the profile's fields were checked when the
// script was read.
func (p Profile) apply(t *x509.Certificate) error {
	t.CRLDistributionPoints = slices.Clone(p.CRLDistributionPoints)
	t.IssuingCertificateURL = slices.Clone(p.CAIssuers)
	t.OCSPServer = slices.Clone(p.OCSP)
	if len(p.Policies) > 0 {
		ext, err := policiesExtension(p.Policies)
		if err != nil {
			return err
		}
		t.ExtraExtensions = append(t.ExtraExtensions, ext)
	}
	if p.ExtKeyUsages != nil {
		t.ExtKeyUsage, t.UnknownExtKeyUsage = nil, nil
		for _, e := range p.ExtKeyUsages {
			u, oid, err := parseEKU(e)
			if err != nil {
				return err
			}
			if oid != nil {
				t.UnknownExtKeyUsage = append(t.UnknownExtKeyUsage, oid)
			} else {
				t.ExtKeyUsage = append(t.ExtKeyUsage, u)
			}
		}
	}
	if nc := p.NameConstraints; nc != nil {
		ext, err := nc.extension()
		if err != nil {
			return err
		}
		t.ExtraExtensions = append(t.ExtraExtensions, ext)
	}
	if p.PathLength != nil {
		t.MaxPathLen, t.MaxPathLenZero = *p.PathLength, *p.PathLength == 0
	}
	return nil
}

var (
	oidCertificatePolicies = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidNameConstraints     = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidCPS                 = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 2, 1}
)

// policiesExtension is the certificatePolicies extension (RFC 5280 4.2.1.4), non-critical,
// with a CPS pointer qualifier where a policy names one (Go's template has no qualifiers).
func policiesExtension(ps []Policy) (pkix.Extension, error) {
	type qualifier struct {
		ID  asn1.ObjectIdentifier
		CPS string `asn1:"ia5"`
	}
	type info struct {
		ID         asn1.ObjectIdentifier
		Qualifiers []qualifier `asn1:"optional,omitempty"`
	}
	var infos []info
	for _, p := range ps {
		arcs, err := parseOID(p.OID)
		if err != nil {
			return pkix.Extension{}, err
		}
		in := info{ID: arcs}
		if p.CPS != "" {
			in.Qualifiers = []qualifier{{oidCPS, p.CPS}}
		}
		infos = append(infos, in)
	}
	der, err := asn1.Marshal(infos)
	return pkix.Extension{Id: oidCertificatePolicies, Value: der}, err
}

// extension is the nameConstraints extension (RFC 5280 4.2.1.10), built here because Go's
// template has no directory names.
func (nc *NameConstraints) extension() (pkix.Extension, error) {
	var body []byte
	for i, set := range []NameSet{nc.Permitted, nc.Excluded} {
		if set.empty() {
			continue
		}
		subtrees, err := set.subtrees()
		if err != nil {
			return pkix.Extension{}, err
		}
		der, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: i, IsCompound: true, Bytes: subtrees})
		if err != nil {
			return pkix.Extension{}, err
		}
		body = append(body, der...)
	}
	der, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
	critical := nc.Critical == nil || *nc.Critical
	return pkix.Extension{Id: oidNameConstraints, Critical: critical, Value: der}, err
}

// subtrees are the GeneralSubtree DER of one side, concatenated (minimum 0 and no maximum,
// as RFC 5280 requires).
func (n NameSet) subtrees() ([]byte, error) {
	var names []asn1.RawValue
	for _, d := range n.DNS {
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(d)})
	}
	for _, c := range n.IP {
		_, ipn, err := net.ParseCIDR(c)
		if err != nil {
			return nil, err
		}
		ip := ipn.IP
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 7, Bytes: append(slices.Clone([]byte(ip)), ipn.Mask...)})
	}
	for _, e := range n.Email {
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, Bytes: []byte(e)})
	}
	for _, d := range n.Directory {
		rdn, err := asn1.Marshal(d.name().ToRDNSequence())
		if err != nil {
			return nil, err
		}
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: rdn})
	}
	var out []byte
	for _, gn := range names {
		gder, err := asn1.Marshal(gn)
		if err != nil {
			return nil, err
		}
		st, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: gder})
		if err != nil {
			return nil, err
		}
		out = append(out, st...)
	}
	return out, nil
}

// window is the validity of a certificate issued now under issuer (nil: self-signed): the
// profile's explicit window, else days from now. An explicit window must lie within the
// issuer's; a window of days is cut at the issuer's end where clip is set, and refused past it
// otherwise. field names the script field for the error.
func (p Profile) window(days int, issuer *x509.Certificate, now time.Time, clip bool, field string) (time.Time, time.Time, error) {
	nb := now.UTC().Truncate(time.Second).Add(-clockSkew)
	explicit := false
	if w := p.Validity; w != nil {
		if w.NotBefore != "" {
			t, err := time.Parse(time.RFC3339, w.NotBefore)
			if err != nil {
				return nb, nb, fmt.Errorf("%s.not_before: %v", field, err)
			}
			nb, explicit = t.UTC(), true
		}
		if w.Days != 0 {
			days = w.Days
		}
		if w.NotAfter != "" {
			na, err := time.Parse(time.RFC3339, w.NotAfter)
			if err != nil {
				return nb, nb, fmt.Errorf("%s.not_after: %v", field, err)
			}
			return checkWindow(nb, na.UTC(), issuer, field)
		}
	}
	na := nb.Add(time.Duration(days) * 24 * time.Hour)
	if issuer != nil && clip && !explicit && na.After(issuer.NotAfter) {
		na = issuer.NotAfter
	}
	return checkWindow(nb, na, issuer, field)
}

// checkWindow refuses a validity that does not lie within the issuer's.
func checkWindow(nb, na time.Time, issuer *x509.Certificate, field string) (time.Time, time.Time, error) {
	if !na.After(nb) {
		return nb, na, fmt.Errorf("%s: the certificate would end (%s) before it starts (%s)", field, na.Format(time.RFC3339), nb.Format(time.RFC3339))
	}
	if issuer == nil {
		return nb, na, nil
	}
	if nb.Before(issuer.NotBefore) || na.After(issuer.NotAfter) {
		return nb, na, fmt.Errorf("%s: the certificate's validity %s to %s must lie within its issuer's (%s to %s): shorten it", field,
			nb.Format(time.DateOnly), na.Format(time.DateOnly), issuer.NotBefore.Format(time.DateOnly), issuer.NotAfter.Format(time.DateOnly))
	}
	return nb, na, nil
}

// privateWaivers are the lints the private preset waives: Baseline Requirements rules for
// publicly trusted hierarchies that a closed PKI, whose relying parties are configured with
// its root, its CRL location and its policy by the PKI's owner, legitimately does otherwise.
// They run, and what they find is recorded as waived, never hidden.
var privateWaivers = map[string]string{
	"e_sub_ca_certificate_policies_missing":                         "a private CA need not assert a policy: its relying parties trust it by configuration, not by a CA/Browser Forum policy OID",
	"e_invalid_ca_certificate_policies":                             "a private CA may assert its own policy OIDs instead of the CA/Browser Forum reserved ones",
	"e_sub_ca_crl_distribution_points_missing":                      "a private PKI may hand its CRL to relying parties by configuration instead of a URL in the certificate",
	"e_sub_ca_crl_distribution_points_does_not_contain_url":         "a private PKI may publish its CRL over LDAP",
	"e_crl_distrib_points_not_http":                                 "a private PKI may publish its CRL over HTTPS or LDAP",
	"e_sub_ca_aia_missing":                                          "a private PKI may hand its chain to relying parties by configuration",
	"w_sub_ca_aia_missing":                                          "a private PKI may hand its chain to relying parties by configuration",
	"w_sub_ca_aia_does_not_contain_issuing_ca_url":                  "a private PKI may hand its chain to relying parties by configuration",
	"e_ca_aia_non_http_url":                                         "a private PKI may publish its certificates over HTTPS or LDAP",
	"e_aia_ca_issuers_must_have_http_only":                          "a private PKI may publish its certificates over HTTPS or LDAP",
	"e_aia_ocsp_must_have_http_only":                                "a private PKI may run its OCSP responder over HTTPS",
	"w_root_ca_contains_cert_policy":                                "a private root may assert the policy its hierarchy is run under",
	"w_root_ca_basic_constraints_path_len_constraint_field_present": "a private root may limit the depth of its own hierarchy",
	"e_root_ca_extended_key_usage_present":                          "a private root may limit its whole hierarchy to the usages it serves",
}

// waivers is the lints this profile waives, with their reasons: none under public-trust; the
// preset's and the script's own under private.
func (p Profile) waivers() map[string]string {
	if p.Preset != PresetPrivate {
		return nil
	}
	out := make(map[string]string, len(privateWaivers)+len(p.Waive))
	for n, why := range privateWaivers {
		out[n] = why
	}
	for _, w := range p.Waive {
		out[w.Lint] = w.Reason
	}
	return out
}
