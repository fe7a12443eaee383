package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux this runs on).
const clockTick = 10 * time.Millisecond

// watched is another process whose CPU time the bench reports per
// transaction: the database server, or a coordinator run apart.
type watched struct {
	name string
	pid  int
}

// findProcesses returns, for each name, the first process whose command
// name (/proc/<pid>/comm) it is. Names without a process are left out; on
// systems without /proc nothing is found.
func findProcesses(names []string) []watched {
	var out []watched
	dirs, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, name := range names {
		for _, d := range dirs {
			b, err := os.ReadFile(d)
			if err != nil || strings.TrimSpace(string(b)) != name {
				continue
			}
			pid, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
			if err == nil {
				out = append(out, watched{name: name, pid: pid})
				break
			}
		}
	}
	return out
}

// cpu returns the user and system CPU time w's process has used, or -1
// when it cannot be read.
func (w watched) cpu() time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(w.pid) + "/stat")
	if err != nil {
		return -1
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count the fields after its closing parenthesis (field 3 is state;
	// utime and stime are fields 14 and 15).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * clockTick
}
