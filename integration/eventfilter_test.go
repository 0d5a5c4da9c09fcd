package integration

import (
	"testing"
	"time"

	"github.com/transferd/transferd/ari"
)

// TestEventFilterOnRealAsterisk: Asterisk 22 takes the application event
// filter transferd sets (PUT /applications/{app}/eventFilter, the body
// being the filter itself) and then sends only the allowed types: a
// variable set on a channel of the application raises no ChannelVarset,
// while StasisStart and StasisEnd still come.
func TestEventFilterOnRealAsterisk(t *testing.T) {
	t.Parallel()
	ctx := within(t, 60*time.Second)
	tag := "evf"
	a := startApp(t, ctx, "evf-app")
	defer checkNoLeaks(t, a.client, tag)

	got, err := a.client.Applications.SetEventFilter(ctx, a.app, ari.AllowOnly("StasisStart", "StasisEnd"))
	if err != nil {
		t.Fatalf("SetEventFilter: %v", err)
	}
	if len(got.EventsAllowed) != 2 {
		t.Fatalf("events_allowed = %s, want the two types set", got.EventsAllowed)
	}

	handset, err := phones.Call(ctx, CallParams{Tag: tag, Name: "alice", App: a.app, Account: "x", Dest: "1", Callback: "100"})
	if err != nil {
		t.Fatal(err)
	}
	in := InID(handset.ID)
	if _, err := a.ph.WaitEvent(ctx, 0, "StasisStart", onChannel(in)); err != nil {
		t.Fatal(err)
	}
	if err := a.client.Channels.SetVariable(ctx, in, "EVF_MARK", "1"); err != nil {
		t.Fatal(err)
	}
	mark := a.ph.Mark()
	if err := handset.Hangup(ctx, "normal"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ph.WaitEvent(ctx, mark, "StasisEnd", onChannel(in)); err != nil {
		t.Fatal(err)
	}
	// StasisEnd comes after the variable's ChannelVarset and the hangup's
	// ChannelHangupRequest would have: none of them may be there.
	for _, ev := range a.ph.Events() {
		if typ := ev.GetType(); typ != "StasisStart" && typ != "StasisEnd" {
			t.Errorf("event %s passed a filter allowing StasisStart and StasisEnd only", typ)
		}
	}
}
