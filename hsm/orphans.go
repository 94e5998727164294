package hsm

import "github.com/miekg/pkcs11"

// Unlabelled counts the objects on the token that carry no label (or whose label cannot be
// read). A key-generating call killed halfway can leave such an object: SoftHSM2, for one,
// writes a new object before it has set all of its attributes.
func (t *Token) Unlabelled() (int, error) {
	hs, err := t.unlabelled()
	return len(hs), err
}

// DestroyUnlabelled destroys every object Unlabelled counts and returns how many there were.
// It is meant for an operator-confirmed clean-up of an interrupted step, on a token whose
// inventory before the ceremony held no such object.
func (t *Token) DestroyUnlabelled() (int, error) {
	hs, err := t.unlabelled()
	if err != nil {
		return 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, h := range hs {
		if err := t.m.ctx.DestroyObject(t.session, h); err != nil {
			return 0, wrap("destroy unlabelled object", "", err)
		}
	}
	return len(hs), nil
}

func (t *Token) unlabelled() ([]pkcs11.ObjectHandle, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hs, err := t.find(nil)
	if err != nil {
		return nil, wrap("list objects on token", t.Info.Label, err)
	}
	var out []pkcs11.ObjectHandle
	for _, h := range hs {
		a, err := t.m.ctx.GetAttributeValue(t.session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil)})
		if err != nil || len(a) == 0 || len(a[0].Value) == 0 {
			out = append(out, h)
		}
	}
	return out, nil
}
