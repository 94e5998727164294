package ceremony

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyrite/keyrite/ceremony/fingerprint"
	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm"
	"go.yaml.in/yaml/v3"
)

// The pre-flight runs, for a new ceremony and for a resumed one alike, once the token is found,
// identified and logged in to, and before anyone in the room is asked to confirm anything and
// before the first call that changes the token. It checks everything that needs no secret:
//
//   - the token's own strings (label, maker, model, serial) can be printed;
//   - the token offers every capability the script needs (capabilities.go: mechanisms, key
//     sizes, attributes; what mechanism info cannot tell, like the OAEP hash of an export, is
//     tried on session objects);
//   - the keys the script signs with are in a state that allows it, as the sealed ceremonies
//     it continues recorded them (a deactivated, compromised or destroyed root does not sign),
//     and a CRL number exceeds the last one recorded; and the ceremony continued is the newest
//     of its hierarchy, so those states are the newest (fork.go);
//   - every certificate and CRL the ceremony issues, built in its real shape (its real issuer
//     name and the issuer's key type, under a throwaway key of that type), passes zlint;
//   - every output location is writable and has room for the outputs with a margin.
//
// Every problem is reported at once; the script's own problems name file:line:field. A refusal
// leaves no trace: nothing is written and the token's objects are unchanged. The script's
// text was checked against the renderers when it was parsed (ParseScript).

// PreflightError lists every problem the pre-flight found; nothing was done.
type PreflightError []error

func (e PreflightError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the pre-flight found %d problem(s); nothing was done and the token was not changed:", len(e))
	for _, f := range e {
		b.WriteString("\n  " + strings.ReplaceAll(f.Error(), "\n", "\n  "))
	}
	return b.String()
}

// Unwrap gives the problems to errors.Is and errors.As.
func (e PreflightError) Unwrap() []error { return e }

// preflight runs every check; see the comment above. Its record joins the early records.
func (r *Run) preflight() error {
	p := &preflighter{r: r}
	p.tokenText()
	p.capabilities()
	if t := typeOf(r.Script.Type); t.tokenChecks != nil {
		t.tokenChecks(p)
	}
	p.keyStates()
	p.forks()
	p.noEvidenceRoot()
	p.lints()
	p.space()
	if len(p.errs) > 0 {
		return p.errs
	}
	r.early = append([]earlyRecord{{transcript.EventPreflightPassed, p.rec}}, r.early...)
	return nil
}

type preflighter struct {
	r    *Run
	errs PreflightError
	rec  transcript.PreflightPassed
	root *yaml.Node
}

// fieldf records a problem with a field of the script, at its line.
func (p *preflighter) fieldf(path, format string, a ...any) {
	if p.root == nil {
		var doc yaml.Node
		if yaml.Unmarshal(p.r.Script.Source, &doc) == nil && len(doc.Content) > 0 {
			p.root = doc.Content[0]
		} else {
			p.root = &yaml.Node{Line: 1}
		}
	}
	v := validator{file: p.r.Script.Name, root: p.root}
	p.errs = append(p.errs, FieldError{p.r.Script.Name, v.line(path), path, fmt.Sprintf(format, a...)})
}

func (p *preflighter) errorf(format string, a ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, a...))
}

func (p *preflighter) passed(check string) { p.rec.Checks = append(p.rec.Checks, check) }

// tokenText checks the token's strings, which the screens, the transcript and the report show.
func (p *preflighter) tokenText() {
	n := len(p.errs)
	for _, tok := range []*hsm.Token{p.r.token, p.r.target} {
		if tok == nil {
			continue
		}
		i := tok.Info
		for _, f := range []struct{ name, v string }{{"label", i.Label}, {"manufacturer", i.Manufacturer}, {"model", i.Model}, {"serial", i.Serial}} {
			if err := renderable(f.v); err != nil {
				p.errorf("token %s %s cannot be printed: %v; relabel the token or use another", f.name, transcriptQuote(f.v), err)
			}
		}
	}
	if len(p.errs) == n {
		p.passed("token strings printable")
	}
}

// transcriptQuote quotes a string from outside for a message, with Go escapes.
func transcriptQuote(s string) string { return fmt.Sprintf("%q", s) }

// capabilities runs the token capability check (capabilities.go) with the rest, so every
// problem is reported at once.
func (p *preflighter) capabilities() {
	if err := p.r.checkCapabilities(); err != nil {
		p.errs = append(p.errs, err)
		return
	}
	p.passed("token capabilities (mechanisms, key sizes, attributes; trials on session objects)")
}

// hierarchy is the root certificate and transcript signer a continuing ceremony works under
// (after a rotation, the new hierarchy's if the script names its signer), and the rotation.
// A root ceremony has none.
func (r *Run) hierarchy() (root, signer *x509.Certificate, rot *Rotation, err error) {
	p := r.previous
	if p == nil {
		return nil, nil, nil, nil
	}
	root, signer = p.root, p.signer
	if rot = rotationOf(p.result); rot != nil && r.Script.Signer.Label == rot.NewSigner {
		certs, err := parseChain(rot.NewSignerChain)
		if err != nil || len(certs) < 2 {
			return nil, nil, nil, fmt.Errorf("the rotation recorded in %s: %v", p.result.Opening.CeremonyID, err)
		}
		signer, root = certs[0], certs[1]
	}
	return root, signer, rot, nil
}

// keyStateCheck is what a ceremony type's keyStates hook checks with: the key states the
// sealed ceremonies recorded, the hierarchy's root, and refuse, which refuses a key whose state
// forbids the use named.
type keyStateCheck struct {
	p        *preflighter
	st       *hierarchyState
	root     *x509.Certificate
	rootSPKI string
	refuse   func(field, label, spki string, allowDeactivated bool, use string)
}

// lintRun is what a ceremony type's lints hook lints with: lint builds a certificate in its
// real shape and lints it (reporting at field), serial and now as the ceremony will use them,
// and the hierarchy's root.
type lintRun struct {
	p       *preflighter
	lint    func(field, name string, tmpl, issuer *x509.Certificate, issuerAlg hsm.Algorithm, pub crypto.PublicKey, subjectAlg hsm.Algorithm, pol lintPolicy) *x509.Certificate
	serial  func() *big.Int
	now     time.Time
	root    *x509.Certificate
	rootAlg hsm.Algorithm
}

// lintSite builds the certificate of a profile site with build, from the site's effective
// profile, and lints it as that profile says (see lint); the field of a refusal is the site's.
func (l lintRun) lintSite(site profileSite, name string, issuer *x509.Certificate, issuerAlg hsm.Algorithm, pub crypto.PublicKey, subjectAlg hsm.Algorithm,
	build func(Profile) (*x509.Certificate, error)) *x509.Certificate {
	p := l.p.r.Script.effective(site)
	field := site.path
	if site.profile == nil && site.daysField != "" {
		field = site.daysField
	}
	tmpl, err := build(p)
	if err != nil {
		l.p.fieldf(field, "%v", err)
		return nil
	}
	return l.lint(field, name, tmpl, issuer, issuerAlg, pub, subjectAlg, p.policy())
}

// keyStates checks the keys the script uses against the states the sealed ceremonies it
// continues recorded, and a CRL's number against the last one recorded.
func (p *preflighter) keyStates() {
	r := p.r
	if r.previous == nil {
		return
	}
	n := len(p.errs)
	st := hierarchyStateOf(r.previous.result)
	root, _, _, _ := r.hierarchy() // an error is reported by lints
	rootSPKI := ""
	if root != nil {
		fp, _ := fingerprint.OfPublicKey(root.PublicKey)
		rootSPKI = fp.Hex()
	}
	refuse := func(field, label, spki string, allowDeactivated bool, use string) {
		k := st.key(label, spki)
		if k == nil {
			return
		}
		switch k.State {
		case keyDeactivated:
			if allowDeactivated {
				return
			}
			fallthrough
		case keyCompromised, keyDestroyed, keySuspended:
			why := k.Reason
			if why == "" {
				why = "no reason recorded"
			}
			p.fieldf(field, "key %q is %s since %s (ceremony %s: %s); a %s key does not %s", k.Label, k.State, k.Since, k.Ceremony, why, k.State, use)
		}
	}
	p.cryptoperiods(st)
	s := r.Script
	if t := typeOf(s.Type); t.keyStates != nil {
		t.keyStates(keyStateCheck{p: p, st: st, root: root, rootSPKI: rootSPKI, refuse: refuse})
	}
	if len(p.errs) == n {
		p.passed("key states and CRL numbers from the sealed ceremonies continued")
	}
}

// lints builds every certificate and CRL the ceremony issues in its real shape and lints it.
func (p *preflighter) lints() {
	r := p.r
	s := r.Script
	n := len(p.errs)
	serial := func() *big.Int {
		b := make([]byte, 16)
		rand.Read(b)
		b[0] = b[0]&0x7f | 0x40
		return new(big.Int).SetBytes(b)
	}
	now := r.Clock()
	lint := func(field, name string, tmpl, issuer *x509.Certificate, issuerAlg hsm.Algorithm, pub crypto.PublicKey, subjectAlg hsm.Algorithm, pol lintPolicy) *x509.Certificate {
		res, c, err := lintCertificate(name, tmpl, issuer, issuerAlg, pub, subjectAlg, pol)
		if err != nil {
			p.fieldf(field, "%v", err)
			return nil
		}
		if bad := refusedLints(res); len(bad) > 0 {
			p.fieldf(field, "%s (%s) fails lints %s; fix the profile in the script", name, res.Shape, strings.Join(bad, ", "))
			return nil
		}
		p.rec.Lints = append(p.rec.Lints, res)
		return c
	}
	root, _, _, err := r.hierarchy()
	if err != nil {
		p.errorf("%v", err)
		return
	}
	var rootAlg hsm.Algorithm
	if root != nil {
		if rootAlg, err = algorithmOf(root.PublicKey); err != nil {
			p.errorf("the hierarchy's root: %v", err)
			return
		}
	}
	if t := typeOf(s.Type); t.lints != nil {
		t.lints(lintRun{p: p, lint: lint, serial: serial, now: now, root: root, rootAlg: rootAlg})
	}
	if len(p.errs) == n {
		p.passed("every certificate and CRL linted in its real shape")
	}
}

// csr reads the certificate request of a sign-intermediate ceremony and checks it, and the
// strings of its subject, which the screens and the report print.
func (p *preflighter) csr() (*x509.CertificateRequest, error) {
	r := p.r
	if r.opt.CSR == "" {
		p.errorf("a %s ceremony signs a certificate request: give it (--csr FILE)", r.Script.Type)
		return nil, errors.New("no CSR")
	}
	b, err := os.ReadFile(r.opt.CSR)
	if err == nil {
		var csr *x509.CertificateRequest
		if csr, err = readCSR(b); err == nil {
			for _, a := range csr.Subject.Names {
				if v, ok := a.Value.(string); ok {
					if rerr := renderable(v); rerr != nil {
						p.errorf("certificate request %s: subject attribute %v %s: %v; nothing was signed", r.opt.CSR, a.Type, transcriptQuote(v), rerr)
						return nil, rerr
					}
				}
			}
			return csr, nil
		}
	}
	p.errorf("certificate request %s: %v; nothing was signed", r.opt.CSR, err)
	return nil, err
}

// minFree is the free space the pre-flight asks for on every output file system: a
// ceremony writes a few MiB at most (transcript, certificates, report, bundle); the rest is
// margin for a report with many pages and for the file system's own needs.
var minFree uint64 = 64 << 20

// space checks every output location is writable and has minFree free.
func (p *preflighter) space() {
	r := p.r
	n := len(p.errs)
	dirs := []string{r.Dir}
	if d := r.opt.sheets(); r.Script.IssuesShares() && d.Printer == "" && d.Dir != "" {
		dirs = append(dirs, d.Dir)
	}
	var least uint64 = 1<<64 - 1
	seen := map[string]bool{}
	for _, d := range dirs {
		at := existingAncestor(d)
		if seen[at] {
			continue
		}
		seen[at] = true
		if err := writable(at); err != nil {
			p.errorf("output folder %s: %s is not writable (%v); choose another folder", d, at, err)
			continue
		}
		free, err := freeBytes(at)
		if err != nil {
			p.errorf("output folder %s: cannot measure its free space: %v", d, err)
			continue
		}
		if free < minFree {
			p.errorf("output folder %s: %s has %d MiB free; the ceremony needs at least %d MiB there; free space or choose another disk", d, at, free>>20, minFree>>20)
			continue
		}
		least = min(least, free)
	}
	if len(p.errs) == n {
		p.rec.FreeBytes = least
		p.passed(fmt.Sprintf("output folders writable, each with at least %d MiB free", minFree>>20))
	}
}

// existingAncestor is dir, or its nearest parent that exists.
func existingAncestor(dir string) string {
	d, _ := filepath.Abs(dir)
	for {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return d
		}
		d = parent
	}
}
