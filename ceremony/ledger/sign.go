package ledger

import (
	"crypto"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"golang.org/x/mod/sumdb/note"
)

// NewSigner is the note signer of checkpoints, named name over s: the transcript signer held
// in the HSM signs them as it signs seals (transcript.NoteSigner).
func NewSigner(name string, s crypto.Signer) (note.Signer, error) {
	return transcript.NoteSigner(name, s)
}

// NewVerifier checks checkpoints signed by pub under name.
func NewVerifier(name string, pub crypto.PublicKey) (note.Verifier, error) {
	return transcript.NoteVerifier(name, pub)
}
