package hsm

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// ReadPINFile reads a PIN from a file that only its owner can read. One trailing newline is
// removed. The caller zeroes the result (Token.Login does).
func ReadPINFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read PIN file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("read PIN file %s: it is readable by others (mode %v); run chmod 600 on it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read PIN file: %w", err)
	}
	return trimPIN(b), nil
}

// ReadPINFD reads a PIN from an inherited file descriptor (for example 3<pinfile), up to EOF.
func ReadPINFD(fd int) ([]byte, error) {
	f := os.NewFile(uintptr(fd), fmt.Sprintf("fd %d", fd))
	if f == nil {
		return nil, fmt.Errorf("read PIN from file descriptor %d: not open", fd)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 256))
	if err != nil {
		return nil, fmt.Errorf("read PIN from file descriptor %d: %w", fd, err)
	}
	return trimPIN(b), nil
}

func trimPIN(b []byte) []byte {
	t := bytes.TrimRight(b, "\r\n")
	out := bytes.Clone(t)
	zero(b)
	return out
}
