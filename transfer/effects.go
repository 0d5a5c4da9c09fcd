package transfer

import (
	"strconv"
	"strings"
	"time"
)

// Effect is an imperative step the app carries out through ARI (or, for
// timers and Finish, by itself). The set is sealed.
type Effect interface {
	String() string
	effect()
}

// CreateBridge creates bridge ID of the given ARI type ("holding").
type CreateBridge struct{ ID, Type string }

// DestroyBridge destroys a bridge.
type DestroyBridge struct{ ID string }

// Move adds Channel to Bridge (ARI addChannel; the channel departs its
// current bridge first).
type Move struct{ Channel, Bridge string }

// StartMOH starts music on hold of Class on a bridge.
type StartMOH struct{ Bridge, Class string }

// StopMOH stops the bridge's music on hold.
type StopMOH struct{ Bridge string }

// StartRingback plays Media (looping ringback, "tone:ring") to one channel,
// with playback id PlaybackID.
type StartRingback struct{ Channel, PlaybackID, Media string }

// StopPlayback stops a playback.
type StopPlayback struct{ PlaybackID string }

// Dial creates Channel (that id) for Number, adds it to Bridge and dials it.
type Dial struct {
	Channel, Number, Bridge string
	Role                    Role
}

// Hangup hangs a channel up; Reason is an ARI reason ("normal", "no_answer").
type Hangup struct{ Channel, Reason string }

// Play plays Media once to a channel (fire and forget).
type Play struct{ Channel, Media string }

// PlayThenHangup plays Media to a channel and hangs it up when the playback
// finishes (or at once if it cannot be played).
type PlayThenHangup struct{ Channel, Media string }

// CheckAvailability asks whether Number can be reached now (endpoint or
// device state); the answer comes back as AvailabilityChecked.
type CheckAvailability struct{ Number string }

// StartTimer (re)arms timer Name to fire TimerFired{Name, Seq} After from now.
type StartTimer struct {
	Name  string
	Seq   int
	After time.Duration
}

// StopTimer cancels timer Name.
type StopTimer struct{ Name string }

// Finish is the last effect of every terminal state: the outcome, the call
// bridge and the channels that remain in it. From here the app treats the
// call as an ordinary call of Parties.
type Finish struct {
	Outcome Outcome
	Bridge  string
	Parties []string
}

func (CreateBridge) effect()      {}
func (DestroyBridge) effect()     {}
func (Move) effect()              {}
func (StartMOH) effect()          {}
func (StopMOH) effect()           {}
func (StartRingback) effect()     {}
func (StopPlayback) effect()      {}
func (Dial) effect()              {}
func (Hangup) effect()            {}
func (Play) effect()              {}
func (PlayThenHangup) effect()    {}
func (CheckAvailability) effect() {}
func (StartTimer) effect()        {}
func (StopTimer) effect()         {}
func (Finish) effect()            {}

func call(name string, args ...string) string {
	return name + "(" + strings.Join(args, ",") + ")"
}

func (e CreateBridge) String() string  { return call("CreateBridge", e.ID, e.Type) }
func (e DestroyBridge) String() string { return call("DestroyBridge", e.ID) }
func (e Move) String() string          { return call("Move", e.Channel, e.Bridge) }
func (e StartMOH) String() string      { return call("StartMOH", e.Bridge, e.Class) }
func (e StopMOH) String() string       { return call("StopMOH", e.Bridge) }
func (e StartRingback) String() string {
	return call("StartRingback", e.Channel, e.PlaybackID, e.Media)
}
func (e StopPlayback) String() string { return call("StopPlayback", e.PlaybackID) }
func (e Dial) String() string {
	return call("Dial", e.Channel, e.Number, e.Bridge, e.Role.String())
}
func (e Hangup) String() string            { return call("Hangup", e.Channel, e.Reason) }
func (e Play) String() string              { return call("Play", e.Channel, e.Media) }
func (e PlayThenHangup) String() string    { return call("PlayThenHangup", e.Channel, e.Media) }
func (e CheckAvailability) String() string { return call("CheckAvailability", e.Number) }
func (e StartTimer) String() string {
	return call("StartTimer", e.Name+"#"+strconv.Itoa(e.Seq), e.After.String())
}
func (e StopTimer) String() string { return call("StopTimer", e.Name) }
func (e Finish) String() string {
	return call("Finish", e.Outcome.String(), e.Bridge, "["+strings.Join(e.Parties, ",")+"]")
}

// Critical reports whether the machine reacts to a failure of e, so the app
// must feed it back as EffectFailed: Dial, Move, CreateBridge and
// CheckAvailability. Failures of the other effects are best effort: log
// them. See EffectFailed for the rule per effect.
func Critical(e Effect) bool {
	switch e.(type) {
	case Dial, Move, CreateBridge, CheckAvailability:
		return true
	}
	return false
}
