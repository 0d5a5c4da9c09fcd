package transfer

import (
	"fmt"
	"strconv"
)

// Event is a past-tense fact fed to Next. The set is sealed: only the types
// of this package implement it. Events are passed as values.
type Event interface {
	// Kind is the event's kind as far as the event alone tells; KindOf
	// refines it with the snapshot (which party left, whether a timer is
	// current).
	Kind() EventKind
	String() string
	event()
}

// AvailabilityChecked answers a CheckAvailability effect.
type AvailabilityChecked struct{ Reachable bool }

// Ringing reports that a dialed leg is ringing (informational).
type Ringing struct{ Channel string }

// Answered reports that a dialed leg answered.
type Answered struct{ Channel string }

// DialFailed reports that a dialed leg failed before answering (ARI Dial
// event with a final dialstatus; see ClassifyDial).
type DialFailed struct {
	Channel string
	Outcome Outcome
}

// Left reports that a channel hung up or left Stasis (ChannelHangupRequest,
// ChannelDestroyed, StasisEnd: feed any or all; the second one for a channel
// is a no-op). Cause is the Q.850 cause when known, else 0. The machine finds
// the channel's role from the snapshot; a Left for an unknown or already gone
// channel is a no-op. Unreached says a dialed leg left before answering
// without any progress report (no Dial event): it could not be reached (see
// LeftOutcome).
type Left struct {
	Channel   string
	Cause     int
	Unreached bool
}

// Pressed reports a command from the transferor's feature code or the API.
type Pressed struct{ Command Command }

// TimerFired reports that the timer started by StartTimer{Name, Seq} fired.
// A Seq other than the current Transfer.TimerSeq (or a name other than the
// running Transfer.Timer) is stale and ignored.
type TimerFired struct {
	Name string
	Seq  int
}

// EffectFailed reports that the app could not carry out Effect; Status is the
// HTTP status of Asterisk's answer, 0 when there was no answer.
//
// The rule per effect (see KindOf and Critical):
//   - Dial: the leg never existed; treated as that leg failing with
//     ClassifyStatus(Status) (4xx invalid number, else unavailable).
//   - Move with 400 (channel not found) or 422 (channel not in Stasis): the
//     channel is gone; treated as that party leaving. Other statuses (404
//     bridge not found, 409, 0) are logged and ignored: the party stays
//     where it was.
//   - CreateBridge of the hold bridge: the transfer cannot hold anybody.
//     In CallingTarget it is aborted (Rebridged, OutcomeError); in the
//     recall loop the wait on hold is skipped.
//   - CheckAvailability: 4xx means the number is unknown (unreachable);
//     anything else fails open (reachable).
//   - Every other effect is best effort: StartMOH, StopMOH, DestroyBridge,
//     StartRingback, StopPlayback, Play, PlayThenHangup (the app hangs up
//     even when the playback fails), Hangup (the channel is already gone),
//     StartTimer, StopTimer, Finish. Feeding them back changes nothing.
type EffectFailed struct {
	Effect Effect
	Status int
}

func (AvailabilityChecked) event() {}
func (Ringing) event()             {}
func (Answered) event()            {}
func (DialFailed) event()          {}
func (Left) event()                {}
func (Pressed) event()             {}
func (TimerFired) event()          {}
func (EffectFailed) event()        {}

// Kind returns KindAvailable or KindUnreachable.
func (e AvailabilityChecked) Kind() EventKind {
	if e.Reachable {
		return KindAvailable
	}
	return KindUnreachable
}

// Kind returns KindRinging.
func (Ringing) Kind() EventKind { return KindRinging }

// Kind returns KindAnswered; KindOf tells whose answer it is.
func (Answered) Kind() EventKind { return KindAnswered }

// Kind returns KindDialFailed; KindOf tells which leg failed.
func (DialFailed) Kind() EventKind { return KindDialFailed }

// Kind returns KindLeft; KindOf tells who left.
func (Left) Kind() EventKind { return KindLeft }

// Kind returns the command's kind (KindCancel, KindComplete, KindSwap,
// KindThreeWay), KindUnknown for an invalid command.
func (e Pressed) Kind() EventKind { return e.Command.kind() }

// Kind returns KindTimerFired; KindOf tells which timer, or stale.
func (TimerFired) Kind() EventKind { return KindTimerFired }

// Kind returns KindEffectFailed; KindOf tells what it means.
func (EffectFailed) Kind() EventKind { return KindEffectFailed }

func (e AvailabilityChecked) String() string {
	if e.Reachable {
		return "AvailabilityChecked(reachable)"
	}
	return "AvailabilityChecked(unreachable)"
}
func (e Ringing) String() string  { return "Ringing(" + e.Channel + ")" }
func (e Answered) String() string { return "Answered(" + e.Channel + ")" }
func (e DialFailed) String() string {
	return "DialFailed(" + e.Channel + "," + e.Outcome.String() + ")"
}
func (e Left) String() string    { return "Left(" + e.Channel + "," + strconv.Itoa(e.Cause) + ")" }
func (e Pressed) String() string { return "Pressed(" + e.Command.String() + ")" }
func (e TimerFired) String() string {
	return "TimerFired(" + e.Name + "#" + strconv.Itoa(e.Seq) + ")"
}
func (e EffectFailed) String() string {
	return "EffectFailed(" + describe(e.Effect) + "," + strconv.Itoa(e.Status) + ")"
}

// EventKind names a kind of event. Event.Kind returns the raw kinds; KindOf
// returns the refined kinds the transition table is written in.
type EventKind int

// Event kinds.
const (
	KindUnknown EventKind = iota

	// Raw kinds (Event.Kind) that KindOf always refines.
	KindAnswered
	KindDialFailed
	KindLeft
	KindTimerFired
	KindEffectFailed

	// Kinds that need no refining.
	KindAvailable
	KindUnreachable
	KindCancel
	KindComplete
	KindSwap
	KindThreeWay
	KindRinging

	// Refined by role: Left, DialFailed and EffectFailed of a Dial or Move.
	KindTransferorLeft
	KindTransfereeLeft
	KindTargetLeft // the current target leg hung up or failed
	KindRecallLeft
	KindFallbackLeft
	KindTargetAnswered
	KindRecallAnswered
	KindFallbackAnswered

	// Refined timers and effect failures.
	KindNoAnswerTimeout
	KindLoopDelayElapsed
	KindHoldFailed

	// Ignored everywhere.
	KindStray         // about a channel that is not a live party
	KindStale         // a timer that is not the running one
	KindEffectIgnored // a best-effort effect failed

	numKinds
)

var kindNames = [numKinds]string{
	KindUnknown:          "Unknown",
	KindAnswered:         "Answered",
	KindDialFailed:       "DialFailed",
	KindLeft:             "Left",
	KindTimerFired:       "TimerFired",
	KindEffectFailed:     "EffectFailed",
	KindAvailable:        "Available",
	KindUnreachable:      "Unreachable",
	KindCancel:           "Cancel",
	KindComplete:         "Complete",
	KindSwap:             "Swap",
	KindThreeWay:         "ThreeWay",
	KindRinging:          "Ringing",
	KindTransferorLeft:   "TransferorLeft",
	KindTransfereeLeft:   "TransfereeLeft",
	KindTargetLeft:       "TargetLeft",
	KindRecallLeft:       "RecallLeft",
	KindFallbackLeft:     "FallbackLeft",
	KindTargetAnswered:   "TargetAnswered",
	KindRecallAnswered:   "RecallAnswered",
	KindFallbackAnswered: "FallbackAnswered",
	KindNoAnswerTimeout:  "NoAnswerTimeout",
	KindLoopDelayElapsed: "LoopDelayElapsed",
	KindHoldFailed:       "HoldFailed",
	KindStray:            "Stray",
	KindStale:            "Stale",
	KindEffectIgnored:    "EffectIgnored",
}

func (k EventKind) String() string {
	if k >= 0 && k < numKinds {
		return kindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// KindOf returns the kind the transition table sees for ev in t: who left
// or answered, whether a timer is the running one, what an effect failure
// means. It never returns the raw kinds KindAnswered, KindDialFailed,
// KindLeft, KindTimerFired or KindEffectFailed.
func KindOf(t Transfer, ev Event) EventKind {
	switch e := ev.(type) {
	case AvailabilityChecked:
		return e.Kind()
	case Pressed:
		return e.Kind()
	case Ringing:
		switch t.liveRole(e.Channel) {
		case RoleTarget, RoleRecall, RoleFallback:
			return KindRinging
		}
		return KindStray
	case Answered:
		return answeredKind(t.liveRole(e.Channel))
	case DialFailed:
		return legLeftKind(t.liveRole(e.Channel))
	case Left:
		return leftKind(t.liveRole(e.Channel))
	case TimerFired:
		if t.Timer == "" || e.Name != t.Timer || e.Seq != t.TimerSeq {
			return KindStale
		}
		switch e.Name {
		case TimerNoAnswer:
			return KindNoAnswerTimeout
		case TimerLoopDelay:
			return KindLoopDelayElapsed
		}
		return KindStale
	case EffectFailed:
		return classifyFailure(t, e)
	}
	return KindUnknown
}

func classifyFailure(t Transfer, e EffectFailed) EventKind {
	switch f := e.Effect.(type) {
	case Dial:
		if r := t.liveRole(f.Channel); r == f.Role {
			return legLeftKind(r)
		}
		return KindStray
	case Move:
		if channelGone(e.Status) {
			return leftKind(t.liveRole(f.Channel))
		}
	case CreateBridge:
		if t.HoldBridge != "" && f.ID == t.HoldBridge {
			return KindHoldFailed
		}
	case CheckAvailability:
		if e.Status >= 400 && e.Status < 500 {
			return KindUnreachable
		}
		return KindAvailable
	}
	return KindEffectIgnored
}

// channelGone reports whether an addChannel failure status says the channel
// itself is gone: 400 "Channel not found", 422 "Channel not in Stasis
// application" (Asterisk rest-api/api-docs/bridges.json).
func channelGone(status int) bool { return status == 400 || status == 422 }

func answeredKind(r Role) EventKind {
	switch r {
	case RoleTarget:
		return KindTargetAnswered
	case RoleRecall:
		return KindRecallAnswered
	case RoleFallback:
		return KindFallbackAnswered
	}
	return KindStray
}

func legLeftKind(r Role) EventKind {
	switch r {
	case RoleTarget, RoleRecall, RoleFallback:
		return leftKind(r)
	}
	return KindStray
}

func leftKind(r Role) EventKind {
	switch r {
	case RoleTransferor:
		return KindTransferorLeft
	case RoleTransferee:
		return KindTransfereeLeft
	case RoleTarget:
		return KindTargetLeft
	case RoleRecall:
		return KindRecallLeft
	case RoleFallback:
		return KindFallbackLeft
	}
	return KindStray
}

// describe formats ev or an effect for notes without ever panicking (a nil
// pointer smuggled in as an Event must not bring the app down).
func describe(v fmt.Stringer) (s string) {
	defer func() {
		if recover() != nil {
			s = fmt.Sprintf("%T", v)
		}
	}()
	if v == nil {
		return "<nil>"
	}
	return v.String()
}
