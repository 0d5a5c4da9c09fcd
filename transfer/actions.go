package transfer

import "time"

// fx collects the effects of one step while keeping the snapshot in line
// with them. Each helper is a no-op when there is nothing to do, so actions
// can be shared between states.
type fx struct {
	t   *Transfer
	out []Effect
}

func (f *fx) add(e Effect) { f.out = append(f.out, e) }

func (f *fx) startTimer(name string, after time.Duration) {
	f.t.TimerSeq++
	f.t.Timer = name
	f.add(StartTimer{Name: name, Seq: f.t.TimerSeq, After: after})
}

func (f *fx) stopTimer() {
	if f.t.Timer != "" {
		f.add(StopTimer{Name: f.t.Timer})
		f.t.Timer = ""
	}
}

// ringback starts a new ringback playback to ch, id numbered n.
func (f *fx) ringback(ch string, n int) {
	f.stopRingback()
	id := f.t.newID("ringback", n)
	f.add(StartRingback{Channel: ch, PlaybackID: id, Media: f.t.Opts.Ringback})
	f.t.Ringback = id
}

func (f *fx) stopRingback() {
	if f.t.Ringback != "" {
		f.add(StopPlayback{PlaybackID: f.t.Ringback})
		f.t.Ringback = ""
	}
}

// hold puts ch in the hold bridge, creating it (with music) if needed.
func (f *fx) hold(ch string) {
	t := f.t
	if t.HoldBridge == "" {
		t.HoldBridge = HoldBridgeOf(t.ID)
		f.add(CreateBridge{ID: t.HoldBridge, Type: "holding"})
		f.add(Move{Channel: ch, Bridge: t.HoldBridge})
		f.add(StartMOH{Bridge: t.HoldBridge, Class: t.Opts.MOHClass})
	} else {
		f.add(Move{Channel: ch, Bridge: t.HoldBridge})
	}
	t.Held = ch
}

// unhold moves the held party, if still there, back to the call bridge.
func (f *fx) unhold() {
	if f.t.Held != "" && f.t.live(f.t.Held) {
		f.add(Move{Channel: f.t.Held, Bridge: f.t.CallBridge})
	}
	f.t.Held = ""
}

func (f *fx) destroyHold() {
	if h := f.t.HoldBridge; h != "" {
		f.add(StopMOH{Bridge: h})
		f.add(DestroyBridge{ID: h})
		f.t.HoldBridge = ""
	}
	f.t.Held = ""
}

// swapHeld moves the talking party into the hold bridge, then the held one
// out of it.
func (f *fx) swapHeld(talking string) {
	held := f.t.Held
	f.add(Move{Channel: talking, Bridge: f.t.HoldBridge})
	f.add(Move{Channel: held, Bridge: f.t.CallBridge})
	f.t.Held = talking
}

// dial creates a new leg of role r (ids numbered n) in the call bridge.
func (f *fx) dial(r Role, n int) {
	t := f.t
	var id, number string
	switch r {
	case RoleTarget:
		t.forget(t.Target)
		id, number = t.newID("target", n), t.Number
		t.Target, t.Answered = id, false
	case RoleRecall:
		t.forget(t.Recall)
		id, number = t.newID("recall", n), t.Opts.Callback
		t.Recall = id
	case RoleFallback:
		t.forget(t.FallbackLeg)
		id, number = t.ID+"-fallback", t.Opts.Fallback.Number
		t.FallbackLeg = id
	default:
		return
	}
	f.add(Dial{Channel: id, Number: number, Bridge: t.CallBridge, Role: r})
}

// hangup hangs ch up if it is a party still here.
func (f *fx) hangup(ch, reason string) {
	if f.t.live(ch) {
		f.add(Hangup{Channel: ch, Reason: reason})
		f.t.markGone(ch)
	}
}

// hangupLegs hangs up every dialed leg still up.
func (f *fx) hangupLegs(reason string) {
	f.hangup(f.t.Target, reason)
	f.hangup(f.t.Recall, reason)
	f.hangup(f.t.FallbackLeg, reason)
}

func (f *fx) play(ch, media string) {
	if media != "" && f.t.live(ch) {
		f.add(Play{Channel: ch, Media: media})
	}
}

func (f *fx) failSound() { f.play(f.t.Transferor, f.t.Opts.FailSound) }

// finish records the outcome and emits Finish with the parties that are
// still here, in the order given.
func (f *fx) finish(o Outcome, parties ...string) {
	ps := []string{}
	for _, p := range parties {
		if p != "" && f.t.live(p) && !contains(ps, p) {
			ps = append(ps, p)
		}
	}
	f.t.Outcome = o
	f.add(Finish{Outcome: o, Bridge: f.t.CallBridge, Parties: ps})
}

// failure says why the target attempt ended and whether the target hung up
// by itself after answering (then no fail sound: ASTERISK-25697).
func failure(t *Transfer, ev Event) (o Outcome, refusedAfterAnswer bool) {
	switch e := ev.(type) {
	case TimerFired:
		return OutcomeNoAnswer, false
	case Pressed:
		return OutcomeCancelled, false
	case DialFailed:
		if t.Answered {
			return OutcomeTargetRefused, false
		}
		if e.Outcome == OutcomeNone {
			return OutcomeUnavailable, false
		}
		return e.Outcome, false
	case Left:
		if t.Answered {
			return OutcomeTargetRefused, true
		}
		return LeftOutcome(e), false
	case EffectFailed:
		switch e.Effect.(type) {
		case Dial:
			return ClassifyStatus(e.Status), false
		case Move: // the channel vanished
			if t.Answered {
				return OutcomeTargetRefused, true
			}
			return OutcomeUnavailable, false
		}
	}
	return OutcomeError, false
}

// LeftOutcome is why a dialed leg that left before answering failed: its
// hangup cause says why; a normal clearing is a refusal, unless the leg
// never even rang (Unreached): Asterisk ends a Local channel to a missing
// extension, or an unreachable endpoint, with cause 16 and no Dial event,
// so such a leg could not be reached.
func LeftOutcome(e Left) Outcome {
	o := ClassifyCause(e.Cause)
	if e.Unreached && (o == OutcomeNone || o == OutcomeTargetRefused) {
		return OutcomeUnavailable
	}
	if o == OutcomeNone {
		return OutcomeTargetRefused // hung up while ringing, normal clearing
	}
	return o
}

func hangupReason(ev Event) string {
	if _, ok := ev.(TimerFired); ok {
		return "no_answer"
	}
	return "normal"
}

// Actions. Each runs on a copy of the snapshot, after record.

// callTarget enters CallingTarget: B on hold, C dialed into the call bridge,
// ringback to A, no-answer clock started.
func callTarget(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	n := t.nextSeq()
	f.hold(t.Transferee)
	f.dial(RoleTarget, n)
	f.ringback(t.Transferor, n)
	f.startTimer(TimerNoAnswer, t.Opts.NoAnswerTimeout)
	return f.out
}

func unreachable(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	f.failSound()
	f.finish(OutcomeUnavailable, t.Transferor, t.Transferee)
	return f.out
}

func cancelCheck(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	f.finish(OutcomeCancelled, t.Transferor, t.Transferee)
	return f.out
}

func transferorLeftEarly(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	f.finish(OutcomeTransferorLeft, t.Transferee)
	return f.out
}

func targetAnswered(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	t.Answered = true
	f.stopTimer()
	f.stopRingback()
	return f.out
}

// restore ends a failed or cancelled attempt: C hung up, B back with A
// (Rebridged), or A already with B (Resumed).
func restore(t *Transfer, ev Event) []Effect {
	f := fx{t: t}
	o, quiet := failure(t, ev)
	f.stopTimer()
	f.hangup(t.Target, hangupReason(ev))
	f.stopRingback()
	if t.Held == t.Transferee {
		f.unhold()
	}
	f.destroyHold()
	if !quiet {
		f.failSound()
	}
	f.finish(o, t.Transferor, t.Transferee)
	return f.out
}

// blond: the held party joins the call bridge, B with the ringing C hears
// ringback, A is hung up if still here (complete pressed).
func blond(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	f.stopRingback()
	f.unhold()
	f.hangup(t.Transferor, "normal")
	f.destroyHold()
	f.ringback(t.Transferee, t.nextSeq())
	return f.out
}

func complete(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	f.unhold()
	f.hangup(t.Transferor, "normal")
	f.destroyHold()
	f.play(t.Target, t.Opts.CompleteSound)
	f.finish(OutcomeCompleted, t.Transferee, t.Target)
	return f.out
}

func threeWay(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	f.stopTimer()
	f.stopRingback()
	f.unhold()
	f.destroyHold()
	f.play(t.Transferor, t.Opts.CompleteSound)
	if t.Answered {
		f.play(t.Target, t.Opts.CompleteSound)
	}
	f.finish(OutcomeThreeWayJoined, t.Transferor, t.Transferee, t.Target)
	return f.out
}

// swapToTransferee: A goes back to B; C waits in the hold bridge.
func swapToTransferee(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	f.stopRingback()
	f.swapHeld(t.Target)
	return f.out
}

// swapToTarget: A goes back to C; B waits on hold; A hears ringback again
// if C still rings.
func swapToTarget(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	f.swapHeld(t.Transferee)
	if !t.Answered {
		f.ringback(t.Transferor, t.nextSeq())
	}
	return f.out
}

// transfereeLeftKeep: A stays with C (ringing or answered).
func transfereeLeftKeep(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	f.stopTimer()
	f.stopRingback()
	f.unhold()
	f.destroyHold()
	f.failSound()
	f.finish(OutcomeTransfereeLeft, t.Transferor, t.Target)
	return f.out
}

// transfereeLeftDrop: every dialed leg is hung up; A (if here) stays alone.
func transfereeLeftDrop(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	f.stopTimer()
	f.hangupLegs("normal")
	f.stopRingback()
	f.destroyHold()
	f.failSound()
	f.finish(OutcomeTransfereeLeft, t.Transferor)
	return f.out
}

func partialCompleted(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	t.Answered = true
	f.stopTimer()
	f.stopRingback()
	f.finish(OutcomePartialCompleted, t.Transferee, t.Target)
	return f.out
}

// redial hangs up the leg that failed, brings B back from hold if waiting,
// and dials a new leg of role r with the no-answer clock reset. B keeps (or
// gets) ringback.
func redial(t *Transfer, ev Event, r Role) []Effect {
	f := fx{t: t}
	f.stopTimer()
	f.hangupLegs(hangupReason(ev))
	f.unhold()
	f.destroyHold()
	n := t.nextSeq()
	f.dial(r, n)
	if t.Ringback == "" {
		f.ringback(t.Transferee, n)
	}
	f.startTimer(TimerNoAnswer, t.Opts.NoAnswerTimeout)
	return f.out
}

func recall(t *Transfer, ev Event) []Effect     { return redial(t, ev, RoleRecall) }
func retransfer(t *Transfer, ev Event) []Effect { return redial(t, ev, RoleTarget) }

func fallBack(t *Transfer, ev Event) []Effect {
	f := fx{t: t}
	f.stopTimer()
	f.hangupLegs(hangupReason(ev))
	f.dial(RoleFallback, 0)
	if t.Ringback == "" {
		f.ringback(t.Transferee, t.nextSeq())
	}
	f.startTimer(TimerNoAnswer, t.Opts.NoAnswerTimeout)
	return f.out
}

// wait puts B on hold for LoopDelay between two dials of the recall loop.
func wait(t *Transfer, ev Event) []Effect {
	f := fx{t: t}
	f.stopTimer()
	f.hangupLegs(hangupReason(ev))
	f.stopRingback()
	f.hold(t.Transferee)
	f.startTimer(TimerLoopDelay, t.Opts.LoopDelay)
	return f.out
}

// abandon: nobody can be reached; B hears goodbye and is hung up.
func abandon(t *Transfer, ev Event) []Effect {
	f := fx{t: t}
	f.stopTimer()
	f.hangupLegs(hangupReason(ev))
	f.stopRingback()
	f.unhold()
	f.destroyHold()
	if t.live(t.Transferee) {
		f.add(PlayThenHangup{Channel: t.Transferee, Media: t.Opts.Fallback.Sound})
		t.markGone(t.Transferee)
	}
	f.finish(OutcomeAbandoned)
	return f.out
}

func recalled(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	f.stopTimer()
	f.stopRingback()
	f.finish(OutcomeRecalledTransferor, t.Transferee, t.Recall)
	return f.out
}

func fellBack(t *Transfer, _ Event) []Effect {
	f := fx{t: t}
	f.stopTimer()
	f.stopRingback()
	f.finish(OutcomeFellBack, t.Transferee, t.FallbackLeg)
	return f.out
}

// counted counts a failed recall before running a.
func counted(a func(*Transfer, Event) []Effect) func(*Transfer, Event) []Effect {
	return func(t *Transfer, ev Event) []Effect {
		t.Attempts++
		return a(t, ev)
	}
}
