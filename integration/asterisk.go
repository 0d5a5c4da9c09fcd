// Package integration runs transferd against a real Asterisk 22: it owns the
// sandbox Asterisk (a Debian sid chroot, see scripts/asterisk-root.sh), the
// simulated phones and the end-to-end tests.
package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultRoot is where the Asterisk chroot is cached between runs.
const DefaultRoot = "/var/cache/transferd/asterisk-root"

// ARIUser is the ARI user of the sandbox (asterisk-conf/ari.conf).
const ARIUser = "transferd"

// Sandbox is one running Asterisk inside the chroot, with its own
// configuration directory, run directory and HTTP port, so several can run
// at once from the same chroot.
type Sandbox struct {
	Root     string // the chroot
	RunID    string // names every per-run directory
	HTTPPort int
	SIPPort  int // the PJSIP UDP transport on 127.0.0.1 (see sip.go)
	Password string
	ConfDir  string // inside the chroot: /etc/transferd/<run>

	repo string
	cmd  *exec.Cmd
	done chan error
	// logFile receives Asterisk's stdout and stderr.
	logFile *os.File
}

// SandboxOptions configures StartSandbox.
type SandboxOptions struct {
	Root     string // default DefaultRoot or $ASTERISK_ROOT
	RunID    string // default "run-<pid>-<nanos>"
	HTTPPort int    // default: a free loopback port
	Password string // default "transferd"
	RepoDir  string // the repository, for asterisk-conf/ and dialplan/; default: found from the working directory
	// Detach leaves Asterisk running when the calling process exits
	// (`make run`); tests leave it false so Asterisk dies with the test binary.
	Detach bool
}

// URL is the ARI base URL of the sandbox.
func (s *Sandbox) URL() string { return fmt.Sprintf("http://127.0.0.1:%d/ari", s.HTTPPort) }

// LogPath is Asterisk's full log, outside the chroot.
func (s *Sandbox) LogPath() string {
	return filepath.Join(s.runDir(), "log", "full")
}

// RootFromEnv returns $ASTERISK_ROOT or DefaultRoot.
func RootFromEnv() string {
	if r := os.Getenv("ASTERISK_ROOT"); r != "" {
		return r
	}
	return DefaultRoot
}

// EnsureRoot fails with instructions when the chroot is missing. It does not
// build it: `make asterisk` does (tests run through `make test`, which builds
// it first), because a build needs root and a minute of downloads.
func EnsureRoot(root string) error {
	if _, err := os.Stat(filepath.Join(root, ".transferd-complete")); err != nil {
		return fmt.Errorf("asterisk chroot %s is missing or incomplete: run `make asterisk` (or integration/scripts/asterisk-root.sh) as root: %w", root, err)
	}
	return nil
}

// FindRepo walks up from the working directory to the directory holding go.mod.
func FindRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// FreePort asks the kernel for a free loopback TCP port. Asterisk binds it
// itself a moment later; StartSandbox retries with another port if that
// races with someone else.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartSandbox renders asterisk-conf/ and dialplan/ into the chroot, starts
// Asterisk and waits until it is fully booted and ARI answers.
func StartSandbox(ctx context.Context, o SandboxOptions) (*Sandbox, error) {
	if o.Root == "" {
		o.Root = RootFromEnv()
	}
	if err := EnsureRoot(o.Root); err != nil {
		return nil, err
	}
	if o.RunID == "" {
		o.RunID = fmt.Sprintf("run-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)
	}
	if o.Password == "" {
		o.Password = "transferd"
	}
	if o.RepoDir == "" {
		repo, err := FindRepo()
		if err != nil {
			return nil, err
		}
		o.RepoDir = repo
	}
	port := o.HTTPPort
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if o.HTTPPort == 0 {
			p, err := FreePort()
			if err != nil {
				return nil, fmt.Errorf("free port: %w", err)
			}
			port = p
		}
		sipPort, err := FreeUDPPort()
		if err != nil {
			return nil, fmt.Errorf("free SIP port: %w", err)
		}
		s := &Sandbox{Root: o.Root, RunID: o.RunID, HTTPPort: port, SIPPort: sipPort, Password: o.Password,
			ConfDir: "/etc/transferd/" + o.RunID, repo: o.RepoDir}
		if err := s.render(); err != nil {
			return nil, err
		}
		if err := s.start(ctx, o.Detach); err != nil {
			lastErr = err
			if o.HTTPPort != 0 {
				break
			}
			continue
		}
		return s, nil
	}
	return nil, lastErr
}

// render writes the configuration of this run into the chroot.
func (s *Sandbox) render() error {
	modDir, err := s.moduleDir()
	if err != nil {
		return err
	}
	conf := filepath.Join(s.Root, s.ConfDir)
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return err
	}
	// Every writable directory of the run lives under one directory that is
	// not a symlink in the chroot (var/run is one, to the host's /run).
	// cdr_custom and cel_custom write into log/cdr-custom and log/cel-custom
	// but never create them: without them the records are lost.
	for _, d := range []string{"db", "spool", "run", "log", "cache", "log/cdr-custom", "log/cel-custom"} {
		if err := os.MkdirAll(filepath.Join(s.runDir(), d), 0o755); err != nil {
			return err
		}
	}
	repl := strings.NewReplacer("@RUN@", s.RunID, "@EID@", entityID(s.RunID), "@MODDIR@", modDir,
		"@HTTP_PORT@", strconv.Itoa(s.HTTPPort), "@ARI_PASSWORD@", s.Password)
	for _, src := range []string{"asterisk-conf", "dialplan"} {
		entries, err := os.ReadDir(filepath.Join(s.repo, src))
		if err != nil {
			return fmt.Errorf("read %s: %w", src, err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".conf") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(s.repo, src, e.Name()))
			if err != nil {
				return err
			}
			out := repl.Replace(string(b))
			if err := os.WriteFile(filepath.Join(conf, e.Name()), []byte(out), 0o644); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(filepath.Join(conf, "pjsip_sandbox.conf"), []byte(s.pjsipPhones()), 0o644)
}

// entityID is the Asterisk entity id of a run: a locally administered MAC
// address made from the run id, so every sandbox has its own.
func entityID(run string) string {
	h := fnv.New64a()
	h.Write([]byte(run))
	b := h.Sum(nil)
	return fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4])
}

// moduleDir finds Asterisk's module directory inside the chroot (its path
// names the architecture).
func (s *Sandbox) moduleDir() (string, error) {
	matches, _ := filepath.Glob(filepath.Join(s.Root, "usr/lib/*/asterisk/modules"))
	if len(matches) == 0 {
		return "", fmt.Errorf("no asterisk module directory under %s/usr/lib", s.Root)
	}
	return strings.TrimPrefix(matches[0], s.Root), nil
}

// CDRPath is the file of cdr_custom's JSON records (cdr_custom.conf),
// outside the chroot.
func (s *Sandbox) CDRPath() string { return filepath.Join(s.runDir(), "log", "cdr-custom", "cdr.json") }

// CELPath is the file of cel_custom's JSON records (cel_custom.conf).
func (s *Sandbox) CELPath() string { return filepath.Join(s.runDir(), "log", "cel-custom", "cel.json") }

// runDir holds the run's database, spool, control socket, logs and cache.
func (s *Sandbox) runDir() string { return filepath.Join(s.Root, "var/lib/transferd", s.RunID) }

func (s *Sandbox) confFile() string { return s.ConfDir + "/asterisk.conf" }

func (s *Sandbox) start(ctx context.Context, detach bool) error {
	if err := portFree(s.HTTPPort); err != nil {
		return err
	}
	// A stale control socket from a killed run makes Asterisk refuse to start.
	_ = os.Remove(filepath.Join(s.runDir(), "run", "asterisk.ctl"))
	logPath := filepath.Join(s.runDir(), "log", "stdout")
	lf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	s.logFile = lf
	cmd := exec.Command("chroot", s.Root, "/usr/sbin/asterisk", "-C", s.confFile(), "-f", "-n", "-vvv")
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if !detach {
		// Asterisk dies with the test binary even when the binary is killed.
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return fmt.Errorf("start asterisk: %w", err)
	}
	s.cmd = cmd
	s.done = make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()
	if detach {
		_ = cmd.Process.Release
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := s.waitReady(wctx); err != nil {
		s.kill()
		tail, _ := os.ReadFile(logPath)
		return fmt.Errorf("asterisk %s did not come up on port %d: %w\n%s", s.RunID, s.HTTPPort, err, lastLines(tail, 20))
	}
	return nil
}

// waitReady waits for "core waitfullybooted" and for ARI to answer a ping.
func (s *Sandbox) waitReady(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	booted := false
	for {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("asterisk exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if !booted {
			if _, err := s.CLI(ctx, "core waitfullybooted"); err != nil {
				continue
			}
			booted = true
		}
		if err := s.ping(ctx); err == nil {
			// Something answered on the port: it must be this Asterisk.
			mine, err := listens(s.cmd.Process.Pid, s.HTTPPort)
			if err != nil {
				return fmt.Errorf("check who listens on port %d: %w", s.HTTPPort, err)
			}
			if !mine {
				return fmt.Errorf("%w: ARI answers on 127.0.0.1:%d, but not from this Asterisk (another program took the port): stop it, or choose another port (sandbox up -port N; make run ARI_PORT=N)", ErrPortInUse, s.HTTPPort)
			}
			return nil
		}
	}
}

func (s *Sandbox) ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/asterisk/ping", nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(ARIUser, s.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return nil
}

// CLI runs an Asterisk CLI command against this sandbox.
func (s *Sandbox) CLI(ctx context.Context, command string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(cctx, "chroot", s.Root, "/usr/sbin/asterisk", "-C", s.confFile(), "-rx", command)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("asterisk -rx %q: %w: %s", command, err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// Stop asks Asterisk to stop now and waits for it; it kills the process
// group when that does not work (Asterisk ignores SIGTERM in -f mode).
func (s *Sandbox) Stop(ctx context.Context) error {
	if s.cmd == nil {
		return nil
	}
	_, _ = s.CLI(ctx, "core stop now")
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.kill()
		<-s.done
	}
	s.cmd = nil
	if s.logFile != nil {
		s.logFile.Close()
	}
	_ = os.Remove(filepath.Join(s.runDir(), "run", "asterisk.ctl"))
	return nil
}

// Restart stops Asterisk and starts it again with the same configuration and
// port, as an Asterisk restart looks to transferd.
func (s *Sandbox) Restart(ctx context.Context) error {
	if err := s.Stop(ctx); err != nil {
		return err
	}
	return s.start(ctx, false)
}

func (s *Sandbox) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// StopByRunID stops a detached sandbox started by another process (`make run`).
func StopByRunID(ctx context.Context, root, runID string) error {
	s := &Sandbox{Root: root, RunID: runID, ConfDir: "/etc/transferd/" + runID}
	_, err := s.CLI(ctx, "core stop now")
	return err
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
