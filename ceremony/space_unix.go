//go:build linux || darwin

package ceremony

import "syscall"

// writable reports whether this process may create files in dir (access(2) with W_OK, which
// also fails on a read-only file system), without creating one.
func writable(dir string) error { return syscall.Access(dir, 2) }

// freeBytes is the space an unprivileged process may still write on dir's file system.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
