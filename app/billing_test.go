package app

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

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
