package hsm

import (
	"fmt"
	"net/url"
	"strings"
)

// URI is the subset of an RFC 7512 PKCS#11 URI that selects a module and a token, for example
//
//	pkcs11:token=Root%20CA;serial=4f1c0e2a9d3b6a71?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin
//
// pin-value is refused: a PIN written into a URI ends up in shell history, process lists and
// transcripts.
type URI struct {
	ModulePath   string
	Token        string // CKA token label
	Serial       string
	Manufacturer string
	Model        string
	Object       string // object label
	PinSource    string // "file:/path" or a path
}

// ParseURI parses an RFC 7512 PKCS#11 URI.
func ParseURI(s string) (*URI, error) {
	rest, ok := strings.CutPrefix(s, "pkcs11:")
	if !ok {
		return nil, fmt.Errorf("PKCS#11 URI %q must start with \"pkcs11:\"", s)
	}
	path, query, _ := strings.Cut(rest, "?")
	u := &URI{}
	seen := map[string]bool{}
	set := func(kind, attr, raw string, known map[string]*string) error {
		v, err := url.PathUnescape(raw)
		if err != nil {
			return fmt.Errorf("PKCS#11 URI %s attribute %q: %v", kind, attr, err)
		}
		if seen[attr] {
			return fmt.Errorf("PKCS#11 URI: attribute %q is given twice", attr)
		}
		seen[attr] = true
		if attr == "pin-value" {
			return fmt.Errorf("PKCS#11 URI: pin-value is refused because a PIN in a URI leaks into history and transcripts; use pin-source=file:/path or enter the PIN at the prompt")
		}
		if p, ok := known[attr]; ok {
			*p = v
		}
		// Attributes Keyrite does not use (slot-id, library-*, type, id, ...) are allowed
		// by RFC 7512 and ignored.
		return nil
	}
	pathAttrs := map[string]*string{"token": &u.Token, "serial": &u.Serial, "manufacturer": &u.Manufacturer, "model": &u.Model, "object": &u.Object}
	queryAttrs := map[string]*string{"module-path": &u.ModulePath, "pin-source": &u.PinSource}
	for _, kv := range splitNonEmpty(path, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("PKCS#11 URI: path attribute %q is not name=value", kv)
		}
		if err := set("path", k, v, pathAttrs); err != nil {
			return nil, err
		}
	}
	for _, kv := range splitNonEmpty(query, "&") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("PKCS#11 URI: query attribute %q is not name=value", kv)
		}
		if err := set("query", k, v, queryAttrs); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func splitNonEmpty(s, sep string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

// Selector picks exactly one token: by label, serial, or both.
func (u *URI) Selector() Selector {
	return Selector{Label: u.Token, Serial: u.Serial, Manufacturer: u.Manufacturer, Model: u.Model}
}
