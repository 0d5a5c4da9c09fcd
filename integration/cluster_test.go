package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natsproxy"
	"github.com/transferd/transferd/cluster"
	"github.com/transferd/transferd/natsbus"
)

// The cluster test: two Asterisk processes, each behind a `natsproxy`, an
// embedded NATS server with JetStream, and transferd instances running as
// real processes (so one can be killed with SIGKILL).
const (
	clusterApp = "td-cl"
	clusterTag = "cl"
	leaseTTL   = 4 * time.Second
)

var clusterCalls = 20

type clusterNode struct {
	name   string
	sb     *Sandbox
	direct *ari.Client
	phones *Phones
}

type instance struct {
	id   string
	cmd  *exec.Cmd
	log  string
	http string
	done chan struct{}
}

type clusterRig struct {
	t          *testing.T
	ctx        context.Context
	bin        string
	cfgPath    string
	storeDir   string
	natsPort   int
	ns         *natsbus.Server
	url        string // the NATS servers, a comma-separated list
	replicas   int    // nats.replicas
	observerNC *nats.Conn
	nodes      []*clusterNode
	observer   *cluster.Cluster
	mu         sync.Mutex
	insts      map[string]*instance
	// wrapProxy, when set, stands between each node's natsproxy and its
	// Asterisk (a test's fault injection); natsproxy nodes only.
	wrapProxy func(ari.Transport) ari.Transport
}

func buildTransferd(t *testing.T, ctx context.Context) string {
	t.Helper()
	repo, err := FindRepo()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "transferd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/transferd")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/transferd: %v\n%s", err, out)
	}
	return bin
}

// newClusterRig builds transferd, starts an embedded NATS server and the
// Asterisk nodes named on it (one bucket copy).
func newClusterRig(t *testing.T, ctx context.Context, nodes ...string) *clusterRig {
	t.Helper()
	r := &clusterRig{t: t, ctx: ctx, insts: map[string]*instance{}, storeDir: t.TempDir()}
	r.bin = buildTransferd(t, ctx)
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	r.natsPort = port
	r.startNATS()
	t.Cleanup(func() { r.ns.Shutdown() })
	r.url = r.ns.ClientURL()
	r.setUp(1, nodes...)
	return r
}

// setUp starts the Asterisk nodes on the rig's NATS (r.url), creates the
// buckets with replicas copies, and writes transferd's configuration.
func (r *clusterRig) setUp(replicas int, nodes ...string) {
	t := r.t
	r.replicas = replicas
	for _, name := range nodes {
		r.nodes = append(r.nodes, r.startNode(name))
	}
	nc, err := natsbus.Connect(r.url, "observer", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	r.observerNC = nc
	r.observer, err = cluster.New(r.ctx, nc, cluster.Options{Name: clusterApp, Instance: "observer", LeaseTTL: leaseTTL, Replicas: replicas})
	if err != nil {
		t.Fatal(err)
	}
	r.cfgPath = r.writeConfig()
}

func (r *clusterRig) startNATS() {
	ns, err := natsbus.StartEmbedded(natsbus.Options{Host: "127.0.0.1", Port: r.natsPort, Dir: r.storeDir, Name: "cl-nats"})
	if err != nil {
		r.t.Fatal(err)
	}
	r.ns = ns
	if r.url == "" {
		r.url = ns.ClientURL() // the rig's one server
	}
}

// startNode starts an Asterisk sandbox with a natsproxy in front of it and
// a phones application on it.
func (r *clusterRig) startNode(name string) *clusterNode {
	t := r.t
	sb, err := StartSandbox(r.ctx, SandboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Stop(context.Background()) })
	tr, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: sb.URL(), Username: ARIUser, Password: ari.Secret(sb.Password)})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := ari.New(ari.Options{Transport: tr, Apps: []string{PhonesApp}})
	if err != nil {
		t.Fatal(err)
	}
	ph := NewPhones(r.ctx, direct)
	t.Cleanup(ph.Close)
	if stockProxy() != "" {
		<-direct.Connected()
		node := r.startStockProxy(sb, direct)
		return &clusterNode{name: node, sb: sb, direct: direct, phones: ph}
	}
	nc, err := natsbus.Connect(r.url, "proxy-"+name, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var ptr ari.Transport = tr
	if r.wrapProxy != nil {
		ptr = r.wrapProxy(tr)
	}
	pctx, cancel := context.WithCancel(r.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = natsproxy.Run(pctx, natsproxy.Options{NC: nc, App: clusterApp, Transport: ptr, Node: name,
			Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel).With().Str("proxy", name).Logger()})
	}()
	t.Cleanup(func() { cancel(); <-done })
	<-direct.Connected()
	return &clusterNode{name: name, sb: sb, direct: direct, phones: ph}
}

func (r *clusterRig) writeConfig() string {
	cfg := fmt.Sprintf(`ari:
  app: %s
log:
  level: info
nats:
  url: %s
  lease_ttl: %s
  stock_server: %t
  replicas: %d
defaults:
  dial_template: Local/{number}@transferd-test-phones/n
  variables: {TD_TEST: %s}
  metaflows:
    # Every code here ends with '#'. The timeout counts from each digit's
    # arrival at transferd: on a loaded machine the events of digits sent
    # 140 ms apart can arrive over half a second apart, and a short
    # timeout then cuts "*23011#" into the code "*230".
    digit_timeout: 3s
  transfer:
    no_answer_timeout: 120s
    loop_delay: 1s
accounts:
  acct: {}
`, clusterApp, r.url, leaseTTL, stockProxy() != "", r.replicas, clusterTag)
	p := filepath.Join(r.t.TempDir(), "transferd.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		r.t.Fatal(err)
	}
	return p
}

// startInstance runs a transferd process and waits until it serves HTTP.
func (r *clusterRig) startInstance(id string) *instance {
	t := r.t
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), id+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{id: id, log: logPath, http: fmt.Sprintf("127.0.0.1:%d", port), done: make(chan struct{})}
	in.cmd = exec.Command(r.bin, "--config", r.cfgPath, "--instance", id, "--listen", in.http)
	in.cmd.Stdout, in.cmd.Stderr = lf, lf
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = in.cmd.Wait(); lf.Close(); close(in.done) }()
	t.Cleanup(func() {
		r.kill(in)
		b, _ := os.ReadFile(logPath)
		if dup := duplicateLogKeys(b); dup != "" {
			t.Errorf("log of %s has a line with a key twice: %s", id, dup)
		}
		if t.Failed() {
			t.Logf("log of %s (last lines):\n%s", id, lastLines(b, 40))
		}
	})
	waitFor(t, r.ctx, func() error {
		resp, err := http.Get("http://" + in.http + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	r.mu.Lock()
	r.insts[id] = in
	r.mu.Unlock()
	return in
}

func (r *clusterRig) kill(in *instance) {
	if in.cmd.Process != nil {
		_ = in.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-in.done
}

// call is one Alice→Bob call of the rig, on a node.
type clusterCall struct {
	node       *clusterNode
	name       string // alice's handset name (c01...)
	alice, bob *Phone
	carol      *Phone
	bobNum     string
	carolNum   string
	id         ari.ChannelID // transferd's call id
	bobLeg     ari.ChannelID
	carolLegID ari.ChannelID
}

func (r *clusterRig) talking(ctx context.Context, node *clusterNode, i int) (*clusterCall, error) {
	c := &clusterCall{node: node, name: fmt.Sprintf("c%02d", i), bobNum: fmt.Sprintf("2%03d", i), carolNum: fmt.Sprintf("3%03d", i)}
	var err error
	c.alice, err = node.phones.Call(ctx, CallParams{Tag: clusterTag, Name: c.name, App: clusterApp, Account: "acct", Dest: c.bobNum, Callback: "1001"})
	if err != nil {
		return nil, err
	}
	c.id = InID(c.alice.ID)
	if c.bob, err = node.phones.WaitRing(ctx, clusterTag, c.bobNum); err != nil {
		return nil, err
	}
	c.bobLeg = ari.ChannelID(strings.TrimSuffix(string(c.bob.ID), "-2"))
	if err := c.bob.Answer(ctx); err != nil {
		return nil, err
	}
	if _, err := c.alice.WaitEvent(ctx, 0, "StasisStart", nil); err != nil {
		return nil, fmt.Errorf("%s never answered: %w", c.name, err)
	}
	return c, together(ctx, node.direct, c.id, c.bobLeg)
}

// measuredFromCode checks the "transfer finished" lines the instances
// logged for calls: each transfer began before since, so its seconds must
// exceed the time from since to the line.
func (r *clusterRig) measuredFromCode(calls []*clusterCall, since time.Time, instances ...string) error {
	want := map[string]bool{}
	for _, c := range calls {
		want[string(c.id)] = true
	}
	found := 0
	for _, id := range instances {
		b, err := os.ReadFile(r.insts[id].log)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			var l struct {
				Message  string    `json:"message"`
				Instance string    `json:"instance"`
				CallID   string    `json:"call_id"`
				Seconds  float64   `json:"seconds"`
				Time     time.Time `json:"time"`
			}
			if json.Unmarshal([]byte(line), &l) != nil || l.Message != "transfer finished" || !want[l.CallID] {
				continue
			}
			found++
			if l.Instance != id {
				return fmt.Errorf("log of %s names instance %q, want the configured %q", id, l.Instance, id)
			}
			if min := l.Time.Sub(since).Seconds(); l.Seconds <= min {
				return fmt.Errorf("%s: transfer of %s lasted %.3fs by its log, but it began before the takeover %.3fs earlier",
					id, l.CallID, l.Seconds, min)
			}
		}
	}
	if found != len(calls) {
		return fmt.Errorf("%d \"transfer finished\" lines for the %d calls taken over", found, len(calls))
	}
	return nil
}

// digitOnce has Alice press an ordinary digit and checks that Bob hears it
// exactly once: through transferd's relay (natsproxy: legs absorb DTMF), or
// through the bridge (a stock server drops absorbDTMF, and transferd then
// does not relay, or every digit would arrive twice).
func digitOnce(ctx context.Context, c *clusterCall) error {
	mark := c.bob.Mark()
	if err := c.alice.Press(ctx, "5"); err != nil {
		return err
	}
	isFive := func(ev ari.Event) bool { d, ok := ev.(*ari.ChannelDtmfReceived); return ok && d.Digit == "5" }
	if _, err := c.bob.WaitEvent(ctx, mark, "ChannelDtmfReceived", isFive); err != nil {
		return fmt.Errorf("%s: Bob never heard Alice's 5: %w", c.name, err)
	}
	// A second copy would follow within a few hundred milliseconds.
	time.Sleep(2 * time.Second)
	n := 0
	for _, ev := range c.bob.Events()[mark:] {
		if isFive(ev) {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%s: Bob heard Alice's 5 %d times, want once", c.name, n)
	}
	return nil
}

// startTransfer has Alice press *2<carol># and waits for Carol to ring.
func (r *clusterRig) startTransfer(ctx context.Context, c *clusterCall) error {
	if err := c.alice.Press(ctx, "*2"+c.carolNum+"#"); err != nil {
		return err
	}
	var err error
	if c.carol, err = c.node.phones.WaitRing(ctx, clusterTag, c.carolNum); err != nil {
		return err
	}
	c.carolLegID = ari.ChannelID(strings.TrimSuffix(string(c.carol.ID), "-2"))
	return nil
}

// together waits until exactly these channels share a bridge on the node.
func together(ctx context.Context, c *ari.Client, chs ...ari.ChannelID) error {
	var last string
	for {
		bs, err := c.Bridges.List(ctx)
		if err == nil {
			for _, b := range bs {
				if sameSet(b.Channels, chs) {
					return nil
				}
			}
			last = fmt.Sprintf("%v", bs)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%v never alone together in a bridge (bridges %s)", chs, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// state reads a call's transfer state from its snapshot in NATS.
func (r *clusterRig) state(ctx context.Context, call ari.ChannelID) (string, error) {
	raw, err := r.observer.Load(ctx, string(call))
	if err != nil {
		return "", err
	}
	var s struct {
		Xfer *struct {
			State string `json:"state"`
		} `json:"xfer"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	if s.Xfer == nil {
		return "", nil
	}
	return s.Xfer.State, nil
}

func (r *clusterRig) waitState(ctx context.Context, call ari.ChannelID, want string) error {
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	var got string
	for {
		got, _ = r.state(ctx, call)
		if got == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: transfer state %q, want %q", call, got, want)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// finish has Alice hang up (if present) and waits for Bob and Carol to be
// bridged; then Bob hangs up and everything goes.
func finish(ctx context.Context, c *clusterCall, aliceHangsUp bool) error {
	if aliceHangsUp {
		if err := c.alice.Hangup(ctx, "normal"); err != nil {
			return err
		}
	}
	if err := together(ctx, c.node.direct, c.bobLeg, c.carolLegID); err != nil {
		return err
	}
	return c.bob.Hangup(ctx, "normal")
}

func (r *clusterRig) owners(ctx context.Context, calls []*clusterCall) map[ari.ChannelID]string {
	out := map[ari.ChannelID]string{}
	for _, c := range calls {
		o, _ := r.observer.Owner(ctx, string(c.id))
		out[c.id] = o
	}
	return out
}

func (r *clusterRig) noLeaks(ctx context.Context) error {
	for _, n := range r.nodes {
		var left []string
		deadline := time.Now().Add(15 * time.Second)
		for {
			left = left[:0]
			chans, _ := n.direct.Channels.List(ctx)
			for _, ch := range chans {
				left = append(left, string(ch.ID))
			}
			bs, _ := n.direct.Bridges.List(ctx)
			for _, b := range bs {
				left = append(left, "bridge "+string(b.ID))
			}
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: left behind %v", n.name, left)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// A call's snapshot is deleted by its owner after its last leg is
	// gone, by the background writer (a moment later): polled.
	var ids []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		ids, err = r.observer.List(ctx)
		if err != nil {
			return err
		}
		if len(ids) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(ids) != 0 {
		return fmt.Errorf("call snapshots left in NATS: %v", ids)
	}
	return nil
}

// TestClusterFailover: two Asterisk nodes behind natsproxies, three
// transferd instances sharing calls over NATS. 20 calls with a transfer each
// spread over the instances; an instance owning calls in four transfer
// states is killed with SIGKILL and the others carry every transfer to its
// end; the NATS server stops mid-call and comes back.
func TestClusterFailover(t *testing.T) {
	t.Parallel()
	ctx := within(t, 8*time.Minute)
	r := newClusterRig(t, ctx, "cl-node-a", "cl-node-b")
	for _, id := range []string{"i1", "i2", "i3"} {
		r.startInstance(id)
	}

	// 20 calls, 10 per node, each with a complete attended transfer.
	var calls []*clusterCall
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	// Five calls at a time: two Asterisks, three instances and this test
	// share two cores.
	sem := make(chan struct{}, 5)
	for i := 1; i <= clusterCalls; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, 90*time.Second)
			defer cancel()
			c, err := r.talking(cctx, r.nodes[i%2], i)
			if err == nil && i <= 2 {
				err = digitOnce(cctx, c)
			}
			if err == nil {
				mu.Lock()
				calls = append(calls, c)
				mu.Unlock()
				err = r.startTransfer(cctx, c)
			}
			if err == nil {
				err = c.carol.Answer(cctx)
			}
			if err == nil {
				err = r.waitState(cctx, c.id, "Consulting")
			}
			if err == nil {
				err = finish(cctx, c, true)
			}
			if err != nil {
				errs <- fmt.Errorf("call %d: %w", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	// The spread: which instance took each call (its log says "call
	// started"; the lease is gone once the call ended).
	spread := map[string]int{}
	for id, in := range r.insts {
		b, _ := os.ReadFile(in.log)
		spread[id] = strings.Count(string(b), `"message":"call started"`)
	}
	var parts []string
	for o, n := range spread {
		parts = append(parts, fmt.Sprintf("%s=%d", o, n))
	}
	sort.Strings(parts)
	t.Logf("spread of the %d calls over the instances: %s", len(calls), strings.Join(parts, " "))
	busy := 0
	for _, n := range spread {
		if n > 0 {
			busy++
		}
	}
	if busy < 2 {
		t.Errorf("calls not spread over the instances: %v", spread)
	}
	if err := r.noLeaks(ctx); err != nil {
		t.Fatal(err)
	}
	// No subscription outlives its call: once every call is over, no
	// instance listens to any dialog (behind a stock server the new-call
	// queue also hands instances each other's dialled legs).
	sctx, scancel := context.WithTimeout(ctx, 20*time.Second)
	defer scancel()
	waitFor(t, sctx, func() error {
		n, subs, err := dialogSubscriptions(r.ns.NATS())
		if err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("%d dialog subscriptions left after every call ended: %v", n, subs)
		}
		return nil
	})

	// Failover: only i1 takes the next calls; they are left in four states.
	for _, id := range []string{"i2", "i3"} {
		r.kill(r.insts[id])
	}
	fc := make([]*clusterCall, 4)
	for k := range fc {
		c, err := r.talking(ctx, r.nodes[k%2], 31+k)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.startTransfer(ctx, c); err != nil {
			t.Fatal(err)
		}
		fc[k] = c
	}
	dialing, consulting, partial, swapped := fc[0], fc[1], fc[2], fc[3]
	for _, c := range []*clusterCall{consulting, swapped} {
		if err := c.carol.Answer(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.waitState(ctx, c.id, "Consulting"); err != nil {
			t.Fatal(err)
		}
	}
	if err := swapped.alice.Press(ctx, "*9"); err != nil {
		t.Fatal(err)
	}
	if err := partial.alice.Hangup(ctx, "normal"); err != nil {
		t.Fatal(err)
	}
	for c, st := range map[*clusterCall]string{dialing: "CallingTarget", consulting: "Consulting", partial: "Blond", swapped: "DoubleChecking"} {
		if err := r.waitState(ctx, c.id, st); err != nil {
			t.Fatal(err)
		}
	}
	for id, o := range r.owners(ctx, fc) {
		if o != "i1" {
			t.Fatalf("call %s owned by %q, want i1", id, o)
		}
	}
	r.startInstance("i4")
	r.startInstance("i5")
	killed := time.Now()
	r.kill(r.insts["i1"])
	var took time.Duration
	waitFor(t, ctx, func() error {
		for id, o := range r.owners(ctx, fc) {
			if o != "i4" && o != "i5" {
				return fmt.Errorf("call %s still owned by %q", id, o)
			}
		}
		took = time.Since(killed)
		return nil
	})
	t.Logf("SIGKILL of i1 → its 4 calls taken over in %s (owners %v)", took.Round(time.Millisecond), r.owners(ctx, fc))
	// Every transfer goes on to its end under the new owners.
	if err := dialing.carol.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.waitState(ctx, dialing.id, "Consulting"); err != nil {
		t.Fatal(err)
	}
	if err := partial.carol.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		c      *clusterCall
		hangup bool
	}{{dialing, true}, {consulting, true}, {partial, false}, {swapped, true}} {
		if err := finish(ctx, step.c, step.hangup); err != nil {
			t.Fatalf("after failover, %s: %v", step.c.id, err)
		}
	}
	if err := r.noLeaks(ctx); err != nil {
		t.Fatal(err)
	}
	// The new owners measure each transfer from its code, which came
	// before i1 was killed, not from their takeover.
	if err := r.measuredFromCode(fc, killed, "i4", "i5"); err != nil {
		t.Error(err)
	}

	// NATS restart mid-call: a transfer whose target rings while NATS is
	// away completes when it comes back.
	c, err := r.talking(ctx, r.nodes[0], 41)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.startTransfer(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := r.waitState(ctx, c.id, "CallingTarget"); err != nil {
		t.Fatal(err)
	}
	r.ns.Shutdown()
	time.Sleep(3 * time.Second)
	r.startNATS()
	t.Log("NATS server stopped for 3s and restarted on the same port")
	if err := c.carol.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.waitState(ctx, c.id, "Consulting"); err != nil {
		t.Fatal(err)
	}
	if err := finish(ctx, c, true); err != nil {
		t.Fatal(err)
	}
	if err := r.noLeaks(ctx); err != nil {
		t.Fatal(err)
	}
}
