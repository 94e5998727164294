//go:build nogui && !front

package main

// gui is nil in the command-line build (go build -tags nogui; scripts/build's ./keyrite-cli,
// which ./keyrite hands every command but verify): it links no Fyne, OpenGL or X11 library, so
// it runs on a machine without them and every command starts sooner (Go initialises every
// package a binary links before main, Fyne's among them); `keyrite` without a command prints
// its usage.
func gui(map[string][]byte) func() error { return nil }
