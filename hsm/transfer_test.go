package hsm

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transfer"
	"github.com/keyrite/keyrite/hsm/keycheck"
	"github.com/keyrite/keyrite/hsm/keywrap"
	"github.com/miekg/pkcs11"
)

// exportComposed is CKM_RSA_AES_KEY_WRAP composed inside the token: a trusted ephemeral AES
// key (made by the SO) wrapped under pub with RSA-OAEP, then the target key under it.
func exportComposed(t *testing.T, tok *Token, pub *rsa.PublicKey, h OAEPHash, key *KeyPair) []byte {
	t.Helper()
	asSO(t, tok)
	tk, err := tok.GenerateTransportKey("transport")
	if err != nil {
		t.Fatal(err)
	}
	wk, err := tok.ImportWrappingKey(pub, "provider")
	if err != nil {
		t.Fatal(err)
	}
	asUser(t, tok)
	defer tk.Destroy()
	defer wk.Destroy()
	head, err := tok.WrapUnderRSA(wk, tk, h)
	if err != nil {
		t.Fatal(err)
	}
	tail, err := tok.WrapPrivateKey(tk, key)
	if err != nil {
		t.Fatal(err)
	}
	return append(head, tail...)
}

// The token's export is the standard layout: Go opens it with the provider's documented hash.
func TestExportIsStandardLayout(t *testing.T) {
	tok := loggedIn(t, "export-src")
	key, err := tok.GenerateKeyPair(KeySpec{Label: "to-export", Algorithm: ECDSAP384, Extractable: true})
	if err != nil {
		t.Fatal(err)
	}
	provider, _ := rsa.GenerateKey(rand.Reader, 3072)
	for _, p := range []transfer.Provider{transfer.AWS, transfer.GCP, transfer.Azure, transfer.PKCS11} {
		spec := transfer.Specs[p]
		// SoftHSM 2.6.1 does RSA-OAEP with SHA-1 only: use each provider's SHA-1 method.
		var method transfer.Method
		for _, m := range spec.Methods {
			if m.OAEPHash == "SHA-1" {
				method, _ = spec.Method(strings.ReplaceAll(m.Name, "%d", "3072"), 3072)
			}
		}
		blob := exportComposed(t, tok, &provider.PublicKey, OAEPHash(method.OAEPHash), key)
		pkcs8, err := keywrap.UnwrapRSAAES(provider, transfer.HashOf(method.OAEPHash), blob)
		if err != nil {
			t.Fatalf("%s: Go cannot open the token's export: %v", p, err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(pkcs8)
		if err != nil || !priv.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
			t.Fatalf("%s: the export is not the key: %v", p, err)
		}
	}
}

// An import job's unwrap-only key on a second token imports the export; the key signs under
// its original public key.
func TestImportThroughImportJob(t *testing.T) {
	src, dst := loggedIn(t, "import-src"), loggedIn(t, "import-dst")
	key, _ := src.GenerateKeyPair(KeySpec{Label: "app-key", Algorithm: ECDSAP256, Extractable: true})
	job, err := dst.GenerateKeyPair(KeySpec{Label: "import-job", Algorithm: RSA3072, Use: UseUnwrap})
	if err != nil {
		t.Fatal(err)
	}
	if job.Attributes["CKA_SIGN"] || !job.Attributes["CKA_UNWRAP"] || job.Attributes["CKA_DECRYPT"] {
		t.Fatalf("import job key attributes %v", job.Attributes)
	}
	if len(job.UnwrapHashes) == 0 {
		t.Fatal("the import job key passed its self-test with no OAEP hash")
	}
	t.Logf("import job key unwraps with RSA-OAEP %v", job.UnwrapHashes)
	h := job.UnwrapHashes[0]
	blob := exportComposed(t, src, job.Public().(*rsa.PublicKey), h, key)
	k := job.Public().(*rsa.PublicKey).Size()
	tk, err := dst.UnwrapFromRSA(job, blob[:k], h, "transport")
	if err != nil {
		t.Fatal(err)
	}
	defer tk.Destroy()
	imported, err := dst.UnwrapPrivateKey(tk, blob[k:], "app-key", key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if imported.Attributes["CKA_EXTRACTABLE"] || !imported.Attributes["CKA_SENSITIVE"] {
		t.Fatalf("imported attributes %v", imported.Attributes)
	}
	// A blob wrapped for another import job is refused, and nothing is imported.
	other, _ := rsa.GenerateKey(rand.Reader, 3072)
	wrong := exportComposed(t, src, &other.PublicKey, h, key)
	before, _ := dst.Objects()
	if _, err := dst.UnwrapFromRSA(job, wrong[:k], h, "transport-2"); err == nil {
		t.Fatal("a blob for another wrapping key unwrapped")
	}
	if after, _ := dst.Objects(); len(after) != len(before) {
		t.Fatal("a refused import left objects")
	}
}

func TestDEKTransferKeepsCheckValue(t *testing.T) {
	src, dst := loggedIn(t, "dek-src"), loggedIn(t, "dek-dst")
	dek, err := src.GenerateDEK(DEKSpec{Label: "dek-1", ID: []byte{1}, Extractable: true})
	if err != nil {
		t.Fatal(err)
	}
	value := kek(t)
	asSO(t, src)
	wkek, err := src.ImportKEK(value, "transport", WrapOnly)
	if err != nil {
		t.Fatal(err)
	}
	asUser(t, src)
	ukek, _ := dst.ImportKEK(value, "transport", UnwrapOnly)
	blob, err := src.WrapSecretKey(wkek, dek)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := dst.UnwrapDEK(ukek, blob, DEKSpec{Label: "dek-1", ID: []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := dek.CheckValueECB()
	b, _ := moved.CheckValueECB()
	if a == "" || a != b {
		t.Fatalf("check values %q and %q", a, b)
	}
}

// SoftHSM accepts an AES key that can both wrap and decrypt, and with it the wrap-then-decrypt
// sequence reveals a sensitive key. Keyrite's policy refuses to create such a key.
func TestWrapThenDecryptIsRefusedByPolicy(t *testing.T) {
	tok := loggedIn(t, "clulow")
	bad := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, kek(t)), pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, true), pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true),
	}
	if _, err := tok.createObject(bad); err == nil || !strings.Contains(err.Error(), "may not both wrap and decrypt") {
		t.Fatalf("policy let a wrap+decrypt key through: %v", err)
	}
	// The token itself does not refuse it (past Keyrite's seam): the attack works on SoftHSM.
	tok.mu.Lock()
	h, err := tok.m.raw.CreateObject(tok.session, bad)
	tok.mu.Unlock()
	if err != nil {
		t.Skipf("this token refuses wrap+decrypt keys itself: %v", err)
	}
	victim, _ := tok.GenerateDEK(DEKSpec{Label: "victim", ID: []byte{9}, Extractable: true})
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_CBC_PAD, make([]byte, 16))}
	tok.mu.Lock()
	wrapped, werr := tok.m.raw.WrapKey(tok.session, mech, h, victim.h)
	var plain []byte
	if werr == nil {
		// C_Decrypt is not in Keyrite's PKCS#11 seam at all; the attack uses the raw module.
		if werr = tok.m.raw.DecryptInit(tok.session, mech, h); werr == nil {
			plain, werr = tok.m.raw.Decrypt(tok.session, wrapped)
		}
	}
	tok.m.raw.DestroyObject(tok.session, h)
	tok.mu.Unlock()
	if werr != nil {
		t.Logf("wrap-then-decrypt did not complete on this token (%v); the policy still refuses the key", werr)
		return
	}
	check, _ := victim.CheckValueECB()
	if got, _ := keycheck.Compute(plain, keycheck.MethodECB); got.Value != check {
		t.Fatalf("decrypted %d bytes that are not the victim key", len(plain))
	}
	t.Logf("on SoftHSM, wrap-then-decrypt revealed a sensitive key (KCV %s): the reason for the policy", check)
}
