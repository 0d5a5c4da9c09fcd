package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/ari"
)

func (s *scenario) answer(ph *Phone) {
	s.t.Helper()
	if err := ph.Answer(s.ctx); err != nil {
		s.t.Fatalf("answer %s: %v", ph.ID, err)
	}
}

// Scenario 5: a partial transfer that fails. Alice is called back at her
// callback number (1001), alternating with Carol, with a pause between
// attempts; when nobody answers the fallback takes Bob.
func TestScenario05PartialTransferFails(t *testing.T) {
	t.Parallel()
	short := func(retries int, fb app.FallbackConfig) func(*app.AccountConfig) {
		return func(a *app.AccountConfig) {
			a.Transfer.NoAnswerTimeout = 3 * time.Second
			a.Transfer.LoopDelay = 500 * time.Millisecond
			a.Transfer.CallbackRetries = retries
			a.Transfer.Fallback = fb
		}
	}
	// partialThenNoAnswer: Alice starts a transfer to Carol, hangs up while
	// Carol rings, and Carol never answers.
	partialThenNoAnswer := func(s *scenario) (bob *Phone) {
		alice, bob := s.talking("alice", "1001", "2001")
		s.listen(bob)
		carol := s.startTransfer(alice, bob, "2600")
		s.hangup(alice)
		s.transferState(s.callID("alice"), "Blond")
		s.together(s.leg(bob)) // Carol rings outside the bridge until she answers
		s.gone(carol)          // no answer: the app cancels Carol
		return bob
	}

	t.Run("recall-answered", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, "s05a", short(2, app.FallbackConfig{Kind: "hangup", Sound: "sound:vm-goodbye"}))
		bob := partialThenNoAnswer(s)
		call := s.callID("alice")
		s.transferState(call, "Recalling")
		recall := s.ring("1001") // Alice's phone rings again
		s.playing(s.leg(bob), "tone:ring")
		s.answer(recall)
		s.outcome(call, "recalled")
		s.together(s.leg(bob), s.leg(recall))
		s.hangup(recall)
		s.gone(bob)
		s.callGone()
	})

	t.Run("alternates-then-hangup-fallback", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, "s05b", short(2, app.FallbackConfig{Kind: "hangup", Sound: "sound:vm-goodbye"}))
		bob := partialThenNoAnswer(s)
		call := s.callID("alice")
		r1 := s.ring("1001") // first recall of Alice
		s.gone(r1)
		s.transferState(call, "WaitToRetransfer")
		s.held(s.leg(bob))   // music between attempts
		c2 := s.ring("2600") // Carol again
		s.gone(c2)
		r2 := s.ring("1001") // Alice again
		s.gone(r2)
		// Nobody answered: Bob hears the goodbye and is hung up, never
		// left on music.
		s.outcome(call, "abandoned")
		waitLog(t, "vm-goodbye")
		s.gone(bob)
		s.callGone()
	})

	t.Run("dial-fallback", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, "s05c", short(1, app.FallbackConfig{Kind: "dial", Number: "3000"}))
		bob := partialThenNoAnswer(s)
		call := s.callID("alice")
		r1 := s.ring("1001")
		s.gone(r1)
		desk := s.ring("3000")
		s.answer(desk)
		s.outcome(call, "fell-back")
		s.together(s.leg(bob), s.leg(desk))
		s.hangup(bob)
		s.gone(desk)
		s.callGone()
	})
}

// Scenario 8: Bob hangs up while Carol rings (Alice stays with the ringing
// Carol, or, configured, Carol is cancelled), and Bob hangs up during the
// consultation (Alice and Carol carry on as an ordinary, transferable call).
func TestScenario08TransfereeLeaves(t *testing.T) {
	t.Parallel()
	t.Run("while-ringing-keep", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, "s08a", nil)
		alice, bob := s.talking("alice", "1001", "2001")
		call := s.callID("alice")
		s.listen(bob)
		carol := s.startTransfer(alice, bob, "2600")
		s.hangup(bob)
		s.outcome(call, "failed:transferee-left")
		s.together(call) // Carol rings outside the bridge until she answers
		s.noHoldBridge()
		s.answer(carol)
		s.together(call, s.leg(carol))
		s.hangup(carol)
		s.gone(alice)
		s.callGone()
	})
	t.Run("while-ringing-cancel", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, "s08b", func(a *app.AccountConfig) { a.Transfer.OnTransfereeLeft = "cancel" })
		alice, bob := s.talking("alice", "1001", "2001")
		call := s.callID("alice")
		s.listen(bob)
		carol := s.startTransfer(alice, bob, "2600")
		s.hangup(bob)
		s.outcome(call, "failed:transferee-left")
		s.gone(carol)
		s.gone(alice) // alone, nobody to talk to
		s.callGone()
	})
	t.Run("while-consulting-then-transfer-again", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, "s08c", nil)
		alice, bob := s.talking("alice", "1001", "2001")
		call := s.callID("alice")
		s.listen(bob)
		carol := s.startTransfer(alice, bob, "2600")
		s.answer(carol)
		s.transferState(call, "Consulting")
		s.hangup(bob)
		s.outcome(call, "failed:transferee-left")
		s.together(call, s.leg(carol))
		s.noHoldBridge()
		// The remaining call is an ordinary call: Alice transfers Carol.
		s.listen(carol)
		mc := carol.Mark()
		s.press(alice, "*22700#")
		dave := s.ring("2700")
		s.held(s.leg(carol))
		s.hears(carol, mc, "music on hold")
		s.answer(dave)
		s.transferState(call, "Consulting")
		s.hangup(alice)
		s.together(s.leg(carol), s.leg(dave))
		s.outcome(call, "completed")
		s.hangup(dave)
		s.gone(carol)
		s.callGone()
	})
}

// Scenario 9: a party hangs up while Alice is still typing the code:
// nothing is originated and nobody is left on music in an empty bridge.
func TestScenario09HangupWhileTyping(t *testing.T) {
	t.Parallel()
	t.Run("bob-hangs-up", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, "s09a", nil)
		alice, bob := s.talking("alice", "1001", "2001")
		s.press(alice, "*226")
		s.hangup(bob)
		s.gone(alice)
		if err := phones.NoRing(s.ctx, s.tag, "2600", 1500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := phones.NoRing(s.ctx, s.tag, "26", 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		s.noHoldBridge()
		s.callGone()
	})
	t.Run("alice-hangs-up", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, "s09b", nil)
		alice, bob := s.talking("alice", "1001", "2001")
		s.press(alice, "*22")
		s.hangup(alice)
		s.gone(bob)
		if err := phones.NoRing(s.ctx, s.tag, "2", 1500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		s.noHoldBridge()
		s.callGone()
	})
}

// Scenario 10: swap between Bob and Carol, while Carol rings and after she
// answers; the held party hears music; the no-answer clock keeps running
// across swaps; completing works from either side.
func TestScenario10Swap(t *testing.T) {
	t.Parallel()
	t.Run("ping-pong-and-complete", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, "s10a", nil)
		alice, bob := s.talking("alice", "1001", "2001")
		call, bobLeg := s.callID("alice"), s.leg(bob)
		s.listen(alice, bob)
		carol := s.startTransfer(alice, bob, "2600")
		carolLeg := s.leg(carol)
		s.press(alice, "*9") // while ringing: back to Bob
		s.transferState(call, "Hesitant")
		s.together(call, bobLeg)
		s.held() // ringing Carol is on hold: she joins the hold bridge if she answers now
		s.press(alice, "*9")
		s.transferState(call, "CallingTarget")
		s.together(call) // and the call bridge when she answers
		s.held(bobLeg)
		s.answer(carol)
		s.together(call, carolLeg)
		s.transferState(call, "Consulting")
		s.listen(carol)
		mc := carol.Mark()
		s.press(alice, "*9") // after answer: Carol on hold with music
		s.transferState(call, "DoubleChecking")
		s.together(call, bobLeg)
		s.held(carolLeg)
		s.hears(carol, mc, "music on hold")
		s.press(alice, "*9")
		s.transferState(call, "Consulting")
		s.press(alice, "*9")
		s.transferState(call, "DoubleChecking")
		// Complete from the other side (Alice is with Bob).
		s.hangup(alice)
		s.outcome(call, "completed")
		s.together(bobLeg, carolLeg)
		s.noHoldBridge()
		s.hangup(carol)
		s.gone(bob)
		s.callGone()
	})
	t.Run("clock-keeps-running", func(t *testing.T) {
		t.Parallel()
		// The no-answer clock starts when the target is dialled; a swap
		// while it rings must not restart it. The test judges by the
		// swap's own time, not by how long the steps before it took (on a
		// loaded machine ringing alone can take seconds): a restarted
		// clock fires noAnswer after the swap, the running one sooner.
		const noAnswer = 8 * time.Second
		s := newScenario(t, "s10b", func(a *app.AccountConfig) { a.Transfer.NoAnswerTimeout = noAnswer })
		alice, bob := s.talking("alice", "1001", "2001")
		call := s.callID("alice")
		s.listen(bob)
		s.press(alice, "*22600#")
		s.ring("2600")
		s.transferState(call, "CallingTarget")
		time.Sleep(2 * time.Second) // let the clock run before swapping
		swapped := time.Now()
		s.press(alice, "*9")
		s.outcome(call, "failed:no-answer")
		if d := time.Since(swapped); d >= noAnswer-500*time.Millisecond {
			t.Fatalf("no-answer fired %s after the swap, which began at least 2s into the %s clock: the swap reset it", d, noAnswer)
		}
		s.together(call, s.leg(bob))
		s.hangup(alice)
		s.gone(bob)
		s.callGone()
	})
}

// Scenario 11: three-way, from ringing and from consultation: all three in
// one mixing bridge; Alice leaves, Bob and Carol stay; Carol leaves, the
// call ends cleanly.
func TestScenario11ThreeWay(t *testing.T) {
	t.Parallel()
	for i, fromRinging := range []bool{true, false} {
		name := "from-consulting"
		if fromRinging {
			name = "from-ringing"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t, fmt.Sprintf("s11%c", 'a'+i), nil)
			alice, bob := s.talking("alice", "1001", "2001")
			call, bobLeg := s.callID("alice"), s.leg(bob)
			s.listen(bob)
			carol := s.startTransfer(alice, bob, "2600")
			if !fromRinging {
				s.answer(carol)
				s.transferState(call, "Consulting")
			}
			s.press(alice, "*3")
			s.outcome(call, "three-way")
			if fromRinging {
				// Carol joins the three-way call when she answers.
				s.together(call, bobLeg)
				s.noHoldBridge()
				s.answer(carol)
			}
			s.together(call, bobLeg, s.leg(carol))
			s.noHoldBridge()
			s.hangup(alice)
			s.together(bobLeg, s.leg(carol))
			s.hangup(carol)
			s.gone(bob)
			s.callGone()
		})
	}
}

// Scenario 12: Bob, the called party, transfers Alice.
func TestScenario12CalleeTransfers(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "s12", nil)
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	s.listen(alice)
	ma := alice.Mark()
	s.press(bob, "*22600#")
	carol := s.ring("2600")
	s.held(call)
	s.hears(alice, ma, "music on hold")
	s.playing(bobLeg, "tone:ring")
	s.answer(carol)
	// Carol rings in the call's bridge, so Bob and Carol share it before
	// she answers: wait for transferd to have seen her answer, or Bob's
	// hangup makes it a partial transfer.
	s.transferState(call, "Consulting")
	s.together(bobLeg, s.leg(carol))
	s.hangup(bob)
	s.outcome(call, "completed")
	s.together(call, s.leg(carol))
	s.noHoldBridge()
	s.hangup(alice)
	s.gone(carol)
	s.callGone()
}

// Scenario 13: chained: after Bob and Carol are bridged, Carol transfers Bob
// to Dave.
func TestScenario13Chained(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "s13", nil)
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	s.listen(bob)
	carol := s.startTransfer(alice, bob, "2600")
	s.answer(carol)
	s.transferState(call, "Consulting")
	s.hangup(alice)
	s.outcome(call, "completed")
	carolLeg := s.leg(carol)
	s.together(bobLeg, carolLeg)
	mb := bob.Mark()
	s.press(carol, "*22700#")
	dave := s.ring("2700")
	s.held(bobLeg)
	s.hears(bob, mb, "music on hold")
	s.answer(dave)
	s.transferState(call, "Consulting") // as in scenario 12
	s.together(carolLeg, s.leg(dave))
	s.hangup(carol)
	s.together(bobLeg, s.leg(dave))
	s.outcome(call, "completed")
	s.noHoldBridge()
	s.hangup(dave)
	s.gone(bob)
	s.callGone()
}

// Scenario 14: a second transfer while one runs is refused with a tone and a
// log line, the call untouched; so is a transfer to a party of the call.
func TestScenario14Refusals(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "s14", nil)
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	// To a party already on the call: Bob's own number.
	s.press(alice, "*22001#")
	if err := phones.NoRing(s.ctx, s.tag, "2001", 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	s.together(call, bobLeg)
	s.noHoldBridge()
	if c := s.app.Call(string(call)); c.Info().Transfer != nil {
		t.Fatalf("a transfer to a party of the call started: %+v", c.Info().Transfer)
	}
	// A second transfer while one runs, from either party.
	s.listen(bob)
	carol := s.startTransfer(alice, bob, "2600")
	s.press(alice, "*22700#")
	if err := phones.NoRing(s.ctx, s.tag, "2700", 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	s.transferState(call, "CallingTarget")
	s.together(call) // Carol rings outside the bridge until she answers
	s.held(bobLeg)
	s.press(alice, "*1")
	s.outcome(call, "cancelled")
	s.gone(carol)
	s.together(call, bobLeg)
	s.hangup(alice)
	s.gone(bob)
	s.callGone()
}

// Scenario 15: availability check: the target's device is unavailable, so
// Alice stays with Bob without a ring attempt.
func TestScenario15Availability(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "s15", func(a *app.AccountConfig) {
		a.AvailabilityDevice = "Custom:s15-{number}"
		a.Transfer.CheckAvailability = true
	})
	if _, err := sandbox.CLI(s.ctx, "devstate change Custom:s15-2600 UNAVAILABLE"); err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.CLI(s.ctx, "devstate change Custom:s15-2700 NOT_INUSE"); err != nil {
		t.Fatal(err)
	}
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	s.press(alice, "*22600#")
	s.outcome(call, "failed:unavailable")
	if err := phones.NoRing(s.ctx, s.tag, "2600", time.Second); err != nil {
		t.Fatal(err)
	}
	s.together(call, bobLeg)
	s.noHoldBridge()
	// An available target rings as usual.
	s.press(alice, "*22700#")
	dave := s.ring("2700")
	s.held(bobLeg)
	s.press(alice, "*1")
	s.gone(dave)
	s.outcome(call, "cancelled")
	s.hangup(alice)
	s.gone(bob)
	s.callGone()
}

// Scenario 16: transferd stops mid-transfer (Asterisk untouched) and starts
// again: it finds its calls and finishes every transfer.
func TestScenario16AppRestart(t *testing.T) {
	t.Parallel()
	for i, consulting := range []bool{false, true} {
		name := "while-ringing"
		if consulting {
			name = "while-consulting"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t, fmt.Sprintf("s16%c", 'a'+i), nil)
			alice, bob := s.talking("alice", "1001", "2001")
			call, bobLeg := s.callID("alice"), s.leg(bob)
			s.listen(bob)
			carol := s.startTransfer(alice, bob, "2600")
			if consulting {
				s.answer(carol)
				s.transferState(call, "Consulting")
			}
			// The snapshot the next start restores from is in Asterisk.
			if consulting {
				s.storedState(call, "Consulting")
			} else {
				s.storedState(call, "CallingTarget")
			}
			s.stop()
			if !consulting {
				s.answer(carol) // answered while transferd is down
			}
			s.start(s.ctx)
			s.transferState(call, "Consulting")
			s.together(call, s.leg(carol))
			s.held(bobLeg)
			s.hangup(alice)
			s.outcome(call, "completed")
			s.together(bobLeg, s.leg(carol))
			s.noHoldBridge()
			s.hangup(bob)
			s.gone(carol)
			s.callGone()
		})
	}
}

// storedState waits until the snapshot of call in Asterisk (app.GlobalStore,
// what a restarted transferd reads) has its transfer in state.
func (s *scenario) storedState(call ari.ChannelID, state string) {
	s.t.Helper()
	client, err := newClient()
	if err != nil {
		s.t.Fatal(err)
	}
	store := app.NewGlobalStore(client, s.cfg.ARI.App, zerolog.Nop())
	ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		b, err := store.Load(ctx, string(call))
		if err != nil {
			return fmt.Errorf("snapshot of %s: %w", call, err)
		}
		var snap struct {
			Xfer *struct {
				State string `json:"state"`
			} `json:"xfer"`
		}
		if err := json.Unmarshal(b, &snap); err != nil {
			return fmt.Errorf("snapshot of %s: %w", call, err)
		}
		if snap.Xfer == nil || snap.Xfer.State != state {
			return fmt.Errorf("stored snapshot of %s: %s, want transfer state %s", call, b, state)
		}
		return nil
	})
}
