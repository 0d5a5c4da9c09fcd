package app

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/ari"
)

// These prove the order and the number of the requests billing adds; what
// Asterisk writes from them is proved on a real Asterisk
// (integration/billing_test.go).

// billingRequests are the requests billing.go sends: variables (the
// userfield marks, CDR_PROP, caller id, account code), the CEL side trip's
// originate and the transferor's removal before a blond transfer's move.
func billingRequests(reqs []string) []string {
	var out []string
	for _, r := range reqs {
		if strings.HasPrefix(r, "POST /channels/") && strings.HasSuffix(r, "/variable") || strings.Contains(r, "-cel-") || strings.HasSuffix(r, "/removeChannel") {
			out = append(out, r)
		}
	}
	return out
}

// startAttended starts an attended transfer from c1 to 2600 and returns
// the requests sent so far.
func startAttended(t *testing.T, rec *recorder, c *Call) {
	t.Helper()
	if _, err := c.startTransfer(context.Background(), c.legs["c1"], "2600", nil, false); err != nil {
		t.Fatalf("startTransfer: %v", err)
	}
	if c.xfer == nil || c.xfer.Target == "" {
		t.Fatalf("no target dialled: %+v (requests %q)", c.xfer, rec.requests())
	}
}

// The transferor hangs up while the target rings (a partial transfer):
// she is taken out of the call bridge before the transferee comes back to
// it, so the CDR engine cannot pair her wait with him.
func TestBlondTransferorOutBeforeTransfereeBack(t *testing.T) {
	rec := &recorder{}
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	startAttended(t, rec, c)
	n := len(rec.requests())
	c.onEvent(context.Background(), &ari.ChannelHangupRequest{Channel: ari.Channel{ID: "c1"}})
	reqs := rec.requests()[n:]
	out, back := index(reqs, "POST /bridges/c1/removeChannel"), index(reqs, "POST /bridges/c1/addChannel")
	if out < 0 || back < 0 || out > back {
		t.Fatalf("want the transferor removed from c1 before the transferee is added back; requests %q", reqs)
	}
	if c.xfer == nil || c.xfer.State.String() != "Blond" {
		t.Fatalf("state %v, want Blond", c.xfer)
	}
}

// The transferor hangs up while talking to the target (the transfer
// completes): she is out of the call bridge before the transferee comes
// back to it. A CI run had her hangup reach the bridge 1 ms after him, and
// her CDR with him ran on to her hangup.
func TestCompletedTransferorOutBeforeTransfereeBack(t *testing.T) {
	rec := &recorder{}
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	startAttended(t, rec, c)
	ctx := context.Background()
	c.onEvent(ctx, &ari.Dial{Peer: ari.Channel{ID: ari.ChannelID(c.xfer.Target)}, Dialstatus: "ANSWER"})
	n := len(rec.requests())
	c.onEvent(ctx, &ari.ChannelHangupRequest{Channel: ari.Channel{ID: "c1"}})
	reqs := rec.requests()[n:]
	out, back := index(reqs, "POST /bridges/c1/removeChannel"), index(reqs, "POST /bridges/c1/addChannel")
	if out < 0 || back < 0 || out > back {
		t.Fatalf("want the transferor removed from c1 before the transferee is added back; requests %q", reqs)
	}
	if c.xfer != nil || c.lastXfer == nil || c.lastXfer.Outcome.String() != "completed" {
		t.Fatalf("transfer %+v, last %+v; want it completed", c.xfer, c.lastXfer)
	}
}

// What billing costs, in requests, for a completed attended transfer and
// for a partial one: pinned so a change of cost is seen (and said in the
// README's billing section).
func TestBillingRequestsPerTransfer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		partial bool
		want    []string
	}{
		{
			name: "completed",
			want: []string{
				"POST /channels/c1/variable",             // CDR(userfield) transferor
				"POST /channels/c1-cel-1",                // TRANSFERD_START
				"POST /bridges/c1/removeChannel",         // the transferor out before Bob is back
				"POST /channels/c1-b/variable",           // outcome on the transferee
				"POST /channels/c1-x1-target-1/variable", // outcome on the target
				"POST /channels/c1-cel-2",                // TRANSFERD_END
			},
		},
		{
			name: "partial", partial: true,
			want: []string{
				"POST /channels/c1/variable",
				"POST /channels/c1-cel-1",
				"POST /bridges/c1/removeChannel",         // the transferor out before Bob is back
				"POST /channels/c1-x1-target-1/variable", // CDR_PROP(party_a) on the answering target
				"POST /channels/c1-b/variable",
				"POST /channels/c1-x1-target-1/variable",
				"POST /channels/c1-cel-2",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			var held []time.Duration
			c := talkingCall(t, rec, &held)
			startAttended(t, rec, c)
			target := ari.ChannelID(c.xfer.Target)
			ctx := context.Background()
			answer := func() { c.onEvent(ctx, &ari.Dial{Peer: ari.Channel{ID: target}, Dialstatus: "ANSWER"}) }
			hangup := func() { c.onEvent(ctx, &ari.ChannelHangupRequest{Channel: ari.Channel{ID: "c1"}}) }
			if tc.partial {
				hangup()
				answer()
			} else {
				answer()
				hangup()
			}
			if c.xfer != nil {
				t.Fatalf("transfer still open in %s", c.xfer.State)
			}
			if c.cel != nil {
				_ = c.cel.wait() // CEL events are raised in the background
			}
			// The CEL events go out on their own goroutine, in order among
			// themselves: compare them apart from the other requests.
			split := func(reqs []string) (rest, cel []string) {
				for _, r := range reqs {
					if strings.Contains(r, "-cel-") {
						cel = append(cel, r)
					} else {
						rest = append(rest, r)
					}
				}
				return rest, cel
			}
			got := billingRequests(rec.requests())
			gr, gc := split(got)
			wr, wc := split(tc.want)
			if !slices.Equal(gr, wr) || !slices.Equal(gc, wc) {
				t.Fatalf("billing requests:\n%s\nwant (the CEL ones in order among themselves):\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// celOriginators records the originator of each CEL side trip's originate
// and refuses, as Asterisk does, an originator that is already gone.
type celOriginators struct {
	*recorder
	gone string // a channel id Asterisk no longer has
	mu   sync.Mutex
	seen []string // "<path> originator=<id>" in order
}

func (r *celOriginators) RoundTrip(ctx context.Context, req *ari.Request) (*ari.Response, error) {
	if strings.Contains(req.Path, "-cel-") {
		o := req.Query.Get("originator")
		r.mu.Lock()
		r.seen = append(r.seen, req.Path+" originator="+o)
		r.mu.Unlock()
		if o != "" && o == r.gone {
			return &ari.Response{Status: 400, Body: []byte(`{"message":"Provided originator channel was not found"}`)}, nil
		}
		return &ari.Response{Status: 200, Body: []byte(`{}`)}, nil
	}
	return r.recorder.RoundTrip(ctx, req)
}

// A blind transfer hangs its transferor up right after it starts, before
// TRANSFERD_START (raised when the target rings): the event's originator
// is the transferee, who stays. And an originator that
// is gone all the same (400) does not lose the event: it is raised without.
func TestCELOriginatorStays(t *testing.T) {
	for _, tc := range []struct {
		name, gone string
		want       []string
	}{
		{name: "transferee", want: []string{"/channels/c1-cel-1 originator=c1-b"}},
		{name: "gone", gone: "c1-b", want: []string{"/channels/c1-cel-1 originator=c1-b", "/channels/c1-cel-1 originator="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &celOriginators{recorder: &recorder{}, gone: tc.gone}
			cfg := DefaultConfig()
			acct := cfg.Defaults
			acct.DialTemplate = "Local/{number}@phones"
			cfg.Accounts = map[string]AccountConfig{"a": acct}
			client, err := ari.New(ari.Options{Transport: rec, Apps: []string{"transferd"}})
			if err != nil {
				t.Fatal(err)
			}
			a, err := New(cfg, client, zerolog.New(zerolog.NewTestWriter(t)))
			if err != nil {
				t.Fatal(err)
			}
			c := newCall(a, a.accounts["a"], "c1")
			c.addLeg(&leg{id: "c1", role: roleCaller, number: "1001", callback: "1001", answered: true})
			c.addLeg(&leg{id: "c1-b", role: roleCallee, number: "2001", callback: "2001", answered: true})
			c.phase = phaseTalking
			ctx := context.Background()
			if _, err := c.startTransfer(ctx, c.legs["c1"], "2600", nil, true); err != nil {
				t.Fatalf("startTransfer: %v", err)
			}
			if c.cel != nil {
				t.Fatal("TRANSFERD_START raised before the target rings")
			}
			c.onEvent(ctx, &ari.Dial{Peer: ari.Channel{ID: ari.ChannelID(c.xfer.Target)}, Dialstatus: "RINGING"})
			if c.cel == nil {
				t.Fatal("no CEL event raised")
			}
			_ = c.cel.wait()
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if !slices.Equal(rec.seen, tc.want) {
				t.Fatalf("CEL originates %q, want %q", rec.seen, tc.want)
			}
		})
	}
}

// The target answers but Asterisk refuses its join: it is answered and in
// no bridge, so nobody hears it. The call schedules a reconcile pass, whose
// layout puts it in the call bridge (a failure used to be only logged).
func TestFailedJoinAtAnswerReconciles(t *testing.T) {
	rec := &recorder{}
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	startAttended(t, rec, c)
	target := ari.ChannelID(c.xfer.Target)
	rec.mu.Lock()
	rec.fail = map[string]int{"POST /bridges/c1/addChannel": 500}
	rec.mu.Unlock()
	c.onEvent(context.Background(), &ari.Dial{Peer: ari.Channel{ID: target}, Dialstatus: "ANSWER"})
	t.Cleanup(func() {
		if c.sync.retry != nil {
			c.sync.retry.Stop()
		}
	})
	if !slices.Contains(rec.requests(), "POST /bridges/c1/addChannel") {
		t.Fatalf("no join sent: %q", rec.requests())
	}
	if !c.sync.dirty || c.sync.retry == nil {
		t.Fatalf("failed join left alone: dirty %v, pass scheduled %v", c.sync.dirty, c.sync.retry != nil)
	}
	if lay := c.layout(); lay.where[target] != c.bridge {
		t.Fatalf("layout puts the answered target in %q, want the call bridge %q", lay.where[target], c.bridge)
	}
}
