package natstransport_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/transferd/transferd/ari/natstransport"
)

// TestNATSBroadcastCost: a broadcast (here a list, which asks every proxy)
// allocates little. A SubscribeSync inbox per request allocated nats.go's
// 64k-slot channel, 512 KiB cleared per request; that cost +0.12 to +0.19
// ms on each broadcast (BENCHMARKS.md, issue 15).
func TestNATSBroadcastCost(t *testing.T) {
	c := newCluster(t, 0, t.TempDir())
	c.proxy(newFakeARI(t, "eid-a"), "bc", "n-a")
	cl, _ := c.client("bc", "inst", 1, natstransport.Options{})
	ctx := context.Background()
	list := func() {
		t.Helper()
		if _, err := cl.Channels.List(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 5; i++ {
		list()
	}
	const n = 50
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		list()
	}
	runtime.ReadMemStats(&after)
	// Everything in the process counts: the client, the proxy, the fake
	// Asterisk and the NATS server; all of it is far below 512 KiB.
	per := (after.TotalAlloc - before.TotalAlloc) / n
	t.Logf("%d KiB allocated per broadcast list, all parts together", per/1024)
	if per > 256<<10 {
		t.Errorf("%d KiB allocated per broadcast list, want < 256 KiB", per/1024)
	}
}
