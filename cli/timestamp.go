package cli

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/keyrite/keyrite/evidence"
	"github.com/keyrite/keyrite/internal/atomicfile"
)

// TimestampSuffix names a bundle's RFC 3161 timestamp response: BUNDLE.tsr.
const TimestampSuffix = ".tsr"

// timestampCmd is `keyrite timestamp BUNDLE --tsa URL [--tsa-ca FILE]`: on a connected machine,
// a time-stamping authority signs the SHA-256 of the bundle's signed MANIFEST (RFC 3161), and
// the response is kept beside the bundle as BUNDLE.tsr, where `keyrite verify BUNDLE` and
// `openssl ts -verify` check it.
func timestampCmd(args []string, env Env) error {
	fs := newFlagSet("timestamp", env)
	tsa := fs.String("tsa", "", "the time-stamping authority's URL (RFC 3161 over HTTP)")
	ca := fs.String("tsa-ca", "", "the TSA's CA certificate(s) (PEM), to check the response before keeping it")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *tsa == "" {
		return usageError{"usage: keyrite timestamp BUNDLE --tsa URL [--tsa-ca FILE]"}
	}
	manifest, err := evidence.BundleManifest(pos[0])
	if err != nil {
		return err
	}
	req, err := timestamp.CreateRequest(bytes.NewReader(manifest), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true})
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Post(*tsa, "application/timestamp-query", bytes.NewReader(req))
	if err != nil {
		return fmt.Errorf("time-stamping authority: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("time-stamping authority %s answered %s", *tsa, resp.Status)
	}
	der, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("time-stamping authority: %w", err)
	}
	ts, err := checkTimestamp(der, manifest, *ca)
	if err != nil {
		return fmt.Errorf("the time-stamping authority's answer is not kept: %w", err)
	}
	name := pos[0] + TimestampSuffix
	if err := atomicfile.Create(name, der, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Timestamped %s at %s by %s: %s\n", pos[0], ts.Time.UTC().Format(time.RFC3339), Escape(tsaName(ts)), name)
	return nil
}

// checkTimestamp checks an RFC 3161 response: granted, its signature, its imprint equal to the
// SHA-256 of manifest, and — with caFile — the TSA certificate's chain and timeStamping usage.
func checkTimestamp(der, manifest []byte, caFile string) (*timestamp.Timestamp, error) {
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

func tsaName(ts *timestamp.Timestamp) string {
	if len(ts.Certificates) > 0 {
		return ts.Certificates[0].Subject.String()
	}
	return "an unnamed TSA"
}

// verifyTimestamp checks BUNDLE.tsr when it is there, after the bundle itself verified.
func verifyTimestamp(out io.Writer, bundle, caFile string) error {
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
	ts, err := checkTimestamp(der, manifest, caFile)
	if err != nil {
		return fmt.Errorf("%s: %w", bundle+TimestampSuffix, err)
	}
	fmt.Fprintf(out, "Timestamp: the signed MANIFEST existed at %s (RFC 3161, %s).\n", ts.Time.UTC().Format(time.RFC3339), Escape(tsaName(ts)))
	if caFile == "" {
		fmt.Fprintln(out, "The time-stamping authority's certificate was not checked: give its CA with --tsa-ca.")
	}
	return nil
}
