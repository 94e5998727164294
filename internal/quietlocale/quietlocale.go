// Package quietlocale keeps Fyne from logging "Error parsing user locale C" on every command
// when the locale is C.UTF-8 (or POSIX.UTF-8), as on CI machines and in containers.
//
// Fyne's lang package reads the locale while packages are initialised, through
// github.com/jeandeaual/go-locale, which takes "C.UTF-8" for a language named "C" unless
// LANGUAGE is set. Go initialises packages in import-path order among those whose imports are
// ready (the Go spec, "Package initialization"): this package imports only the standard
// library and its path sorts before github.com/nicksnyder/go-i18n, which Fyne's lang package
// waits for, so its init runs first and sets LANGUAGE=en for the plain C locale. Restore undoes
// that at the start of main, so nothing Keyrite starts later inherits it.
//
// Import it for its side effect from package main, first.
package quietlocale

import (
	"os"
	"strings"
)

var set bool

func init() {
	if os.Getenv("LANGUAGE") != "" {
		return
	}
	loc := ""
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if loc = os.Getenv(v); loc != "" {
			break
		}
	}
	base, _, found := strings.Cut(loc, ".")
	if found && (base == "C" || base == "POSIX") {
		os.Setenv("LANGUAGE", "en")
		set = true
	}
}

// Restore removes what init set, once Fyne has read it.
func Restore() {
	if set {
		os.Unsetenv("LANGUAGE")
		set = false
	}
}
