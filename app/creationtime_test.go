package app

import (
	"testing"
	"time"
)

func TestCreationTime(t *testing.T) {
	got := creationTime("2026-11-30T11:04:43.123+0100")
	want := time.Date(2026, 11, 30, 10, 4, 43, 123e6, time.UTC)
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("creationTime = %v, want %v in UTC", got, want)
	}
	// A time Asterisk did not write falls back to now, never to zero.
	before := time.Now()
	if got := creationTime("yesterday"); got.Before(before.Add(-time.Second)) || got.After(time.Now().Add(time.Second)) {
		t.Fatalf("creationTime(garbage) = %v, want about now", got)
	}
}
