package hsm

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/keyrite/keyrite/hsm/keycheck"
	"github.com/miekg/pkcs11"
)

// Capability is something a ceremony may need from a token, named in the words of PKCS#11.
// Keyrite decides by capability, never by the maker's name.
type Capability string

// The capabilities Keyrite looks for.
const (
	CapRandom          Capability = "C_GenerateRandom"
	CapAESKeyGen       Capability = "CKM_AES_KEY_GEN (AES-256)"
	CapAESKeyWrap      Capability = "CKM_AES_KEY_WRAP"
	CapAESKWPWrap      Capability = "CKM_AES_KEY_WRAP_PAD (wrap)"
	CapAESKWPUnwrap    Capability = "CKM_AES_KEY_WRAP_PAD (unwrap)"
	CapAESECB          Capability = "CKM_AES_ECB (check values)"
	CapRSAAESKeyWrap   Capability = "CKM_RSA_AES_KEY_WRAP (wrap)"
	CapTrusted         Capability = "CKA_TRUSTED"
	CapWrapWithTrusted Capability = "CKA_WRAP_WITH_TRUSTED"
	CapP256            Capability = "ECDSA P-256"
	CapP384            Capability = "ECDSA P-384"
	CapEd25519         Capability = "Ed25519 (CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA)"
	CapRSA3072         Capability = "RSA-3072"
	CapRSA4096         Capability = "RSA-4096"
	CapWrapEC          Capability = "wrapping of EC private keys"
	CapWrapEd25519     Capability = "wrapping of Ed25519 private keys"
	CapWrapRSA         Capability = "wrapping of RSA private keys"
)

// CapOAEPWrap and CapOAEPUnwrap name RSA-OAEP key wrapping with hash h (its MGF1 the same).
func CapOAEPWrap(h OAEPHash) Capability   { return Capability("RSA-OAEP " + string(h) + " (wrap)") }
func CapOAEPUnwrap(h OAEPHash) Capability { return Capability("RSA-OAEP " + string(h) + " (unwrap)") }

// CapWrapPrivate is the capability of wrapping a private key of algorithm a.
func CapWrapPrivate(a Algorithm) Capability {
	switch a {
	case Ed25519:
		return CapWrapEd25519
	case RSA3072, RSA4096:
		return CapWrapRSA
	}
	return CapWrapEC
}

// CapKeyPair is the capability of generating and signing with a key pair of algorithm a.
func CapKeyPair(a Algorithm) Capability {
	switch a {
	case ECDSAP256:
		return CapP256
	case ECDSAP384:
		return CapP384
	case RSA3072:
		return CapRSA3072
	case RSA4096:
		return CapRSA4096
	case Ed25519:
		return CapEd25519
	}
	return Capability("key pair " + string(a))
}

// Status is whether a token has a capability.
type Status int

const (
	// Unknown: neither the token's reports nor a trial could tell.
	Unknown Status = iota
	Yes
	No
)

func (s Status) String() string {
	return [...]string{"unknown", "yes", "no"}[s]
}

// MarshalText writes the status as its word.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is what Keyrite found out about one capability, and how.
type Finding struct {
	Capability Capability `json:"capability"`
	Status     Status     `json:"status"`
	Evidence   string     `json:"evidence"` // the query or trial and its result
}

// MechanismInfo is one mechanism as C_GetMechanismInfo reports it. Key sizes are in the
// mechanism's own unit (bits for RSA and EC, bytes for AES on most tokens).
type MechanismInfo struct {
	Type       uint     `json:"type"`
	Name       string   `json:"name"`
	MinKeySize uint     `json:"min_key_size"`
	MaxKeySize uint     `json:"max_key_size"`
	Flags      []string `json:"flags"`
	flags      uint
}

// Has reports whether the mechanism's flags include flag (pkcs11.CKF_WRAP, ...).
func (m MechanismInfo) Has(flag uint) bool { return m.flags&flag != 0 }

// Capabilities is what one token offers: its mechanisms as reported, and a finding for each
// capability Keyrite's ceremonies may need, from those reports and from trials on session
// objects (which vanish with the session; no token object is ever created).
type Capabilities struct {
	Token      TokenInfo       `json:"token"`
	Login      string          `json:"login"` // who was logged in for the trials
	Mechanisms []MechanismInfo `json:"mechanisms"`
	Findings   []Finding       `json:"findings"`
}

// Find returns the finding for c (Unknown if it was not looked at).
func (c *Capabilities) Find(cp Capability) Finding {
	for _, f := range c.Findings {
		if f.Capability == cp {
			return f
		}
	}
	return Finding{Capability: cp, Status: Unknown, Evidence: "not examined"}
}

// Mechanism returns the reported information about mechanism m.
func (c *Capabilities) Mechanism(m uint) (MechanismInfo, bool) {
	for _, mi := range c.Mechanisms {
		if mi.Type == m {
			return mi, true
		}
	}
	return MechanismInfo{}, false
}

// PKCS#11 numbers miekg/pkcs11 v1.1.2 does not name.
const ckmRSAAESKeyWrap = 0x1054 // CKM_RSA_AES_KEY_WRAP

// Capabilities queries the token's mechanisms (C_GetMechanismList, C_GetMechanismInfo) and
// runs trials on session objects for what the reports cannot tell: which RSA-OAEP hashes wrap
// and unwrap, whether CKA_TRUSTED is guarded and CKA_WRAP_WITH_TRUSTED enforced, which private
// keys the token will wrap. Trials use the session's current login; with no login only what
// a public session may create is tried. Every trial object is a session object and is
// destroyed before this returns.
func (t *Token) Capabilities() (*Capabilities, error) { return t.CapabilitiesFor(nil) }

// CapabilitiesFor is Capabilities, with only the trials that can decide one of the capabilities
// in want (all of them if want is empty): a pre-flight pays for what its ceremony needs.
func (t *Token) CapabilitiesFor(want []Capability) (*Capabilities, error) {
	c := &Capabilities{Token: t.Info, Login: "none"}
	if t.role != nil {
		c.Login = t.role.String()
	}
	ms, err := t.m.ctx.GetMechanismList(t.Info.Slot)
	if err != nil {
		return nil, wrap("list mechanisms of token", t.Info.Label, err)
	}
	for _, m := range ms {
		info, err := t.m.ctx.GetMechanismInfo(t.Info.Slot, []*pkcs11.Mechanism{m})
		if err != nil {
			return nil, wrap("read mechanism information of token", t.Info.Label, err)
		}
		c.Mechanisms = append(c.Mechanisms, MechanismInfo{Type: m.Mechanism, Name: MechanismName(m.Mechanism),
			MinKeySize: info.MinKeySize, MaxKeySize: info.MaxKeySize, Flags: flagNames(info.Flags), flags: info.Flags})
	}
	sort.Slice(c.Mechanisms, func(i, j int) bool { return c.Mechanisms[i].Type < c.Mechanisms[j].Type })
	p := &prober{t: t, c: c, label: fmt.Sprintf("keyrite-capability-trial-%x", randomKey()[:8]), want: want}
	defer p.cleanUp()
	p.fromReports()
	p.trials()
	if p.lost != nil {
		return nil, wrap("examine the capabilities of token", t.Info.Label, p.lost)
	}
	order := map[Capability]int{}
	for i, cp := range []Capability{CapRandom, CapAESKeyGen, CapAESECB, CapAESKeyWrap, CapAESKWPWrap, CapAESKWPUnwrap,
		CapOAEPWrap(OAEPSHA1), CapOAEPUnwrap(OAEPSHA1), CapOAEPWrap(OAEPSHA256), CapOAEPUnwrap(OAEPSHA256), CapRSAAESKeyWrap,
		CapTrusted, CapWrapWithTrusted, CapWrapEC, CapWrapEd25519, CapWrapRSA, CapP256, CapP384, CapRSA3072, CapRSA4096, CapEd25519} {
		order[cp] = i
	}
	sort.SliceStable(c.Findings, func(i, j int) bool { return order[c.Findings[i].Capability] < order[c.Findings[j].Capability] })
	return c, nil
}

// prober runs the queries and trials of Capabilities and remembers the session objects it
// made, to destroy them.
type prober struct {
	t       *Token
	c       *Capabilities
	objects []pkcs11.ObjectHandle
	kek     pkcs11.ObjectHandle // an untrusted AES session key that wraps, once made
	label   string              // every trial object's label, unique to this run
	want    []Capability        // the capabilities asked for; empty: all
	lost    error               // the token or session went away during a trial
}

// wants reports whether a trial deciding any of cps is worth running.
func (p *prober) wants(cps ...Capability) bool {
	if len(p.want) == 0 {
		return true
	}
	for _, w := range p.want {
		for _, cp := range cps {
			if w == cp && p.c.Find(cp).Status == Unknown {
				return true
			}
		}
	}
	return false
}

func (p *prober) set(cp Capability, s Status, format string, args ...any) {
	for i, f := range p.c.Findings {
		if f.Capability == cp {
			p.c.Findings[i] = Finding{cp, s, fmt.Sprintf(format, args...)}
			return
		}
	}
	p.c.Findings = append(p.c.Findings, Finding{cp, s, fmt.Sprintf(format, args...)})
}

// mech reports whether mechanism m is listed with every flag in flags, and describes what the
// token reported.
func (p *prober) mech(m uint, flags ...uint) (bool, string) {
	mi, ok := p.c.Mechanism(m)
	if !ok {
		return false, MechanismName(m) + " is not in C_GetMechanismList"
	}
	for _, f := range flags {
		if !mi.Has(f) {
			return false, fmt.Sprintf("C_GetMechanismInfo(%s): flags %s, no %s", mi.Name, strings.Join(mi.Flags, " "), flagNames(f)[0])
		}
	}
	return true, fmt.Sprintf("C_GetMechanismInfo(%s): flags %s, key size %d-%d", mi.Name, strings.Join(mi.Flags, " "), mi.MinKeySize, mi.MaxKeySize)
}

func yesNo(ok bool) Status {
	if ok {
		return Yes
	}
	return No
}

// fromReports derives what the mechanism reports alone can tell.
func (p *prober) fromReports() {
	ok, ev := p.mech(pkcs11.CKM_AES_KEY_GEN, pkcs11.CKF_GENERATE)
	if mi, _ := p.c.Mechanism(pkcs11.CKM_AES_KEY_GEN); ok && mi.MaxKeySize < 32 {
		ok, ev = false, ev+": AES-256 is out of range"
	}
	p.set(CapAESKeyGen, yesNo(ok), "%s", ev)
	ok, ev = p.mech(pkcs11.CKM_AES_KEY_WRAP, pkcs11.CKF_WRAP, pkcs11.CKF_UNWRAP)
	p.set(CapAESKeyWrap, yesNo(ok), "%s", ev)
	ok, ev = p.mech(pkcs11.CKM_AES_KEY_WRAP_PAD, pkcs11.CKF_WRAP)
	p.set(CapAESKWPWrap, yesNo(ok), "%s", ev)
	ok, ev = p.mech(pkcs11.CKM_AES_KEY_WRAP_PAD, pkcs11.CKF_UNWRAP)
	p.set(CapAESKWPUnwrap, yesNo(ok), "%s", ev)
	ok, ev = p.mech(pkcs11.CKM_AES_ECB, pkcs11.CKF_ENCRYPT)
	p.set(CapAESECB, yesNo(ok), "%s", ev)
	ok, ev = p.mech(ckmRSAAESKeyWrap, pkcs11.CKF_WRAP)
	p.set(CapRSAAESKeyWrap, yesNo(ok), "%s", ev)
	for _, h := range []OAEPHash{OAEPSHA1, OAEPSHA256} {
		if ok, ev := p.mech(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.CKF_WRAP); !ok {
			p.set(CapOAEPWrap(h), No, "%s", ev)
		} else {
			p.set(CapOAEPWrap(h), Unknown, "%s; the hash is known only by a trial", ev)
		}
		if ok, ev := p.mech(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.CKF_UNWRAP); !ok {
			p.set(CapOAEPUnwrap(h), No, "%s", ev)
		} else {
			p.set(CapOAEPUnwrap(h), Unknown, "%s; the hash is known only by a trial", ev)
		}
	}
	// Key pairs: the generation mechanism with the size in range and a signing mechanism.
	p.keyPairs(pkcs11.CKM_EC_KEY_PAIR_GEN, pkcs11.CKM_ECDSA, map[Capability]uint{CapP256: 256, CapP384: 384}, "; the curve itself is known only by a trial")
	p.keyPairs(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, pkcs11.CKM_RSA_PKCS, map[Capability]uint{CapRSA3072: 3072, CapRSA4096: 4096}, "")
	edGen, edEv := p.mech(ckmEdwardsKeyGen, pkcs11.CKF_GENERATE_KEY_PAIR)
	edSign, edSignEv := p.mech(ckmEdDSA, pkcs11.CKF_SIGN)
	switch {
	case !edGen:
		p.set(CapEd25519, No, "%s", edEv)
	case !edSign:
		p.set(CapEd25519, No, "%s", edSignEv)
	default:
		p.set(CapEd25519, Yes, "%s; %s", edEv, edSignEv)
	}
	for _, cp := range []Capability{CapTrusted, CapWrapWithTrusted, CapWrapEC, CapWrapEd25519, CapWrapRSA} {
		p.set(cp, Unknown, "known only by a trial")
	}
	if ok, ev := p.mech(pkcs11.CKM_AES_KEY_WRAP_PAD, pkcs11.CKF_WRAP); !ok {
		for _, cp := range []Capability{CapWrapWithTrusted, CapWrapEC, CapWrapEd25519, CapWrapRSA} {
			p.set(cp, No, "no wrapping mechanism to wrap with: %s", ev)
		}
	}
}

// keyPairs sets each capability in sizes from the generation mechanism gen (listed, with the
// size in its reported range; a maximum of 0 is no range) and the signing mechanism sign.
func (p *prober) keyPairs(gen, sign uint, sizes map[Capability]uint, note string) {
	genOK, genEv := p.mech(gen, pkcs11.CKF_GENERATE_KEY_PAIR)
	signOK, signEv := p.mech(sign, pkcs11.CKF_SIGN)
	mi, _ := p.c.Mechanism(gen)
	for cp, bits := range sizes {
		switch {
		case !genOK:
			p.set(cp, No, "%s", genEv)
		case !signOK:
			p.set(cp, No, "%s", signEv)
		case mi.MaxKeySize != 0 && (bits < mi.MinKeySize || bits > mi.MaxKeySize):
			p.set(cp, No, "%s: %d bits out of range", genEv, bits)
		default:
			p.set(cp, Yes, "%s%s", genEv, note)
		}
	}
}

// trials runs the trials on session objects.
func (p *prober) trials() {
	p.set(CapRandom, Unknown, "known only by a trial")
	if p.wants(CapRandom) {
		if _, err := p.t.Random(16); err != nil {
			p.set(CapRandom, No, "C_GenerateRandom: %s", p.errName(err))
		} else {
			p.set(CapRandom, Yes, "C_GenerateRandom returned 16 bytes")
		}
	}
	if p.wants(CapTrusted) {
		p.trialTrusted()
	}
	if p.c.Find(CapAESKWPWrap).Status == Yes && p.wants(CapWrapWithTrusted, CapWrapEC, CapWrapEd25519, CapWrapRSA) {
		p.trialWrapping()
	}
	var oaep []Capability
	for _, h := range []OAEPHash{OAEPSHA1, OAEPSHA256} {
		oaep = append(oaep, CapOAEPWrap(h), CapOAEPUnwrap(h))
	}
	if p.wants(append(oaep, CapWrapRSA)...) {
		p.trialOAEP()
	}
	if len(p.want) == 0 {
		p.trialCurves()
	}
}

func (p *prober) cleanUp() {
	p.t.mu.Lock()
	defer p.t.mu.Unlock()
	for _, h := range p.objects {
		p.t.m.ctx.DestroyObject(p.t.session, h)
	}
	p.objects = nil
	// A failed C_CreateObject may leave its object behind (SoftHSM 2.6.1 does, after refusing
	// CKA_TRUSTED to a user with CKR_ATTRIBUTE_READ_ONLY): destroy every session object with
	// this run's label too.
	if hs, err := p.t.find([]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false), pkcs11.NewAttribute(pkcs11.CKA_LABEL, p.label)}); err == nil {
		for _, h := range hs {
			p.t.m.ctx.DestroyObject(p.t.session, h)
		}
	}
}

// private is CKA_PRIVATE for trial objects: private when a user is logged in (tokens may
// refuse public objects of some kinds), public otherwise (the only kind a public or SO
// session may create).
func (p *prober) private() bool { return p.t.role != nil && *p.t.role == User }

func (p *prober) secretKey(value []byte, extra ...*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	tmpl := append([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, p.private()),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, p.label), pkcs11.NewAttribute(pkcs11.CKA_VALUE, value),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false), pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
	}, extra...)
	p.t.mu.Lock()
	defer p.t.mu.Unlock()
	h, err := p.t.m.ctx.CreateObject(p.t.session, tmpl)
	if err == nil {
		p.objects = append(p.objects, h)
	}
	return h, err
}

func randomKey() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// trialTrusted creates a session key marked CKA_TRUSTED. PKCS#11 lets only the Security
// Officer set it: a user's or a public session's attempt must be refused.
func (p *prober) trialTrusted() {
	v := randomKey()
	defer zero(v)
	h, err := p.secretKey(v, pkcs11.NewAttribute(pkcs11.CKA_TRUSTED, true), pkcs11.NewAttribute(pkcs11.CKA_WRAP, true), pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false))
	so := p.t.role != nil && *p.t.role == SO
	switch {
	case err == nil && so:
		a, rerr := p.t.readAttrs(h, attrList{{"CKA_TRUSTED", pkcs11.CKA_TRUSTED}})
		if rerr != nil || !a["CKA_TRUSTED"] {
			p.set(CapTrusted, No, "the Security Officer created a key with CKA_TRUSTED=true and it read back false or unreadable (%v)", rerr)
			return
		}
		p.set(CapTrusted, Yes, "the Security Officer created a session key with CKA_TRUSTED=true and it read back true")
	case err == nil:
		p.set(CapTrusted, No, "a %s session created a key with CKA_TRUSTED=true: the token does not reserve it for the Security Officer, so trusted wrapping protects nothing", p.c.Login)
	case !so && (Is(err, pkcs11.CKR_ATTRIBUTE_READ_ONLY) || Is(err, pkcs11.CKR_USER_NOT_LOGGED_IN) || Is(err, pkcs11.CKR_SESSION_READ_ONLY)):
		p.set(CapTrusted, Yes, "a %s session may not set CKA_TRUSTED=true (%s): the token reserves it for the Security Officer, as PKCS#11 requires", p.c.Login, p.errName(err))
	case Is(err, pkcs11.CKR_ATTRIBUTE_TYPE_INVALID):
		p.set(CapTrusted, No, "creating a key with CKA_TRUSTED: %s, the token does not know the attribute", p.errName(err))
	default:
		p.set(CapTrusted, Unknown, "creating a session key with CKA_TRUSTED=true as %s: %s", p.c.Login, p.errName(err))
	}
}

// trialCurves generates a session key pair on each curve the reports allow, where the token
// makes session key pairs at all: the reports give only a range of field sizes.
func (p *prober) trialCurves() {
	for cp, alg := range map[Capability]Algorithm{CapP256: ECDSAP256, CapP384: ECDSAP384} {
		f := p.c.Find(cp)
		if f.Status != Yes {
			continue
		}
		_, _, err := p.sessionKeyPair(alg, nil, nil)
		switch {
		case err == nil:
			p.set(cp, Yes, "a %s session key pair was generated", alg)
		case Is(err, pkcs11.CKR_CURVE_NOT_SUPPORTED) || Is(err, pkcs11.CKR_DOMAIN_PARAMS_INVALID):
			p.set(cp, No, "generating a %s session key pair: %s", alg, p.errName(err))
		default:
			p.set(cp, Yes, "%s (a session key pair trial could not run: %s)", f.Evidence, p.errName(err))
		}
	}
}

// trialWrapping wraps session keys under an untrusted session AES key: a key marked
// CKA_WRAP_WITH_TRUSTED must be refused (CKR_KEY_NOT_WRAPPABLE), private keys of each kind
// show which the token will wrap at all.
func (p *prober) trialWrapping() {
	kv := randomKey()
	defer zero(kv)
	kek, err := p.secretKey(kv, pkcs11.NewAttribute(pkcs11.CKA_WRAP, true), pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false))
	if err != nil {
		for _, cp := range []Capability{CapWrapWithTrusted, CapWrapEC, CapWrapEd25519, CapWrapRSA} {
			p.set(cp, Unknown, "creating an AES session key to wrap with as %s: %s", p.c.Login, p.errName(err))
		}
		return
	}
	tv := randomKey()
	defer zero(tv)
	target, err := p.secretKey(tv, pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true), pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP_WITH_TRUSTED, true), pkcs11.NewAttribute(pkcs11.CKA_WRAP, false), pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true))
	switch {
	case Is(err, pkcs11.CKR_ATTRIBUTE_TYPE_INVALID):
		p.set(CapWrapWithTrusted, No, "creating a key with CKA_WRAP_WITH_TRUSTED: %s, the token does not know the attribute", p.errName(err))
	case err != nil:
		p.set(CapWrapWithTrusted, Unknown, "creating an AES session key with CKA_WRAP_WITH_TRUSTED=true: %s", p.errName(err))
	default:
		_, werr := p.wrap(kek, target)
		switch {
		case Is(werr, pkcs11.CKR_KEY_NOT_WRAPPABLE):
			p.set(CapWrapWithTrusted, Yes, "wrapping a CKA_WRAP_WITH_TRUSTED=true key under an untrusted key was refused (CKR_KEY_NOT_WRAPPABLE)")
		case werr == nil:
			p.set(CapWrapWithTrusted, No, "the token wrapped a CKA_WRAP_WITH_TRUSTED=true key under an untrusted key: it does not enforce the attribute")
		default:
			p.set(CapWrapWithTrusted, Unknown, "wrapping a CKA_WRAP_WITH_TRUSTED=true key under an untrusted key: %s", p.errName(werr))
		}
	}
	p.kek = kek
	for _, alg := range []Algorithm{ECDSAP256, Ed25519} {
		cp := CapWrapPrivate(alg)
		if !p.wants(cp) {
			continue // a pre-flight pays only for the trials its ceremony needs
		}
		_, priv, err := p.sessionKeyPair(alg, nil, nil)
		if err != nil {
			p.set(cp, Unknown, "generating an extractable %s session key pair: %s", alg, p.errName(err))
			continue
		}
		p.wrapTrial(cp, kek, priv, string(alg))
	}
	// The RSA private key is tried by trialOAEP, which makes one.
}

func (p *prober) wrapTrial(cp Capability, kek, priv pkcs11.ObjectHandle, what string) {
	b, err := p.wrap(kek, priv)
	switch {
	case err == nil:
		p.set(cp, Yes, "an extractable %s session private key wrapped to %d bytes with CKM_AES_KEY_WRAP_PAD", what, len(b))
	case Is(err, pkcs11.CKR_KEY_NOT_WRAPPABLE):
		p.set(cp, No, "an extractable %s session private key could not be wrapped with CKM_AES_KEY_WRAP_PAD (CKR_KEY_NOT_WRAPPABLE)", what)
	default:
		p.set(cp, Unknown, "wrapping an extractable %s session private key with CKM_AES_KEY_WRAP_PAD: %s", what, p.errName(err))
	}
}

func (p *prober) wrap(kek, key pkcs11.ObjectHandle) ([]byte, error) {
	p.t.mu.Lock()
	defer p.t.mu.Unlock()
	return p.t.m.ctx.WrapKey(p.t.session, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil)}, kek, key)
}

// sessionKeyPair generates an extractable session key pair (RSA-2048 for any RSA algorithm)
// with extra attributes on each half.
func (p *prober) sessionKeyPair(alg Algorithm, pubExtra, privExtra []*pkcs11.Attribute) (pubH, privH pkcs11.ObjectHandle, err error) {
	var mech *pkcs11.Mechanism
	var pub, priv []*pkcs11.Attribute
	switch alg {
	case ECDSAP256, ECDSAP384, Ed25519:
		oid, kt, m := oidP256, uint(pkcs11.CKK_EC), uint(pkcs11.CKM_EC_KEY_PAIR_GEN)
		if alg == Ed25519 {
			oid, kt, m = oidEd25519, ckkEdwards, ckmEdwardsKeyGen
		} else if alg == ECDSAP384 {
			oid = oidP384
		}
		params, _ := asn1.Marshal(oid)
		mech = pkcs11.NewMechanism(m, nil)
		pub = []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, kt), pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params)}
		priv = []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, kt), pkcs11.NewAttribute(pkcs11.CKA_SIGN, true)}
	default:
		mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)
		pub = []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA), pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, 2048),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1})}
		priv = []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA)}
	}
	label := pkcs11.NewAttribute(pkcs11.CKA_LABEL, p.label)
	pub = append(append(pub, pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false), label), pubExtra...)
	priv = append(append(priv, pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, p.private()), label,
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true), pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true), pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false)), privExtra...)
	p.t.mu.Lock()
	defer p.t.mu.Unlock()
	pubH, privH, err = p.t.m.ctx.GenerateKeyPair(p.t.session, []*pkcs11.Mechanism{mech}, pub, priv)
	if err == nil {
		p.objects = append(p.objects, pubH, privH)
	}
	return pubH, privH, err
}

// trialOAEP generates an RSA-2048 session key pair that wraps and unwraps, and tries each
// OAEP hash both ways: the token wraps an AES session key to the public key; Go wraps a
// random AES key to it and the token unwraps it, and the check values inside and outside
// must agree.
func (p *prober) trialOAEP() {
	hashes := []OAEPHash{OAEPSHA1, OAEPSHA256}
	pubH, priv, err := p.sessionKeyPair("rsa-2048", []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_WRAP, true), pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false)},
		[]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, true)})
	if err != nil {
		for _, h := range hashes {
			for _, cp := range []Capability{CapOAEPWrap(h), CapOAEPUnwrap(h)} {
				if f := p.c.Find(cp); f.Status == Unknown {
					p.set(cp, Unknown, "%s; the trial could not run: generating an RSA-2048 session key pair: %s", f.Evidence, p.errName(err))
				}
			}
		}
		return
	}
	if p.kek != 0 {
		p.wrapTrial(CapWrapRSA, p.kek, priv, "RSA-2048")
	}
	pub, err := p.rsaPublic(pubH)
	if err != nil {
		return
	}
	for _, h := range hashes {
		mech, _ := h.mechanism()
		if p.c.Find(CapOAEPWrap(h)).Status == Unknown {
			p.trialOAEPWrap(h, mech, pubH)
		}
		if p.c.Find(CapOAEPUnwrap(h)).Status == Unknown {
			p.trialOAEPUnwrap(h, mech, priv, pub)
		}
	}
}

func (p *prober) rsaPublic(h pkcs11.ObjectHandle) (*rsa.PublicKey, error) {
	p.t.mu.Lock()
	defer p.t.mu.Unlock()
	a, err := p.t.m.ctx.GetAttributeValue(p.t.session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_MODULUS, nil), pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, nil)})
	if err != nil {
		return nil, err
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(a[0].Value), E: int(new(big.Int).SetBytes(a[1].Value).Int64())}, nil
}

func (p *prober) trialOAEPWrap(h OAEPHash, mech *pkcs11.Mechanism, pub pkcs11.ObjectHandle) {
	v := randomKey()
	defer zero(v)
	k, err := p.secretKey(v, pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true), pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false), pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false))
	if err != nil {
		p.set(CapOAEPWrap(h), Unknown, "creating an AES session key to wrap: %s", p.errName(err))
		return
	}
	p.t.mu.Lock()
	b, err := p.t.m.ctx.WrapKey(p.t.session, []*pkcs11.Mechanism{mech}, pub, k)
	p.t.mu.Unlock()
	switch {
	case err == nil:
		p.set(CapOAEPWrap(h), Yes, "an AES-256 session key wrapped to %d bytes under an RSA-2048 session key with RSA-OAEP %s", len(b), h)
	case oaepRefused(err):
		p.set(CapOAEPWrap(h), No, "wrapping with RSA-OAEP %s (MGF1 %s) was refused: %s", h, h, p.errName(err))
	default:
		p.set(CapOAEPWrap(h), Unknown, "wrapping with RSA-OAEP %s: %s", h, p.errName(err))
	}
}

func (p *prober) trialOAEPUnwrap(h OAEPHash, mech *pkcs11.Mechanism, priv pkcs11.ObjectHandle, pub *rsa.PublicKey) {
	secret := randomKey()
	defer zero(secret)
	wrapped, err := h.encrypt(pub, secret)
	if err != nil {
		p.set(CapOAEPUnwrap(h), Unknown, "%v", err)
		return
	}
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, p.private()),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true), pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true), pkcs11.NewAttribute(pkcs11.CKA_LABEL, p.label),
	}
	p.t.mu.Lock()
	k, err := p.t.m.ctx.UnwrapKey(p.t.session, []*pkcs11.Mechanism{mech}, priv, wrapped, tmpl)
	if err == nil {
		p.objects = append(p.objects, k)
	}
	p.t.mu.Unlock()
	switch {
	case oaepRefused(err):
		p.set(CapOAEPUnwrap(h), No, "unwrapping with RSA-OAEP %s (MGF1 %s) was refused: %s", h, h, p.errName(err))
		return
	case err != nil:
		p.set(CapOAEPUnwrap(h), Unknown, "unwrapping with RSA-OAEP %s: %s", h, p.errName(err))
		return
	}
	inside, err := p.t.newSecretKey("trial", nil, k, false).CheckValueECB()
	outside, _ := keycheck.Compute(secret, keycheck.MethodECB)
	switch {
	case err != nil:
		p.set(CapOAEPUnwrap(h), Yes, "a key wrapped in Go with RSA-OAEP %s unwrapped (its check value could not be computed: %v)", h, err)
	case inside != outside.Value:
		p.set(CapOAEPUnwrap(h), No, "a key wrapped in Go with RSA-OAEP %s unwrapped to a different key (check value %s, want %s)", h, inside, outside.Value)
	default:
		p.set(CapOAEPUnwrap(h), Yes, "a key wrapped in Go with RSA-OAEP %s unwrapped with the same check value (%s)", h, inside)
	}
}

// errName is the PKCS#11 return value's name, or the error's text. An error that says the
// token or the session is gone is kept, and ends Capabilities with that error: a trial
// cannot tell anything about a token that is not there.
func (p *prober) errName(err error) string {
	for _, c := range []uint{pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_DEVICE_ERROR, pkcs11.CKR_SESSION_HANDLE_INVALID,
		pkcs11.CKR_SESSION_CLOSED, pkcs11.CKR_SLOT_ID_INVALID, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED} {
		if Is(err, c) && p.lost == nil {
			p.lost = err
		}
	}
	if e, ok := err.(pkcs11.Error); ok {
		return fmt.Sprintf("%s (0x%x)", strings.TrimPrefix(e.Error(), fmt.Sprintf("pkcs11: 0x%X: ", uint(e))), uint(e))
	}
	return err.Error()
}

func flagNames(f uint) []string {
	var out []string
	for _, n := range []struct {
		f    uint
		name string
	}{{pkcs11.CKF_HW, "hw"}, {pkcs11.CKF_ENCRYPT, "encrypt"}, {pkcs11.CKF_DECRYPT, "decrypt"}, {pkcs11.CKF_DIGEST, "digest"},
		{pkcs11.CKF_SIGN, "sign"}, {pkcs11.CKF_VERIFY, "verify"}, {pkcs11.CKF_GENERATE, "generate"},
		{pkcs11.CKF_GENERATE_KEY_PAIR, "generate_key_pair"}, {pkcs11.CKF_WRAP, "wrap"}, {pkcs11.CKF_UNWRAP, "unwrap"}, {pkcs11.CKF_DERIVE, "derive"}} {
		if f&n.f != 0 {
			out = append(out, n.name)
		}
	}
	if len(out) == 0 {
		out = append(out, fmt.Sprintf("0x%x", f))
	}
	return out
}

// MechanismName is the PKCS#11 name of mechanism m, or its number in hex.
func MechanismName(m uint) string {
	if n, ok := mechNames[m]; ok {
		return n
	}
	return fmt.Sprintf("0x%x", m)
}

var mechNames = map[uint]string{
	pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN: "CKM_RSA_PKCS_KEY_PAIR_GEN", pkcs11.CKM_RSA_PKCS: "CKM_RSA_PKCS", pkcs11.CKM_RSA_X_509: "CKM_RSA_X_509",
	pkcs11.CKM_RSA_PKCS_OAEP: "CKM_RSA_PKCS_OAEP", pkcs11.CKM_RSA_PKCS_PSS: "CKM_RSA_PKCS_PSS",
	pkcs11.CKM_SHA1_RSA_PKCS: "CKM_SHA1_RSA_PKCS", pkcs11.CKM_SHA256_RSA_PKCS: "CKM_SHA256_RSA_PKCS", pkcs11.CKM_SHA384_RSA_PKCS: "CKM_SHA384_RSA_PKCS",
	pkcs11.CKM_SHA512_RSA_PKCS: "CKM_SHA512_RSA_PKCS", pkcs11.CKM_SHA1_RSA_PKCS_PSS: "CKM_SHA1_RSA_PKCS_PSS", pkcs11.CKM_SHA256_RSA_PKCS_PSS: "CKM_SHA256_RSA_PKCS_PSS",
	pkcs11.CKM_SHA384_RSA_PKCS_PSS: "CKM_SHA384_RSA_PKCS_PSS", pkcs11.CKM_SHA512_RSA_PKCS_PSS: "CKM_SHA512_RSA_PKCS_PSS",
	pkcs11.CKM_EC_KEY_PAIR_GEN: "CKM_EC_KEY_PAIR_GEN", pkcs11.CKM_ECDSA: "CKM_ECDSA", pkcs11.CKM_ECDSA_SHA1: "CKM_ECDSA_SHA1",
	pkcs11.CKM_ECDSA_SHA256: "CKM_ECDSA_SHA256", pkcs11.CKM_ECDSA_SHA384: "CKM_ECDSA_SHA384", pkcs11.CKM_ECDSA_SHA512: "CKM_ECDSA_SHA512",
	pkcs11.CKM_ECDH1_DERIVE: "CKM_ECDH1_DERIVE", ckmEdwardsKeyGen: "CKM_EC_EDWARDS_KEY_PAIR_GEN", ckmEdDSA: "CKM_EDDSA",
	pkcs11.CKM_AES_KEY_GEN: "CKM_AES_KEY_GEN", pkcs11.CKM_AES_ECB: "CKM_AES_ECB", pkcs11.CKM_AES_CBC: "CKM_AES_CBC", pkcs11.CKM_AES_CBC_PAD: "CKM_AES_CBC_PAD",
	pkcs11.CKM_AES_CTR: "CKM_AES_CTR", pkcs11.CKM_AES_GCM: "CKM_AES_GCM", pkcs11.CKM_AES_CMAC: "CKM_AES_CMAC", pkcs11.CKM_AES_CMAC_GENERAL: "CKM_AES_CMAC_GENERAL",
	pkcs11.CKM_AES_KEY_WRAP: "CKM_AES_KEY_WRAP", pkcs11.CKM_AES_KEY_WRAP_PAD: "CKM_AES_KEY_WRAP_PAD", ckmRSAAESKeyWrap: "CKM_RSA_AES_KEY_WRAP",
	pkcs11.CKM_AES_CFB128: "CKM_AES_CFB128", pkcs11.CKM_AES_OFB: "CKM_AES_OFB",
	pkcs11.CKM_SHA_1: "CKM_SHA_1", pkcs11.CKM_SHA256: "CKM_SHA256", pkcs11.CKM_SHA384: "CKM_SHA384", pkcs11.CKM_SHA512: "CKM_SHA512",
	pkcs11.CKM_SHA_1_HMAC: "CKM_SHA_1_HMAC", pkcs11.CKM_SHA256_HMAC: "CKM_SHA256_HMAC", pkcs11.CKM_SHA384_HMAC: "CKM_SHA384_HMAC", pkcs11.CKM_SHA512_HMAC: "CKM_SHA512_HMAC",
	pkcs11.CKM_GENERIC_SECRET_KEY_GEN: "CKM_GENERIC_SECRET_KEY_GEN",
}
