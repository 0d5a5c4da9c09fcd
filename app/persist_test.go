package app

import (
	"testing"
	"time"
)

// A snapshot queued while the background writer writes a hurried one waits
// persistDelay like any other (a call's moments come in bursts), so the
// burst is written once.
func TestPersistCoalescesWhatFollowsAWrite(t *testing.T) {
	rec := &recorder{}
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	st := &noteStore{rec: rec, gate: make(chan struct{})}
	c.app.SetStore(st)
	c.queuePersist(&queued{version: 1, body: []byte("v1")}, false)
	c.hurryPersist()
	// The burst that follows, none hurried, queued while v1 is written.
	time.Sleep(10 * time.Millisecond)
	c.queuePersist(&queued{version: 2, body: []byte("v2")}, false)
	c.queuePersist(&queued{version: 3, body: []byte("v3")}, false)
	close(st.gate)
	deadline := time.Now().Add(2 * time.Second)
	for {
		st.mu.Lock()
		n := len(st.saved)
		st.mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	st.mu.Lock()
	saved, at := append([][]byte(nil), st.saved...), append([]time.Time(nil), st.at...)
	st.mu.Unlock()
	if len(saved) != 2 || string(saved[1]) != "v3" {
		t.Fatalf("saved %q, want v1 then v3 (v2 replaced before its turn)", saved)
	}
	if d := at[1].Sub(at[0]); d < persistDelay*9/10 {
		t.Fatalf("v3 saved %v after v1, want the writer to wait persistDelay (%v) first", d, persistDelay)
	}
}
