package app

import (
	"context"
	"strings"
	"testing"
)

func countRequests(reqs []string, line string) int {
	return strings.Count(strings.Join(reqs, "\n")+"\n", line+"\n")
}

// A transfer's target is dialled as soon as its create is answered, not
// when its StasisStart reaches the call behind the hold's requests; the
// StasisStart then has nothing left to do.
func TestDialGoesWithTheCreate(t *testing.T) {
	rec := &recorder{}
	c := transferring(t, rec)
	defer c.stopTimers()
	target := c.legs["c1-x1-target-1"]
	if target == nil || target.pending != nil || target.gone {
		t.Fatalf("target after the transfer's start: %+v, want dialled", target)
	}
	reqs := rec.requests()
	create, dial := index(reqs, "POST /channels/create"), index(reqs, "POST /channels/c1-x1-target-1/dial")
	if create < 0 || dial < create {
		t.Fatalf("create at %d, dial at %d: %q", create, dial, reqs)
	}
	c.placeCall(context.Background(), target, 0) // its StasisStart
	if n := countRequests(rec.requests(), "POST /channels/c1-x1-target-1/dial"); n != 1 {
		t.Fatalf("dial sent %d times, want once (a channel dialled twice breaks)", n)
	}
}

// An early dial Asterisk refuses (the leg not yet in Stasis) leaves the leg
// pending, and its StasisStart dials it.
func TestEarlyDialRefusedDialsOnStasisStart(t *testing.T) {
	rec := &recorder{fail: map[string]int{"POST /channels/c1-x1-target-1/dial": 409}}
	c := transferring(t, rec)
	defer c.stopTimers()
	target := c.legs["c1-x1-target-1"]
	if target == nil || target.pending == nil || target.gone {
		t.Fatalf("target after a refused early dial: %+v, want pending", target)
	}
	rec.mu.Lock()
	rec.fail = nil
	rec.mu.Unlock()
	c.placeCall(context.Background(), target, 0) // its StasisStart
	if target.pending != nil || target.gone {
		t.Fatalf("target after its StasisStart: %+v, want dialled", target)
	}
	if n := countRequests(rec.requests(), "POST /channels/c1-x1-target-1/dial"); n != 2 {
		t.Fatalf("dial sent %d times, want twice (refused, then on StasisStart)", n)
	}
}
