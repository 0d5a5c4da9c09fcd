package app

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transferd/transferd/ari"
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

// renewingOwnership renews every lease it is asked to and records what it
// was asked.
type renewingOwnership struct {
	ttl     time.Duration
	mu      sync.Mutex
	renewed []string
}

func (*renewingOwnership) Claim(context.Context, string) (bool, error) { return true, nil }
func (o *renewingOwnership) Renew(_ context.Context, ids []string) ([]string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.renewed = append(o.renewed, ids...)
	return nil, nil
}
func (*renewingOwnership) Release(context.Context, string) error     { return nil }
func (*renewingOwnership) Orphans(context.Context) ([]string, error) { return nil, nil }
func (o *renewingOwnership) LeaseTTL() time.Duration                 { return o.ttl }

// runningCall starts a talking call's goroutine under an ownership, waits
// for its first snapshot, then makes its lease last confirmed 'ago' (the
// process was paused that long). It returns how many requests (and saves)
// were made before.
func runningCall(t *testing.T, rec *recorder, ago time.Duration) (*Call, int) {
	t.Helper()
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	a := c.app
	a.SetStore(&noteStore{rec: rec})
	a.SetOwnership(&renewingOwnership{ttl: 600 * time.Millisecond})
	a.mu.Lock()
	a.calls[c.id] = c
	a.mu.Unlock()
	a.leaseRenewed(c.id, time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go c.run(ctx, callStart{}, func(context.Context) {})
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(rec.requests(), "SAVE c1") {
		if time.Now().After(deadline) {
			t.Fatalf("the call's first snapshot was never written: %v", rec.requests())
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.leaseRenewed(c.id, time.Now().Add(-ago))
	return c, len(rec.requests())
}

// A process woken from a pause longer than its lease finds events that
// arrived meanwhile in a call's inbox, ahead of anything its renewal loop
// could post: the call checks its lease first and acts on none of them.
func TestPausedOwnerActsOnNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		ago  time.Duration
		acts bool
	}{
		{"lease fresh", 0, true}, // the control: the same event does act
		{"paused past the lease", time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			c, mark := runningCall(t, rec, tc.ago)
			// Bob hangs up: the call hangs Alice up (a lone party) and ends.
			c.post(&ari.ChannelHangupRequest{Channel: ari.Channel{ID: "c1-b"}})
			var err error
			if tc.acts {
				deadline := time.Now().Add(5 * time.Second)
				for !slices.Contains(rec.requests(), "DELETE /channels/c1") && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if !slices.Contains(rec.requests(), "DELETE /channels/c1") {
					err = errors.New("Alice was never hung up")
				}
			} else {
				select {
				case <-c.done:
				case <-time.After(5 * time.Second):
					err = errors.New("the call still runs")
				}
			}
			if err != nil {
				t.Fatalf("%v; requests %v", err, rec.requests())
			}
			if !tc.acts {
				if reqs := rec.requests()[mark:]; len(reqs) != 0 {
					t.Errorf("a call whose lease lapsed during a pause sent %v", reqs)
				}
				if !c.stopped || c.ended {
					t.Errorf("stopped %v, ended %v: want given up, not ended", c.stopped, c.ended)
				}
				if _, ok := c.app.leaseAge(c.id); ok {
					t.Error("the lease given up is still recorded")
				}
			}
		})
	}
}

// The renewal after a pause longer than the lease writes nothing for the
// call (re-creating a lapsed lease would take back a call another instance
// may have carried on meanwhile) and gives the call up; a fresh lease is
// renewed as ever.
func TestRenewalAfterPauseGivesUpWithoutWriting(t *testing.T) {
	var held []time.Duration
	c := talkingCall(t, &recorder{}, &held)
	a := c.app
	own := &renewingOwnership{ttl: 600 * time.Millisecond}
	a.SetOwnership(own)
	fresh := newCall(a, a.accounts["a"], "c2")
	a.mu.Lock()
	a.calls[c.id], a.calls[fresh.id] = c, fresh
	a.mu.Unlock()
	a.leaseRenewed(c.id, time.Now().Add(-time.Second))
	a.leaseRenewed(fresh.id, time.Now())

	a.renewLeases(context.Background())
	if !slices.Equal(own.renewed, []string{"c2"}) {
		t.Errorf("renewed %v, want only the fresh lease c2", own.renewed)
	}
	if !stopPosted(c) {
		t.Error("the call whose lease lapsed during the pause was not given up")
	}
	if stopPosted(fresh) {
		t.Error("the call with a fresh lease was given up")
	}
	if _, ok := a.leaseAge(c.id); ok {
		t.Error("the lapsed lease is still recorded: the call's goroutine would act on its queued events")
	}
}

// pausingTransport is the recorder, with a pause of the process after one
// request: the lease ages past the fence while that request is under way.
// The paused request returns only after a settling time, and mark is then
// the number of requests recorded: the step's other goroutines may have
// passed the fence just before the pause and be on their way to the
// transport (a fence can only stop what is decided after it), so those
// that arrive while it settles are the requests in flight at the pause.
// The paused request's own continuation comes after mark.
type pausingTransport struct {
	*recorder
	after string // "METHOD path" after which the process "pauses"
	pause func()
	mark  int // len(requests()) once the pause settled; -1 before
}

// inFlightSettle is how long the requests in flight at a pause are given
// to reach the transport: far longer than the few function calls between
// the fence and the transport, even on a loaded machine.
const inFlightSettle = 500 * time.Millisecond

func (p *pausingTransport) RoundTrip(ctx context.Context, req *ari.Request) (*ari.Response, error) {
	resp, err := p.recorder.RoundTrip(ctx, req)
	if req.Method+" "+req.Path == p.after {
		p.pause()
		time.Sleep(inFlightSettle)
		p.mark = len(p.recorder.requests())
	}
	return resp, err
}

// A pause in the middle of a step (here: between the first request of a
// transfer's start and the next) is caught at the next request: nothing
// more is sent for the call once the requests in flight at the pause have
// landed, and the call stops at its next message.
func TestPauseMidStepSendsNothingMore(t *testing.T) {
	rec := &recorder{}
	c, mark := runningCall(t, rec, 0)
	a := c.app
	pt := &pausingTransport{recorder: rec, mark: -1, pause: func() { a.leaseRenewed(c.id, time.Now().Add(-time.Second)) }}
	client, err := ari.New(ari.Options{Transport: pt, Apps: []string{"transferd"}})
	if err != nil {
		t.Fatal(err)
	}
	// The transfer's first request, found by a dry run on another call.
	dry := &recorder{}
	var held []time.Duration
	d := talkingCall(t, dry, &held)
	d.app.SetStore(&noteStore{rec: dry})
	if _, err := d.startTransfer(context.Background(), d.legs["c1"], "2600", nil, false); err != nil {
		t.Fatal(err)
	}
	var first string
	for _, r := range dry.requests() {
		if !strings.HasPrefix(r, "SAVE") {
			first = r
			break
		}
	}
	if first == "" {
		t.Fatalf("a transfer's start sends nothing: %v", dry.requests())
	}
	pt.after = first
	a.client = client

	reply := make(chan commandResult, 1)
	c.post(command{at: time.Now(), action: "transfer", channel: "c1", target: "2600", reply: reply})
	select {
	case <-reply:
	case <-time.After(5 * time.Second):
		t.Fatal("the command was never answered")
	}
	all := rec.requests()
	if at := slices.Index(all[mark:], first); at < 0 {
		t.Fatalf("the transfer's first request %q was never sent: %v", first, all[mark:])
	}
	if pt.mark < 0 {
		t.Fatal("the pause never settled")
	}
	if after := all[pt.mark:]; len(after) != 0 {
		t.Errorf("sent after the pause during %q (and the requests in flight then %v): %v",
			first, all[mark:pt.mark], after)
	}
	c.post(resync{})
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the call still runs after its next message")
	}
	if !c.stopped || c.ended {
		t.Errorf("stopped %v, ended %v: want given up, not ended", c.stopped, c.ended)
	}
}

// A background snapshot write that outlives a pause is refused: the
// store may hold the new owner's snapshot by then.
func TestSnapshotNotWrittenAfterPause(t *testing.T) {
	rec := &recorder{}
	c, mark := runningCall(t, rec, time.Second)
	err := c.write(context.Background(), &queued{version: ^uint64(0) - 1, body: []byte(`{}`)})
	if !errors.Is(err, errLeaseNotConfirmed) {
		t.Errorf("write after the pause: %v, want refused", err)
	}
	if sent := rec.requests()[mark:]; len(sent) != 0 {
		t.Errorf("written after the pause: %v", sent)
	}
}
