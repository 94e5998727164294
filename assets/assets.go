// Package assets holds the files the app ships inside its binary: the icon (also named in
// FyneApp.toml for `fyne package`).
package assets

import _ "embed"

// Icon is the app icon, 256×256 PNG.
//
//go:embed icon.png
var Icon []byte
