package app

import (
	"context"
	"sync"
	"testing"
	"time"
)

// savesStore records the snapshots saved and when.
type savesStore struct {
	mu    sync.Mutex
	saved []string
	at    []time.Time
	// gate, while open, holds each Save until a value is sent on it.
	gate chan struct{}
}

func (s *savesStore) Save(_ context.Context, _ string, b []byte) error {
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saved = append(s.saved, string(b))
	s.at = append(s.at, time.Now())
	return nil
}
func (s *savesStore) Delete(context.Context, string) error         { return nil }
func (s *savesStore) Load(context.Context, string) ([]byte, error) { return nil, ErrNoSnapshot }
func (s *savesStore) List(context.Context) ([]string, error)       { return nil, nil }
func (s *savesStore) count() int                                   { s.mu.Lock(); defer s.mu.Unlock(); return len(s.saved) }

// A snapshot queued while the background writer writes a hurried one waits
// persistDelay like any other (a call's moments come in bursts), so the
// burst is written once.
func TestPersistCoalescesWhatFollowsAWrite(t *testing.T) {
	rec := &recorder{}
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	st := &savesStore{gate: make(chan struct{})}
	c.app.SetStore(st)
	c.queuePersist(&queued{version: 1, body: []byte("v1")}, false)
	c.hurryPersist()
	// The burst that follows, none hurried, queued while v1 is written.
	time.Sleep(10 * time.Millisecond)
	c.queuePersist(&queued{version: 2, body: []byte("v2")}, false)
	c.queuePersist(&queued{version: 3, body: []byte("v3")}, false)
	close(st.gate)
	deadline := time.Now().Add(2 * time.Second)
	for st.count() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	st.mu.Lock()
	saved, at := append([]string(nil), st.saved...), append([]time.Time(nil), st.at...)
	st.mu.Unlock()
	if len(saved) != 2 || saved[1] != "v3" {
		t.Fatalf("saved %v, want v1 then v3 (v2 replaced before its turn)", saved)
	}
	if d := at[1].Sub(at[0]); d < persistDelay*9/10 {
		t.Fatalf("v3 saved %v after v1, want the writer to wait persistDelay (%v) first", d, persistDelay)
	}
}
