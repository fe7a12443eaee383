package quietstderr

import (
	"io"
	"os"
	"syscall"
)

// redirect points file descriptor 2 at a pipe and returns functions that
// restore it and that return what was written meanwhile.
func redirect() (restore func(), collect func() []byte, err error) {
	saved, err := syscall.Dup(2)
	if err != nil {
		return nil, nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		syscall.Close(saved)
		return nil, nil, err
	}
	if err := syscall.Dup3(int(w.Fd()), 2, 0); err != nil {
		syscall.Close(saved)
		r.Close()
		w.Close()
		return nil, nil, err
	}
	done := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	restore = func() {
		_ = syscall.Dup3(saved, 2, 0)
		syscall.Close(saved)
		w.Close()
	}
	collect = func() []byte {
		b := <-done
		r.Close()
		return b
	}
	return restore, collect, nil
}
