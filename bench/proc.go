package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
// It is 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuTime is the user+system CPU a process has used so far.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// After the name: state(3) ... utime(14) stime(15).
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// rss is the resident set of a process, from /proc/<pid>/status.
func rss(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// findAsterisk finds the pid of the sandbox's Asterisk: the process whose
// command line is `/usr/sbin/asterisk -C <confDir>/asterisk.conf -f ...`
// (chroot execs it, so it keeps the pid the sandbox started), not one of
// the `asterisk -rx` CLI clients.
func findAsterisk(confDir string) (int, error) {
	conf := confDir + "/asterisk.conf"
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(d + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) == 0 || !strings.HasSuffix(args[0], "asterisk") {
			continue
		}
		var hasConf, foreground, remote bool
		for i, a := range args {
			switch {
			case a == "-C" && i+1 < len(args) && args[i+1] == conf:
				hasConf = true
			case a == "-f":
				foreground = true
			case strings.HasPrefix(a, "-r") || strings.HasPrefix(a, "-x"):
				remote = true
			}
		}
		if hasConf && foreground && !remote {
			return strconv.Atoi(filepath.Base(d))
		}
	}
	return 0, fmt.Errorf("no asterisk process with -C %s", conf)
}

// cpuMeter measures the CPU a set of processes use over a window.
type cpuMeter struct {
	pids  map[string]int
	start map[string]time.Duration
	at    time.Time
}

func newCPUMeter(pids map[string]int) *cpuMeter {
	m := &cpuMeter{pids: pids, start: map[string]time.Duration{}, at: time.Now()}
	for name, pid := range pids {
		m.start[name], _ = cpuTime(pid)
	}
	return m
}

// read returns each process's CPU since the meter started, and the wall time.
func (m *cpuMeter) read() (map[string]time.Duration, time.Duration) {
	out := map[string]time.Duration{}
	for name, pid := range m.pids {
		t, err := cpuTime(pid)
		if err == nil {
			out[name] = t - m.start[name]
		}
	}
	return out, time.Since(m.at)
}

// loadAvg is the 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func portOf(addr string) int {
	_, hex, ok := strings.Cut(addr, ":")
	if !ok {
		return -1
	}
	p, err := strconv.ParseInt(hex, 16, 32)
	if err != nil {
		return -1
	}
	return int(p)
}

// tcpStates counts the loopback TCP connections to port by state
// ("ESTABLISHED", "TIME_WAIT", ...).
func tcpStates(port int) map[string]int {
	names := map[string]string{"01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT"}
	out := map[string]int{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 {
				continue
			}
			name := names[f[3]]
			lp, rp := portOf(f[1]), portOf(f[2])
			// An established connection is listed from both ends: count the
			// client's; a closed one waits in TIME_WAIT at whichever end
			// closed first.
			if rp != port && !(name == "TIME_WAIT" && lp == port) {
				continue
			}
			if name == "" {
				name = "other"
			}
			out[name]++
		}
	}
	return out
}
