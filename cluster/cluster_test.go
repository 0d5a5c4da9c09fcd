package cluster

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

func embedded(t *testing.T) *nats.Conn {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// TestReplicasNeedACluster: more copies than one server can keep are
// refused at start, naming the setting.
func TestReplicasNeedACluster(t *testing.T) {
	nc := embedded(t)
	_, err := New(context.Background(), nc, Options{Name: "r", Instance: "i1", Replicas: 3})
	if err == nil || !strings.Contains(err.Error(), "nats.replicas is 3") || !strings.Contains(err.Error(), "not part of a cluster") {
		t.Fatalf("New with 3 replicas on one server: %v", err)
	}
	if _, err := New(context.Background(), nc, Options{Name: "r", Instance: "i1", Replicas: 1}); err != nil {
		t.Fatalf("New with 1 replica: %v", err)
	}
}

func TestKeyRoundTrip(t *testing.T) {
	for _, id := range []string{"s16a-alice-in", "1732361234.42", "a b=c/d", ""} {
		if got := unkey(key(id)); got != id {
			t.Errorf("unkey(key(%q)) = %q", id, got)
		}
	}
}

func TestLeaseLapseAndTakeover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc := embedded(t)
	a, err := New(ctx, nc, Options{Name: "t", Instance: "a", LeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(ctx, nc, Options{Name: "t", Instance: "b", LeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const call = "1732361234.42"
	if ok, err := a.Claim(ctx, call); !ok || err != nil {
		t.Fatalf("a.Claim = %v, %v; want true", ok, err)
	}
	if err := a.Save(ctx, call, []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Claim(ctx, call); ok || err != nil {
		t.Fatalf("b.Claim of a live lease = %v, %v; want false", ok, err)
	}
	// a renews: the call stays a's.
	for i := 0; i < 3; i++ {
		time.Sleep(400 * time.Millisecond)
		if lost, err := a.Renew(ctx, []string{call}); err != nil || len(lost) != 0 {
			t.Fatalf("a.Renew = %v, %v", lost, err)
		}
	}
	if o, _ := b.Orphans(ctx); len(o) != 0 {
		t.Fatalf("orphans while a renews: %v", o)
	}
	// a dies: its lease lapses, b sees the orphan and takes it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		o, err := b.Orphans(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(o, call) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lease never lapsed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ok, err := b.Claim(ctx, call); !ok || err != nil {
		t.Fatalf("b.Claim after the lapse = %v, %v; want true", ok, err)
	}
	// a, paused all along, ends its copy of the call: b's lease stays.
	if err := a.Release(ctx, call); err != nil {
		t.Fatalf("a.Release of a lease b took over: %v", err)
	}
	if owner, _ := b.Owner(ctx, call); owner != "b" {
		t.Fatalf("owner after a's late release = %q, want b: a removed b's lease", owner)
	}
	snap, err := b.Load(ctx, call)
	if err != nil || string(snap) != `{"v":1}` {
		t.Fatalf("b.Load = %q, %v", snap, err)
	}
	// a comes back: its renewal reports the call lost.
	if lost, err := a.Renew(ctx, []string{call}); err != nil || !slices.Equal(lost, []string{call}) {
		t.Fatalf("a.Renew after takeover = %v, %v; want lost", lost, err)
	}
	if owner, _ := a.Owner(ctx, call); owner != "b" {
		t.Fatalf("owner = %q, want b", owner)
	}
	// Having lost the lease, a can no longer write the call's snapshot.
	if err := a.Save(ctx, call, []byte(`{"v":0}`)); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("a.Save after losing the lease = %v, want ErrNotOwner", err)
	}
	if err := b.Save(ctx, call, []byte(`{"v":2}`)); err != nil {
		t.Fatalf("b.Save = %v", err)
	}
	if err := b.Release(ctx, call); err != nil {
		t.Fatal(err)
	}
	if owner, _ := b.Owner(ctx, call); owner != "" {
		t.Fatalf("owner after b's release = %q, want none", owner)
	}
	if err := b.Delete(ctx, call); err != nil {
		t.Fatal(err)
	}
	if ids, _ := b.List(ctx); len(ids) != 0 {
		t.Fatalf("List after Delete = %v", ids)
	}
}
