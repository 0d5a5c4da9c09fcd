package app

import (
	"context"
	"testing"
	"time"

	"github.com/transferd/transferd/ari"
)

// The API tells a held party apart from one who talks: "held" while the
// number is typed (the hold before the number) and while the transfer
// keeps him in its hold bridge, "up" again once he is back.
func TestInfoSaysWhoIsHeld(t *testing.T) {
	rec := &recorder{}
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	state := func(id ari.ChannelID) string {
		for _, p := range c.snapshotInfo().Parties {
			if p.Channel == string(id) {
				return p.State
			}
		}
		return ""
	}
	if st := state("c1-b"); st != "up" {
		t.Fatalf("talking: callee %q, want up", st)
	}
	c.prehold = &preHold{id: "c1-x1", transferor: "c1", transferee: "c1-b"}
	if a, b := state("c1"), state("c1-b"); a != "up" || b != "held" {
		t.Fatalf("held before the number: transferor %q, callee %q; want up, held", a, b)
	}
	c.prehold = nil
	startAttended(t, rec, c)
	target := ari.ChannelID(c.xfer.Target)
	if b, x := state("c1-b"), state(target); b != "held" || x != "ringing" {
		t.Fatalf("target ringing: callee %q, target %q; want held, ringing", b, x)
	}
	ctx := context.Background()
	c.onEvent(ctx, &ari.Dial{Peer: ari.Channel{ID: target}, Dialstatus: "ANSWER"})
	if b, x := state("c1-b"), state(target); b != "held" || x != "up" {
		t.Fatalf("consulting: callee %q, target %q; want held, up", b, x)
	}
	c.onEvent(ctx, &ari.ChannelHangupRequest{Channel: ari.Channel{ID: "c1"}})
	if b, x := state("c1-b"), state(target); b != "up" || x != "up" {
		t.Fatalf("completed: callee %q, target %q; want up, up", b, x)
	}
}
