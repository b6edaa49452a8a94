package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clkTck is USER_HZ, the unit of /proc CPU times: 100 on every Linux
// architecture Go supports.
const clkTck = 100

// procTicks is a process's user+system CPU time in clock ticks, from
// /proc/<pid>/stat (fields 14 and 15).
func procTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: fields count from the
	// last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("ramp: odd /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("ramp: short /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("ramp: /proc/%d/stat: %v %v", pid, err1, err2)
	}
	return u + s, nil
}

// machine is the whole machine's CPU time from /proc/stat, in ticks.
type machine struct{ total, idle, iowait int64 }

func machineTicks() (machine, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machine{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return machine{}, fmt.Errorf("ramp: odd /proc/stat")
	}
	var m machine
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i < 8 { // guest times are already in user and nice
			m.total += n
		}
		switch i {
		case 3:
			m.idle = n
		case 4:
			m.iowait = n
		}
	}
	return m, nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// findPID finds the process whose command line contains every one of
// words (the Bee started by beetest, or one given by URL on this machine).
func findPID(words ...string) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		cmd := string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(cmd, w)
		}
		if ok {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
			if pid != os.Getpid() {
				return pid
			}
		}
	}
	return 0
}
