package ari

import (
	"context"
	"errors"
	"testing"
)

// A guarded context's requests go out only while the guard allows them;
// a refused one is not sent and carries the guard's reason.
func TestGuardRefusesUnsent(t *testing.T) {
	rec := &recorder{}
	c := newTestClient(t, rec)
	lapsed := errors.New("lease lapsed")
	var refuse error
	ctx := WithGuard(context.Background(), func() error { return refuse })

	if err := c.Channels.Hangup(ctx, "c1", "normal"); err != nil {
		t.Fatalf("allowed by its guard: %v", err)
	}
	if n := len(rec.take()); n != 1 {
		t.Fatalf("%d requests sent, want 1", n)
	}
	refuse = lapsed
	err := c.Channels.Hangup(ctx, "c1", "normal")
	if !errors.Is(err, lapsed) {
		t.Fatalf("refused by its guard: got %v, want the guard's error", err)
	}
	if StatusOf(err) != 0 {
		t.Errorf("a request never sent has status %d", StatusOf(err))
	}
	if reqs := rec.take(); len(reqs) != 0 {
		t.Errorf("refused request sent all the same: %+v", reqs[0])
	}
	// Another context is not guarded.
	if err := c.Channels.Hangup(context.Background(), "c2", "normal"); err != nil || len(rec.take()) != 1 {
		t.Errorf("unguarded request: %v", err)
	}
}
