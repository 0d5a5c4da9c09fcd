package app

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/transfer"
)

// transferring is talkingCall with Alice's transfer to 2600 started and no
// ARI probe (the test says when ARI is back).
func transferring(t *testing.T, rec *recorder) *Call {
	t.Helper()
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	c.app.probing.Store(true)
	if _, err := c.startTransfer(context.Background(), c.legs["c1"], "2600", nil, false); err != nil {
		t.Fatalf("startTransfer: %v", err)
	}
	return c
}

// The target's dial is carried out but its answer is lost: the leg is not
// hung up, and once Asterisk shows it ringing the transfer goes on.
func TestLostDialAnswerKeepsTheTarget(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{lost: map[string]bool{"POST /channels/c1-x1-target-1/dial": true}}
	c := transferring(t, rec)
	defer c.stopTimers()
	target := c.legs["c1-x1-target-1"]
	c.placeCall(ctx, target, 0) // its StasisStart
	if target.dialLost.IsZero() || target.gone || target.mustEnd {
		t.Fatalf("target after a lost dial answer: %+v, want kept with its dial in doubt", target)
	}
	if i := index(rec.requests(), "DELETE /channels/c1-x1-target-1"); i >= 0 {
		t.Fatalf("the target was hung up after its dial's answer was lost: %q", rec.requests())
	}
	if c.xfer == nil || c.xfer.State != transfer.CallingTarget {
		t.Fatalf("transfer %+v, want still CallingTarget", c.xfer)
	}
	if !c.sync.dirty {
		t.Fatal("call not marked for reconciling after the lost answer")
	}

	// Asterisk shows the leg ringing: the dial happened.
	rec.mu.Lock()
	rec.lost = nil
	rec.body = map[string]string{"GET /channels/c1-x1-target-1": `{"id":"c1-x1-target-1","state":"Ringing"}`}
	rec.mu.Unlock()
	if err := c.reconcile(ctx); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if !target.dialLost.IsZero() || !target.progressed || target.gone {
		t.Fatalf("target after Asterisk showed it ringing: %+v, want its dial confirmed", target)
	}
	if n := strings.Count(strings.Join(rec.requests(), "\n"), "POST /channels/c1-x1-target-1/dial"); n != 1 {
		t.Fatalf("dial sent %d times, want once (a channel dialed twice breaks)", n)
	}
	c.onAnswered(ctx, target)
	if c.xfer == nil || c.xfer.State != transfer.Consulting {
		t.Fatalf("transfer %+v after the target answered, want Consulting", c.xfer)
	}
}

// The target's create is carried out but its answer is lost: the leg stays
// pending, and the reconciler finds it in Asterisk and places the call.
func TestLostCreateAnswerPlacesTheCall(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{lost: map[string]bool{"POST /channels/create": true}}
	c := transferring(t, rec)
	defer c.stopTimers()
	target := c.legs["c1-x1-target-1"]
	if target == nil || target.gone || target.pending == nil || !target.pending.createLost {
		t.Fatalf("target after a lost create answer: %+v, want pending with its create in doubt", target)
	}
	if c.xfer == nil || c.xfer.State != transfer.CallingTarget {
		t.Fatalf("transfer %+v, want still CallingTarget", c.xfer)
	}
	rec.mu.Lock()
	rec.lost = nil
	rec.mu.Unlock()
	if err := c.reconcile(ctx); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	reqs := rec.requests()
	if !slices.Contains(reqs, "GET /channels/c1-x1-target-1") || !slices.Contains(reqs, "POST /channels/c1-x1-target-1/dial") {
		t.Fatalf("the reconciler did not find the leg and dial it: %q", reqs)
	}
	if slices.Contains(reqs, "DELETE /channels/c1-x1-target-1") || target.gone {
		t.Fatalf("the leg was given up: %q", reqs)
	}
}

// A cancel while ARI is unreachable: once it is back, the target is hung
// up and the ringback Alice heard stops, though the target's hangup events
// have not arrived yet (it no longer counts as ringing).
func TestRingbackStopsWhenTheTargetIsHungUpLate(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	c := transferring(t, rec)
	defer c.stopTimers()
	c.placeCall(ctx, c.legs["c1-x1-target-1"], 0)
	// ARI goes away as Alice cancels: no request of the step is answered.
	rec.mu.Lock()
	rec.lost = map[string]bool{"": true}
	rec.mu.Unlock()
	if _, err := c.onCommand(ctx, command{at: time.Now(), action: "cancel", channel: "c1"}); err == nil {
		t.Fatal("cancel while ARI is away answered a success")
	}
	if c.xfer != nil {
		t.Fatalf("transfer %+v still open after the cancel", c.xfer)
	}
	if l := c.legs["c1-x1-target-1"]; !l.mustEnd {
		t.Fatalf("target %+v: its hangup got no answer, want it marked to be hung up", l)
	}
	rec.mu.Lock()
	rec.lost = nil
	rec.mu.Unlock()
	c.app.ariDown.Store(false)
	n := len(rec.requests())
	if err := c.reconcile(ctx); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	reqs := rec.requests()[n:]
	if !slices.Contains(reqs, "DELETE /channels/c1-x1-target-1") {
		t.Fatalf("the target was not hung up once ARI was back: %q", reqs)
	}
	stopped := false
	for _, r := range reqs {
		stopped = stopped || strings.HasPrefix(r, "DELETE /playbacks/c1-x1-ringback")
	}
	if !stopped {
		t.Fatalf("the ringback was not stopped once ARI was back: %q", reqs)
	}
}
