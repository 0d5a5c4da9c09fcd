package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natsproxy"
	"github.com/transferd/transferd/ari/natstransport"
	"github.com/transferd/transferd/natsbus"
)

// natsNode is one Asterisk sandbox with its natsproxy, and a direct ARI
// client to check what really happened on it.
type natsNode struct {
	name   string
	sb     *Sandbox
	direct *ari.Client
}

// natsRec records the events an application instance receives.
type natsRec struct {
	mu     sync.Mutex
	events []ari.Event
}

func (r *natsRec) add(ev ari.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

// wait returns the first event after mark (an index) that matches.
func (r *natsRec) wait(ctx context.Context, mark int, match func(ari.Event) bool) (ari.Event, error) {
	for {
		r.mu.Lock()
		for _, ev := range r.events[min(mark, len(r.events)):] {
			if match(ev) {
				r.mu.Unlock()
				return ev, nil
			}
		}
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (r *natsRec) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func isType[T ari.Event](id ari.ChannelID) func(ari.Event) bool {
	return func(ev ari.Event) bool {
		e, ok := ev.(T)
		return ok && slices.Contains(ari.ChannelsOf(e), id)
	}
}

// TestNATSTwoNodes runs two Asterisk sandboxes, each behind a natsproxy on
// an embedded NATS server with JetStream, and drives calls on both through
// one ari.Client over natstransport: originate, answer, bridge, music on
// hold and DTMF, each resource addressed to its own node. Then the NATS
// server stops for a few seconds in the middle of the calls and comes back
// on the same port: the calls stay up and the client carries on.
func TestNATSTwoNodes(t *testing.T) {
	t.Parallel()
	ctx := within(t, 3*time.Minute)
	const app = "n-app"
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)

	// Two Asterisks, started side by side.
	nodes := []*natsNode{{name: "n-node-a"}, {name: "n-node-b"}}
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.sb, errs[i] = StartSandbox(ctx, SandboxOptions{})
		}()
	}
	wg.Wait()
	for i, n := range nodes {
		if errs[i] != nil {
			t.Fatalf("start %s: %v", n.name, errs[i])
		}
		t.Cleanup(func() { _ = n.sb.Stop(context.Background()) })
		tr, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: n.sb.URL(), Username: ARIUser, Password: ari.Secret(n.sb.Password)})
		if err != nil {
			t.Fatal(err)
		}
		if n.direct, err = ari.New(ari.Options{Transport: tr}); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: Asterisk %s on %s", n.name, n.sb.RunID, n.sb.URL())
	}

	// NATS on a fixed port, so it can come back where its clients reconnect.
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv, err := natsbus.StartEmbedded(natsbus.Options{Port: port, Dir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	var srvMu sync.Mutex
	t.Cleanup(func() {
		srvMu.Lock()
		defer srvMu.Unlock()
		if srv != nil {
			srv.Shutdown()
		}
	})
	connect := func(name string) *nats.Conn {
		nc, err := natsbus.Connect(srv.ClientURL(), name, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}

	// One proxy per Asterisk. Both sandboxes share the host's entity id,
	// so each proxy is given its node name.
	for _, n := range nodes {
		tr, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: n.sb.URL(), Username: ARIUser, Password: ari.Secret(n.sb.Password)})
		if err != nil {
			t.Fatal(err)
		}
		p, err := natsproxy.New(natsproxy.Options{NC: connect("proxy-" + n.name), App: app, Transport: tr, Node: n.name, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		pctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(pctx) }()
		t.Cleanup(func() { cancel(); <-done })
		select {
		case <-p.Ready():
		case err := <-done:
			t.Fatalf("proxy %s: %v", n.name, err)
		case <-ctx.Done():
			t.Fatalf("proxy %s not ready", n.name)
		}
	}

	// The application instance.
	tr, err := natstransport.New(connect("app"), natstransport.Options{App: app, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	client, err := ari.New(ari.Options{Transport: tr, Apps: []string{app},
		Backoff: ari.Backoff{Min: 50 * time.Millisecond, Max: 500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &natsRec{}
	sub := client.Subscribe(ari.Filter{})
	go func() {
		for ev := range sub.Events() {
			rec.add(ev)
		}
	}()
	rctx, stop := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { _ = client.Run(rctx); close(runDone) }()
	t.Cleanup(func() { stop(); <-runDone; sub.Close() })
	select {
	case <-client.Connected():
	case <-ctx.Done():
		t.Fatal("event stream never connected")
	}
	waitFor(t, ctx, func() error {
		if got := tr.Nodes(); !slices.Equal(got, []string{"n-node-a", "n-node-b"}) {
			_ = tr.Ping()
			return fmt.Errorf("proxies known: %v", got)
		}
		return nil
	})

	// A call on each node: a Local pair whose ;2 half enters the
	// application like a caller, answered, bridged, given music on hold
	// and DTMF.
	type call struct {
		node        *natsNode
		handset, in ari.ChannelID
		bridge      ari.BridgeID
		nodeCtx     context.Context
	}
	calls := make([]*call, len(nodes))
	for i, n := range nodes {
		tag := fmt.Sprintf("n%d", i)
		c := &call{node: n, handset: ari.ChannelID(tag + "-h"), in: ari.ChannelID(tag + "-h-in"),
			bridge: ari.BridgeID(tag + "-b"), nodeCtx: ari.WithNode(ctx, n.name)}
		calls[i] = c
		mark := rec.mark()
		_, err := client.Channels.Originate(c.nodeCtx, ari.OriginateParams{
			Endpoint: "Local/" + tag + "@transferd-test-caller/n", App: app, AppArgs: "handset",
			ChannelID: c.handset, OtherChannelID: c.in, Timeout: -1,
			Variables: map[string]string{"__TD_APP": app, "__TD_ACCOUNT": "x", "__TD_DEST": "1", "__TD_CALLBACK": "100"},
		})
		if err != nil {
			t.Fatalf("%s: originate: %v", n.name, err)
		}
		if _, err := rec.wait(ctx, mark, isType[*ari.StasisStart](c.in)); err != nil {
			t.Fatalf("%s: no StasisStart for %s: %v", n.name, c.in, err)
		}
		if err := client.Channels.Answer(ctx, c.in); err != nil {
			t.Fatalf("%s: answer: %v", n.name, err)
		}
		if _, err := rec.wait(ctx, mark, isType[*ari.StasisStart](c.handset)); err != nil {
			t.Fatalf("%s: handset not in Stasis after answer: %v", n.name, err)
		}
		if _, err := client.Bridges.Create(c.nodeCtx, ari.BridgeParams{ID: c.bridge, Type: "mixing,dtmf_events"}); err != nil {
			t.Fatalf("%s: bridge: %v", n.name, err)
		}
		if err := client.Bridges.AddChannel(ctx, c.bridge, ari.AddChannelParams{Channels: []ari.ChannelID{c.in}, AbsorbDTMF: true}); err != nil {
			t.Fatalf("%s: add channel: %v", n.name, err)
		}
		waitIn(t, ctx, client, c.bridge, c.in)
	}

	// Each resource is on its own node, and the transport knows it.
	for i, c := range calls {
		other := nodes[1-i]
		for _, id := range []ari.ChannelID{c.handset, c.in} {
			if got := tr.NodeOf("channel", string(id)); got != c.node.name {
				t.Errorf("NodeOf(%s) = %q, want %s", id, got, c.node.name)
			}
			if _, err := c.node.direct.Channels.Get(ctx, id); err != nil {
				t.Errorf("%s not on %s: %v", id, c.node.name, err)
			}
			if _, err := other.direct.Channels.Get(ctx, id); ari.StatusOf(err) != 404 {
				t.Errorf("%s on %s too: %v", id, other.name, err)
			}
		}
		if got := tr.NodeOf("bridge", string(c.bridge)); got != c.node.name {
			t.Errorf("NodeOf(%s) = %q, want %s", c.bridge, got, c.node.name)
		}
		if _, err := other.direct.Bridges.Get(ctx, c.bridge); ari.StatusOf(err) != 404 {
			t.Errorf("bridge %s on %s too: %v", c.bridge, other.name, err)
		}
	}
	// Joining a channel of one node to a bridge of the other is refused.
	err = client.Bridges.AddChannel(ctx, calls[1].bridge, ari.AddChannelParams{Channels: []ari.ChannelID{calls[0].in}})
	if ari.StatusOf(err) != 422 {
		t.Errorf("cross-node AddChannel: %v, want 422", err)
	}

	// Music on hold in each bridge: an Announcer channel appears on that
	// node only, and goes when stopped.
	for i, c := range calls {
		if err := client.Bridges.StartMOH(ctx, c.bridge, "default"); err != nil {
			t.Fatalf("%s: MOH: %v", c.node.name, err)
		}
		waitFor(t, ctx, func() error { return natsAnnouncers(ctx, c.node.sb, 1) })
		if err := natsAnnouncers(ctx, nodes[1-i].sb, 0); err != nil {
			t.Errorf("music of %s on the other node: %v", c.node.name, err)
		}
		if err := client.Bridges.StopMOH(ctx, c.bridge); err != nil {
			t.Fatalf("%s: stop MOH: %v", c.node.name, err)
		}
		waitFor(t, ctx, func() error { return natsAnnouncers(ctx, c.node.sb, 0) })
	}

	// DTMF sent to the handset reaches the application on the other half.
	dtmf := func(when string) {
		t.Helper()
		for _, c := range calls {
			mark := rec.mark()
			if err := client.Channels.SendDTMF(ctx, c.handset, ari.DTMFParams{DTMF: "4#"}); err != nil {
				t.Fatalf("%s %s: DTMF: %v", when, c.node.name, err)
			}
			for _, d := range []string{"4", "#"} {
				if _, err := rec.wait(ctx, mark, func(ev ari.Event) bool {
					e, ok := ev.(*ari.ChannelDtmfReceived)
					return ok && e.Channel.ID == c.in && e.Digit == d && e.AsteriskID == c.node.name
				}); err != nil {
					t.Fatalf("%s %s: digit %s not received: %v", when, c.node.name, d, err)
				}
			}
		}
	}
	dtmf("before the NATS restart")

	// NATS stops mid-call for a few seconds and comes back on its port.
	srvMu.Lock()
	srv.Shutdown()
	srv = nil
	srvMu.Unlock()
	down := time.Now()
	time.Sleep(3 * time.Second)
	for _, c := range calls {
		// The calls do not depend on NATS: still up, still bridged.
		ch, err := c.node.direct.Channels.Get(ctx, c.in)
		if err != nil || ch.State != "Up" {
			t.Fatalf("%s: %s during the outage: %v %+v", c.node.name, c.in, err, ch)
		}
	}
	srv2, err := natsbus.StartEmbedded(natsbus.Options{Port: port, Dir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srvMu.Lock()
	srv = srv2
	srvMu.Unlock()
	if _, err := rec.wait(ctx, 0, func(ev ari.Event) bool { _, ok := ev.(*ari.Reconnected); return ok }); err != nil {
		t.Fatalf("no Reconnected after the NATS restart: %v", err)
	}
	waitFor(t, ctx, func() error {
		_, err := client.Channels.Get(ctx, calls[0].in)
		return err
	})
	t.Logf("client works again %s after NATS stopped", time.Since(down).Round(time.Millisecond))
	for _, c := range calls {
		b, err := client.Bridges.Get(ctx, c.bridge)
		if err != nil || !slices.Contains(b.Channels, c.in) {
			t.Fatalf("%s: bridge after the restart: %v %+v", c.node.name, err, b)
		}
	}
	dtmf("after the NATS restart")

	// Hang up; nothing is left on either node.
	for _, c := range calls {
		mark := rec.mark()
		if err := client.Channels.Hangup(ctx, c.handset, "normal"); err != nil {
			t.Fatalf("%s: hangup: %v", c.node.name, err)
		}
		if _, err := rec.wait(ctx, mark, isType[*ari.StasisEnd](c.in)); err != nil {
			t.Fatalf("%s: no StasisEnd for %s: %v", c.node.name, c.in, err)
		}
		if err := client.Bridges.Destroy(ctx, c.bridge); err != nil {
			t.Fatalf("%s: destroy bridge: %v", c.node.name, err)
		}
	}
	for _, n := range nodes {
		waitFor(t, ctx, func() error {
			chans, err := n.direct.Channels.List(ctx)
			if err != nil {
				return err
			}
			bridges, err := n.direct.Bridges.List(ctx)
			if err != nil {
				return err
			}
			if len(chans) != 0 || len(bridges) != 0 {
				return fmt.Errorf("%s: left behind %d channels, %d bridges", n.name, len(chans), len(bridges))
			}
			return natsAnnouncers(ctx, n.sb, 0)
		})
	}
}

// natsAnnouncers checks the number of Announcer/ channels (bridge music) on
// one sandbox.
func natsAnnouncers(ctx context.Context, sb *Sandbox, want int) error {
	out, err := sb.CLI(ctx, "core show channels concise")
	if err != nil {
		return err
	}
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "Announcer/") && strings.Contains(line, ";1!") {
			n++
		}
	}
	if n != want {
		return fmt.Errorf("%s: %d announcer channels, want %d", sb.RunID, n, want)
	}
	return nil
}
