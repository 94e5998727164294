//go:build !nogui && !front

package main

import "github.com/keyrite/keyrite/app"

// gui opens the desktop app with the example scripts.
func gui(examples map[string][]byte) func() error {
	return func() error { return app.Run(examples) }
}
