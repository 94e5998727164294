//go:build !unix

package transcript

import "os"

const openFlags = os.O_RDONLY
