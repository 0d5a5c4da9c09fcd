package main

import (
	"testing"
	"time"

	"github.com/transferd/transferd/app"
)

// TestCombineHooks: every set of hooks hears every event, and base's hooks
// are kept even where more sets none.
func TestCombineHooks(t *testing.T) {
	var got []string
	base := app.Hooks{
		CallChanged:    func(app.CallInfo) { got = append(got, "base.changed") },
		CallStarted:    func() { got = append(got, "base.started") },
		CallEnded:      func() { got = append(got, "base.ended") },
		TransfereeHeld: func(time.Duration) { got = append(got, "base.held") },
		TransferEnded:  func(string, string, float64) { got = append(got, "base.transfer") },
	}
	events := app.Hooks{CallChanged: func(app.CallInfo) { got = append(got, "events.changed") }}
	all := app.Hooks{
		CallChanged:    func(app.CallInfo) { got = append(got, "all.changed") },
		CallStarted:    func() { got = append(got, "all.started") },
		CallEnded:      func() { got = append(got, "all.ended") },
		TransfereeHeld: func(time.Duration) { got = append(got, "all.held") },
		TransferEnded:  func(string, string, float64) { got = append(got, "all.transfer") },
	}
	h := combineHooks(base, events, all, app.Hooks{})
	h.CallChanged(app.CallInfo{})
	h.CallStarted()
	h.CallEnded()
	h.TransfereeHeld(time.Second)
	h.TransferEnded("a", "completed", 1)
	want := []string{"base.changed", "events.changed", "all.changed", "base.started", "all.started",
		"base.ended", "all.ended", "base.held", "all.held", "base.transfer", "all.transfer"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if h := combineHooks(app.Hooks{}, events); h.CallStarted != nil || h.CallChanged == nil {
		t.Fatal("empty hooks became non-nil or events lost")
	}
}
