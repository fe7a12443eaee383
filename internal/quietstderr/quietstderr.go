// Package quietstderr lets a test binary check that the code under test
// writes nothing to the process's standard error: atcc is a library, and a
// library is quiet unless the user's logger says otherwise.
package quietstderr

import (
	"fmt"
	"os"
)

// Run runs m (a *testing.M) with file descriptor 2 redirected into a pipe (where the
// platform allows it), so that writes by any code to stderr, os.Stderr or
// not, are caught. It returns m.Run's exit code, or 1 when anything was
// written, which it then copies to the real stderr with a header. Call it
// from TestMain: os.Exit(quietstderr.Run(m)).
func Run(m interface{ Run() int }) int {
	restore, collect, err := redirect()
	if err != nil {
		fmt.Fprintln(os.Stderr, "quietstderr: stderr not checked:", err)
		return m.Run()
	}
	code := m.Run()
	restore()
	if out := collect(); len(out) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the tests wrote %d bytes to stderr:\n%s\n", len(out), out)
		return 1
	}
	return code
}
