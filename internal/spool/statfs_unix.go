//go:build linux || darwin || freebsd

package spool

import "syscall"

// statfs reports the bytes available to unprivileged users and the total
// size of the file system holding path.
func statfs(path string) (avail, total int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize), nil
}
