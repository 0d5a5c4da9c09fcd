package transfer

// row is one legal move: in state from, on an event of kind on, if when
// holds (nil: always), run do and go to state to. Rows are read top to
// bottom; the first that matches wins, so a guarded row comes before the
// unguarded row of the same state and kind.
type row struct {
	from State
	on   EventKind
	when func(Transfer) bool
	to   State
	do   func(*Transfer, Event) []Effect
}

// table is every legal move of a transfer, in the order a call meets them.
// Anything else is warn-and-stay (see ignored). The comments cite Asterisk's
// bridge_basic.c where its behaviour is matched.
var table = []row{
	// Checking: nothing has moved yet; A still talks to B.
	{from: Checking, on: KindAvailable, to: CallingTarget, do: callTarget},
	{from: Checking, on: KindUnreachable, to: Unavailable, do: unreachable},
	{from: Checking, on: KindCancel, to: Rebridged, do: cancelCheck},
	{from: Checking, on: KindTransferorLeft, to: Failed, do: transferorLeftEarly},
	{from: Checking, on: KindTransfereeLeft, to: Failed, do: transfereeLeftKeep},

	// CallingTarget: B on hold, C ringing with A, A hears ringback.
	{from: CallingTarget, on: KindTargetAnswered, to: Consulting, do: targetAnswered},
	// Failures restore A+B with the fail sound (REBRIDGE, fs).
	{from: CallingTarget, on: KindTargetLeft, to: Rebridged, do: restore},
	{from: CallingTarget, on: KindNoAnswerTimeout, to: Rebridged, do: restore},
	{from: CallingTarget, on: KindCancel, to: Rebridged, do: restore},
	// Without a hold bridge the transfer cannot go on (B never left A).
	{from: CallingTarget, on: KindHoldFailed, to: Rebridged, do: restore},
	// A leaves or completes while C rings: blond transfer, the no-answer
	// clock keeps running (BLOND_NONFINAL).
	{from: CallingTarget, on: KindTransferorLeft, to: Blond, do: blond},
	{from: CallingTarget, on: KindComplete, to: Blond, do: blond},
	// B leaves: A stays with the ringing C unless configured to cancel (FAIL).
	{from: CallingTarget, on: KindTransfereeLeft, when: keepTarget, to: Failed, do: transfereeLeftKeep},
	{from: CallingTarget, on: KindTransfereeLeft, to: Failed, do: transfereeLeftDrop},
	{from: CallingTarget, on: KindSwap, to: Hesitant, do: swapToTransferee},
	{from: CallingTarget, on: KindThreeWay, to: ThreeWay, do: threeWay},

	// Hesitant: A back with B, C still ringing in the hold bridge.
	{from: Hesitant, on: KindTargetAnswered, to: DoubleChecking, do: targetAnswered},
	// A is already with B: failures resume (RESUME, fs).
	{from: Hesitant, on: KindTargetLeft, to: Resumed, do: restore},
	{from: Hesitant, on: KindNoAnswerTimeout, to: Resumed, do: restore},
	{from: Hesitant, on: KindCancel, to: Resumed, do: restore},
	{from: Hesitant, on: KindTransferorLeft, to: Blond, do: blond},
	{from: Hesitant, on: KindComplete, to: Blond, do: blond},
	{from: Hesitant, on: KindTransfereeLeft, when: keepTarget, to: Failed, do: transfereeLeftKeep},
	{from: Hesitant, on: KindTransfereeLeft, to: Failed, do: transfereeLeftDrop},
	// Swap back: the clock is not reset.
	{from: Hesitant, on: KindSwap, to: CallingTarget, do: swapToTarget},
	{from: Hesitant, on: KindThreeWay, to: ThreeWay, do: threeWay},

	// Consulting: A talks to C, B on hold.
	{from: Consulting, on: KindTransferorLeft, to: Completed, do: complete},
	{from: Consulting, on: KindComplete, to: Completed, do: complete},
	// C hangs up after answering: no fail sound (ASTERISK-25697).
	{from: Consulting, on: KindTargetLeft, to: Rebridged, do: restore},
	{from: Consulting, on: KindCancel, to: Rebridged, do: restore},
	// B leaves: A and C carry on as an ordinary call (FAIL, target kept).
	{from: Consulting, on: KindTransfereeLeft, to: Failed, do: transfereeLeftKeep},
	{from: Consulting, on: KindSwap, to: DoubleChecking, do: swapToTransferee},
	{from: Consulting, on: KindThreeWay, to: ThreeWay, do: threeWay},

	// DoubleChecking: A back with B, C on hold.
	{from: DoubleChecking, on: KindTransferorLeft, to: Completed, do: complete},
	{from: DoubleChecking, on: KindComplete, to: Completed, do: complete},
	{from: DoubleChecking, on: KindTargetLeft, to: Resumed, do: restore},
	{from: DoubleChecking, on: KindCancel, to: Resumed, do: restore},
	{from: DoubleChecking, on: KindTransfereeLeft, to: Failed, do: transfereeLeftKeep},
	{from: DoubleChecking, on: KindSwap, to: Consulting, do: swapToTarget},
	{from: DoubleChecking, on: KindThreeWay, to: ThreeWay, do: threeWay},

	// Blond: B hears ringback with ringing C; A is gone.
	{from: Blond, on: KindTargetAnswered, to: Completed, do: partialCompleted},
	// C fails: recall A if we can, else the fallback (BLOND_NONFINAL -> RECALLING).
	{from: Blond, on: KindTargetLeft, when: hasCallback, to: Recalling, do: recall},
	{from: Blond, on: KindTargetLeft, when: dialFallback, to: Fallback, do: fallBack},
	{from: Blond, on: KindTargetLeft, to: Abandoned, do: abandon},
	{from: Blond, on: KindNoAnswerTimeout, when: hasCallback, to: Recalling, do: recall},
	{from: Blond, on: KindNoAnswerTimeout, when: dialFallback, to: Fallback, do: fallBack},
	{from: Blond, on: KindNoAnswerTimeout, to: Abandoned, do: abandon},
	// B leaves anywhere in the recall loop: hang everything up (FAIL).
	{from: Blond, on: KindTransfereeLeft, to: Failed, do: transfereeLeftDrop},

	// Recalling: A's callback number rings with B, B hears ringback.
	{from: Recalling, on: KindRecallAnswered, to: Resumed, do: recalled},
	// A failed recall counts; when they are used up, fall back.
	{from: Recalling, on: KindRecallLeft, when: lastAttemptDial, to: Fallback, do: counted(fallBack)},
	{from: Recalling, on: KindRecallLeft, when: lastAttempt, to: Abandoned, do: counted(abandon)},
	{from: Recalling, on: KindRecallLeft, when: hasLoopDelay, to: WaitToRetransfer, do: counted(wait)},
	{from: Recalling, on: KindRecallLeft, to: Retransfer, do: counted(retransfer)},
	{from: Recalling, on: KindNoAnswerTimeout, when: lastAttemptDial, to: Fallback, do: counted(fallBack)},
	{from: Recalling, on: KindNoAnswerTimeout, when: lastAttempt, to: Abandoned, do: counted(abandon)},
	{from: Recalling, on: KindNoAnswerTimeout, when: hasLoopDelay, to: WaitToRetransfer, do: counted(wait)},
	{from: Recalling, on: KindNoAnswerTimeout, to: Retransfer, do: counted(retransfer)},
	{from: Recalling, on: KindTransfereeLeft, to: Failed, do: transfereeLeftDrop},

	// WaitToRetransfer: B on hold for LoopDelay.
	{from: WaitToRetransfer, on: KindLoopDelayElapsed, to: Retransfer, do: retransfer},
	// No hold bridge: do not leave B in silence, dial at once.
	{from: WaitToRetransfer, on: KindHoldFailed, to: Retransfer, do: retransfer},
	{from: WaitToRetransfer, on: KindTransfereeLeft, to: Failed, do: transfereeLeftDrop},

	// Retransfer: C rings again with B, B hears ringback.
	{from: Retransfer, on: KindTargetAnswered, to: Completed, do: partialCompleted},
	{from: Retransfer, on: KindTargetLeft, when: hasLoopDelay, to: WaitToRecall, do: wait},
	{from: Retransfer, on: KindTargetLeft, to: Recalling, do: recall},
	{from: Retransfer, on: KindNoAnswerTimeout, when: hasLoopDelay, to: WaitToRecall, do: wait},
	{from: Retransfer, on: KindNoAnswerTimeout, to: Recalling, do: recall},
	{from: Retransfer, on: KindTransfereeLeft, to: Failed, do: transfereeLeftDrop},

	// WaitToRecall: B on hold for LoopDelay.
	{from: WaitToRecall, on: KindLoopDelayElapsed, to: Recalling, do: recall},
	{from: WaitToRecall, on: KindHoldFailed, to: Recalling, do: recall},
	{from: WaitToRecall, on: KindTransfereeLeft, to: Failed, do: transfereeLeftDrop},

	// Fallback: the fallback number rings with B, B hears ringback.
	{from: Fallback, on: KindFallbackAnswered, to: FellBack, do: fellBack},
	// Nobody left to try: B is told goodbye, never hung up silently.
	{from: Fallback, on: KindFallbackLeft, to: Abandoned, do: abandon},
	{from: Fallback, on: KindNoAnswerTimeout, to: Abandoned, do: abandon},
	{from: Fallback, on: KindTransfereeLeft, to: Failed, do: transfereeLeftDrop},
}

// Guards.

func keepTarget(t Transfer) bool  { return t.Opts.OnTransfereeLeft != CancelTarget }
func hasCallback(t Transfer) bool { return t.Opts.Callback != "" }
func dialFallback(t Transfer) bool {
	return t.Opts.Fallback.Kind == FallbackDial && t.Opts.Fallback.Number != ""
}
func hasLoopDelay(t Transfer) bool { return t.Opts.LoopDelay > 0 }

// lastAttempt: the recall failing now is the last one allowed (Asterisk:
// ++retry >= atxfercallbackretries).
func lastAttempt(t Transfer) bool     { return t.Attempts+1 >= t.Opts.CallbackRetries }
func lastAttemptDial(t Transfer) bool { return lastAttempt(t) && dialFallback(t) }

// ignore documents state × kind pairs that have no row: why they are
// ignored and how loudly. Next takes its note from here; the exhaustive test
// checks that every pair is a row or listed here, never both.
type ignore struct {
	states []State
	kinds  []EventKind
	level  NoteLevel
	why    string
	// impossible: KindOf cannot produce the kind in these states (the leg
	// or timer does not exist there); the exploration test checks it.
	impossible bool
}

var (
	activeStates = []State{Checking, CallingTarget, Hesitant, Consulting, DoubleChecking,
		Blond, Recalling, WaitToRetransfer, Retransfer, WaitToRecall, Fallback}
	// afterCheck: every non-terminal state but Checking.
	afterCheck = activeStates[1:]
	loopStates = []State{Blond, Recalling, WaitToRetransfer, Retransfer, WaitToRecall, Fallback}
	commands   = []EventKind{KindCancel, KindComplete, KindSwap, KindThreeWay}
	targetEv   = []EventKind{KindTargetLeft, KindTargetAnswered}
	recallEv   = []EventKind{KindRecallLeft, KindRecallAnswered}
	fallbackEv = []EventKind{KindFallbackLeft, KindFallbackAnswered}
)

func kinds(groups ...[]EventKind) []EventKind {
	var out []EventKind
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func kindsOf(ks ...EventKind) []EventKind { return ks }

var ignored = []ignore{
	{states: activeStates, kinds: kindsOf(KindUnknown), level: LevelWarn, why: "not an event of this package"},
	{states: activeStates, kinds: kindsOf(KindStray), level: LevelDebug, why: "not about a live party (unknown channel, already gone, or an earlier leg)"},
	{states: activeStates, kinds: kindsOf(KindStale), level: LevelDebug, why: "not the running timer (stopped or superseded)"},
	{states: activeStates, kinds: kindsOf(KindEffectIgnored), level: LevelDebug, why: "a best-effort effect failed; nothing depends on it"},
	{states: activeStates, kinds: kindsOf(KindRinging), level: LevelDebug, why: "informational: the ringback already plays"},
	{states: afterCheck, kinds: kindsOf(KindAvailable, KindUnreachable), level: LevelDebug, why: "late availability answer: the check is over"},
	{states: []State{Checking}, kinds: kindsOf(KindComplete, KindSwap, KindThreeWay), level: LevelWarn, why: "no target yet: only cancel works while checking"},
	{states: loopStates, kinds: commands, level: LevelWarn, why: "the transferor has left: the recall loop takes no commands"},
	{states: []State{Consulting, DoubleChecking}, kinds: kindsOf(KindTargetAnswered), level: LevelDebug, why: "the target already answered"},
	{states: []State{Hesitant, Consulting, DoubleChecking}, kinds: kindsOf(KindHoldFailed), level: LevelWarn, why: "hold bridge failure reported after the transfer moved on"},

	{states: []State{Checking}, kinds: kinds(targetEv, recallEv, fallbackEv, kindsOf(KindNoAnswerTimeout, KindLoopDelayElapsed, KindHoldFailed)),
		level: LevelWarn, why: "nothing dialed, timed or held while checking", impossible: true},
	{states: []State{CallingTarget, Hesitant, Consulting, DoubleChecking}, kinds: kinds(recallEv, fallbackEv, kindsOf(KindLoopDelayElapsed)),
		level: LevelWarn, why: "no recall loop before a blond transfer", impossible: true},
	{states: []State{Consulting, DoubleChecking}, kinds: kindsOf(KindNoAnswerTimeout),
		level: LevelWarn, why: "the no-answer clock stopped when the target answered", impossible: true},
	{states: loopStates, kinds: kindsOf(KindTransferorLeft), level: LevelWarn, why: "the transferor already left", impossible: true},
	{states: []State{Blond}, kinds: kinds(recallEv, fallbackEv, kindsOf(KindLoopDelayElapsed, KindHoldFailed)),
		level: LevelWarn, why: "only the target rings", impossible: true},
	{states: []State{Recalling}, kinds: kinds(targetEv, fallbackEv, kindsOf(KindLoopDelayElapsed, KindHoldFailed)),
		level: LevelWarn, why: "only the recall leg rings", impossible: true},
	{states: []State{WaitToRetransfer, WaitToRecall}, kinds: kinds(targetEv, recallEv, fallbackEv, kindsOf(KindNoAnswerTimeout)),
		level: LevelWarn, why: "nothing rings while waiting", impossible: true},
	{states: []State{Retransfer}, kinds: kinds(recallEv, fallbackEv, kindsOf(KindLoopDelayElapsed, KindHoldFailed)),
		level: LevelWarn, why: "only the target rings", impossible: true},
	{states: []State{Fallback}, kinds: kinds(targetEv, recallEv, kindsOf(KindLoopDelayElapsed, KindHoldFailed)),
		level: LevelWarn, why: "only the fallback leg rings", impossible: true},
}

// lookupIgnore returns the ignored entry for a state and kind, if any.
func lookupIgnore(s State, kind EventKind) (ignore, bool) {
	for _, ig := range ignored {
		if contains(ig.states, s) && contains(ig.kinds, kind) {
			return ig, true
		}
	}
	return ignore{}, false
}

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func ignoreNote(s State, kind EventKind, ev Event) Note {
	text := describe(ev) + " (" + kind.String() + ") ignored in " + s.String()
	if ig, ok := lookupIgnore(s, kind); ok {
		return Note{ig.level, text + ": " + ig.why}
	}
	// Only a guarded group without a catch-all could get here; the
	// exhaustive test forbids that.
	return Note{LevelWarn, text + ": unexpected"}
}
