package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/keyrite/keyrite/ceremony/transcript"
	"github.com/keyrite/keyrite/hsm/hsmtest"
	"github.com/miekg/pkcs11"
)

// failing makes the nth call of kind call the token gets after the transcript exists fail
// with a refusal (CKR_FUNCTION_FAILED): a failure no pre-flight could foresee.
func failing(t *testing.T, b Binding, dir, call string, nth int) Binding {
	t.Helper()
	var mu sync.Mutex
	seen := 0
	faulty := b
	faulty.Module = hsmtest.WithFaults(b.Module, func(c string) error {
		if _, err := os.Stat(filepath.Join(dir, transcript.FileName)); err != nil || c != call {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if seen++; seen == nth {
			return pkcs11.Error(pkcs11.CKR_FUNCTION_FAILED)
		}
		return nil
	})
	return faulty
}

// A root ceremony refused after its root key exists (the serial of its certificate cannot be
// read from the token's random number generator), before any transcript signer: it closes
// as aborted, the administrator and a witness consent to destroy the key, and a one-time key
// seals the transcript. The token holds what it held before; the verifier says aborted; a
// resume adds nothing to it.
func TestAbortBeforeSignerSealsWithOneTimeKey(t *testing.T) {
	b := freshToken(t)
	before := tokenObjects(t, b)
	dir := filepath.Join(t.TempDir(), "c")
	ui := &scriptedUI{}
	err := start(t, exampleScript(t), dir, failing(t, b, dir, "GenerateRandom", 2), ui, Options{})
	var ae *AbortedError
	if !errors.As(err, &ae) || ae.Sealed != nil || ae.Step != "sign-root-certificate" {
		t.Fatalf("err = %v", err)
	}
	res := verified(t, dir)
	ev := events(res)
	for _, want := range []string{"step.failed ceremony.aborted cleanup.destroyed token.inventory transcript.signer ceremony.closed"} {
		if !strings.Contains(ev, want) {
			t.Fatalf("events lack %q: %s", want, ev)
		}
	}
	if reason, ok := res.Aborted(); !ok || !strings.Contains(reason, "sign-root-certificate") || !res.OneTimeSeal() {
		t.Fatalf("aborted %v (%q), one-time %v", ok, reason, res.OneTimeSeal())
	}
	sum := transcript.Summary(res)
	if !strings.Contains(sum, "ABORTED") || !strings.Contains(sum, "one-time key") {
		t.Fatalf("the summary does not say so:\n%s", sum)
	}
	if !strings.Contains(strings.Join(ui.asked, "\n"), "The ceremony was aborted") {
		t.Fatalf("nobody consented to the destruction: %q", ui.asked)
	}
	if after := tokenObjects(t, b); !reflect.DeepEqual(before, after) {
		t.Fatalf("the aborted ceremony's key is still on the token:\n%v\n%v", before, after)
	}
	sealed, _ := os.ReadFile(filepath.Join(dir, transcript.FileName))
	resume(t, dir, b, &scriptedUI{}, Options{})
	if now, _ := os.ReadFile(filepath.Join(dir, transcript.FileName)); !reflect.DeepEqual(now, sealed) {
		t.Fatal("a resume wrote into the aborted, sealed transcript")
	}
	// A one-time seal never passes for the hierarchy's root.
	if _, err := transcript.Verify(dir, transcript.Options{RootSPKI: strings.Repeat("00", 32)}); err == nil {
		t.Fatal("a one-time seal verified against a pinned root")
	}
}

// The administrator or a witness may decline to destroy the aborted ceremony's key: it stays
// on the token and the transcript says so.
func TestAbortKeyLeftOnTokenWhenDeclined(t *testing.T) {
	b := freshToken(t)
	dir := filepath.Join(t.TempDir(), "c")
	err := start(t, exampleScript(t), dir, failing(t, b, dir, "GenerateRandom", 2), &scriptedUI{decline: []string{"The ceremony was aborted"}}, Options{})
	var ae *AbortedError
	if !errors.As(err, &ae) || ae.Sealed != nil {
		t.Fatalf("err = %v", err)
	}
	ev := events(verified(t, dir))
	if !strings.Contains(ev, "cleanup.declined key.left-on-token") {
		t.Fatalf("events: %s", ev)
	}
	tok := openLoggedIn(t, b)
	defer tok.Close()
	if has, _ := tok.HasLabel("example-root-2026"); !has {
		t.Fatal("the key was destroyed without consent")
	}
}

// A continuing ceremony refused while signing closes as aborted, sealed by the hierarchy's
// transcript signer; nothing can continue it.
func TestAbortSealedByTheHierarchysSigner(t *testing.T) {
	root := rootOn(t, "root-ceremony.yaml")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := writeCSR(t, key, "Example Issuing CA 2026")
	dir := filepath.Join(t.TempDir(), "intermediate")
	err := start(t, loadTestScript(t, "sign-intermediate-ceremony.yaml"), dir, failing(t, root.b, dir, "GenerateRandom", 1), &scriptedUI{}, Options{Previous: root.dir, CSR: csr})
	var ae *AbortedError
	if !errors.As(err, &ae) || ae.Sealed != nil || ae.Step != "sign-intermediate" {
		t.Fatalf("err = %v", err)
	}
	res := verified(t, dir)
	if _, ok := res.Aborted(); !ok || res.OneTimeSeal() || res.Signer.Subject.CommonName != "Example Root CA 2026 Transcript Signer" {
		t.Fatalf("aborted %v, one-time %v, signer %q", ok, res.OneTimeSeal(), res.Signer.Subject.CommonName)
	}
	if _, err := run(t, "sign-crl-ceremony.yaml", root.b, Options{Previous: dir}); err == nil || !strings.Contains(err.Error(), "was aborted") {
		t.Fatalf("a ceremony continued an aborted one: %v", err)
	}
}
