// Package evidence verifies what an auditor is handed: a ceremony folder, a folder of chained
// ceremonies, or an evidence bundle. It depends on the transcript format, the standard library
// and small format libraries only — no PDF renderer, no GUI, no PKCS#11 — so
// cmd/keyrite-verify builds with CGO_ENABLED=0 anywhere (a test checks its dependencies).
//
// Guarantees:
//   - A bundle verifies only if its manifest, signed by the ceremony's transcript signer, lists
//     exactly the files it holds with their SHA-256 and size, the transcript and seal inside
//     verify, and every output the transcript names is listed as recorded. MANIFEST and
//     MANIFEST.sig come first, once each; a duplicate, an unlisted or a sparse member, or a
//     member whose size differs from the manifest is refused before any of it is written or
//     hashed.
//   - The report is checked by its hash in the signed manifest. Re-rendering is an extra
//     check, made only when the bundle records the renderer version that wrote it and the
//     verifier runs that same version; the result says which was done.
//   - A ceremony folder holds only files the transcript names, plus the report and bundle
//     Keyrite writes after the seal, which are checked against the bundle's manifest. Only
//     regular files are read (no symlinks, FIFOs or devices), and none past the size its
//     record gives.
//   - Bundles written by every earlier version verify (testdata/compat).
//   - Inspect shows a security officer where evidence is wrong: each record good, bad with its
//     reason, or not checkable past a broken chain; each file good, bad, missing or
//     unexpected; the seal and the chain summary even when something fails. Its verdict is
//     VerifyPath's own, and a refused verdict is always explained by some record, file, seal,
//     root or log entry found wrong, or else its whole text is shown (tested on every one-byte
//     change of the compatibility fixtures).
package evidence
