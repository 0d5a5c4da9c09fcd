package transfer

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Ids of the fixtures: transfer "x", call bridge "M", transferor "A",
// transferee "B", target number "2600", callback "9100", fallback "3000".
const (
	hb        = "x-hold"
	c1        = "x-target-1"
	c4        = "x-target-4"
	r3        = "x-recall-3"
	fb        = "x-fallback"
	rb1       = "x-ringback-1"
	rb2       = "x-ringback-2"
	rb4       = "x-ringback-4"
	failMedia = "sound:beeperr"
	doneMedia = "sound:beep"
	bye       = DefaultFallbackSound
	na        = DefaultNoAnswerTimeout
)

func startX(opts Options) (Transfer, []Effect) {
	return Start(StartParams{ID: "x", CallBridge: "M", Transferor: "A", Transferee: "B", Number: "2600", Opts: opts})
}

// fixture starts a transfer and drives it with events that must all be
// transitions.
func fixture(t *testing.T, opts Options, evs ...Event) Transfer {
	t.Helper()
	tr, _ := startX(opts)
	for _, ev := range evs {
		next, _, note := Next(tr, ev)
		if note.Level != LevelInfo {
			t.Fatalf("fixture: Next(%s, %s): %s", tr.State, ev, note)
		}
		tr = next
	}
	return tr
}

func fin(o Outcome, parties ...string) Finish {
	return Finish{Outcome: o, Bridge: "M", Parties: append([]string{}, parties...)}
}

func timer(seq int, after time.Duration) StartTimer {
	return StartTimer{Name: TimerNoAnswer, Seq: seq, After: after}
}

var (
	stopNA   = StopTimer{Name: TimerNoAnswer}
	stopLoop = StopTimer{Name: TimerLoopDelay}
	holdDown = []Effect{StopMOH{Bridge: hb}, DestroyBridge{ID: hb}}
	holdUpB  = []Effect{CreateBridge{ID: hb, Type: "holding"}, Move{Channel: "B", Bridge: hb}, StartMOH{Bridge: hb, Class: "default"}}
)

// effs flattens effects and effect lists.
func effs(items ...any) []Effect {
	var out []Effect
	for _, it := range items {
		switch v := it.(type) {
		case Effect:
			out = append(out, v)
		case []Effect:
			out = append(out, v...)
		default:
			panic("effs: bad item")
		}
	}
	return out
}

func TestRows(t *testing.T) {
	base := Options{FailSound: failMedia, CompleteSound: doneMedia}
	cancel := base
	cancel.OnTransfereeLeft = CancelTarget
	check := base
	check.CheckAvailability = true
	// Recall loop with Asterisk-like settings.
	loop := Options{FailSound: failMedia, Callback: "9100", CallbackRetries: 3, LoopDelay: 10 * time.Second}
	noDelay := loop
	noDelay.LoopDelay = 0
	last := loop
	last.CallbackRetries = 1
	lastDial := last
	lastDial.Fallback = FallbackOptions{Kind: FallbackDial, Number: "3000"}
	noCallback := Options{FailSound: failMedia}
	fallbackDial := Options{Fallback: FallbackOptions{Kind: FallbackDial, Number: "3000"}}

	leftA, leftB := Left{Channel: "A", Cause: 16}, Left{Channel: "B", Cause: 16}
	answered := Answered{Channel: c1}
	noAnswer1 := TimerFired{Name: TimerNoAnswer, Seq: 1}
	press := func(c Command) Event { return Pressed{Command: c} }

	checking := fixture(t, check)
	calling := fixture(t, base)
	callingCancel := fixture(t, cancel)
	hesitant := fixture(t, base, press(CommandSwap))
	hesitantCancel := fixture(t, cancel, press(CommandSwap))
	consulting := fixture(t, base, answered)
	doubleChecking := fixture(t, base, answered, press(CommandSwap))
	blond := fixture(t, loop, leftA)
	blondNoCallback := fixture(t, noCallback, leftA)
	blondFallback := fixture(t, fallbackDial, leftA)
	recalling := fixture(t, loop, leftA, noAnswer1)
	recallingNoDelay := fixture(t, noDelay, leftA, noAnswer1)
	recallingLast := fixture(t, last, leftA, noAnswer1)
	recallingLastDial := fixture(t, lastDial, leftA, noAnswer1)
	waitRetransfer := fixture(t, loop, leftA, noAnswer1, Left{Channel: r3, Cause: 19})
	retransfer := fixture(t, loop, leftA, noAnswer1, Left{Channel: r3}, TimerFired{Name: TimerLoopDelay, Seq: 3})
	retransferNoDelay := fixture(t, noDelay, leftA, noAnswer1, Left{Channel: r3})
	waitRecall := fixture(t, loop, leftA, noAnswer1, Left{Channel: r3}, TimerFired{Name: TimerLoopDelay, Seq: 3},
		TimerFired{Name: TimerNoAnswer, Seq: 4})
	fallback := fixture(t, fallbackDial, leftA, Left{Channel: c1, Cause: 17})

	holdFailed := EffectFailed{Effect: CreateBridge{ID: hb, Type: "holding"}, Status: 500}

	tests := []struct {
		name    string
		from    Transfer
		ev      Event
		want    State
		wantEff []Effect
	}{
		// Checking.
		{"reachable", checking, AvailabilityChecked{Reachable: true}, CallingTarget,
			effs(holdUpB, Dial{c1, "2600", "M", RoleTarget}, StartRingback{"A", rb1, DefaultRingback}, timer(1, na))},
		{"unreachable", checking, AvailabilityChecked{}, Unavailable,
			effs(Play{"A", failMedia}, fin(OutcomeUnavailable, "A", "B"))},
		{"cancel while checking", checking, press(CommandCancel), Rebridged, effs(fin(OutcomeCancelled, "A", "B"))},
		{"transferor leaves while checking", checking, leftA, Failed, effs(fin(OutcomeTransferorLeft, "B"))},
		{"transferee leaves while checking", checking, leftB, Failed,
			effs(Play{"A", failMedia}, fin(OutcomeTransfereeLeft, "A"))},

		// CallingTarget.
		{"target answers", calling, answered, Consulting, effs(stopNA, StopPlayback{rb1})},
		// A ringing target that leaves (app: ChannelDestroyed of an
		// unanswered dialed leg): its cause, or refused, or unavailable
		// when it never rang.
		{"target leaves while ringing, normal clearing", calling, Left{Channel: c1, Cause: 16}, Rebridged,
			effs(stopNA, StopPlayback{rb1}, Move{"B", "M"}, holdDown, Play{"A", failMedia}, fin(OutcomeTargetRefused, "A", "B"))},
		{"target leaves without ever ringing", calling, Left{Channel: c1, Cause: 16, Unreached: true}, Rebridged,
			effs(stopNA, StopPlayback{rb1}, Move{"B", "M"}, holdDown, Play{"A", failMedia}, fin(OutcomeUnavailable, "A", "B"))},
		{"target unallocated without ever ringing", calling, Left{Channel: c1, Cause: 1, Unreached: true}, Rebridged,
			effs(stopNA, StopPlayback{rb1}, Move{"B", "M"}, holdDown, Play{"A", failMedia}, fin(OutcomeInvalidNumber, "A", "B"))},
		{"target hangs up busy", calling, Left{Channel: c1, Cause: 17}, Rebridged,
			effs(stopNA, StopPlayback{rb1}, Move{"B", "M"}, holdDown, Play{"A", failMedia}, fin(OutcomeBusy, "A", "B"))},
		{"target dial fails", calling, DialFailed{Channel: c1, Outcome: OutcomeCongestion}, Rebridged,
			effs(stopNA, Hangup{c1, "normal"}, StopPlayback{rb1}, Move{"B", "M"}, holdDown, Play{"A", failMedia}, fin(OutcomeCongestion, "A", "B"))},
		{"target leg cannot be created", calling, EffectFailed{Effect: Dial{c1, "2600", "M", RoleTarget}, Status: 404}, Rebridged,
			effs(stopNA, StopPlayback{rb1}, Move{"B", "M"}, holdDown, Play{"A", failMedia}, fin(OutcomeInvalidNumber, "A", "B"))},
		{"no answer", calling, noAnswer1, Rebridged,
			effs(Hangup{c1, "no_answer"}, StopPlayback{rb1}, Move{"B", "M"}, holdDown, Play{"A", failMedia}, fin(OutcomeNoAnswer, "A", "B"))},
		{"takeback while ringing", calling, press(CommandCancel), Rebridged,
			effs(stopNA, Hangup{c1, "normal"}, StopPlayback{rb1}, Move{"B", "M"}, holdDown, Play{"A", failMedia}, fin(OutcomeCancelled, "A", "B"))},
		{"hold bridge not created", calling, holdFailed, Rebridged,
			effs(stopNA, Hangup{c1, "normal"}, StopPlayback{rb1}, Play{"A", failMedia}, fin(OutcomeError, "A", "B"))},
		{"transferor leaves while ringing", calling, leftA, Blond,
			effs(StopPlayback{rb1}, Move{"B", "M"}, holdDown, StartRingback{"B", rb2, DefaultRingback})},
		{"complete while ringing", calling, press(CommandComplete), Blond,
			effs(StopPlayback{rb1}, Move{"B", "M"}, Hangup{"A", "normal"}, holdDown, StartRingback{"B", rb2, DefaultRingback})},
		{"transferee leaves while ringing, keep", calling, leftB, Failed,
			effs(stopNA, StopPlayback{rb1}, holdDown, Play{"A", failMedia}, fin(OutcomeTransfereeLeft, "A", c1))},
		{"transferee leaves while ringing, cancel", callingCancel, leftB, Failed,
			effs(stopNA, Hangup{c1, "normal"}, StopPlayback{rb1}, holdDown, Play{"A", failMedia}, fin(OutcomeTransfereeLeft, "A"))},
		{"swap while ringing", calling, press(CommandSwap), Hesitant,
			effs(StopPlayback{rb1}, Move{c1, hb}, Move{"B", "M"})},
		{"three-way while ringing", calling, press(CommandThreeWay), ThreeWay,
			effs(stopNA, StopPlayback{rb1}, Move{"B", "M"}, holdDown, Play{"A", doneMedia}, fin(OutcomeThreeWayJoined, "A", "B", c1))},

		// Hesitant.
		{"target answers while hesitant", hesitant, answered, DoubleChecking, effs(stopNA)},
		{"target busy while hesitant", hesitant, DialFailed{Channel: c1, Outcome: OutcomeBusy}, Resumed,
			effs(stopNA, Hangup{c1, "normal"}, holdDown, Play{"A", failMedia}, fin(OutcomeBusy, "A", "B"))},
		{"no answer while hesitant", hesitant, noAnswer1, Resumed,
			effs(Hangup{c1, "no_answer"}, holdDown, Play{"A", failMedia}, fin(OutcomeNoAnswer, "A", "B"))},
		{"cancel while hesitant", hesitant, press(CommandCancel), Resumed,
			effs(stopNA, Hangup{c1, "normal"}, holdDown, Play{"A", failMedia}, fin(OutcomeCancelled, "A", "B"))},
		{"transferor leaves while hesitant", hesitant, leftA, Blond,
			effs(Move{c1, "M"}, holdDown, StartRingback{"B", rb2, DefaultRingback})},
		{"complete while hesitant", hesitant, press(CommandComplete), Blond,
			effs(Move{c1, "M"}, Hangup{"A", "normal"}, holdDown, StartRingback{"B", rb2, DefaultRingback})},
		{"transferee leaves while hesitant, keep", hesitant, leftB, Failed,
			effs(stopNA, Move{c1, "M"}, holdDown, Play{"A", failMedia}, fin(OutcomeTransfereeLeft, "A", c1))},
		{"transferee leaves while hesitant, cancel", hesitantCancel, leftB, Failed,
			effs(stopNA, Hangup{c1, "normal"}, holdDown, Play{"A", failMedia}, fin(OutcomeTransfereeLeft, "A"))},
		{"swap back to ringing target", hesitant, press(CommandSwap), CallingTarget,
			effs(Move{"B", hb}, Move{c1, "M"}, StartRingback{"A", rb2, DefaultRingback})},
		{"three-way while hesitant", hesitant, press(CommandThreeWay), ThreeWay,
			effs(stopNA, Move{c1, "M"}, holdDown, Play{"A", doneMedia}, fin(OutcomeThreeWayJoined, "A", "B", c1))},

		// Consulting.
		{"transferor hangs up: complete", consulting, leftA, Completed,
			effs(Move{"B", "M"}, holdDown, Play{c1, doneMedia}, fin(OutcomeCompleted, "B", c1))},
		{"complete by code", consulting, press(CommandComplete), Completed,
			effs(Move{"B", "M"}, Hangup{"A", "normal"}, holdDown, Play{c1, doneMedia}, fin(OutcomeCompleted, "B", c1))},
		{"target refuses after answer: no fail sound", consulting, Left{Channel: c1, Cause: 16}, Rebridged,
			effs(Move{"B", "M"}, holdDown, fin(OutcomeTargetRefused, "A", "B"))},
		{"takeback while consulting", consulting, press(CommandCancel), Rebridged,
			effs(Hangup{c1, "normal"}, Move{"B", "M"}, holdDown, Play{"A", failMedia}, fin(OutcomeCancelled, "A", "B"))},
		{"transferee leaves while consulting", consulting, leftB, Failed,
			effs(holdDown, Play{"A", failMedia}, fin(OutcomeTransfereeLeft, "A", c1))},
		{"swap while consulting", consulting, press(CommandSwap), DoubleChecking,
			effs(Move{c1, hb}, Move{"B", "M"})},
		{"three-way while consulting", consulting, press(CommandThreeWay), ThreeWay,
			effs(Move{"B", "M"}, holdDown, Play{"A", doneMedia}, Play{c1, doneMedia}, fin(OutcomeThreeWayJoined, "A", "B", c1))},

		// DoubleChecking.
		{"transferor hangs up while double checking", doubleChecking, leftA, Completed,
			effs(Move{c1, "M"}, holdDown, Play{c1, doneMedia}, fin(OutcomeCompleted, "B", c1))},
		{"complete while double checking", doubleChecking, press(CommandComplete), Completed,
			effs(Move{c1, "M"}, Hangup{"A", "normal"}, holdDown, Play{c1, doneMedia}, fin(OutcomeCompleted, "B", c1))},
		{"held target hangs up", doubleChecking, Left{Channel: c1}, Resumed,
			effs(holdDown, fin(OutcomeTargetRefused, "A", "B"))},
		{"cancel while double checking", doubleChecking, press(CommandCancel), Resumed,
			effs(Hangup{c1, "normal"}, holdDown, Play{"A", failMedia}, fin(OutcomeCancelled, "A", "B"))},
		{"transferee leaves while double checking", doubleChecking, leftB, Failed,
			effs(Move{c1, "M"}, holdDown, Play{"A", failMedia}, fin(OutcomeTransfereeLeft, "A", c1))},
		{"swap back to target", doubleChecking, press(CommandSwap), Consulting,
			effs(Move{"B", hb}, Move{c1, "M"})},
		{"three-way while double checking", doubleChecking, press(CommandThreeWay), ThreeWay,
			effs(Move{c1, "M"}, holdDown, Play{"A", doneMedia}, Play{c1, doneMedia}, fin(OutcomeThreeWayJoined, "A", "B", c1))},

		// Blond.
		{"blond answered", blond, answered, Completed,
			effs(stopNA, StopPlayback{rb2}, fin(OutcomePartialCompleted, "B", c1))},
		{"blond target fails: recall", blond, Left{Channel: c1, Cause: 17}, Recalling,
			effs(stopNA, Dial{r3, "9100", "M", RoleRecall}, timer(2, na))},
		{"blond target fails: fallback dial", blondFallback, Left{Channel: c1, Cause: 17}, Fallback,
			effs(stopNA, Dial{fb, "3000", "M", RoleFallback}, timer(2, na))},
		{"blond target fails: goodbye", blondNoCallback, DialFailed{Channel: c1, Outcome: OutcomeBusy}, Abandoned,
			effs(stopNA, Hangup{c1, "normal"}, StopPlayback{rb2}, PlayThenHangup{"B", bye}, fin(OutcomeAbandoned))},
		{"blond no answer: recall", blond, noAnswer1, Recalling,
			effs(Hangup{c1, "no_answer"}, Dial{r3, "9100", "M", RoleRecall}, timer(2, na))},
		{"blond no answer: fallback dial", blondFallback, noAnswer1, Fallback,
			effs(Hangup{c1, "no_answer"}, Dial{fb, "3000", "M", RoleFallback}, timer(2, na))},
		{"blond no answer: goodbye", blondNoCallback, noAnswer1, Abandoned,
			effs(Hangup{c1, "no_answer"}, StopPlayback{rb2}, PlayThenHangup{"B", bye}, fin(OutcomeAbandoned))},
		{"transferee leaves blond", blond, leftB, Failed,
			effs(stopNA, Hangup{c1, "normal"}, StopPlayback{rb2}, fin(OutcomeTransfereeLeft))},

		// Recalling.
		{"recall answered", recalling, Answered{Channel: r3}, Resumed,
			effs(stopNA, StopPlayback{rb2}, fin(OutcomeRecalledTransferor, "B", r3))},
		{"last recall fails: fallback dial", recallingLastDial, Left{Channel: r3, Cause: 17}, Fallback,
			effs(stopNA, Dial{fb, "3000", "M", RoleFallback}, timer(3, na))},
		{"last recall fails: goodbye", recallingLast, Left{Channel: r3, Cause: 17}, Abandoned,
			effs(stopNA, StopPlayback{rb2}, PlayThenHangup{"B", bye}, fin(OutcomeAbandoned))},
		{"recall fails: wait on hold", recalling, Left{Channel: r3, Cause: 17}, WaitToRetransfer,
			effs(stopNA, StopPlayback{rb2}, holdUpB, StartTimer{TimerLoopDelay, 3, 10 * time.Second})},
		{"recall fails: retransfer at once", recallingNoDelay, DialFailed{Channel: r3, Outcome: OutcomeBusy}, Retransfer,
			effs(stopNA, Hangup{r3, "normal"}, Dial{c4, "2600", "M", RoleTarget}, timer(3, na))},
		{"last recall unanswered: fallback dial", recallingLastDial, TimerFired{TimerNoAnswer, 2}, Fallback,
			effs(Hangup{r3, "no_answer"}, Dial{fb, "3000", "M", RoleFallback}, timer(3, na))},
		{"last recall unanswered: goodbye", recallingLast, TimerFired{TimerNoAnswer, 2}, Abandoned,
			effs(Hangup{r3, "no_answer"}, StopPlayback{rb2}, PlayThenHangup{"B", bye}, fin(OutcomeAbandoned))},
		{"recall unanswered: wait on hold", recalling, TimerFired{TimerNoAnswer, 2}, WaitToRetransfer,
			effs(Hangup{r3, "no_answer"}, StopPlayback{rb2}, holdUpB, StartTimer{TimerLoopDelay, 3, 10 * time.Second})},
		{"recall unanswered: retransfer at once", recallingNoDelay, TimerFired{TimerNoAnswer, 2}, Retransfer,
			effs(Hangup{r3, "no_answer"}, Dial{c4, "2600", "M", RoleTarget}, timer(3, na))},
		{"transferee leaves while recalling", recalling, leftB, Failed,
			effs(stopNA, Hangup{r3, "normal"}, StopPlayback{rb2}, fin(OutcomeTransfereeLeft))},

		// WaitToRetransfer.
		{"loop delay over: retransfer", waitRetransfer, TimerFired{TimerLoopDelay, 3}, Retransfer,
			effs(Move{"B", "M"}, holdDown, Dial{c4, "2600", "M", RoleTarget}, StartRingback{"B", rb4, DefaultRingback}, timer(4, na))},
		{"no hold bridge: retransfer at once", waitRetransfer, holdFailed, Retransfer,
			effs(stopLoop, Dial{c4, "2600", "M", RoleTarget}, StartRingback{"B", rb4, DefaultRingback}, timer(4, na))},
		{"transferee leaves while waiting to retransfer", waitRetransfer, leftB, Failed,
			effs(stopLoop, holdDown, fin(OutcomeTransfereeLeft))},

		// Retransfer.
		{"retransfer answered", retransfer, Answered{Channel: c4}, Completed,
			effs(stopNA, StopPlayback{rb4}, fin(OutcomePartialCompleted, "B", c4))},
		{"retransfer fails: wait on hold", retransfer, Left{Channel: c4, Cause: 17}, WaitToRecall,
			effs(stopNA, StopPlayback{rb4}, holdUpB, StartTimer{TimerLoopDelay, 5, 10 * time.Second})},
		{"retransfer fails: recall at once", retransferNoDelay, Left{Channel: c4, Cause: 17}, Recalling,
			effs(stopNA, Dial{"x-recall-5", "9100", "M", RoleRecall}, timer(4, na))},
		{"retransfer unanswered: wait on hold", retransfer, TimerFired{TimerNoAnswer, 4}, WaitToRecall,
			effs(Hangup{c4, "no_answer"}, StopPlayback{rb4}, holdUpB, StartTimer{TimerLoopDelay, 5, 10 * time.Second})},
		{"retransfer unanswered: recall at once", retransferNoDelay, TimerFired{TimerNoAnswer, 3}, Recalling,
			effs(Hangup{c4, "no_answer"}, Dial{"x-recall-5", "9100", "M", RoleRecall}, timer(4, na))},
		{"transferee leaves during retransfer", retransfer, leftB, Failed,
			effs(stopNA, Hangup{c4, "normal"}, StopPlayback{rb4}, fin(OutcomeTransfereeLeft))},

		// WaitToRecall.
		{"loop delay over: recall", waitRecall, TimerFired{TimerLoopDelay, 5}, Recalling,
			effs(Move{"B", "M"}, holdDown, Dial{"x-recall-5", "9100", "M", RoleRecall}, StartRingback{"B", "x-ringback-5", DefaultRingback}, timer(6, na))},
		{"no hold bridge: recall at once", waitRecall, holdFailed, Recalling,
			effs(stopLoop, Dial{"x-recall-5", "9100", "M", RoleRecall}, StartRingback{"B", "x-ringback-5", DefaultRingback}, timer(6, na))},
		{"transferee leaves while waiting to recall", waitRecall, leftB, Failed,
			effs(stopLoop, holdDown, fin(OutcomeTransfereeLeft))},

		// Fallback.
		{"fallback answered", fallback, Answered{Channel: fb}, FellBack,
			effs(stopNA, StopPlayback{rb2}, fin(OutcomeFellBack, "B", fb))},
		{"fallback fails", fallback, Left{Channel: fb, Cause: 17}, Abandoned,
			effs(stopNA, StopPlayback{rb2}, PlayThenHangup{"B", bye}, fin(OutcomeAbandoned))},
		{"fallback unanswered", fallback, TimerFired{TimerNoAnswer, 2}, Abandoned,
			effs(Hangup{fb, "no_answer"}, StopPlayback{rb2}, PlayThenHangup{"B", bye}, fin(OutcomeAbandoned))},
		{"transferee leaves during fallback", fallback, leftB, Failed,
			effs(stopNA, Hangup{fb, "normal"}, StopPlayback{rb2}, fin(OutcomeTransfereeLeft))},
	}

	used := make([]bool, len(table))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, gotEff, note, i := step(tt.from, tt.ev)
			kind := KindOf(tt.from, tt.ev)
			if i >= 0 {
				used[i] = true
			}
			if got.State != tt.want {
				t.Errorf("Next(%s, %s) state = %s, want %s (%s)", tt.from.State, kind, got.State, tt.want, note)
			}
			if diff := cmp.Diff(tt.wantEff, gotEff); diff != "" {
				t.Errorf("Next(%s, %s) effects mismatch (-want +got):\n%s", tt.from.State, kind, diff)
			}
			if note.Level != LevelInfo {
				t.Errorf("Next(%s, %s) note = %q, want a transition", tt.from.State, kind, note)
			}
		})
	}
	for i, r := range table {
		if !used[i] {
			t.Errorf("table row %d {%s, %s} has no row test", i, r.from, r.on)
		}
	}
}
