package integration

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/transferd/transferd/natsbus"
)

// natsCluster is three embedded nats-servers forming one cluster with
// JetStream on loopback ports.
type natsCluster struct {
	servers []*natsbus.Server
	names   []string
}

func startNATSCluster(t *testing.T, ctx context.Context, n int) *natsCluster {
	t.Helper()
	c := &natsCluster{}
	// JetStream clustering wants every server configured with the routes
	// to the others: pick the route ports first.
	ports := make([]int, n)
	var routes []string
	for i := range ports {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	servers := make([]*natsbus.Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range servers {
		name := fmt.Sprintf("clr-nats-%d", i+1)
		c.names = append(c.names, name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i], errs[i] = natsbus.StartEmbedded(natsbus.Options{Host: "127.0.0.1", Dir: filepath.Join(t.TempDir(), name), Name: name,
				// Quiet: routes to the server this test kills fail on and on.
				Logger:       zerolog.Nop(),
				ReadyTimeout: time.Minute,
				Cluster:      natsbus.ClusterOptions{Name: "clr", Port: ports[i], Routes: routes}})
		}()
	}
	wg.Wait()
	for i, s := range servers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		t.Cleanup(s.Shutdown)
	}
	c.servers = servers
	// JetStream is usable once the servers chose a meta leader.
	waitFor(t, ctx, func() error {
		for _, s := range c.servers {
			if s.NATS().JetStreamIsLeader() {
				return nil
			}
		}
		return errors.New("no JetStream meta leader yet")
	})
	return c
}

func (c *natsCluster) url() string {
	var urls []string
	for _, s := range c.servers {
		urls = append(urls, s.ClientURL())
	}
	return strings.Join(urls, ",")
}

// leader is the index of the server leading a stream, or -1.
func (c *natsCluster) leader(stream string) int {
	for i, s := range c.servers {
		if s != nil && s.NATS().JetStreamIsStreamLeader("$G", stream) {
			return i
		}
	}
	return -1
}

// leaseLog records every change of the lease bucket, to prove no call was
// ever leased to two instances at once.
type leaseLog struct {
	mu         sync.Mutex
	holder     map[string]string    // key → instance holding it
	lastPut    map[string]time.Time // key → its last write
	violations []string
	puts       int
	rev        map[string]uint64 // key → the revision last seen
}

// watchLeases follows the lease bucket from the observer's connection by
// reading every lease every 100 ms: a KV watcher's consumer lives on one
// server and may die with the server the test kills, while reads go to
// whichever servers are left.
func (r *clusterRig) watchLeases() *leaseLog {
	t := r.t
	js, err := jetstream.New(r.observerNC)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(r.ctx, bucketPrefix()+"_leases")
	if err != nil {
		t.Fatal(err)
	}
	l := &leaseLog{holder: map[string]string{}, lastPut: map[string]time.Time{}, rev: map[string]uint64{}}
	ctx, cancel := context.WithCancel(r.ctx)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
			keys, err := kv.Keys(rctx)
			if err == nil || errors.Is(err, jetstream.ErrNoKeysFound) {
				l.present(keys)
				for _, k := range keys {
					if e, err := kv.Get(rctx, k); err == nil {
						l.add(e)
					}
				}
			}
			rcancel()
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return l
}

// present forgets the holders of leases gone from the bucket (released).
func (l *leaseLog) present(keys []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.holder {
		if !slices.Contains(keys, k) {
			delete(l.holder, k)
			delete(l.rev, k)
		}
	}
}

func bucketPrefix() string { return strings.ReplaceAll(clusterApp, ".", "_") }

func (l *leaseLog) add(e jetstream.KeyValueEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := e.Key()
	if e.Operation() != jetstream.KeyValuePut {
		delete(l.holder, k)
		return
	}
	if e.Revision() != 0 && l.rev[k] == e.Revision() {
		return // read again, unchanged
	}
	l.rev[k] = e.Revision()
	l.puts++
	who, at := string(e.Value()), e.Created()
	// A lease passes to another instance only once its holder stopped
	// renewing it for a whole lease time (the bucket's TTL let it lapse).
	if prev, ok := l.holder[k]; ok && prev != who && at.Sub(l.lastPut[k]) < leaseTTL {
		l.violations = append(l.violations, fmt.Sprintf("%s: leased to %s at %s while %s renewed it %s before",
			k, who, at.Format("15:04:05.000"), prev, at.Sub(l.lastPut[k]).Round(time.Millisecond)))
	}
	l.holder[k], l.lastPut[k] = who, at
}

// TestNATSClusterReplicas: transferd on a three-server NATS cluster with its
// buckets replicated three times (nats.replicas: 3). Two instances share
// four calls left mid-transfer (two with the target ringing, two
// consulting); then the NATS server that leads the buckets is killed.
// Every call still completes its transfer, and no call is ever leased to
// two instances at once.
func TestNATSClusterReplicas(t *testing.T) {
	t.Parallel()
	ctx := within(t, 6*time.Minute)
	nc := startNATSCluster(t, ctx, 3)
	r := &clusterRig{t: t, ctx: ctx, insts: map[string]*instance{}, url: nc.url()}
	r.bin = buildTransferd(t, ctx)
	r.setUp(3, "clr-node")
	leases := r.watchLeases()
	for _, id := range []string{"i1", "i2"} {
		r.startInstance(id)
	}

	calls := make([]*clusterCall, 4)
	for k := range calls {
		c, err := r.talking(ctx, r.nodes[0], 51+k)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.startTransfer(ctx, c); err != nil {
			t.Fatal(err)
		}
		calls[k] = c
	}
	ringing, consulting := calls[:2], calls[2:]
	for _, c := range consulting {
		if err := c.carol.Answer(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range ringing {
		if err := r.waitState(ctx, c.id, "CallingTarget"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range consulting {
		if err := r.waitState(ctx, c.id, "Consulting"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("owners before: %v", r.owners(ctx, calls))

	// Kill the server leading the buckets (the lease bucket's leader first).
	victim := nc.leader("KV_" + bucketPrefix() + "_leases")
	if victim < 0 {
		victim = nc.leader("KV_" + bucketPrefix() + "_calls")
	}
	if victim < 0 {
		t.Fatal("no server leads the buckets")
	}
	callsLeader := nc.leader("KV_" + bucketPrefix() + "_calls")
	t.Logf("stopping %s, leader of the lease bucket (the calls bucket's leader: %d)", nc.names[victim], callsLeader)
	leases.mu.Lock()
	putsBefore := leases.puts
	leases.mu.Unlock()
	nc.servers[victim].Shutdown()
	nc.servers[victim] = nil
	// The buckets elect new leaders among the two left.
	waitFor(t, ctx, func() error {
		for _, b := range []string{"_leases", "_calls"} {
			if nc.leader("KV_"+bucketPrefix()+b) < 0 {
				return fmt.Errorf("bucket %s has no leader yet", b)
			}
		}
		return nil
	})

	// The instances renew their leases on the servers left (and the
	// observer reads them there) before the transfers go on.
	waitFor(t, ctx, func() error {
		leases.mu.Lock()
		defer leases.mu.Unlock()
		if leases.puts == putsBefore {
			return errors.New("no lease renewed since the server's loss")
		}
		return nil
	})

	// Every transfer goes on to its end.
	for _, c := range ringing {
		if err := c.carol.Answer(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.waitState(ctx, c.id, "Consulting"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range calls {
		if err := finish(ctx, c, true); err != nil {
			t.Fatalf("%s after the NATS server's loss: %v", c.id, err)
		}
	}
	if err := r.noLeaks(ctx); err != nil {
		t.Fatal(err)
	}
	leases.mu.Lock()
	defer leases.mu.Unlock()
	t.Logf("lease bucket: %d lease writes seen, %d after the server's loss", leases.puts, leases.puts-putsBefore)
	if putsBefore == 0 || leases.puts == putsBefore {
		t.Errorf("the lease watcher saw %d writes before the server's loss and %d after: it watched nothing", putsBefore, leases.puts-putsBefore)
	}
	for _, v := range leases.violations {
		t.Error(v)
	}
}

// fakeEntry is a lease bucket entry for TestLeaseLog.
type fakeEntry struct {
	jetstream.KeyValueEntry
	key, value string
	at         time.Time
	op         jetstream.KeyValueOp
}

func (e fakeEntry) Key() string                     { return e.key }
func (e fakeEntry) Value() []byte                   { return []byte(e.value) }
func (e fakeEntry) Created() time.Time              { return e.at }
func (e fakeEntry) Operation() jetstream.KeyValueOp { return e.op }
func (e fakeEntry) Revision() uint64                { return 0 }

// TestLeaseLog: the lease watcher's rule flags a lease that passes to
// another instance while its holder still renewed it, and only that.
func TestLeaseLog(t *testing.T) {
	t0 := time.Now()
	put := func(k, v string, d time.Duration) fakeEntry {
		return fakeEntry{key: k, value: v, at: t0.Add(d), op: jetstream.KeyValuePut}
	}
	l := &leaseLog{holder: map[string]string{}, lastPut: map[string]time.Time{}, rev: map[string]uint64{}}
	for _, e := range []fakeEntry{
		put("a", "i1", 0), put("a", "i1", time.Second), // renewed
		put("a", "i2", time.Second+leaseTTL+time.Millisecond), // i1 stopped: a takeover
		put("b", "i1", 0), {key: "b", op: jetstream.KeyValuePurge, at: t0}, // released
		put("b", "i2", time.Millisecond),              // then claimed
		put("c", "i1", 0), put("c", "i2", leaseTTL/2), // two holders at once
	} {
		l.add(e)
	}
	if len(l.violations) != 1 || !strings.HasPrefix(l.violations[0], "c: leased to i2") {
		t.Errorf("violations %q, want only c's", l.violations)
	}
}
