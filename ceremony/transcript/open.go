package transcript

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNotRegular is wrapped by the error for evidence that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// OpenRegular opens name for reading only if it is a regular file: a symlink, FIFO, device or
// socket is refused without being followed or read (O_NOFOLLOW, O_NONBLOCK, then fstat).
func OpenRegular(name string) (*os.File, error) {
	if fi, err := os.Lstat(name); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (it is a %s); evidence is only ever read from regular files", name, ErrNotRegular, FileKind(fi.Mode()))
	}
	f, err := os.OpenFile(name, openFlags, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (a symlink or special file is never followed)", name, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w; evidence is only ever read from regular files", name, ErrNotRegular)
	}
	return f, nil
}

// FileKind names the kind of a file that is not regular, for an error message.
func FileKind(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "symbolic link"
	case m&os.ModeNamedPipe != 0:
		return "FIFO"
	case m&os.ModeDevice != 0:
		return "device"
	case m&os.ModeSocket != 0:
		return "socket"
	case m.IsDir():
		return "folder"
	}
	return "special file"
}

// ReadFileMax reads the regular file name, refusing one larger than max bytes without
// reading past max+1.
func ReadFileMax(name string, max int64) ([]byte, error) {
	f, err := OpenRegular(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than the %d bytes it may be", name, max)
	}
	return b, nil
}
