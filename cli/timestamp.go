package cli

import (
	"bytes"
	"crypto"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/keyrite/keyrite/cli/base"
	"github.com/keyrite/keyrite/evidence"
	"github.com/keyrite/keyrite/internal/atomicfile"
)

// TimestampSuffix names a bundle's RFC 3161 timestamp response: BUNDLE.tsr.
const TimestampSuffix = base.TimestampSuffix

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
	ts, err := base.CheckTimestamp(der, manifest, *ca)
	if err != nil {
		return fmt.Errorf("the time-stamping authority's answer is not kept: %w", err)
	}
	name := pos[0] + TimestampSuffix
	if err := atomicfile.Create(name, der, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Timestamped %s at %s by %s: %s\n", pos[0], ts.Time.UTC().Format(time.RFC3339), Escape(base.TSAName(ts)), name)
	return nil
}
