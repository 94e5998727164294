package ceremony

import (
	"slices"
	"sync"

	"github.com/keyrite/keyrite/hsm"
)

// WarmLints makes, in the background, what a process makes once before its first lint and
// keeps: zlint's registries for each selection of lints a certificate is linted with
// (certificateLints; filtering ~430 lints is about 1 ms each time) and their halves for
// lintCertificateEx, and the throwaway keys of script's key algorithm and
// of the transcript signer (the first P-384 key also builds Go's P-384 tables, ~3 ms; an
// RSA-4096 key takes about a second). They are the same registries and keys the lints would
// make, made earlier: a command calls it once it has read the script, while the HSM module is
// opened and the token made, which mostly wait on the disk and leave a core free.
func WarmLints(script *Script) {
	warmLintsOnce.Do(func() { go warmLints(hsm.Algorithm(script.Key.Algorithm)) })
}

var warmLintsOnce sync.Once

// warmLints makes the registries and the throwaway keys for an issuer of algorithm alg (none
// for an algorithm Keyrite does not issue under).
func warmLints(alg hsm.Algorithm) {
	for _, exclude := range [][]string{throwawayExcluded(false), throwawayExcluded(true), nil} {
		if r, err := certificateLints(lintPolicy{}, exclude); err == nil {
			splitLints(r) // the shapes' (before signing) and the issued certificates' (after)
		}
	}
	if slices.Contains(hsm.Algorithms, alg) {
		throwawayFor(alg)
	}
	throwawaySubjectFor(signerAlg)
}
