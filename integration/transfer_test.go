package integration

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/app/featurecode"
)

// Alice (1001) calls Bob (2001) through transferd; Carol is 2600.

// startTransfer has Alice press *2<number># and waits for the target to
// ring, Bob to be held with music and Alice to hear ringback.
func (s *scenario) startTransfer(alice, bob *Phone, number string) *Phone {
	s.t.Helper()
	call := s.callID("alice")
	mb := bob.Mark()
	s.press(alice, "*2"+number+"#")
	target := s.ring(number)
	s.held(s.leg(bob))
	s.hears(bob, mb, "music on hold")
	// Ringback to Alice is a tone:ring playback on her channel.
	s.playing(call, "tone:ring")
	return target
}

// Scenario 1: Alice presses *22600, Bob hears the pattern's music class,
// Alice hears ringback, Carol answers and talks with Alice; Alice hangs up
// and Bob and Carol are bridged, Bob's music stopped.
func TestScenario01AttendedTransfer(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "s01", func(a *app.AccountConfig) {
		a.Metaflows.Patterns[`2(\d+)`] = featurecode.Action{Module: "transfer", Data: map[string]string{"takeback_dtmf": "*1", "moh": "jazz"}}
	})
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	s.listen(alice, bob)

	carol := s.startTransfer(alice, bob, "2600")
	s.transferState(call, "CallingTarget")
	waitLog(t, "Started music on hold, class 'jazz'")
	if err := carol.Answer(s.ctx); err != nil {
		t.Fatal(err)
	}
	carolLeg := s.leg(carol)
	s.together(call, carolLeg)
	s.held(bobLeg)
	s.transferState(call, "Consulting")

	mb := bob.Mark()
	s.hangup(alice)
	s.together(bobLeg, carolLeg)
	s.noHoldBridge()
	s.silent(bob, mb, "music on hold")
	s.outcome(call, "completed")

	s.hangup(bob)
	s.gone(carol)
	s.callGone()
}

// Scenario 2: the complete code (*4) instead of hanging up.
func TestScenario02CompleteByCode(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "s02", nil)
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	s.listen(alice, bob)
	carol := s.startTransfer(alice, bob, "2600")
	if err := carol.Answer(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.together(call, s.leg(carol))
	s.transferState(call, "Consulting")
	s.press(alice, "*4")
	s.gone(alice)
	s.together(bobLeg, s.leg(carol))
	s.noHoldBridge()
	s.outcome(call, "completed")
	s.hangup(carol)
	s.gone(bob)
	s.callGone()
}

// Scenario 3: Alice hangs up while Carol rings: Bob hears ringing, not
// music; Carol answers and is bridged with Bob.
func TestScenario03PartialTransfer(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "s03", nil)
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	s.listen(alice, bob)
	carol := s.startTransfer(alice, bob, "2600")
	s.hangup(alice)
	carolLeg := s.leg(carol)
	// Carol rings outside the bridge (she joins it when she answers, so
	// she is not billed while ringing): Bob waits alone with ringback.
	s.together(bobLeg)
	s.noHoldBridge()
	s.playing(bobLeg, "tone:ring")
	s.transferState(call, "Blond")
	if err := carol.Answer(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.outcome(call, "partial-completed")
	s.together(bobLeg, carolLeg)
	s.hangup(bob)
	s.gone(carol)
	s.callGone()
}

// Scenario 4: the target does not exist, is busy, is congested or does not
// answer: Alice is back with Bob at once and Bob's music stops.
func TestScenario04Failures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, number, outcome string
		fail                  func(s *scenario, target *Phone)
	}{
		{"invalid", "9999", "failed:unavailable", nil},
		{"busy", "2600", "failed:busy", func(s *scenario, p *Phone) { _ = p.Hangup(s.ctx, "busy") }},
		{"congestion", "2600", "failed:congestion", func(s *scenario, p *Phone) { _ = p.Hangup(s.ctx, "congestion") }},
		{"noanswer", "2600", "failed:no-answer", func(s *scenario, p *Phone) {}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t, fmt.Sprintf("s04%c", 'a'+i), nil)
			alice, bob := s.talking("alice", "1001", "2001")
			call, bobLeg := s.callID("alice"), s.leg(bob)
			s.listen(alice, bob)
			start := time.Now()
			if tc.fail == nil {
				s.press(alice, "*2"+tc.number+"#")
			} else {
				target := s.startTransfer(alice, bob, tc.number)
				start = time.Now()
				tc.fail(s, target)
			}
			s.outcome(call, tc.outcome)
			s.together(call, bobLeg)
			s.noHoldBridge()
			t.Logf("%s: Alice back with Bob %s after the failure", tc.name, time.Since(start).Round(time.Millisecond))
			s.hangup(alice)
			s.gone(bob)
			s.callGone()
		})
	}
}

// Scenario 6: takeback (*1) or the cancel code (*0), while Carol rings or
// while talking to her: Carol's leg goes, Alice and Bob are back together.
func TestScenario06Takeback(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, code string
		answer     bool
	}{
		{"takeback-ringing", "*1", false},
		{"takeback-consulting", "*1", true},
		{"cancel-ringing", "*0", false},
		{"cancel-consulting", "*0", true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t, fmt.Sprintf("s06%c", 'a'+i), nil)
			alice, bob := s.talking("alice", "1001", "2001")
			call, bobLeg := s.callID("alice"), s.leg(bob)
			s.listen(alice, bob)
			carol := s.startTransfer(alice, bob, "2600")
			if tc.answer {
				if err := carol.Answer(s.ctx); err != nil {
					t.Fatal(err)
				}
				s.transferState(call, "Consulting")
			}
			s.press(alice, tc.code)
			s.gone(carol)
			s.outcome(call, "cancelled")
			s.together(call, bobLeg)
			s.noHoldBridge()
			s.hangup(bob)
			s.gone(alice)
			s.callGone()
		})
	}
}

// Scenario 7: Carol answers, then hangs up to refuse: Alice and Bob are
// reconnected.
func TestScenario07TargetRefuses(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "s07", nil)
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	s.listen(alice, bob)
	carol := s.startTransfer(alice, bob, "2600")
	if err := carol.Answer(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.transferState(call, "Consulting")
	s.hangup(carol)
	s.outcome(call, "failed:refused")
	s.together(call, bobLeg)
	s.noHoldBridge()
	s.hangup(alice)
	s.gone(bob)
	s.callGone()
}

// waitLog waits for a line in the sandbox Asterisk's log.
func waitLog(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(sandbox.LogPath())
		if err == nil && strings.Contains(string(b), text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Asterisk log %s has no %q", sandbox.LogPath(), text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
