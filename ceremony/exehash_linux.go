package ceremony

import (
	"fmt"
	"os"
	"syscall"
)

// fileIdentity names the open file f as it is now: device, inode, size, and the modification
// and change times in nanoseconds (the change time moves on every write and every metadata
// change, and cannot be set from user space).
func fileIdentity(f *os.File) (string, bool) {
	fi, err := f.Stat()
	if err != nil {
		return "", false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("dev=%d ino=%d size=%d mtime=%d.%09d ctime=%d.%09d",
		st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec), true
}
