package ari

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b, err := Backoff{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if b.Min != 100*time.Millisecond || b.Max != 5*time.Second {
		t.Fatalf("defaults = %+v, want Min 100ms, Max 5s", b)
	}
	tests := []struct {
		step   int
		lo, hi time.Duration
	}{
		{0, 50 * time.Millisecond, 100 * time.Millisecond},
		{1, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 400 * time.Millisecond, 800 * time.Millisecond},
		{6, 2500 * time.Millisecond, 5 * time.Second}, // capped
		{1000, 2500 * time.Millisecond, 5 * time.Second},
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := b.delay(tt.step)
			if d < tt.lo || d > tt.hi {
				t.Fatalf("delay(%d) = %v, want within [%v, %v]", tt.step, d, tt.lo, tt.hi)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("delay(%d) is not jittered: always %v", tt.step, seen)
		}
	}
}

// dialCounter is a Transport whose event stream never connects.
type dialCounter struct {
	recorder
	dials atomic.Int32
}

func (d *dialCounter) Events(context.Context, []string) (EventStream, error) {
	d.dials.Add(1)
	return nil, errors.New("refused")
}

// RedialNow cuts a long reconnect backoff short.
func TestRedialNow(t *testing.T) {
	tr := &dialCounter{}
	c, err := New(Options{Transport: tr, Apps: []string{"app"}, Backoff: Backoff{Min: time.Minute, Max: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	waitFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if n := tr.dials.Load(); n != 1 {
			return fmt.Errorf("%d dials, want 1", n)
		}
		return nil
	})
	c.RedialNow()
	waitFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if n := tr.dials.Load(); n != 2 {
			return fmt.Errorf("%d dials after RedialNow, want 2 (the backoff is a minute)", n)
		}
		return nil
	})
	cancel()
	<-done
}
