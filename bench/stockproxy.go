package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/transferd/transferd/ari/natstransport/wire"
	"github.com/transferd/transferd/integration"
)

// stockProxy is a stock CyCoreSystems ari-proxy server the benchmark runs in
// front of its Asterisk (-stock-ari-proxy, default $STOCK_ARI_PROXY, as
// `make interop` takes it), for its figure beside natsproxy's. Nothing in
// the repository builds it.
type stockProxy struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// startStockProxy runs bin against the sandbox's ARI, serving app on the
// NATS server at natsURL, and returns once it has announced itself for app.
// Its log goes to dir/ari-proxy-stock.log.
func (e *env) startStockProxy(ctx context.Context, bin, natsURL, app string) (*stockProxy, error) {
	logPath := filepath.Join(e.dir, "ari-proxy-stock.log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	home, err := os.MkdirTemp("", "bench-ari-proxy-home-") // no ~/.ari-proxy.yaml of the machine's user
	if err != nil {
		lf.Close()
		return nil, err
	}
	// Not verbose: its debug log would be part of what is timed.
	cmd := integration.StockProxyCommand(bin, app, e.sb, natsURL, home, false)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		_ = os.RemoveAll(home)
		return nil, fmt.Errorf("start stock ari-proxy %s: %w", bin, err)
	}
	s := &stockProxy{cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() {
		_ = cmd.Wait()
		lf.Close()
		_ = os.RemoveAll(home)
		close(s.done)
	}()
	if err := s.waitAnnounced(ctx, natsURL, app); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// waitAnnounced pings until the proxy announces itself for app: it
// subscribes to pings a moment after it starts.
func (s *stockProxy) waitAnnounced(ctx context.Context, natsURL, app string) error {
	nc, err := nats.Connect(natsURL, nats.Name("bench-stock-wait"))
	if err != nil {
		return err
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync(wire.AnnounceSubject(wire.DefaultPrefix))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		_ = nc.Publish(wire.PingSubject(wire.DefaultPrefix), []byte("{}"))
		actx, acancel := context.WithTimeout(ctx, 500*time.Millisecond)
		m, err := sub.NextMsgWithContext(actx)
		acancel()
		select {
		case <-s.done:
			return fmt.Errorf("stock ari-proxy exited before announcing itself (log: %s)", s.log)
		default:
		}
		if ctx.Err() != nil {
			return fmt.Errorf("stock ari-proxy never announced itself for %s (log: %s): %w", app, s.log, ctx.Err())
		}
		if err != nil {
			continue
		}
		var a wire.Announcement
		if json.Unmarshal(m.Data, &a) == nil && a.Application == app {
			return nil
		}
	}
}

func (s *stockProxy) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}
