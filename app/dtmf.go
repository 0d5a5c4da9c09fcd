package app

import (
	"time"

	"github.com/transferd/transferd/ari"
)

// One key press, one digit. Asterisk stretches a DTMF digit shorter than
// its minimum duration (asterisk.conf mindtmfduration, 80 ms by default)
// and holds back a digit that arrives while it is still stretching the
// previous one or within its minimum gap (45 ms). A digit held back is
// reported twice: when it arrives and again when Asterisk replays it. So a
// fast phone, macro key or gateway (key down 40-70 ms, gaps under 50 ms)
// turns *22600# into *222660000##.
//
// A replay comes after the report it repeats by about Asterisk's stretch
// plus its gap (80 + 45 ms), sooner or later under a backlog, never later
// than dtmfReplayWindow, and only when keys are released for less than
// Asterisk's gap (fast input: a person is never that fast). Real presses
// of one key can come as fast, though. The difference is rhythm: fast
// presses (a macro key, an auto-dialer) are evenly paced, while a replay
// breaks the pace (it comes in a burst with the next digit's report, or
// off the beat). So a report is a replay when it repeats the digit of the
// report just before (which counted), within dtmfReplayWindow, in fast
// input, and off the beat by more than dtmfBeatSlack: the beat of the
// last two reports, or that of the last two reports that counted. The
// report after a dropped replay always counts, so a key really pressed
// twice stays two. Asterisk's event timestamps are used, not the arrival
// time here, so a slow event stream does not squeeze reports together.
// It is a heuristic: under a heavy backlog a replay can fall on the beat.
//
// Measured against Asterisk 22.10 with key down / gap of 40/40, 45/45,
// 50/50, 60/40, 70/30 and 100/100 ms (integration TestSIPpFastDTMF, SIPp, and the
// report sequences of TestDTMFDedupe).

const (
	dtmfReplayWindow = 300 * time.Millisecond
	// Asterisk holds back a digit that follows a release by less than
	// dtmfMinGap (AST_MIN_DTMF_GAP); the pace of the reports (beat minus
	// duration) estimates the release, with dtmfFastSlack for jitter.
	dtmfMinGap = 45 * time.Millisecond
	// Only digits shorter than Asterisk's mindtmfduration (80 ms by
	// default) are stretched, and only then are digits held back and
	// replayed: a longer digit is never taken for a replay.
	dtmfStretched = 80 * time.Millisecond
	dtmfFastSlack = 20 * time.Millisecond
	dtmfBeatSlack = 13 * time.Millisecond
)

// dtmfDedupe is one leg's memory of its last DTMF reports.
type dtmfDedupe struct {
	digit   string    // the last report's digit
	at      time.Time // and time
	counted bool      // the last report counted (was no replay)
	// beat is the time between the last report and the one before it,
	// when there was one (hasBeat).
	beat    time.Duration
	hasBeat bool
	// countedBeat is the same between the last two reports that counted:
	// the pace of the real presses.
	countedAt      time.Time
	countedBeat    time.Duration
	hasCountedBeat bool
}

// duplicate says whether e is a replay of the report before it, and
// remembers e.
func (d *dtmfDedupe) duplicate(e *ari.ChannelDtmfReceived) bool {
	at, err := ari.ParseTime(e.Timestamp)
	if err != nil || at.IsZero() {
		at = time.Now()
	}
	var since time.Duration
	if !d.at.IsZero() {
		since = at.Sub(d.at)
	}
	dur := time.Duration(e.DurationMs) * time.Millisecond
	// Only keys released for less than Asterisk's gap (plus slack) are
	// held back and replayed: fast input, never a person's pace.
	fast := dur < dtmfStretched && d.hasBeat && d.beat-dur < dtmfMinGap+dtmfFastSlack
	replay := d.counted && d.digit == e.Digit && !d.at.IsZero() && since >= 0 && since < dtmfReplayWindow &&
		fast && (absDur(since-d.beat) > dtmfBeatSlack || !d.hasCountedBeat || absDur(since-d.countedBeat) > dtmfBeatSlack)
	n := dtmfDedupe{digit: e.Digit, at: at, counted: !replay, beat: since, hasBeat: !d.at.IsZero(),
		countedAt: d.countedAt, countedBeat: d.countedBeat, hasCountedBeat: d.hasCountedBeat}
	if !replay {
		n.countedBeat, n.hasCountedBeat = at.Sub(d.countedAt), !d.countedAt.IsZero()
		n.countedAt = at
	}
	*d = n
	return replay
}

func absDur(x time.Duration) time.Duration {
	if x < 0 {
		return -x
	}
	return x
}
