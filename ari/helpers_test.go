package ari

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// checkGoroutines records the goroutine count and, at cleanup, waits up to
// a deadline for it to come back down, in the style of pion's
// CheckRoutines. Register it before anything else so its cleanup runs
// last, after servers and clients have been closed.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			now := runtime.NumGoroutine()
			if now <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Errorf("goroutines: %d after the test, %d before; stacks:\n%s", now, before, buf[:n])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// waitFor polls f until it returns nil or the deadline passes (nats.go's
// helper), for conditions no event signals.
func waitFor(t *testing.T, total, step time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waitFor: %v", err)
		}
		time.Sleep(step)
	}
}

// next receives one event from s or fails after a timeout.
func next(t *testing.T, s *Subscription) Event {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		if !ok {
			t.Fatal("subscription closed, want an event")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
		return nil
	}
}

func testLogger(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
}

// recorder is a Transport that records requests and answers through
// respond (200 {} when nil). It makes no events.
type recorder struct {
	mu      sync.Mutex
	reqs    []*Request
	respond func(*Request) (*Response, error)
}

func (r *recorder) RoundTrip(_ context.Context, req *Request) (*Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	respond := r.respond
	r.mu.Unlock()
	if respond == nil {
		return &Response{Status: 200, Body: []byte("{}")}, nil
	}
	return respond(req)
}

func (r *recorder) Events(context.Context, []string) (EventStream, error) {
	return nil, errors.New("recorder: no events")
}

func (r *recorder) take() []*Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	reqs := r.reqs
	r.reqs = nil
	return reqs
}

func newTestClient(t *testing.T, tr Transport) *Client {
	t.Helper()
	c, err := New(Options{Transport: tr, Apps: []string{"transferd"}, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}
