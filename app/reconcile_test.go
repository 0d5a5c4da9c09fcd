package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/transferd/transferd/transfer"
)

// noteStore is a Store that writes each save into the recorder's request
// list, so a test sees snapshots and ARI requests in one order.
type noteStore struct {
	rec   *recorder
	mu    sync.Mutex
	saved [][]byte
	at    []time.Time // when each was saved
	// gate, when set, holds each Save until a value is received from it
	// (or it is closed).
	gate chan struct{}
}

func (s *noteStore) Save(_ context.Context, id string, b []byte) error {
	if s.gate != nil {
		<-s.gate
	}
	s.rec.mu.Lock()
	s.rec.reqs = append(s.rec.reqs, "SAVE "+id)
	s.rec.mu.Unlock()
	s.mu.Lock()
	s.saved = append(s.saved, append([]byte(nil), b...))
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	return nil
}
func (s *noteStore) Delete(context.Context, string) error         { return nil }
func (s *noteStore) Load(context.Context, string) ([]byte, error) { return nil, ErrNoSnapshot }
func (s *noteStore) List(context.Context) ([]string, error)       { return nil, nil }
func (s *noteStore) first() (snap snapshot, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.saved) == 0 {
		return snap, false
	}
	return snap, json.Unmarshal(s.saved[0], &snap) == nil
}

// The snapshot of the step is saved before its first effect, and it
// already holds what the effects will create: a crash in between is
// recovered by reconciling towards it.
func TestWriteAheadBeforeEffects(t *testing.T) {
	rec := &recorder{}
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	store := &noteStore{rec: rec}
	c.app.SetStore(store)
	if _, err := c.startTransfer(context.Background(), c.legs["c1"], "2600", nil, false); err != nil {
		t.Fatalf("startTransfer: %v", err)
	}
	reqs := rec.requests()
	save, hold := index(reqs, "SAVE c1"), index(reqs, "POST /bridges/c1-x1-hold")
	if save < 0 || hold < 0 || save > hold {
		t.Fatalf("snapshot saved at %d, first effect at %d: %q", save, hold, reqs)
	}
	s, ok := store.first()
	if !ok {
		t.Fatal("no readable snapshot saved")
	}
	if s.Xfer == nil || s.Xfer.State != transfer.CallingTarget {
		t.Fatalf("write-ahead snapshot transfer = %+v, want CallingTarget", s.Xfer)
	}
	var target *legSnapshot
	for i := range s.Legs {
		if s.Legs[i].ID == "c1-x1-target-1" {
			target = &s.Legs[i]
		}
	}
	if target == nil || !target.Pending || target.Role != roleTarget {
		t.Fatalf("write-ahead snapshot legs %+v: want the target leg, pending", s.Legs)
	}
	if len(s.Holds) != 1 || s.Holds[0] != "c1-x1-hold" {
		t.Fatalf("write-ahead snapshot holds %v, want the hold bridge", s.Holds)
	}
	if tm, ok := s.Timers[transfer.TimerNoAnswer]; !ok || tm.Seq != s.Xfer.TimerSeq {
		t.Fatalf("write-ahead snapshot timers %v: want the no-answer timer #%d", s.Timers, s.Xfer.TimerSeq)
	}
	// The effects all succeeded: the call now is what was written ahead
	// but for the target's dial, which went out with its create (a leg's
	// own flag, written in the background with the next change), so the
	// step costs one write, not two.
	after := c.snapshot(nil)
	if c.addsSomething(&after) {
		t.Fatalf("the snapshot after the step's effects adds to the one written ahead (written at once: a second write)")
	}
	for i := range after.Legs {
		if after.Legs[i].ID == "c1-x1-target-1" && !after.Legs[i].Pending {
			after.Legs[i].Pending = true
		}
	}
	after.Version, s.Version = 0, 0
	a, _ := json.Marshal(after)
	w, _ := json.Marshal(s)
	if !bytes.Equal(a, w) {
		t.Fatalf("the snapshot after the step's effects differs from the one written ahead by more than the target's dial:\n%s\n%s", a, w)
	}
	// A step that changes nothing in Asterisk writes nothing ahead. (The
	// transfer's CEL start event is raised in the background: let it go
	// first.)
	if c.cel != nil {
		_ = c.cel.wait()
	}
	n := len(rec.requests())
	c.step(context.Background(), transfer.Ringing{Channel: "c1-x1-target-1"})
	if got := rec.requests()[n:]; len(got) != 0 {
		t.Fatalf("a step without effects sent %q", got)
	}
}

// The finished transfer is part of the snapshot until the call ends.
func TestSnapshotKeepsLastTransfer(t *testing.T) {
	rec := &recorder{fail: map[string]int{"POST /channels/create": 400}}
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	if _, err := c.startTransfer(context.Background(), c.legs["c1"], "2600", nil, false); err != nil {
		t.Fatalf("startTransfer: %v", err)
	}
	s := c.snapshot(nil)
	if s.Xfer != nil || s.LastXfer == nil || !s.LastXfer.Outcome.Failure() {
		t.Fatalf("snapshot xfer %+v last %+v: want no transfer and the failed one as last", s.Xfer, s.LastXfer)
	}
}

// While ARI is known to be unreachable, an API action changes nothing and
// says so.
func TestCommandRefusedWhileARIDown(t *testing.T) {
	rec := &recorder{}
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	c.app.ariDown.Store(true)
	_, err := c.onCommand(context.Background(), command{at: time.Now(), action: "transfer", channel: "c1", target: "2600"})
	if !errors.Is(err, ErrAsteriskUnavailable) {
		t.Fatalf("onCommand error = %v, want ErrAsteriskUnavailable", err)
	}
	if c.xfer != nil || len(rec.requests()) != 0 {
		t.Fatalf("refused command started %+v and sent %q", c.xfer, rec.requests())
	}
}

// An action whose effects fail is answered only after the call looked at
// Asterisk: here Asterisk refuses every move (the reconcile cannot repair
// it), so the answer is ErrAsteriskUnavailable naming the state transferd
// converges to, never a plain success.
func TestCommandWithFailedEffectsIsNotASuccess(t *testing.T) {
	rec := &recorder{}
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	if _, err := c.startTransfer(context.Background(), c.legs["c1"], "2600", nil, false); err != nil {
		t.Fatalf("startTransfer: %v", err)
	}
	c.onAnswered(context.Background(), c.legs["c1-x1-target-1"])
	if c.xfer == nil || c.xfer.State != transfer.Consulting {
		t.Fatalf("transfer %+v, want Consulting", c.xfer)
	}
	rec.mu.Lock()
	rec.fail = map[string]int{"POST /bridges/": 500}
	rec.mu.Unlock()
	_, err := c.onCommand(context.Background(), command{at: time.Now(), action: "swap", channel: "c1"})
	if !errors.Is(err, ErrAsteriskUnavailable) {
		t.Fatalf("swap with failing moves answered %v, want ErrAsteriskUnavailable", err)
	}
	if !c.sync.dirty {
		t.Fatal("call not marked for reconciling after failed effects")
	}
	c.stopTimers()
}
