package integration

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrPortInUse: the sandbox's ARI port is held by another process (often
// another Asterisk, whose ARI would answer the readiness ping instead).
var ErrPortInUse = errors.New("port in use")

// portFree checks that nothing listens on 127.0.0.1:port, so the sandbox's
// Asterisk can take it.
func portFree(port int) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("%w: 127.0.0.1:%d is already taken by another program (another Asterisk?): stop it, or choose another port (sandbox up -port N; make run ARI_PORT=N): %v", ErrPortInUse, port, err)
	}
	return l.Close()
}

// listens reports whether process pid holds a listening TCP socket on
// port: the readiness ping of a sandbox must reach its own Asterisk, not
// whatever else took the port in the meantime.
func listens(pid, port int) (bool, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return false, err
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 32); ok && err == nil && int(p) == port {
				inodes["socket:["+fields[9]+"]"] = true
			}
		}
		fh.Close()
	}
	if len(inodes) == 0 {
		return false, nil
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false, err
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err == nil && inodes[link] {
			return true, nil
		}
	}
	return false, nil
}
