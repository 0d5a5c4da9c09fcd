package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDrainHandsCallsOver: behind NATS, SIGTERM to the instance that owns
// a call in mid-transfer drains it; at drain_timeout it hands the call to
// the other instance (App.Handoff: the call's goroutine stops, its lease is
// released) and exits, and the other instance carries the transfer to its
// end.
func TestDrainHandsCallsOver(t *testing.T) {
	t.Parallel()
	ctx := within(t, 4*time.Minute)
	r := newClusterRig(t, ctx, "dr-node-a")
	const drainTimeout = 2 * time.Second
	f, err := os.OpenFile(r.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(f, "drain_timeout: %s\n", drainTimeout); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// The call and its transfer on i1 alone; then i2 joins.
	i1 := r.startInstance("i1")
	c, err := r.talking(ctx, r.nodes[0], 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.startTransfer(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := r.waitState(ctx, c.id, "CallingTarget"); err != nil {
		t.Fatal(err)
	}
	if o := r.owners(ctx, []*clusterCall{c})[c.id]; o != "i1" {
		t.Fatalf("owner of %s = %q, want i1", c.id, o)
	}
	r.startInstance("i2")

	start := time.Now()
	if err := i1.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-i1.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("i1 did not exit 30s after SIGTERM with drain_timeout %s", drainTimeout)
	}
	if took := time.Since(start); took < drainTimeout {
		t.Fatalf("i1 exited after %s, before drain_timeout with a live call", took)
	}
	b, err := os.ReadFile(i1.log)
	if err != nil {
		t.Fatal(err)
	}
	handed := false
	for _, line := range strings.Split(string(b), "\n") {
		var l struct {
			Message string `json:"message"`
			Calls   int    `json:"calls"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Message == "drain: calls handed to the other instances" && l.Calls == 1 {
			handed = true
		}
	}
	if !handed {
		t.Fatalf("i1 did not log handing one call over:\n%s", lastLines(b, 20))
	}

	// The lease went with the handoff, before i1 exited (not at its expiry).
	if o := r.owners(ctx, []*clusterCall{c})[c.id]; o == "i1" {
		t.Fatalf("owner of %s is still i1 after i1 exited: the lease was not released", c.id)
	}

	// i2 takes the call over and finishes the transfer.
	sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	waitFor(t, sctx, func() error {
		if o := r.owners(sctx, []*clusterCall{c})[c.id]; o != "i2" {
			return fmt.Errorf("owner of %s = %q, want i2", c.id, o)
		}
		return nil
	})
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
