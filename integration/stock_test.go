package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/transferd/transferd/ari"
)

// stockProxy is the stock CyCoreSystems ari-proxy binary the NATS
// scenarios run against instead of natsproxy (`make interop`), or "".
// Nothing in the repository builds it: an operator's or a developer's own
// build is given by path.
func stockProxy() string { return os.Getenv("STOCK_ARI_PROXY") }

// startStockProxy runs the stock ari-proxy in front of sb, pointed at the
// rig's NATS, and returns its node name: the Asterisk's entity id, which
// the stock server names its node by (each sandbox has its own).
func (r *clusterRig) startStockProxy(sb *Sandbox, direct *ari.Client) string {
	t := r.t
	info, err := direct.Asterisk.Info(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := info.System.EntityID
	home := t.TempDir() // no ~/.ari-proxy.yaml of the machine's user
	logPath := filepath.Join(t.TempDir(), "ari-proxy-"+sb.RunID+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(stockProxy(), "-v",
		"--ari.application", clusterApp,
		"--ari.username", ARIUser,
		"--ari.password", sb.Password,
		"--ari.http_url", sb.URL(),
		"--ari.websocket_url", fmt.Sprintf("ws://127.0.0.1:%d/ari/events", sb.HTTPPort),
		// --nats.url is ignored when --messagebus.url has its default.
		"--messagebus.url", r.url)
	var env []string
	for _, e := range os.Environ() {
		// NATS_SERVICE_HOST would override the message bus URL.
		if !strings.HasPrefix(e, "NATS_SERVICE_") && !strings.HasPrefix(e, "HOME=") {
			env = append(env, e)
		}
	}
	cmd.Env = append(env, "HOME="+home)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", stockProxy(), err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); lf.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("log of the stock ari-proxy of %s (last lines):\n%s", node, lastLines(b, 30))
		}
	})
	// Ready once it announces itself for the application.
	nc, err := nats.Connect(r.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("ari.announce")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(r.ctx, time.Minute)
	defer cancel()
	for {
		// It subscribes to pings a moment after it starts: ping again
		// until it answers.
		_ = nc.Publish("ari.ping", []byte("{}"))
		actx, acancel := context.WithTimeout(ctx, 500*time.Millisecond)
		m, err := sub.NextMsgWithContext(actx)
		acancel()
		if ctx.Err() != nil {
			t.Fatalf("stock ari-proxy of %s never announced itself: %v", node, ctx.Err())
		}
		if err != nil {
			continue
		}
		var a struct{ Node, Application string }
		t.Logf("announcement %s", m.Data)
		if json.Unmarshal(m.Data, &a) == nil && a.Node == node && a.Application == clusterApp {
			t.Logf("stock ari-proxy %s serves %s on node %s", stockProxy(), clusterApp, node)
			return node
		}
	}
}

// dialogSubscriptions counts the dialog-event subscriptions the transferd
// instances hold on the NATS server (their connections are named
// "transferd-<instance>").
func dialogSubscriptions(ns *server.Server) (int, []string, error) {
	cz, err := ns.Connz(&server.ConnzOptions{Subscriptions: true, Limit: 1 << 16})
	if err != nil {
		return 0, nil, err
	}
	n := 0
	var subs []string
	for _, c := range cz.Conns {
		if !strings.HasPrefix(c.Name, "transferd-") {
			continue
		}
		for _, s := range c.Subs {
			if strings.HasPrefix(s, "ari.dialogevent.") {
				n++
				subs = append(subs, c.Name+":"+s)
			}
		}
	}
	return n, subs, nil
}
