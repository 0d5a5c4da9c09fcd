package app

import (
	"encoding/json"
	"testing"
	"time"
)

// A snapshot is queued when it changed, versions aside, each time with the
// next version; an unchanged one is not queued again.
func TestEncodeVersionsOnlyChanges(t *testing.T) {
	var held []time.Duration
	c := talkingCall(t, &recorder{}, &held)
	version := func(b []byte) uint64 {
		var s snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		return s.Version
	}

	s := c.snapshot(nil)
	first, changed := c.encode(&s)
	if !changed || version(first) != 1 || s.Version != 1 {
		t.Fatalf("first snapshot: changed %v, version %d (%d)", changed, version(first), s.Version)
	}
	again := c.snapshot(nil)
	if b, changed := c.encode(&again); changed || b != nil {
		t.Errorf("the same snapshot again was queued: %s", b)
	}
	next := c.snapshot(nil)
	next.XferCount++
	b, changed := c.encode(&next)
	if !changed || version(b) != 2 || next.Version != 2 {
		t.Fatalf("changed snapshot: changed %v, version %d (%d)", changed, version(b), next.Version)
	}
	var got snapshot
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.XferCount != next.XferCount || got.ID != next.ID {
		t.Errorf("decoded %+v, want %+v", got, next)
	}
}
