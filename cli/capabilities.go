package cli

import (
	"fmt"
	"strings"

	"github.com/keyrite/keyrite/ceremony"
	"github.com/keyrite/keyrite/hsm"
)

// tokenCapabilities prints, for the selected token, its mechanisms as C_GetMechanismInfo
// reports them, each capability Keyrite looks for with how it was established (a query, or a
// trial on session objects as the logged-in user), and which ceremony types and options it can
// run and why not. The user PIN is needed: most tokens let only a logged-in user create the
// session objects the trials use.
func tokenCapabilities(h hsmFlags, env Env) error {
	if h.token == "" && h.serial == "" && h.uri == "" && !h.rehearsal {
		return usageError{"usage: keyrite tokens --capabilities (--module PATH --token LABEL | --hsm URI | --rehearsal)"}
	}
	ui := env.ui(false)
	b, done, err := h.binding(ui.asker(env.ctx()))
	if err != nil {
		return err
	}
	defer done()
	if h.rehearsal { // Keyrite's own store: make the rehearsal token if it is not there yet
		store, err := hsm.PrepareRehearsal(h.rehearsalDir)
		if err == nil {
			_, err = store.EnsureToken(b.Module, b.Token.Label)
		}
		if err != nil {
			return err
		}
	}
	tok, err := b.Open()
	if err != nil {
		return err
	}
	defer tok.Close()
	c, err := tok.Capabilities()
	if err != nil {
		return err
	}
	w := env.Stdout
	fmt.Fprintf(w, "Token %s\nModule %s (%s %s)\nTrials ran on session objects, logged in as: %s\n\nMechanisms (C_GetMechanismList, C_GetMechanismInfo):\n",
		c.Token, b.Module.Path, b.Module.Info.Manufacturer, b.Module.Info.Version, c.Login)
	for _, m := range c.Mechanisms {
		fmt.Fprintf(w, "  %-30s key size %d-%d  %s\n", m.Name, m.MinKeySize, m.MaxKeySize, strings.Join(m.Flags, " "))
	}
	fmt.Fprintf(w, "\nCapabilities:\n")
	for _, f := range c.Findings {
		fmt.Fprintf(w, "  %-7s %s\n          %s\n", f.Status, f.Capability, f.Evidence)
	}
	fmt.Fprintf(w, "\nCeremonies:\n")
	for _, s := range ceremony.Supports(c) {
		verdict := "yes"
		if !s.OK() {
			verdict = "no"
		}
		fmt.Fprintf(w, "  %-4s %s\n", verdict, s.Ceremony)
		for _, m := range s.Missing {
			fmt.Fprintf(w, "         %s\n", m)
		}
		for _, u := range s.Unsure {
			fmt.Fprintf(w, "         not established: %s\n", u)
		}
	}
	return nil
}
