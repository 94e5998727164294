//go:build !(linux || darwin)

package ceremony

import (
	"errors"
	"runtime"
)

var errNoSpaceCheck = errors.New("free space cannot be measured on " + runtime.GOOS + ": Keyrite runs ceremonies on Linux (or macOS)")

func writable(string) error { return errNoSpaceCheck }

func freeBytes(string) (uint64, error) { return 0, errNoSpaceCheck }
