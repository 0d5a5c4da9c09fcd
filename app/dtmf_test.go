package app

import (
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/ari"
)

// The reports Asterisk 22 made for one key sequence at fast timings (key
// down / gap in ms), as (digit, ms after the previous report, duration).
func TestDTMFDedupe(t *testing.T) {
	type report struct {
		digit string
		after int
		dur   int
	}
	cases := []struct {
		name    string
		reports []report
		want    string
	}{
		// Reports as Asterisk 22.10 made them (ms after the previous report).
		{"40/40 1223", []report{{"1", 0, 40}, {"2", 78, 40}, {"2", 80, 40}, {"2", 45, 40}, {"3", 36, 40}, {"3", 89, 40}}, "1223"},
		{"45/45 1223", []report{{"1", 0, 45}, {"2", 90, 45}, {"2", 88, 45}, {"2", 39, 45}, {"3", 56, 45}, {"3", 74, 45}}, "1223"},
		{"60/40 1223", []report{{"1", 0, 60}, {"2", 99, 60}, {"2", 101, 60}, {"2", 28, 60}, {"3", 71, 60}, {"3", 57, 60}}, "1223"},
		{"70/30 1223", []report{{"1", 0, 70}, {"2", 99, 70}, {"2", 100, 70}, {"2", 25, 70}, {"3", 75, 70}, {"3", 52, 70}}, "1223"},
		{"100/100 1223", []report{{"1", 0, 100}, {"2", 200, 100}, {"2", 201, 100}, {"3", 199, 100}}, "1223"},
		{"40/40 *27002#", []report{{"*", 0, 40}, {"2", 45, 40}, {"2", 80, 40}, {"7", 1, 40}, {"7", 124, 40}, {"0", 1, 40}, {"0", 125, 40},
			{"0", 0, 40}, {"0", 150, 40}, {"2", 1, 40}, {"2", 124, 40}, {"#", 1, 40}, {"#", 125, 40}}, "*27002#"},
		{"70/30 *27012#", []report{{"*", 0, 70}, {"2", 100, 70}, {"7", 100, 70}, {"7", 26, 70}, {"0", 74, 70}, {"0", 57, 70},
			{"1", 43, 70}, {"1", 94, 70}, {"2", 7, 70}, {"2", 118, 70}, {"#", 1, 70}, {"#", 149, 70}}, "*27012#"},
		{"50/50 *22600#", []report{{"*", 0, 50}, {"2", 98, 50}, {"2", 100, 50}, {"6", 99, 50}, {"0", 100, 50}, {"0", 112, 50},
			{"#", 88, 50}, {"#", 56, 50}}, "*22600#"},
		{"60/40 *27012#, a replay on the beat of the one before", []report{{"*", 0, 60}, {"2", 100, 60}, {"7", 101, 60}, {"7", 25, 60},
			{"0", 78, 60}, {"0", 47, 60}, {"1", 65, 60}, {"1", 61, 60}, {"2", 23, 60}, {"2", 103, 60}, {"#", 0, 60}, {"#", 125, 60}}, "*27012#"},
		{"80/80 *27002#, nothing held back", []report{{"*", 0, 80}, {"2", 160, 80}, {"7", 158, 80}, {"0", 170, 80}, {"0", 150, 80},
			{"2", 161, 80}, {"#", 160, 80}}, "*27002#"},
		{"80/60 *22600# (ARI SendDTMF), jittery", []report{{"*", 0, 80}, {"2", 140, 80}, {"2", 120, 80}, {"6", 150, 80}, {"0", 141, 80},
			{"0", 160, 80}, {"#", 139, 80}}, "*22600#"},
		{"a person's double press", []report{{"*", 0, 120}, {"2", 300, 120}, {"2", 200, 110}}, "*22"},
		{"60/40 *27012#, replays falling behind", []report{{"*", 0, 60}, {"2", 99, 60}, {"7", 101, 60}, {"7", 25, 60}, {"0", 74, 60},
			{"0", 109, 60}, {"1", 1, 60}, {"1", 140, 60}, {"2", 0, 60}, {"2", 161, 60}, {"#", 0, 60}, {"#", 130, 60}}, "*27012#"},
		{"45/45 *27002#, replays falling behind", []report{{"*", 0, 45}, {"2", 79, 45}, {"7", 88, 45}, {"7", 37, 45}, {"0", 102, 45},
			{"0", 58, 45}, {"0", 1, 45}, {"0", 143, 45}, {"2", 1, 45}, {"2", 241, 45}, {"#", 1, 45}, {"#", 125, 45}}, "*27002#"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var d dtmfDedupe
			at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
			var got strings.Builder
			for _, r := range tc.reports {
				at = at.Add(time.Duration(r.after) * time.Millisecond)
				e := &ari.ChannelDtmfReceived{EventBase: ari.EventBase{Timestamp: at.Format("2006-01-02T15:04:05.000-0700")}, Digit: r.digit, DurationMs: r.dur}
				if !d.duplicate(e) {
					got.WriteString(r.digit)
				}
			}
			if got.String() != tc.want {
				t.Fatalf("digits %q, want %q", got.String(), tc.want)
			}
		})
	}
}
