package app

import (
	"context"
	"errors"
	"testing"
	"time"
)

// flakyOwnership renews nothing: NATS is away, or too slow to answer.
type flakyOwnership struct{ ttl time.Duration }

func (flakyOwnership) Claim(context.Context, string) (bool, error) { return true, nil }
func (flakyOwnership) Renew(context.Context, []string) ([]string, error) {
	return nil, errors.New("nats: timeout")
}
func (flakyOwnership) Release(context.Context, string) error     { return nil }
func (flakyOwnership) Orphans(context.Context) ([]string, error) { return nil, nil }
func (o flakyOwnership) LeaseTTL() time.Duration                 { return o.ttl }

// stopPosted says whether a stopCall waits in c's inbox.
func stopPosted(c *Call) bool {
	for _, m := range c.inbox.take() {
		if _, ok := m.(stopCall); ok {
			return true
		}
	}
	return false
}

// Fencing: a call whose lease could not be renewed for two thirds of its
// time to live is given up before the lease can lapse, so that two
// instances never drive it at once; one failed renewal alone is not enough.
func TestUnrenewedLeaseGivesTheCallUp(t *testing.T) {
	var held []time.Duration
	c := talkingCall(t, &recorder{}, &held)
	a := c.app
	const ttl = 600 * time.Millisecond
	a.SetOwnership(flakyOwnership{ttl: ttl})
	a.mu.Lock()
	a.calls[c.id] = c
	a.mu.Unlock()
	if !a.claimNew(context.Background(), "c1") {
		t.Fatal("claim refused")
	}

	a.renewLeases(context.Background())
	if stopPosted(c) {
		t.Fatal("the call was given up after one failed renewal, with its lease still fresh")
	}
	time.Sleep(ttl*2/3 + 50*time.Millisecond)
	a.renewLeases(context.Background())
	if !stopPosted(c) {
		t.Fatalf("the call still runs %v after its lease was last written (ttl %v)", ttl*2/3+50*time.Millisecond, ttl)
	}
}
