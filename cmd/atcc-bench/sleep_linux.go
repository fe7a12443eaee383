package main

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// sleeper waits until a time at the resolution of the kernel's timers, in
// a timerfd read through Go's poller: the goroutine parks and frees its P
// as in time.Sleep. time.Sleep itself is too coarse here: Go's timers wake
// an idle process at millisecond granularity (the poller's epoll_wait
// takes milliseconds), so time.Sleep(250 µs) took 1.10 ms (median of 1000,
// Go 1.26, Linux, load average 3-4). A blocking nanosleep is precise
// (250 µs took 340 µs) but holds its P until sysmon takes it back, which
// may be 10 ms later: with GOMAXPROCS 2 two sleeping writers stalled the
// bench (local at concurrency 8 and a 250 µs delay: p50 17 ms). The
// timerfd's 250 µs took 313 µs. A sleeper is for one goroutine at a time.
type sleeper struct {
	fd uintptr
	f  *os.File
}

// itimerspec is the kernel's struct itimerspec.
type itimerspec struct{ interval, value syscall.Timespec }

func newSleeper() (*sleeper, error) {
	const clockMonotonic = 1
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		return nil, os.NewSyscallError("timerfd_create", errno)
	}
	// Nonblocking, so the os.File reads through the poller.
	return &sleeper{fd: fd, f: os.NewFile(fd, "timerfd")}, nil
}

// until returns at t or a little later.
func (s *sleeper) until(t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	its := itimerspec{value: syscall.NsecToTimespec(int64(d))}
	if _, _, errno := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, s.fd, 0, uintptr(unsafe.Pointer(&its)), 0, 0, 0); errno != 0 {
		return os.NewSyscallError("timerfd_settime", errno)
	}
	var expirations [8]byte
	_, err := s.f.Read(expirations[:])
	return err
}

func (s *sleeper) close() error { return s.f.Close() }
