//go:build unix

package transcript

import (
	"os"
	"syscall"
)

// openFlags never follow a symlink in the last element and never block opening a FIFO.
const openFlags = os.O_RDONLY | syscall.O_NOFOLLOW | syscall.O_NONBLOCK
