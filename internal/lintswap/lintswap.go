// Package lintswap puts Keyrite's implementation of one of zlint's certificate lints in zlint's
// global registry, under zlint's name, in place of zlint's own (internal/smallkey,
// internal/emudhra). zlint's registries hold lints by pointer and Filter copies the pointers,
// so replacing the constructor of the registered lint changes every registry made from the
// global one, before or after. It is meant for package initialisation, before anything lints:
// the registry is not guarded against a lint running at the same time.
package lintswap

import "github.com/zmap/zlint/v3/lint"

// Replace makes zlint's registered certificate lint name construct its lints with newLint; it
// reports whether zlint has such a lint (when not, nothing changes).
func Replace(name string, newLint func() lint.CertificateLintInterface) bool {
	l := lint.GlobalRegistry().CertificateLints().ByName(name)
	if l == nil {
		return false
	}
	l.Lint = newLint
	return true
}
