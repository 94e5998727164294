package ceremony

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/ceremony/transfer"
	"github.com/keyrite/keyrite/hsm"
)

// transferInputs are the checked inputs of a transfer ceremony.
type transferInputs struct {
	wrappingKey *rsa.PublicKey
	method      transfer.Method
	issued      time.Time
	job         *ImportJob         // export to pkcs11: the import job; import: this token's
	meta        *transfer.Metadata // import: what was exported
	blob        []byte             // import: the wrapped key
	exportRes   *transcript.Result // import: the verified export ceremony
	files       map[string][]byte  // files to carry into this ceremony's folder
	transport   [2]*hsm.SecretKey  // migrate: on the source and the target
	migrated    map[string]string  // migrate: label -> KCV already recorded
}

func parseRSAPublicKey(b []byte) (*rsa.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM \"PUBLIC KEY\"")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a wrapping key is RSA, this is %T", k)
	}
	return pub, nil
}

func sha256Hex(b []byte) string { return hex.EncodeToString(sha256Sum(b)) }

// asSO logs the Security Officer in, for trusted keys.
func (r *Run) asSO() error {
	if r.binding.SOPIN == nil {
		return errors.New("this step needs the Security Officer's PIN, and none was given")
	}
	if err := r.token.Logout(); err != nil {
		return err
	}
	pin, err := r.binding.SOPIN()
	if err != nil {
		return fmt.Errorf("read the Security Officer's PIN: %w", err)
	}
	if err := r.token.Login(hsm.SO, pin); err != nil {
		r.relogin()
		return err
	}
	return nil
}

// onlySection checks that a transfer script has exactly one section, its own.
func (s *Script) onlySection(v *validator) {
	sections := 0
	for _, set := range []bool{s.ImportJob != nil, s.Export != nil, s.Import != nil, s.Migrate != nil, s.Backup != nil, s.Restore != nil, s.Reshare != nil, s.Key.Label != ""} {
		if set {
			sections++
		}
	}
	if sections != 1 {
		v.errorf("type", "a %s ceremony has exactly one section, %s", s.Type, strings.ReplaceAll(s.Type, "-", "_"))
	}
}
