package hsm

import (
	"reflect"
	"testing"

	"github.com/keyrite/keyrite/hsm/internal/seam"
	"github.com/keyrite/keyrite/hsm/tpm2test"
	"github.com/miekg/pkcs11"
)

// wantStatus checks each capability's status and prints the evidence of any that differ.
func wantStatus(t *testing.T, c *Capabilities, want map[Capability]Status) {
	t.Helper()
	for cp, s := range want {
		if f := c.Find(cp); f.Status != s {
			t.Errorf("%s: %s (%s), want %s", cp, f.Status, f.Evidence, s)
		}
	}
}

// On SoftHSM 2.6.1 the reports and trials find what PKCS11-NOTES.md records, as the user and
// as the Security Officer, and leave the token's objects as they were.
func TestCapabilitiesOfSoftHSM(t *testing.T) {
	tok := loggedIn(t, "capabilities")
	if _, err := tok.GenerateKeyPair(KeySpec{Label: "existing", Algorithm: ECDSAP256}); err != nil {
		t.Fatal(err)
	}
	before, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	c, err := tok.Capabilities()
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c, map[Capability]Status{
		CapRandom: Yes, CapAESKeyGen: Yes, CapAESKWPWrap: Yes, CapAESKWPUnwrap: Yes, CapAESKeyWrap: Yes, CapAESECB: Yes,
		CapRSAAESKeyWrap: No, CapOAEPWrap(OAEPSHA1): Yes, CapOAEPUnwrap(OAEPSHA1): Yes,
		CapOAEPWrap(OAEPSHA256): No, CapOAEPUnwrap(OAEPSHA256): No,
		CapTrusted: Yes, CapWrapWithTrusted: Yes, CapWrapEC: Yes, CapWrapRSA: Yes, CapWrapEd25519: No,
		CapP256: Yes, CapP384: Yes, CapRSA3072: Yes, CapRSA4096: Yes, CapEd25519: Yes,
	})
	if mi, ok := c.Mechanism(0x1054); ok {
		t.Errorf("SoftHSM lists CKM_RSA_AES_KEY_WRAP: %+v", mi)
	}
	after, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("the trials changed the token's objects:\nbefore %v\nafter  %v", before, after)
	}

	// As the Security Officer, CKA_TRUSTED is tried by making a trusted key.
	m, r := module(t)
	so, err := m.OpenToken(Selector{Label: "capabilities"})
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	tok.Logout()
	pin, _ := r.PIN("capabilities", SO)
	if err := so.Login(SO, pin); err != nil {
		t.Fatal(err)
	}
	c, err = so.Capabilities()
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Find(CapTrusted); f.Status != Yes || c.Login != "Security Officer" {
		t.Fatalf("as SO: %+v (login %s)", f, c.Login)
	}
	t.Log(c.Find(CapTrusted).Evidence)
}

// On tpm2-pkcs11 over a software TPM the reports alone rule out every kind of key wrapping,
// and the trials leave no object behind.
func TestCapabilitiesOfTPM2(t *testing.T) {
	tt := tpm2test.Start(t, "tpm2-capabilities")
	m, err := Open(tt.Module)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok, err := m.OpenToken(Selector{Label: tt.Label})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	if err := tok.Login(User, []byte(tt.UserPIN)); err != nil {
		t.Fatal(err)
	}
	before, _ := tok.Objects()
	c, err := tok.Capabilities()
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c, map[Capability]Status{
		CapRandom: Yes, CapAESKeyGen: Yes, CapAESKWPWrap: No, CapAESKWPUnwrap: No, CapAESKeyWrap: No, CapRSAAESKeyWrap: No,
		CapOAEPWrap(OAEPSHA1): No, CapOAEPUnwrap(OAEPSHA1): No, CapOAEPWrap(OAEPSHA256): No, CapOAEPUnwrap(OAEPSHA256): No,
		CapWrapWithTrusted: No, CapWrapEC: No, CapP256: Yes, CapP384: Yes, CapRSA3072: Yes, CapRSA4096: No, CapEd25519: No,
	})
	after, _ := tok.Objects()
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("the trials changed the token's objects:\nbefore %v\nafter  %v", before, after)
	}
	for _, f := range c.Findings {
		t.Logf("%s: %s — %s", f.Capability, f.Status, f.Evidence)
	}
}

// A token removed during a trial ends the examination with the removal, not with a finding.
func TestCapabilitiesStopWhenTheTokenGoes(t *testing.T) {
	m, r := module(t)
	if _, err := r.EnsureToken(m, "capabilities-removed"); err != nil {
		t.Fatal(err)
	}
	fm := WithSeam(m, func(c seam.Ctx) seam.Ctx { return removedOnCreate{c} })
	tok, err := fm.OpenToken(Selector{Label: "capabilities-removed"})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	pin, _ := r.PIN("capabilities-removed", User)
	if err := tok.Login(User, pin); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.Capabilities(); !Is(err, pkcs11.CKR_DEVICE_REMOVED) {
		t.Fatalf("err = %v, want the removal", err)
	}
}

// removedOnCreate is a token that is gone by the time an object is to be created.
type removedOnCreate struct{ seam.Ctx }

func (removedOnCreate) CreateObject(pkcs11.SessionHandle, []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	return 0, pkcs11.Error(pkcs11.CKR_DEVICE_REMOVED)
}
