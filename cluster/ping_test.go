package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestPing: Ping answers while NATS and both buckets do, and fails, naming
// the bucket, once a bucket is gone or NATS is away.
func TestPing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc := embedded(t)
	c, err := New(ctx, nc, Options{Name: "p", Instance: "a", LeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping with NATS up: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteKeyValue(ctx, c.leases.Bucket()); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx); err == nil {
		t.Fatal("Ping with the leases bucket deleted: nil")
	} else if want := c.leases.Bucket(); !strings.Contains(err.Error(), want) {
		t.Fatalf("Ping error %q does not name %s", err, want)
	}
	nc.Close()
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	defer pcancel()
	if err := c.Ping(pctx); err == nil {
		t.Fatal("Ping with NATS closed: nil")
	}
}
