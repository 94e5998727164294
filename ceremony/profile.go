package ceremony

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zmap/zlint/v3/lint"
)

// A profile says what a certificate Keyrite issues carries beyond its subject and key: CRL
// distribution points, authority information access (CA issuers and OCSP URLs), certificate
// policies (OIDs and a CPS URI), extended key usages, name constraints, a path length and a
// validity window. A script picks a preset (public-trust or private) and may set or override
// fields:
//
//   - the script's top-level `profile` section holds the preset, the waivers and the issuer's
//     facts every certificate it issues carries (CRL distribution points, CA issuers and OCSP
//     URLs, policies);
//   - a certificate's own section (`certificate.profile` for a root, `intermediate.profile`,
//     `transcript_signer.profile`, `rotate.cross_profile`, and the in-region PKI's delegated and
//     cross-certificate sections) may override any of them and add what belongs to that one
//     certificate (extended key usages, name constraints, path length, validity).
//
// A root's self-signed certificate takes only the preset and the waivers from the top level:
// the issuer's facts describe the certificates the root signs, not the root itself.
//
// Every field is checked when the script is read, before anything else happens (file, line,
// field, and what to do); what needs the issuer's certificate (a validity inside the issuer's)
// is checked in the pre-flight, before the HSM is touched. The profile then shapes the
// certificate the pre-flight lints and the HSM signs: the same template function builds both.

// The presets.
const (
	// PresetPublicTrust follows the CA/Browser Forum Baseline Requirements: a subordinate CA
	// carries CRL distribution points, AIA and a reserved policy; a root carries none of them;
	// URLs are plain HTTP; every zlint source runs and nothing is waived.
	PresetPublicTrust = "public-trust"
	// PresetPrivate is a private PKI: the Baseline Requirements lints that judge what a closed
	// PKI legitimately does otherwise are run and recorded as waived, each with its reason
	// (privateWaivers); every other finding counts as under public-trust.
	PresetPrivate = "private"
)

// Presets are the preset names a script may choose.
var Presets = []string{PresetPublicTrust, PresetPrivate}

// Profile is a certificate profile as a script writes it; zero fields are unset.
type Profile struct {
	// Preset is public-trust (the default) or private.
	Preset string `yaml:"preset,omitempty"`
	// CRLDistributionPoints are the URLs of the issuer's CRL (RFC 5280 4.2.1.13).
	CRLDistributionPoints []string `yaml:"crl_distribution_points,omitempty"`
	// CAIssuers are the URLs of the issuer's certificate, OCSP the URLs of the issuer's OCSP
	// responder (authority information access, RFC 5280 4.2.2.1).
	CAIssuers []string `yaml:"ca_issuers,omitempty"`
	OCSP      []string `yaml:"ocsp,omitempty"`
	// Policies are certificate policies (RFC 5280 4.2.1.4).
	Policies []Policy `yaml:"policies,omitempty"`
	// ExtKeyUsages are names (serverAuth, clientAuth, codeSigning, emailProtection,
	// timeStamping, OCSPSigning, documentSigning) or dotted OIDs.
	ExtKeyUsages []string `yaml:"ext_key_usages,omitempty"`
	// NameConstraints limit the names a CA's subtree may certify (RFC 5280 4.2.1.10).
	NameConstraints *NameConstraints `yaml:"name_constraints,omitempty"`
	// PathLength is a CA's basic constraints path length.
	PathLength *int `yaml:"path_length,omitempty"`
	// Validity is an explicit validity window, instead of the section's validity_days.
	Validity *Validity `yaml:"validity,omitempty"`
	// Waive names lints a private PKI runs and records as waived, each with its reason.
	Waive []Waiver `yaml:"waive,omitempty"`
}

// Policy is one certificate policy: its OID and, optionally, the URI of its certification
// practice statement.
type Policy struct {
	OID string `yaml:"oid"`
	CPS string `yaml:"cps,omitempty"`
}

// NameConstraints are the permitted and excluded subtrees of a CA certificate; Critical
// defaults to true (RFC 5280 requires it; the Baseline Requirements allow false only for
// compatibility).
type NameConstraints struct {
	Critical  *bool   `yaml:"critical,omitempty"`
	Permitted NameSet `yaml:"permitted,omitempty"`
	Excluded  NameSet `yaml:"excluded,omitempty"`
}

// NameSet is one side of name constraints: DNS names (a leading "." limits to subdomains),
// IP ranges in CIDR form, email addresses, hosts or domains ("example.com", ".example.com"),
// and directory names.
type NameSet struct {
	DNS       []string  `yaml:"dns,omitempty"`
	IP        []string  `yaml:"ip,omitempty"`
	Email     []string  `yaml:"email,omitempty"`
	Directory []Subject `yaml:"directory,omitempty"`
}

func (n NameSet) empty() bool {
	return len(n.DNS)+len(n.IP)+len(n.Email)+len(n.Directory) == 0
}

// Validity is a certificate's validity window: not_before (RFC 3339; default the ceremony's
// clock) and either not_after (RFC 3339) or days.
type Validity struct {
	NotBefore string `yaml:"not_before,omitempty"`
	NotAfter  string `yaml:"not_after,omitempty"`
	Days      int    `yaml:"days,omitempty"`
}

// windowed reports whether p gives the certificate's validity itself, so the section's own
// validity_days is left out.
func (p *Profile) windowed() bool { return p != nil && p.Validity != nil }

// Waiver is one lint a private profile waives and why.
type Waiver struct {
	Lint   string `yaml:"lint"`
	Reason string `yaml:"reason"`
}

// certKind is the role a certificate plays, which decides what its profile may carry.
type certKind int

const (
	kindRoot          certKind = iota // a self-signed root
	kindSubCA                         // an intermediate (issuing) CA under the root
	kindCross                         // a cross-certificate: a CA certificate for another CA's key
	kindSigner                        // the transcript signer, an end-entity document signer
	kindOCSPResponder                 // a delegated OCSP responder
	kindCRLSigner                     // a delegated CRL signer
)

// kindRules is what a kind of certificate carries.
type kindRules struct {
	what string
	ca   bool
	// inherits: the top-level issuer facts (CRL DP, AIA, policies) apply to it.
	inherits bool
	// noCRLDP, noPolicies, noEKU: fields the Baseline Requirements forbid on it.
	noCRLDP, noPolicies, noEKU bool
	// fixedEKU: the extended key usages it always has (the profile may not change them).
	fixedEKU []string
	// publicNeeds: a public-trust profile must give CRL DP, AIA CA issuers and policies.
	publicNeeds bool
}

var kinds = map[certKind]kindRules{
	kindRoot:          {what: "root certificate", ca: true},
	kindSubCA:         {what: "subordinate CA certificate", ca: true, inherits: true, publicNeeds: true},
	kindCross:         {what: "cross-certificate", ca: true, inherits: true, publicNeeds: true},
	kindSigner:        {what: "transcript signer certificate", inherits: true, fixedEKU: []string{"documentSigning"}},
	kindOCSPResponder: {what: "OCSP responder certificate", inherits: true, noCRLDP: true, noPolicies: true, fixedEKU: []string{"OCSPSigning"}},
	kindCRLSigner:     {what: "CRL signer certificate", inherits: true, noEKU: true},
}

// profileSite is one certificate a ceremony type issues and where its profile is written.
type profileSite struct {
	path    string   // the section's profile field, e.g. "intermediate.profile"
	profile *Profile // nil: the section has none
	kind    certKind
	// days is the section's own validity_days field ("" if it has none) and its value;
	// pathLen the section's own path_length field and whether it is set.
	daysField    string
	days         int
	pathLenField string
	pathLenSet   bool
	// foreign: another issuer than the one the top-level profile describes signs it (the new
	// root in a rotation), so it takes only the top level's preset and waivers.
	foreign bool
}

// rootSite is the root certificate of the script's certificate section.
func rootSite(s *Script) profileSite {
	c := s.Certificate
	return profileSite{path: "certificate.profile", profile: c.Profile, kind: kindRoot, daysField: "certificate.validity_days", days: c.ValidityDays,
		pathLenField: "certificate.path_length", pathLenSet: c.PathLen != nil}
}

// signerSite is the transcript signer's certificate, valid days (from daysField).
func signerSite(s *Script, daysField string, days int, foreign bool) profileSite {
	return profileSite{path: "transcript_signer.profile", profile: s.Signer.Profile, kind: kindSigner, daysField: daysField, days: days, foreign: foreign}
}

// effective merges the script's top-level profile and a site's: the site's fields win; the
// top level's issuer facts apply only where the kind takes them and the issuer is the top
// level's.
func (s *Script) effective(site profileSite) Profile {
	section, kind := site.profile, site.kind
	var top Profile
	if s.Profile != nil {
		top = *s.Profile
	}
	var out Profile
	if section != nil {
		out = *section
	}
	if out.Preset == "" {
		out.Preset = top.Preset
	}
	if out.Preset == "" {
		out.Preset = PresetPublicTrust
	}
	out.Waive = append(slices.Clip(top.Waive), out.Waive...)
	k := kinds[kind]
	if !k.inherits || site.foreign {
		return out
	}
	if out.CRLDistributionPoints == nil && !k.noCRLDP {
		out.CRLDistributionPoints = top.CRLDistributionPoints
	}
	if out.CAIssuers == nil {
		out.CAIssuers = top.CAIssuers
	}
	if out.OCSP == nil {
		out.OCSP = top.OCSP
	}
	if out.Policies == nil && !k.noPolicies {
		out.Policies = top.Policies
	}
	return out
}

// issuerProfile is the top level's preset and waivers alone: the profile of what the issuer
// signs that is not a certificate (its CRLs).
func (s *Script) issuerProfile() Profile { return s.effective(profileSite{kind: kindRoot}) }

// validateProfiles checks the top-level profile and every certificate's, as the script's
// type issues them.
func (s *Script) validateProfiles(v *validator) {
	if s.Profile != nil {
		s.Profile.validateFields(v, "profile", s.Profile.Preset)
		if s.Profile.NameConstraints != nil || s.Profile.PathLength != nil || s.Profile.Validity != nil || s.Profile.ExtKeyUsages != nil {
			v.errorf("profile", "name_constraints, path_length, validity and ext_key_usages belong to one certificate: put them in that certificate's own profile section")
		}
	}
	t := typeOf(s.Type)
	if t == nil || t.profiles == nil {
		return
	}
	for _, site := range t.profiles(s) {
		eff := s.effective(site)
		if site.profile != nil {
			site.profile.validateFields(v, site.path, eff.Preset)
		}
		s.validateSite(v, site, eff)
	}
}

// validateFields checks the syntax of each field of one profile section at path.
func (p *Profile) validateFields(v *validator, path, preset string) {
	if p.Preset != "" && !slices.Contains(Presets, p.Preset) {
		v.errorf(path+".preset", "%q is not a preset (want %s)", p.Preset, strings.Join(Presets, " or "))
	}
	public := preset != PresetPrivate
	urls := func(field string, list []string) {
		for i, u := range list {
			if err := checkURL(u, public); err != nil {
				v.errorf(fmt.Sprintf("%s.%s.%d", path, field, i), "%v", err)
			}
		}
	}
	urls("crl_distribution_points", p.CRLDistributionPoints)
	urls("ca_issuers", p.CAIssuers)
	urls("ocsp", p.OCSP)
	for i, pol := range p.Policies {
		f := fmt.Sprintf("%s.policies.%d", path, i)
		if _, err := parseOID(pol.OID); err != nil {
			v.errorf(f+".oid", "%v", err)
		}
		if pol.CPS != "" {
			if u, err := url.Parse(pol.CPS); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.errorf(f+".cps", "%q must be an http:// or https:// URL of the certification practice statement", pol.CPS)
			}
		}
	}
	for i, e := range p.ExtKeyUsages {
		if _, _, err := parseEKU(e); err != nil {
			v.errorf(fmt.Sprintf("%s.ext_key_usages.%d", path, i), "%v", err)
		}
	}
	if nc := p.NameConstraints; nc != nil {
		nc.validate(v, path+".name_constraints")
	}
	if p.PathLength != nil && (*p.PathLength < 0 || *p.PathLength > 8) {
		v.errorf(path+".path_length", "%d must be between 0 and 8", *p.PathLength)
	}
	if p.Validity != nil {
		p.Validity.validate(v, path+".validity")
	}
	p.validateWaivers(v, path, preset)
}

// validateWaivers checks each waiver names a zlint lint and gives a reason, and that only a
// private profile waives.
func (p *Profile) validateWaivers(v *validator, path, preset string) {
	for i, w := range p.Waive {
		f := fmt.Sprintf("%s.waive.%d", path, i)
		if preset != PresetPrivate {
			v.errorf(f, "the %s preset waives nothing: fix the profile, or choose preset: private", preset)
			continue
		}
		if lint.GlobalRegistry().ByName(w.Lint) == nil {
			v.errorf(f+".lint", "%q is not a zlint v3 lint name", w.Lint)
		}
		if len(strings.TrimSpace(w.Reason)) < 10 {
			v.errorf(f+".reason", "say why the lint is waived (a sentence the report and the auditor will read)")
		}
	}
}

// validateSite checks what the kind of certificate allows and the preset requires.
func (s *Script) validateSite(v *validator, site profileSite, eff Profile) {
	k := kinds[site.kind]
	own := site.profile
	if own == nil {
		own = &Profile{}
	}
	refuse := func(set bool, field, why string) {
		if set {
			v.errorf(site.path+"."+field, "a %s %s", k.what, why)
		}
	}
	refuse(own.CRLDistributionPoints != nil && k.noCRLDP, "crl_distribution_points", "carries no CRL distribution point (BR 7.1.2.8; it cannot usefully be revoked): remove it")
	refuse(own.Policies != nil && k.noPolicies, "policies", "carries no certificate policies (BR 7.1.2.8): remove them")
	refuse(own.ExtKeyUsages != nil && (k.noEKU || k.fixedEKU != nil), "ext_key_usages", fmt.Sprintf("has a fixed extended key usage (%s): remove ext_key_usages", strings.Join(append([]string{"none"}, k.fixedEKU...)[min(1, len(k.fixedEKU)):], ", ")))
	refuse(own.NameConstraints != nil && !k.ca, "name_constraints", "is not a CA certificate: name constraints belong on CA certificates only (RFC 5280 4.2.1.10)")
	refuse(own.PathLength != nil && !k.ca, "path_length", "is not a CA certificate: it has no path length")
	refuse(own.PathLength != nil && site.pathLenSet, "path_length", fmt.Sprintf("path length is already given by %s: keep one", site.pathLenField))
	refuse(own.Validity != nil && site.days != 0 && site.daysField != "", "validity", fmt.Sprintf("validity is already given by %s: keep one", site.daysField))
	if eff.Preset != PresetPublicTrust {
		return
	}
	s.validatePublicTrust(v, site, eff, own)
}

// validatePublicTrust checks what the Baseline Requirements ask of the kind under the
// public-trust preset.
func (s *Script) validatePublicTrust(v *validator, site profileSite, eff Profile, own *Profile) {
	k := kinds[site.kind]
	where := func(field string) string {
		if s.Profile != nil && k.inherits && !site.foreign {
			return fmt.Sprintf("give profile.%s (every certificate the issuer signs) or %s.%s", field, site.path, field)
		}
		return fmt.Sprintf("give %s.%s", site.path, field)
	}
	if site.kind == kindRoot {
		for field, set := range map[string]bool{"crl_distribution_points": own.CRLDistributionPoints != nil, "ca_issuers": own.CAIssuers != nil,
			"ocsp": own.OCSP != nil, "policies": own.Policies != nil, "ext_key_usages": own.ExtKeyUsages != nil, "name_constraints": own.NameConstraints != nil} {
			if set {
				v.errorf(site.path+"."+field, "a public-trust root certificate carries no %s (BR 7.1.2.1): remove it, or choose preset: private", field)
			}
		}
		return
	}
	if !k.publicNeeds {
		return
	}
	if len(eff.CRLDistributionPoints) == 0 {
		v.errorf(site.path, "a public-trust %s needs a CRL distribution point, the http:// URL of the issuer's CRL (BR 7.1.2.10.2; zlint e_sub_ca_crl_distribution_points_missing): %s, or choose preset: private", k.what, where("crl_distribution_points"))
	}
	if len(eff.CAIssuers) == 0 {
		v.errorf(site.path, "a public-trust %s needs authority information access with the http:// URL of the issuer's certificate (BR 7.1.2.10.3; zlint w_sub_ca_aia_missing): %s, or choose preset: private", k.what, where("ca_issuers"))
	}
	if len(eff.Policies) == 0 {
		v.errorf(site.path, "a public-trust %s needs certificate policies (BR 7.1.2.10.5; zlint e_sub_ca_certificate_policies_missing): %s with a CA/Browser Forum reserved OID (2.23.140.1.2.1 domain validated, .2 organization, .3 individual) or 2.5.29.32.0 (anyPolicy) alone, or choose preset: private", k.what, where("policies"))
	} else if err := brPolicies(eff.Policies); err != nil {
		v.errorf(site.path, "%v (BR 7.1.2.10.5; zlint e_invalid_ca_certificate_policies): fix %s, or choose preset: private", err, where("policies"))
	}
}

// brPolicies checks a subordinate CA's policies as BR 7.1.2.10.5 wants them: anyPolicy alone,
// or at least one CA/Browser Forum reserved policy OID.
func brPolicies(ps []Policy) error {
	reserved, anyPolicy := false, false
	for _, p := range ps {
		switch p.OID {
		case "2.5.29.32.0":
			anyPolicy = true
		case "2.23.140.1.2.1", "2.23.140.1.2.2", "2.23.140.1.2.3", "2.23.140.1.1":
			reserved = true
		}
	}
	switch {
	case anyPolicy && len(ps) > 1:
		return fmt.Errorf("anyPolicy (2.5.29.32.0) must stand alone")
	case !anyPolicy && !reserved:
		return fmt.Errorf("the policies name no CA/Browser Forum reserved OID (2.23.140.1.2.1, 2.23.140.1.2.2, 2.23.140.1.2.3, 2.23.140.1.1)")
	}
	return nil
}

// checkURL checks a CRL distribution point or AIA URL: absolute, with a host; plain http://
// under public-trust (BR 7.1.2.10.2/3: relying parties fetch it without TLS, whose own
// revocation checking would loop), http, https or ldap under private.
func checkURL(s string, public bool) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL with a host", s)
	}
	if public && u.Scheme != "http" {
		return fmt.Errorf("%q must be an http:// URL under the public-trust preset (BR 7.1.2.10; zlint e_crl_distrib_points_not_http, e_ca_aia_non_http_url)", s)
	}
	if !slices.Contains([]string{"http", "https", "ldap"}, u.Scheme) {
		return fmt.Errorf("%q must be an http://, https:// or ldap:// URL", s)
	}
	return nil
}

// validate checks name constraints: names well formed, at least one subtree.
func (nc *NameConstraints) validate(v *validator, path string) {
	if nc.Permitted.empty() && nc.Excluded.empty() {
		v.errorf(path, "name constraints need at least one permitted or excluded name (zlint e_name_constraint_empty): add one or remove name_constraints")
	}
	for _, side := range []struct {
		name string
		set  NameSet
	}{{"permitted", nc.Permitted}, {"excluded", nc.Excluded}} {
		f := path + "." + side.name
		for i, d := range side.set.DNS {
			if !dnsConstraintOK(d) {
				v.errorf(fmt.Sprintf("%s.dns.%d", f, i), "%q must be a DNS name such as example.com or .example.com (subdomains only), lower case, no wildcard", d)
			}
		}
		for i, ip := range side.set.IP {
			if _, n, err := net.ParseCIDR(ip); err != nil || n.String() != ip {
				v.errorf(fmt.Sprintf("%s.ip.%d", f, i), "%q must be an IP range in CIDR form with no host bits, such as 10.20.0.0/16 or fd00::/8", ip)
			}
		}
		for i, e := range side.set.Email {
			if !emailConstraintOK(e) {
				v.errorf(fmt.Sprintf("%s.email.%d", f, i), "%q must be a mailbox (ops@example.com), a host (example.com) or a domain (.example.com)", e)
			}
		}
		for i, d := range side.set.Directory {
			if strings.TrimSpace(d.CommonName+d.Organization+d.Country) == "" {
				v.errorf(fmt.Sprintf("%s.directory.%d", f, i), "a directory name needs at least one of common_name, organization, country")
			}
			if d.Country != "" && len(d.Country) != 2 {
				v.errorf(fmt.Sprintf("%s.directory.%d.country", f, i), "%q must be a two-letter ISO 3166 country code", d.Country)
			}
		}
	}
}

func dnsConstraintOK(d string) bool {
	d = strings.TrimPrefix(d, ".")
	if d == "" || len(d) > 253 || d != strings.ToLower(d) {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func emailConstraintOK(e string) bool {
	if strings.Contains(e, "@") {
		a, err := mail.ParseAddress(e)
		return err == nil && a.Address == e && a.Name == ""
	}
	return dnsConstraintOK(e)
}

// validate checks a validity window's syntax: RFC 3339 times, one end.
func (w *Validity) validate(v *validator, path string) {
	var nb, na time.Time
	var err error
	if w.NotBefore != "" {
		if nb, err = time.Parse(time.RFC3339, w.NotBefore); err != nil {
			v.errorf(path+".not_before", "%q must be an RFC 3339 time such as 2026-12-01T00:00:00Z", w.NotBefore)
		}
	}
	switch {
	case w.NotAfter != "" && w.Days != 0:
		v.errorf(path, "give not_after or days, not both")
	case w.NotAfter == "" && w.Days == 0:
		v.errorf(path, "give not_after (an RFC 3339 time) or days")
	case w.Days < 0 || w.Days > 25*366:
		v.errorf(path+".days", "%d must be between 1 and %d", w.Days, 25*366)
	case w.NotAfter != "":
		if na, err = time.Parse(time.RFC3339, w.NotAfter); err != nil {
			v.errorf(path+".not_after", "%q must be an RFC 3339 time such as 2031-12-01T00:00:00Z", w.NotAfter)
		} else if !nb.IsZero() && !na.After(nb) {
			v.errorf(path+".not_after", "%s must be after not_before (%s)", w.NotAfter, w.NotBefore)
		}
	}
}

// parseOID parses a dotted OID with at least two arcs.
func parseOID(s string) ([]int, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("%q is not a dotted OID such as 2.23.140.1.2.2", s)
	}
	out := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (p != "0" && strings.HasPrefix(p, "0")) || (i == 0 && n > 2) || (i == 1 && out[0] < 2 && n > 39) {
			return nil, fmt.Errorf("%q is not a dotted OID such as 2.23.140.1.2.2", s)
		}
		out[i] = n
	}
	return out, nil
}
