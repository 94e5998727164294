package hsm

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/keyrite/keyrite/hsm/keywrap"
	"github.com/miekg/pkcs11"
)

// searches counts the C_FindObjectsInit calls a token makes, and creates an object labelled
// sneak (another writer) just before (or, with sneakAfter, just after) the token creates a key
// with that label.
type searches struct {
	p11
	n          int
	sneak      string
	sneakAfter bool
}

func (s *searches) FindObjectsInit(sh pkcs11.SessionHandle, t []*pkcs11.Attribute) error {
	s.n++
	return s.p11.FindObjectsInit(sh, t)
}

func (s *searches) GenerateKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, t []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	s.around(sh, t, false)
	h, err := s.p11.GenerateKey(sh, m, t)
	s.around(sh, t, true)
	return h, err
}

func (s *searches) UnwrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, k pkcs11.ObjectHandle, w []byte, t []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	s.around(sh, t, false)
	h, err := s.p11.UnwrapKey(sh, m, k, w, t)
	s.around(sh, t, true)
	return h, err
}

func (s *searches) around(sh pkcs11.SessionHandle, tmpl []*pkcs11.Attribute, after bool) {
	for _, a := range tmpl {
		if a.Type == pkcs11.CKA_LABEL && string(a.Value) == s.sneak && after == s.sneakAfter {
			(&intruder{p11: s.p11, label: s.sneak}).sneak(sh)
		}
	}
}

func claimsToken(t *testing.T, label string, s *searches) *Token {
	t.Helper()
	m, r := module(t)
	if _, err := r.EnsureToken(m, label); err != nil {
		t.Fatal(err)
	}
	tok, err := WithSeam(m, func(c p11) p11 { s.p11 = c; return s }).OpenToken(Selector{Label: label})
	if err != nil {
		t.Fatal(err)
	}
	pin, _ := r.PIN(label, User)
	if err := tok.Login(User, pin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tok.Close() })
	return tok
}

func labelsOn(t *testing.T, tok *Token, label string) []string {
	t.Helper()
	objs, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range objs {
		if o.Label == label {
			ids = append(ids, o.ID)
		}
	}
	return ids
}

// Claims in bulk refuse, before anything is created, a label an object on the token carries and
// a label already claimed in the same batch, as the per-key check does.
func TestBulkClaimsRefuseATakenLabel(t *testing.T) {
	tok := claimsToken(t, "bulk-taken", &searches{})
	if _, err := tok.GenerateDEK(DEKSpec{Label: "there-before", ID: []byte{1}, Extractable: true}); err != nil {
		t.Fatal(err)
	}
	c, err := tok.ClaimLabels(2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GenerateDEK(DEKSpec{Label: "there-before", ID: []byte{2}}); !errors.Is(err, ErrLabelTaken) {
		t.Fatalf("a label on the token: err = %v, want ErrLabelTaken", err)
	}
	if _, err := c.GenerateDEK(DEKSpec{Label: "new", ID: []byte{3}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GenerateDEK(DEKSpec{Label: "new", ID: []byte{4}}); !errors.Is(err, ErrLabelTaken) {
		t.Fatalf("a label claimed in the batch: err = %v, want ErrLabelTaken", err)
	}
	passed, err := c.Recheck()
	if err != nil || len(passed) != 1 || passed[0] != "new" {
		t.Fatalf("Recheck = %v, %v; want [new]", passed, err)
	}
	if ids := labelsOn(t, tok, "there-before"); len(ids) != 1 {
		t.Fatalf("objects labelled there-before: %v", ids)
	}
	if ids := labelsOn(t, tok, "new"); len(ids) != 1 {
		t.Fatalf("objects labelled new: %v", ids)
	}
}

// Another writer creating an object with a claimed label, before or after the key is created,
// is found by Recheck: the new key is destroyed, the other left, the rest of the batch passes.
// The same race the per-key check finds (TestLabelClaimDestroysADuplicate).
func TestBulkClaimsDestroyADuplicate(t *testing.T) {
	for _, after := range []bool{false, true} {
		for _, unwrap := range []bool{false, true} {
			name := fmt.Sprintf("after=%v,unwrap=%v", after, unwrap)
			t.Run(name, func(t *testing.T) {
				raced := "raced-2"
				tok := claimsToken(t, fmt.Sprintf("bulk-race-%v-%v", after, unwrap), &searches{sneak: raced, sneakAfter: after})
				c, err := tok.ClaimLabels(4)
				if err != nil {
					t.Fatal(err)
				}
				kek, err := tok.ImportKEK(make([]byte, 32), "kek", UnwrapOnly)
				if err != nil {
					t.Fatal(err)
				}
				blob, err := keywrap.WrapPad(make([]byte, 32), make([]byte, 32))
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < 4; i++ {
					s := DEKSpec{Label: fmt.Sprintf("raced-%d", i), ID: []byte{byte(i)}}
					if unwrap {
						_, err = c.UnwrapDEK(kek, blob, s)
					} else {
						_, err = c.GenerateDEK(s)
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				passed, err := c.Recheck()
				var dup *DuplicateLabelError
				if !errors.As(err, &dup) || !errors.Is(err, ErrLabelTaken) || dup.Label != raced || dup.Others != 1 || dup.DestroyErr != nil {
					t.Fatalf("Recheck err = %v, want a DuplicateLabelError for %s", err, raced)
				}
				if strings.Join(passed, ",") != "raced-0,raced-1,raced-3" {
					t.Fatalf("passed %v", passed)
				}
				if ids := labelsOn(t, tok, raced); len(ids) != 1 || ids[0] != fmt.Sprintf("%x", "intruder") {
					t.Fatalf("objects labelled %s: IDs %v, want only the intruder's", raced, ids)
				}
			})
		}
	}
}

// A key removed by someone else before Recheck is not vouched for.
func TestBulkClaimsNoticeAVanishedKey(t *testing.T) {
	tok := claimsToken(t, "bulk-vanish", &searches{})
	c, err := tok.ClaimLabels(1)
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.GenerateDEK(DEKSpec{Label: "gone", ID: []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Destroy(); err != nil {
		t.Fatal(err)
	}
	if passed, err := c.Recheck(); !errors.Is(err, ErrNotFound) || len(passed) != 0 {
		t.Fatalf("Recheck = %v, %v; want ErrNotFound", passed, err)
	}
}

// The point of claims in bulk: moving n keys makes a number of searches that grows with
// log n, not two per key (each search may read every object on the token: SoftHSM's file
// store does).
func TestBulkClaimsSearchRarely(t *testing.T) {
	s := &searches{}
	tok := claimsToken(t, "bulk-searches", s)
	const n = 200
	c, err := tok.ClaimLabels(n)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := c.GenerateDEK(DEKSpec{Label: fmt.Sprintf("k-%04d", i), ID: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
		if c.Due() {
			if passed, err := c.Recheck(); err != nil || len(passed) == 0 {
				t.Fatalf("Recheck = %d passed, %v", len(passed), err)
			}
		}
	}
	if _, err := c.Recheck(); err != nil {
		t.Fatal(err)
	}
	// 200 keys: one listing, rechecks after 64 and 128 keys and at the end.
	if s.n > 4 {
		t.Fatalf("%d searches for %d keys, want at most 4", s.n, n)
	}
	perKey := &searches{}
	tok2 := claimsToken(t, "bulk-searches-2", perKey)
	for i := 0; i < 10; i++ {
		if _, err := tok2.GenerateDEK(DEKSpec{Label: fmt.Sprintf("k-%04d", i), ID: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if perKey.n != 20 {
		t.Fatalf("per-key claims made %d searches for 10 keys, want 20 (check before and after)", perKey.n)
	}
}

// An inventory reads a key's class, label, ID and key type in one call, and what is not a key
// in the two calls it always made: every object reads as those two calls read it.
func TestObjectReadsAsTwoCalls(t *testing.T) {
	tok := claimsToken(t, "object-reads", &searches{})
	if _, err := tok.GenerateKeyPair(KeySpec{Label: "pair", Algorithm: ECDSAP256}); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.GenerateDEK(DEKSpec{Label: "dek", ID: []byte{7}}); err != nil {
		t.Fatal(err)
	}
	tok.mu.Lock()
	defer tok.mu.Unlock()
	if _, err := tok.m.ctx.CreateObject(tok.session, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_DATA),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_LABEL, "data"), pkcs11.NewAttribute(pkcs11.CKA_VALUE, []byte("x"))}); err != nil {
		t.Fatal(err)
	}
	hs, err := tok.find(nil)
	if err != nil {
		t.Fatal(err)
	}
	classes := map[string]bool{}
	for _, h := range hs {
		got, gotClass := tok.object(h)
		want, wantClass := objectInTwoCalls(tok, h)
		if got != want || gotClass != wantClass {
			t.Errorf("object %d reads %+v (class %d), two calls read %+v (class %d)", h, got, gotClass, want, wantClass)
		}
		classes[got.Class] = true
	}
	if len(classes) != 4 {
		t.Fatalf("classes read: %v, want private key, public key, secret key and unreadable (SoftHSM's data objects have no CKA_ID)", classes)
	}
}

// objectInTwoCalls is how Token.object read an object before it read a key in one call.
func objectInTwoCalls(t *Token, h pkcs11.ObjectHandle) (Object, uint) {
	attrs, err := t.m.ctx.GetAttributeValue(t.session, h, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, nil), pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil), pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
	})
	if err != nil {
		return Object{Class: "unreadable", Error: wrap("read object attributes", "", err).Error()}, ^uint(0)
	}
	class := ulong(attrs[0].Value)
	o := Object{Class: className(class), Label: string(attrs[1].Value), ID: fmt.Sprintf("%x", attrs[2].Value)}
	if kt, err := t.m.ctx.GetAttributeValue(t.session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil)}); err == nil {
		o.KeyType = keyTypeName(ulong(kt[0].Value))
	}
	return o, class
}

// A few keys beside many objects are claimed with a search each, before and right after each
// key is made, as Token.GenerateDEK does: a listing would read every object. A race is found
// the same way.
func TestFewClaimsSearchPerLabel(t *testing.T) {
	s := &searches{sneak: "few-1"}
	tok := claimsToken(t, "few-claims", s)
	for i := 0; i < 6; i++ {
		if _, err := tok.GenerateDEK(DEKSpec{Label: fmt.Sprintf("other-%d", i), ID: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	s.n = 0
	c, err := tok.ClaimLabels(2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GenerateDEK(DEKSpec{Label: "other-3", ID: []byte{9}}); !errors.Is(err, ErrLabelTaken) {
		t.Fatalf("a label on the token: err = %v, want ErrLabelTaken", err)
	}
	for i, want := range []int{4, 6} { // the count, the refused claim, then per key a search before and after
		if _, err := c.GenerateDEK(DEKSpec{Label: fmt.Sprintf("few-%d", i), ID: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
		if !c.Due() {
			t.Fatal("a key claimed with a search is not due for its second check at once")
		}
		passed, err := c.Recheck()
		if i == 0 && (err != nil || len(passed) != 1) {
			t.Fatalf("Recheck = %v, %v", passed, err)
		}
		var dup *DuplicateLabelError
		if i == 1 && (!errors.As(err, &dup) || dup.Label != "few-1" || len(passed) != 0) {
			t.Fatalf("Recheck of the raced key = %v, %v; want a DuplicateLabelError", passed, err)
		}
		if s.n != want {
			t.Fatalf("%d searches after key %d, want %d", s.n, i, want)
		}
	}
	if ids := labelsOn(t, tok, "few-1"); len(ids) != 1 || ids[0] != fmt.Sprintf("%x", "intruder") {
		t.Fatalf("objects labelled few-1: IDs %v, want only the intruder's", ids)
	}
}

// The claims' listing gives the keys SecretKeys lists (AES secret keys with the prefix, with
// their IDs), on a token that also holds a key pair, a generic secret key and AES keys without
// the prefix; with few
// keys planned it lists nothing and says so.
func TestClaimsListTheKeysSecretKeysLists(t *testing.T) {
	tok := claimsToken(t, "claims-list-keys", &searches{})
	for i, label := range []string{"mv-2", "other", "mv-1", "mv-10", "mvx"} {
		if _, err := tok.GenerateDEK(DEKSpec{Label: label, ID: []byte{byte(i), 'k'}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tok.GenerateKeyPair(KeySpec{Label: "mv-pair", Algorithm: ECDSAP256}); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.m.ctx.GenerateKey(tok.session, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_GENERIC_SECRET_KEY_GEN, nil)}, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_GENERIC_SECRET),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true), pkcs11.NewAttribute(pkcs11.CKA_LABEL, "mv-generic"), pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32),
	}); err != nil {
		t.Fatal(err)
	}
	describe := func(ks []SecretKeyInfo) string {
		var out []string
		for _, k := range ks {
			out = append(out, fmt.Sprintf("%s/%x", k.Label, k.ID))
		}
		return strings.Join(out, ",")
	}
	want, err := tok.SecretKeys("mv-")
	if err != nil {
		t.Fatal(err)
	}
	keys := &KeyList{Prefix: "mv-"}
	c, listed, err := tok.ClaimLabelsAndList(10, keys)
	if err != nil || !listed {
		t.Fatalf("ClaimLabelsAndList = listed %v, %v", listed, err)
	}
	if got := describe(keys.Keys); got != describe(want) || len(want) != 3 {
		t.Fatalf("keys from the claims' listing %s, SecretKeys %s", got, describe(want))
	}
	for _, k := range keys.Keys {
		if kcv, err := k.Key().CheckValueECB(); err != nil || len(kcv) != 6 {
			t.Fatalf("the listed key %s is not usable: %q, %v", k.Label, kcv, err)
		}
	}
	if err := c.claim("generate key", "mv-pair"); !errors.Is(err, ErrLabelTaken) {
		t.Fatalf("the key pair's label: err = %v, want ErrLabelTaken", err)
	}
	few := &KeyList{Prefix: "mv-"}
	if _, listed, err := tok.ClaimLabelsAndList(1, few); err != nil || listed || len(few.Keys) != 0 {
		t.Fatalf("one key planned on a token of 8 objects: listed %v, keys %d, %v; want a search per label", listed, len(few.Keys), err)
	}
}
