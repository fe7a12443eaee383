//go:build unix

package rpc

import "syscall"

// fdBudget is 90% of the process's soft file-descriptor limit (Go raises it
// to the hard limit at start-up), or a large number when it is unknown.
func fdBudget() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<30 {
		return 1 << 30
	}
	return max(int(r.Cur)*9/10, 16)
}
