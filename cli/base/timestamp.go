package base

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/keyrite/keyrite/evidence"
)

// TimestampSuffix names a bundle's RFC 3161 timestamp response: BUNDLE.tsr.
const TimestampSuffix = ".tsr"

// CheckTimestamp checks an RFC 3161 response: granted, its signature, its imprint equal to the
// SHA-256 of manifest, and — with caFile — the TSA certificate's chain and timeStamping usage.
func CheckTimestamp(der, manifest []byte, caFile string) (*timestamp.Timestamp, error) {
	ts, err := timestamp.ParseResponse(der)
	if err != nil {
		return nil, fmt.Errorf("RFC 3161 response: %w", err)
	}
	sum := sha256.Sum256(manifest)
	if ts.HashAlgorithm != crypto.SHA256 || !bytes.Equal(ts.HashedMessage, sum[:]) {
		return nil, errors.New("the timestamp is over another file than this bundle's MANIFEST")
	}
	if caFile == "" {
		return ts, nil
	}
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	if len(ts.Certificates) == 0 {
		return nil, errors.New("the response carries no TSA certificate to check")
	}
	inter := x509.NewCertPool()
	for _, c := range ts.Certificates[1:] {
		inter.AddCert(c)
	}
	if _, err := ts.Certificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: ts.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
		return nil, fmt.Errorf("the TSA certificate does not chain to %s for time-stamping: %w", caFile, err)
	}
	return ts, nil
}

// TSAName names the TSA that signed ts, by its certificate's subject.
func TSAName(ts *timestamp.Timestamp) string {
	if len(ts.Certificates) > 0 {
		return ts.Certificates[0].Subject.String()
	}
	return "an unnamed TSA"
}

// VerifyTimestamp checks BUNDLE.tsr when it is there, after the bundle itself verified.
func VerifyTimestamp(out io.Writer, bundle, caFile string) error {
	der, err := os.ReadFile(bundle + TimestampSuffix)
	if errors.Is(err, os.ErrNotExist) {
		if caFile != "" {
			return fmt.Errorf("--tsa-ca was given, but %s has no timestamp (%s)", bundle, bundle+TimestampSuffix)
		}
		return nil
	}
	if err != nil {
		return err
	}
	manifest, err := evidence.BundleManifest(bundle)
	if err != nil {
		return err
	}
	ts, err := CheckTimestamp(der, manifest, caFile)
	if err != nil {
		return fmt.Errorf("%s: %w", bundle+TimestampSuffix, err)
	}
	fmt.Fprintf(out, "Timestamp: the signed MANIFEST existed at %s (RFC 3161, %s).\n", ts.Time.UTC().Format(time.RFC3339), Escape(TSAName(ts)))
	if caFile == "" {
		fmt.Fprintln(out, "The time-stamping authority's certificate was not checked: give its CA with --tsa-ca.")
	}
	return nil
}
