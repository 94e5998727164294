package cli

import "github.com/keyrite/keyrite/cli/base"

// Escape returns s with every character that is not printable escaped (base.Escape): every
// command writes through base.Escaper.
func Escape(s string) string { return base.Escape(s) }
