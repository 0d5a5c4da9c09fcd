package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/transferd/transferd/ari"
)

// opsProcess is one transferd process run from its binary, as an
// operator runs it.
type opsProcess struct {
	cmd  *exec.Cmd
	addr string // its HTTP server
	log  string // path of its log
	done chan struct{}
	err  error // of Wait, once done is closed
}

// startOps runs bin with the configuration yaml (whose http.listen is
// added) and waits until /healthz answers.
func startOps(t *testing.T, ctx context.Context, bin, yaml string) *opsProcess {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := &opsProcess{addr: fmt.Sprintf("127.0.0.1:%d", port), log: filepath.Join(dir, "transferd.log"), done: make(chan struct{})}
	cfgPath := filepath.Join(dir, "transferd.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml+fmt.Sprintf("http:\n  listen: %s\n", p.addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	lf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "--config", cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = lf, lf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); lf.Close(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("transferd log (last lines):\n%s", lastLines(b, 30))
		}
	})
	waitFor(t, ctx, func() error {
		status, _, err := p.get("/healthz")
		if err == nil && status != 200 {
			err = fmt.Errorf("healthz %d", status)
		}
		return err
	})
	return p
}

func (p *opsProcess) get(path string) (int, string, error) {
	return p.getAuth(path, "")
}

func (p *opsProcess) getAuth(path, token string) (int, string, error) {
	req, _ := http.NewRequest("GET", "http://"+p.addr+path, nil)
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

func (p *opsProcess) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// readyzIs waits until /readyz answers status with a body containing
// every one of want, while /healthz stays 200.
func (p *opsProcess) readyzIs(t *testing.T, ctx context.Context, status int, want ...string) {
	t.Helper()
	waitFor(t, ctx, func() error {
		got, body, err := p.get("/readyz")
		if err != nil {
			return err
		}
		if got != status {
			return fmt.Errorf("readyz %d %s, want %d", got, body, status)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				return fmt.Errorf("readyz body %s lacks %q", body, w)
			}
		}
		return nil
	})
	if got, body, err := p.get("/healthz"); err != nil || got != 200 {
		t.Fatalf("healthz %d %s %v while readyz is %d", got, body, err, status)
	}
}

// TestReadyz: /readyz tells the truth about ARI where /healthz (liveness)
// cannot: 503 with the reason while nothing listens on the ARI URL, 503
// naming the keys to check when Asterisk refuses the password (logged at
// error level), 200 once connected (logged at info).
func TestReadyz(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := buildTransferd(t, ctx)
	nobody, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	base := "log: {level: info, format: json}\naccounts: {acct: {}}\n"

	t.Run("unreachable", func(t *testing.T) {
		p := startOps(t, ctx, bin, fmt.Sprintf("ari: {url: 'http://127.0.0.1:%d/ari', password: x, app: td-ready1}\n", nobody)+base)
		p.readyzIs(t, ctx, 503, `"status":"not ready"`, "ARI: not connected", "connection refused")
	})
	t.Run("wrong password", func(t *testing.T) {
		p := startOps(t, ctx, bin, fmt.Sprintf("ari: {url: %q, password: not-the-password, app: td-ready2}\n", sandbox.URL())+base)
		p.readyzIs(t, ctx, 503, "401 Unauthorized", "ari.username", "ari.password", "ari.conf")
		waitFor(t, ctx, func() error {
			if !hasLine(p.logText(), `"level":"error"`, "ari.username", "ari.conf") {
				return fmt.Errorf("no error-level line naming ari.username and ari.conf")
			}
			return nil
		})
		if strings.Contains(p.logText(), "not-the-password") {
			t.Fatal("the password was logged")
		}
	})
	t.Run("connected", func(t *testing.T) {
		p := startOps(t, ctx, bin, fmt.Sprintf("ari: {url: %q, password: %q, app: td-ready3}\n", sandbox.URL(), sandbox.Password)+base)
		p.readyzIs(t, ctx, 200, `"status":"ready"`)
		if !hasLine(p.logText(), `"level":"info"`, `"message":"ari event stream connected"`) {
			t.Fatalf("no info line for the ARI connect:\n%s", p.logText())
		}
	})
}

// TestDrainTimeoutLeavesCallsBridged: SIGTERM on a single instance with a
// live call waits drain_timeout, exits, and leaves the call bridged in
// Asterisk; the next start carries the call on, and it ends cleanly.
func TestDrainTimeoutLeavesCallsBridged(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := buildTransferd(t, ctx)
	const tag, app, token = "o01", "td-o01", "o01-secret-token"
	yaml := fmt.Sprintf(`ari: {url: %q, password: %q, app: %s}
log: {level: info, format: json}
drain_timeout: 2s
accounts:
  acct:
    dial_template: Local/{number}@transferd-test-phones/n
    variables: {TD_TEST: %s}
    tokens: [%s]
`, sandbox.URL(), sandbox.Password, app, tag, token)
	p := startOps(t, ctx, bin, yaml)
	p.readyzIs(t, ctx, 200)

	alice, err := phones.Call(ctx, CallParams{Tag: tag, Name: "alice", App: app, Account: account, Dest: "2001", Callback: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Hangup(context.Background(), "normal")
	rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
	bob, err := phones.WaitRing(rctx, tag, "2001")
	rcancel()
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	call := InID(alice.ID)
	bobLeg := ari.ChannelID(strings.TrimSuffix(string(bob.ID), "-2"))
	client, err := newClient()
	if err != nil {
		t.Fatal(err)
	}
	bridged := func() error {
		bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return together(bctx, client, call, bobLeg)
	}
	waitFor(t, ctx, bridged)

	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Draining: not ready, no new calls.
	p.readyzIs(t, ctx, 503, "draining")
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("transferd did not exit 20s after SIGTERM with drain_timeout 2s")
	}
	took := time.Since(start)
	if took < 2*time.Second {
		t.Fatalf("exited after %s, before drain_timeout with a live call", took)
	}
	if p.err != nil {
		t.Fatalf("exit: %v", p.err)
	}
	if !strings.Contains(p.logText(), "drain timeout") {
		t.Fatalf("no drain timeout line:\n%s", p.logText())
	}
	// Still bridged in Asterisk, with nobody running.
	if err := bridged(); err != nil {
		t.Fatalf("after the drain timeout: %v", err)
	}

	// The next start finds the call and carries it on.
	p2 := startOps(t, ctx, bin, yaml)
	p2.readyzIs(t, ctx, 200)
	waitFor(t, ctx, func() error {
		status, body, err := p2.getAuth("/v2/accounts/acct/channels/"+string(call), token)
		if err != nil {
			return err
		}
		if status != 200 || !strings.Contains(body, `"state":"talking"`) {
			return fmt.Errorf("%d %s", status, body)
		}
		return nil
	})
	if err := bridged(); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	if err := alice.Hangup(ctx, "normal"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() error {
		if !bob.Gone() {
			return fmt.Errorf("bob still up after alice hung up")
		}
		status, body, err := p2.getAuth("/v2/accounts/acct/channels", token)
		if err != nil {
			return err
		}
		if status != 200 || strings.Contains(body, string(call)) {
			return fmt.Errorf("call still listed: %d %s", status, body)
		}
		return nil
	})
}

// hasLine reports whether one line of log holds every one of parts.
func hasLine(log string, parts ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}
