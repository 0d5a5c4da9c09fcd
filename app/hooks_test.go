package app

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestJoinHooks: every set hears every event, in order; a field nobody
// sets stays nil.
func TestJoinHooks(t *testing.T) {
	var got []string
	rec := func(s string) func() { return func() { got = append(got, s) } }
	all := func(name string) Hooks {
		return Hooks{
			CallChanged:    func(CallInfo) { got = append(got, name+".changed") },
			CallStarted:    rec(name + ".started"),
			CallEnded:      rec(name + ".ended"),
			TransfereeHeld: func(time.Duration) { got = append(got, name+".held") },
			TransferEnded:  func(string, string, float64) { got = append(got, name+".transfer") },
		}
	}
	events := Hooks{CallChanged: func(CallInfo) { got = append(got, "events.changed") }}
	h := joinHooks([]Hooks{all("metrics"), events, all("bench"), {}})
	h.CallChanged(CallInfo{})
	h.CallStarted()
	h.CallEnded()
	h.TransfereeHeld(time.Second)
	h.TransferEnded("a", "completed", 1)
	want := []string{"metrics.changed", "events.changed", "bench.changed", "metrics.started", "bench.started",
		"metrics.ended", "bench.ended", "metrics.held", "bench.held", "metrics.transfer", "bench.transfer"}
	if !slices.Equal(got, want) {
		t.Errorf("joinHooks heard %v, want %v", got, want)
	}
	if h := joinHooks([]Hooks{{}, events}); h.CallStarted != nil || h.TransfereeHeld != nil || h.CallChanged == nil {
		t.Errorf("joinHooks({}, events): unset fields became non-nil, or CallChanged was lost")
	}
	if h := joinHooks(nil); h.CallChanged != nil || h.TransferEnded != nil {
		t.Errorf("joinHooks(nil) has hooks")
	}
}

// TestWaitCalls: WaitCalls returns once every live call has been released,
// and with the context's error while one is still live.
func TestWaitCalls(t *testing.T) {
	c := talkingCall(t, &recorder{}, new([]time.Duration))
	a := c.app
	if err := a.WaitCalls(context.Background()); err != nil {
		t.Fatalf("WaitCalls with no live call = %v, want nil", err)
	}
	a.mu.Lock()
	a.calls[c.id] = c
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := a.WaitCalls(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitCalls with a live call = %v, want %v", err, context.DeadlineExceeded)
	}
	waited := make(chan error, 1)
	go func() { waited <- a.WaitCalls(context.Background()) }()
	select {
	case err := <-waited:
		t.Fatalf("WaitCalls returned %v before the call was released", err)
	case <-time.After(20 * time.Millisecond):
	}
	a.release(c)
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("WaitCalls after release = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitCalls did not return 10s after the call was released")
	}
}
