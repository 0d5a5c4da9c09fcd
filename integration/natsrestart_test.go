package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natstransport"
	"github.com/transferd/transferd/natsbus"
)

// dialLoser stands between a natsproxy and its Asterisk and loses the
// answer to one ChannelDial the way a NATS restart does: Asterisk dials
// (the phone rings), then the NATS server stops before the proxy can
// publish the answer, and comes back only after transferd's request timed
// out, so the answer published then reaches nobody.
type dialLoser struct {
	ari.Transport
	armed  atomic.Bool
	start  func() (*natsbus.Server, error) // a NATS server on the rig's port and store
	hit    chan struct{}                   // closed once NATS is back after the fault
	failed error                           // set before hit is closed

	mu sync.Mutex
	ns *natsbus.Server
}

func (l *dialLoser) RoundTrip(ctx context.Context, req *ari.Request) (*ari.Response, error) {
	if req.Method != http.MethodPost || !strings.HasSuffix(req.Path, "/dial") || !l.armed.CompareAndSwap(true, false) {
		return l.Transport.RoundTrip(ctx, req)
	}
	resp, err := l.Transport.RoundTrip(ctx, req)
	l.mu.Lock()
	defer l.mu.Unlock()
	defer close(l.hit)
	if err != nil || resp.Status/100 != 2 {
		l.failed = fmt.Errorf("the dial to lose failed in Asterisk: %v %v", resp, err)
		return resp, err
	}
	// The dial goes out beside the transferee's hold (app/pipeline.go):
	// the restart must come once he is held, or it takes the hold's own
	// requests with it, and this test is about the dial's answer.
	if l.failed = l.waitHeld(ctx, req.Path); l.failed != nil {
		return resp, err
	}
	l.ns.Shutdown()
	// Down for longer than transferd waits for a command's answer.
	time.Sleep(natstransport.DefaultCommandTimeout + 1500*time.Millisecond)
	if l.ns, l.failed = l.start(); l.failed != nil {
		return nil, l.failed
	}
	return resp, err
}

// waitHeld waits until the hold bridge of the transfer whose target
// dialPath dials ("/channels/<transfer>-target-<n>/dial") holds somebody,
// asking Asterisk directly.
func (l *dialLoser) waitHeld(ctx context.Context, dialPath string) error {
	ch := strings.TrimSuffix(strings.TrimPrefix(dialPath, "/channels/"), "/dial")
	xfer, _, ok := strings.Cut(ch, "-target-")
	if !ok {
		return fmt.Errorf("dial of %s: not a transfer's target", ch)
	}
	hold := "/bridges/" + xfer + "-hold"
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		resp, err := l.Transport.RoundTrip(ctx, &ari.Request{Method: http.MethodGet, Path: hold})
		if err == nil && resp.Status == http.StatusOK && !strings.Contains(string(resp.Body), `"channels":[]`) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never held anybody: %v %v", hold, resp, err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (l *dialLoser) shutdown() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ns != nil {
		l.ns.Shutdown()
	}
}

// TestNATSRestartLosesDialReply: the answer to the transfer target's
// ChannelDial is lost while the NATS server restarts. Asterisk did dial
// Carol, whose phone rings; transferd only saw its request time out. A
// lost answer is not a failed dial: transferd must ask Asterisk, find Carol
// ringing and go on (before, it hung up the ringing target and failed the
// transfer). The transfer then completes and nothing leaks.
func TestNATSRestartLosesDialReply(t *testing.T) {
	t.Parallel()
	ctx := within(t, 4*time.Minute)
	r := &clusterRig{t: t, ctx: ctx, insts: map[string]*instance{}, storeDir: t.TempDir()}
	r.bin = buildTransferd(t, ctx)
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	r.natsPort = port
	start := func() (*natsbus.Server, error) {
		return natsbus.StartEmbedded(natsbus.Options{Host: "127.0.0.1", Port: port, Dir: r.storeDir, Name: "nr-nats"})
	}
	loser := &dialLoser{start: start, hit: make(chan struct{})}
	if loser.ns, err = start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(loser.shutdown)
	r.url = loser.ns.ClientURL()
	r.wrapProxy = func(tr ari.Transport) ari.Transport { loser.Transport = tr; return loser }
	r.setUp(1, "nr-node-a")
	node := r.nodes[0]
	// Leases outlive the outage: this test is about the lost answer, not
	// about a takeover.
	cfg, err := os.ReadFile(r.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	r.cfgPath = filepath.Join(t.TempDir(), "transferd.yaml")
	cfg = []byte(strings.Replace(string(cfg), "lease_ttl: "+leaseTTL.String(), "lease_ttl: 60s", 1))
	if err := os.WriteFile(r.cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	in := r.startInstance("i1")

	c, err := r.talking(ctx, node, 81)
	if err != nil {
		t.Fatal(err)
	}
	loser.armed.Store(true)
	if err := r.startTransfer(ctx, c); err != nil {
		t.Fatal(err)
	}
	select {
	case <-loser.hit:
	case <-ctx.Done():
		t.Fatal("transferd never dialed the target")
	}
	if loser.failed != nil {
		t.Fatal(loser.failed)
	}
	t.Log("Carol's dial reached Asterisk; its answer was lost in a NATS restart")
	// transferd saw the dial time out, then either confirms with Asterisk
	// that Carol rings, or (the bug) hangs her up.
	waitFor(t, ctx, func() error {
		for _, ev := range c.carol.Events() {
			if _, ok := ev.(*ari.StasisEnd); ok {
				t.Fatal("transferd hung up the ringing target after its dial's answer was lost")
			}
		}
		b, err := os.ReadFile(in.log)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "no answer within") {
			return fmt.Errorf("transferd has not seen its dial time out yet")
		}
		if !strings.Contains(string(b), "the dial whose answer was lost reached Asterisk") {
			return fmt.Errorf("transferd has not confirmed the dial with Asterisk yet")
		}
		return nil
	})
	if err := r.waitState(ctx, c.id, "CallingTarget"); err != nil {
		t.Fatal(err)
	}
	if err := c.carol.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.waitState(ctx, c.id, "Consulting"); err != nil {
		t.Fatal(err)
	}
	// Alice talks with Carol (Bob is held).
	if err := together(ctx, node.direct, c.id, c.carolLegID); err != nil {
		t.Fatal(err)
	}
	if err := finish(ctx, c, true); err != nil {
		t.Fatal(err)
	}
	if err := r.noLeaks(ctx); err != nil {
		t.Fatal(err)
	}
}
