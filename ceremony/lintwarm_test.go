package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/keyrite/keyrite/hsm"
)

// entries counts what the process keeps: filtered registries and throwaway keys.
func entries() int {
	n := 0
	count := func(m *sync.Map) { m.Range(func(any, any) bool { n++; return true }) }
	count(&throwaways)
	filtered.Lock()
	n += len(filtered.m)
	filtered.Unlock()
	return n
}

// After warmLints, a root ceremony's lints (the shapes of the pre-flight and before signing,
// the issued certificates after) make no registry and no throwaway key the warm-up did not
// make: WarmLints makes what they use.
func TestWarmLintsMakesWhatARootCeremonyUses(t *testing.T) {
	warmLints(hsm.ECDSAP384)
	before := entries()
	rootKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	signerKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	now := time.Now()
	root, rc := testRoot(t, rootKey, "Warm Root")
	pol := Profile{}.policy()
	if _, _, err := lintCertificate("root.pem", root, nil, hsm.ECDSAP384, nil, hsm.ECDSAP384, pol); err != nil {
		t.Fatal(err)
	}
	if _, err := lintIssued("root.pem", "self-signed", rc.Raw, pol); err != nil {
		t.Fatal(err)
	}
	signer, err := signerTemplate(rc, 365, Profile{}, big.NewInt(2), now)
	if err != nil {
		t.Fatal(err)
	}
	for _, pub := range []any{nil, signerKey.Public()} { // the pre-flight's shape, the step's
		if _, _, err := lintCertificate("transcript-signer.pem", signer, rc, hsm.ECDSAP384, pub, signerAlg, pol); err != nil {
			t.Fatal(err)
		}
	}
	sc, err := issue(signer, rc, signerKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lintIssued("transcript-signer.pem", "issued", sc.Raw, pol); err != nil {
		t.Fatal(err)
	}
	if after := entries(); after != before {
		t.Fatalf("the lints made %d registries or keys the warm-up did not", after-before)
	}
}
