package hsm

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/keyrite/keyrite/hsm/internal/seam"
	"github.com/keyrite/keyrite/hsm/keycheck"
	"github.com/keyrite/keyrite/hsm/keywrap"
	"github.com/miekg/pkcs11"
)

// nativeRSAAES stands in for a token that offers CKM_RSA_AES_KEY_WRAP (SoftHSM 2.6.1 does not):
// it lists the mechanism for wrapping and performs it as PKCS#11 3.0 section 2.1.21 defines,
// with the real token's own primitives: a fresh AES key of ulAESKeyBits, wrapped with
// CKM_RSA_PKCS_OAEP and the OAEP parameters the caller passed, then the target wrapped under
// it with CKM_AES_KEY_WRAP_PAD. It records the parameters it was given.
type nativeRSAAES struct {
	seam.Ctx
	mu   sync.Mutex
	seen []string // "bits=256 hash=0x220 mgf=0x2" per native call
}

func (n *nativeRSAAES) GetMechanismList(slot uint) ([]*pkcs11.Mechanism, error) {
	ms, err := n.Ctx.GetMechanismList(slot)
	return append(ms, pkcs11.NewMechanism(ckmRSAAESKeyWrap, nil)), err
}

func (n *nativeRSAAES) GetMechanismInfo(slot uint, m []*pkcs11.Mechanism) (pkcs11.MechanismInfo, error) {
	if m[0].Mechanism == ckmRSAAESKeyWrap {
		return pkcs11.MechanismInfo{MinKeySize: 2048, MaxKeySize: 4096, Flags: pkcs11.CKF_WRAP | pkcs11.CKF_UNWRAP}, nil
	}
	return n.Ctx.GetMechanismInfo(slot, m)
}

func (n *nativeRSAAES) WrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, wk, key pkcs11.ObjectHandle) ([]byte, error) {
	if m[0].Mechanism != ckmRSAAESKeyWrap {
		return n.Ctx.WrapKey(sh, m, wk, key)
	}
	// The parameters as miekg/pkcs11 will lay them out in C memory.
	g := reflect.ValueOf(m[0]).Elem().FieldByName("generator").Elem().Elem()
	bits := g.FieldByName("AESKeyBits").Uint()
	oaep := g.FieldByName("OAEPParams")
	hash, mgf := oaep.FieldByName("HashAlg").Uint(), oaep.FieldByName("MGF").Uint()
	n.mu.Lock()
	n.seen = append(n.seen, fmt.Sprintf("bits=%d hash=0x%x mgf=0x%x", bits, hash, mgf))
	n.mu.Unlock()
	tmp, err := n.Ctx.GenerateKey(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)}, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, int(bits/8)), pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true), pkcs11.NewAttribute(pkcs11.CKA_WRAP, true),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false), pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
	})
	if err != nil {
		return nil, err
	}
	defer n.Ctx.DestroyObject(sh, tmp)
	oaepMech := pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.NewOAEPParams(uint(hash), uint(mgf), pkcs11.CKZ_DATA_SPECIFIED, nil))
	head, err := n.Ctx.WrapKey(sh, []*pkcs11.Mechanism{oaepMech}, wk, tmp)
	if err != nil {
		return nil, err
	}
	tail, err := n.Ctx.WrapKey(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil)}, tmp, key)
	return append(head, tail...), err
}

// Both forms of CKM_RSA_AES_KEY_WRAP give blobs the provider's unwrap accepts: the composed
// form on SoftHSM 2.6.1 as it is, the native form where the token lists the mechanism (here a
// stand-in, as SoftHSM 2.6.1 does not), with the parameters PKCS#11 defines.
func TestRSAAESWrapNativeAndComposed(t *testing.T) {
	plain := loggedIn(t, "rsaaes")
	if c, err := plain.Capabilities(); err != nil || c.Find(CapRSAAESKeyWrap).Status != No {
		t.Fatalf("SoftHSM 2.6.1 was expected not to offer CKM_RSA_AES_KEY_WRAP: %v %+v", err, c.Find(CapRSAAESKeyWrap))
	}
	dek, err := plain.GenerateDEK(DEKSpec{Label: "moving-dek", ID: []byte("d1"), Extractable: true})
	if err != nil {
		t.Fatal(err)
	}
	want, err := dek.CheckValueECB()
	if err != nil {
		t.Fatal(err)
	}
	provider, _ := rsa.GenerateKey(rand.Reader, 3072)

	m, r := module(t)
	emu := &nativeRSAAES{}
	native, err := WithSeam(m, func(c seam.Ctx) seam.Ctx { emu.Ctx = c; return emu }).OpenToken(Selector{Label: "rsaaes"})
	if err != nil {
		t.Fatal(err)
	}
	defer native.Close()
	for _, c := range []struct {
		tok  *Token
		form string
	}{{plain, RSAAESComposed}, {native, RSAAESNative}} {
		plain.Logout() // a login belongs to the application: both tokens share it
		native.Logout()
		asSO(t, c.tok)
		w, err := c.tok.PrepareRSAAESWrap(&provider.PublicKey, "provider")
		if err != nil {
			t.Fatal(err)
		}
		pin, _ := r.PIN("rsaaes", User)
		c.tok.Logout()
		if err := c.tok.Login(User, pin); err != nil {
			t.Fatal(err)
		}
		k, err := c.tok.FindSecretKey("moving-dek")
		if err != nil {
			t.Fatal(err)
		}
		blob, form, err := w.Wrap(k, OAEPSHA1)
		w.Destroy()
		if err != nil || form != c.form {
			t.Fatalf("wrap: %q, %v; want the %q form", form, err, c.form)
		}
		raw, err := keywrap.UnwrapRSAAES(provider, crypto.SHA1, blob)
		if err != nil {
			t.Fatalf("%s: the provider's unwrap refuses the blob: %v", form, err)
		}
		if got, _ := keycheck.Compute(raw, keycheck.MethodECB); got.Value != want {
			t.Fatalf("%s: the provider unwrapped a key with check value %s, want %s", form, got.Value, want)
		}
	}
	if len(emu.seen) != 1 || emu.seen[0] != fmt.Sprintf("bits=256 hash=0x%x mgf=0x%x", pkcs11.CKM_SHA_1, pkcs11.CKG_MGF1_SHA1) {
		t.Fatalf("the native mechanism was called with %v", emu.seen)
	}
}
