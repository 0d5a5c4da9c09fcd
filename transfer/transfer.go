package transfer

import (
	"errors"
	"slices"
	"strconv"
	"time"
)

// Defaults that Start fills into Options left at their zero value.
const (
	DefaultMOHClass        = "default"
	DefaultRingback        = "tone:ring"
	DefaultNoAnswerTimeout = 15 * time.Second // Asterisk atxfernoanswertimeout
	DefaultFallbackSound   = "sound:vm-goodbye"
)

// Values of Options.OnTransfereeLeft.
const (
	KeepTarget   = "keep"   // the transferor stays with the ringing target
	CancelTarget = "cancel" // the ringing target is hung up
)

// Values of FallbackOptions.Kind.
const (
	FallbackHangup = "hangup"
	FallbackDial   = "dial"
)

// Timer names carried by StartTimer, StopTimer and TimerFired.
const (
	TimerNoAnswer  = "noanswer"
	TimerLoopDelay = "loopdelay"
)

// Options tune one transfer. Start stores them with defaults filled in, so a
// snapshot shows the values in force.
type Options struct {
	MOHClass        string        `json:"moh_class"`         // class for the hold bridge; "" = DefaultMOHClass
	Ringback        string        `json:"ringback"`          // media for whoever waits for a ringing leg; "" = DefaultRingback
	NoAnswerTimeout time.Duration `json:"no_answer_timeout"` // per ringing leg; <= 0 = DefaultNoAnswerTimeout
	LoopDelay       time.Duration `json:"loop_delay"`        // wait on hold between recall-loop dials; <= 0 = no wait
	// CallbackRetries caps failed recalls of the transferor after a failed
	// blond transfer (Asterisk atxfercallbackretries). The transferor is
	// recalled at least once; 0 and 1 behave alike; < 0 counts as 0.
	CallbackRetries int    `json:"callback_retries"`
	Callback        string `json:"callback"`       // number that reaches the transferor; "" = no recall, go to Fallback
	FailSound       string `json:"fail_sound"`     // played to the transferor when the transfer fails; "" = none
	CompleteSound   string `json:"complete_sound"` // played on completion and three-way; "" = none
	// OnTransfereeLeft says what happens to a ringing target when the
	// transferee hangs up: KeepTarget (default) or CancelTarget. Once the
	// target answered, transferor and target always carry on.
	OnTransfereeLeft  string          `json:"on_transferee_left"`
	CheckAvailability bool            `json:"check_availability"` // start in Checking
	Fallback          FallbackOptions `json:"fallback"`
}

// FallbackOptions say what happens when a blond transfer failed and the
// transferor could not be recalled.
type FallbackOptions struct {
	Kind   string `json:"kind"`   // FallbackHangup (default) or FallbackDial
	Number string `json:"number"` // for FallbackDial; empty means FallbackHangup
	Sound  string `json:"sound"`  // goodbye played before hanging up; "" = DefaultFallbackSound
}

func (o Options) withDefaults() Options {
	if o.MOHClass == "" {
		o.MOHClass = DefaultMOHClass
	}
	if o.Ringback == "" {
		o.Ringback = DefaultRingback
	}
	if o.NoAnswerTimeout <= 0 {
		o.NoAnswerTimeout = DefaultNoAnswerTimeout
	}
	if o.LoopDelay < 0 {
		o.LoopDelay = 0
	}
	if o.CallbackRetries < 0 {
		o.CallbackRetries = 0
	}
	if o.OnTransfereeLeft != CancelTarget {
		o.OnTransfereeLeft = KeepTarget
	}
	if o.Fallback.Kind != FallbackDial || o.Fallback.Number == "" {
		o.Fallback.Kind = FallbackHangup
	}
	if o.Fallback.Sound == "" {
		o.Fallback.Sound = DefaultFallbackSound
	}
	return o
}

// Transfer is the snapshot of one transfer: a plain value that encodes to
// JSON and can be stored and restored anywhere. Next never modifies the
// value it is given.
type Transfer struct {
	ID          string  `json:"id"`
	State       State   `json:"state"`
	CallBridge  string  `json:"call_bridge"`
	HoldBridge  string  `json:"hold_bridge,omitempty"` // the hold bridge while it exists
	Transferor  string  `json:"transferor"`
	Transferee  string  `json:"transferee"`
	Target      string  `json:"target,omitempty"` // current target leg
	Number      string  `json:"number"`           // target number
	Opts        Options `json:"opts"`
	Held        string  `json:"held,omitempty"`         // who is in the hold bridge
	Ringback    string  `json:"ringback,omitempty"`     // current ringback playback id
	Recall      string  `json:"recall,omitempty"`       // current recall leg
	FallbackLeg string  `json:"fallback_leg,omitempty"` // the fallback leg, once dialed
	Attempts    int     `json:"attempts,omitempty"`     // failed recalls
	Seq         int     `json:"seq"`                    // id counter
	Timer       string  `json:"timer,omitempty"`        // running timer
	TimerSeq    int     `json:"timer_seq"`              // Seq of the last StartTimer
	Answered    bool    `json:"answered,omitempty"`     // the current target leg answered
	Outcome     Outcome `json:"outcome,omitempty"`      // set on entering a terminal state
	// Gone lists the parties (among Transferor, Transferee, Target, Recall,
	// FallbackLeg) that left or were hung up. Events about them are no-ops.
	Gone []string `json:"gone,omitempty"`
}

// StartParams are what Start needs.
type StartParams struct {
	ID         string // transfer id; every id the transfer creates starts with it
	CallBridge string // the call's bridge, holding Transferor and Transferee
	Transferor string
	Transferee string
	Number     string // target number
	Opts       Options
}

// Validate reports what is wrong with p, every problem at once.
func (p StartParams) Validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{
		{"id", p.ID}, {"call_bridge", p.CallBridge}, {"transferor", p.Transferor},
		{"transferee", p.Transferee}, {"number", p.Number},
	} {
		if f.v == "" {
			errs = append(errs, errors.New("transfer: "+f.name+": must not be empty"))
		}
	}
	if p.Transferor != "" && p.Transferor == p.Transferee {
		errs = append(errs, errors.New("transfer: transferee: must differ from transferor"))
	}
	return errors.Join(errs...)
}

// Start begins a transfer. With Opts.CheckAvailability it only asks for the
// check (Checking); otherwise the transferee is put on hold, the target
// dialed and the transferor hears ringback (CallingTarget). Invalid
// parameters (see Validate) give a Failed transfer with OutcomeError and its
// Finish; the HTTP API should call Validate first.
func Start(p StartParams) (Transfer, []Effect) {
	t := Transfer{
		ID:         p.ID,
		CallBridge: p.CallBridge,
		Transferor: p.Transferor,
		Transferee: p.Transferee,
		Number:     p.Number,
		Opts:       p.Opts.withDefaults(),
	}
	if p.Validate() != nil {
		f := fx{t: &t}
		f.finish(OutcomeError, t.Transferor, t.Transferee)
		t.State = Failed
		return t, f.out
	}
	if t.Opts.CheckAvailability {
		t.State = Checking
		return t, []Effect{CheckAvailability{Number: t.Number}}
	}
	effects := callTarget(&t, nil)
	t.State = CallingTarget
	return t, effects
}

// NoteLevel says how the app should log a Note.
type NoteLevel int

// Note levels.
const (
	LevelNone NoteLevel = iota
	LevelDebug
	LevelInfo
	LevelWarn
)

func (l NoteLevel) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	}
	return "none"
}

// Note is the reason Next gives for what it did, for the app to log: Info for
// a transition, Debug for an expected no-op (duplicate, stale timer, stray
// channel), Warn for an event the state does not expect (warn-and-stay).
type Note struct {
	Level NoteLevel
	Text  string
}

func (n Note) String() string {
	if n.Level == LevelNone && n.Text == "" {
		return ""
	}
	return n.Level.String() + ": " + n.Text
}

// Next applies ev to t. It never performs I/O, never panics and never fails:
// an event the state does not expect leaves t as it was, with no effects and
// a note saying why.
func Next(t Transfer, ev Event) (Transfer, []Effect, Note) {
	next, effects, note, _ := step(t, ev)
	return next, effects, note
}

// step is Next, also returning the index of the table row used (-1 for none).
func step(t Transfer, ev Event) (Transfer, []Effect, Note, int) {
	kind := KindOf(t, ev)
	if t.State.Terminal() {
		return t, nil, Note{LevelDebug, describe(ev) + " ignored: transfer already ended in " + t.State.String()}, -1
	}
	i := match(t, kind)
	if i < 0 {
		return t, nil, ignoreNote(t.State, kind, ev), -1
	}
	r := table[i]
	n := t
	n.Gone = slices.Clone(t.Gone)
	n.record(kind, ev)
	effects := r.do(&n, ev)
	n.State = r.to
	return n, effects, Note{LevelInfo, t.State.String() + " -> " + r.to.String() + " on " + kind.String() + " " + describe(ev)}, i
}

// match returns the index of the first row for t's state and kind whose guard
// holds, or -1.
func match(t Transfer, kind EventKind) int {
	for i, r := range table {
		if r.from == t.State && r.on == kind && (r.when == nil || r.when(t)) {
			return i
		}
	}
	return -1
}

// record writes down the fact an event states before the row acts on it.
func (t *Transfer) record(kind EventKind, ev Event) {
	switch kind {
	case KindTransferorLeft, KindTransfereeLeft, KindTargetLeft, KindRecallLeft, KindFallbackLeft:
		switch e := ev.(type) {
		case Left:
			t.markGone(e.Channel)
		case EffectFailed: // a Dial that never happened, or a Move of a vanished channel
			switch f := e.Effect.(type) {
			case Dial:
				t.markGone(f.Channel)
			case Move:
				t.markGone(f.Channel)
			}
		}
		// A DialFailed leg may still exist: the row hangs it up.
	case KindNoAnswerTimeout, KindLoopDelayElapsed:
		t.Timer = "" // fired, so nothing to stop
	case KindHoldFailed:
		t.HoldBridge, t.Held = "", "" // never created; nobody got into it
	}
}

// roleOf returns the role of ch in t, RoleNone if ch is not a party.
func (t *Transfer) roleOf(ch string) Role {
	switch {
	case ch == "":
		return RoleNone
	case ch == t.Transferor:
		return RoleTransferor
	case ch == t.Transferee:
		return RoleTransferee
	case ch == t.Target:
		return RoleTarget
	case ch == t.Recall:
		return RoleRecall
	case ch == t.FallbackLeg:
		return RoleFallback
	}
	return RoleNone
}

// liveRole is roleOf for parties that have not left.
func (t *Transfer) liveRole(ch string) Role {
	if !t.live(ch) {
		return RoleNone
	}
	return t.roleOf(ch)
}

func (t *Transfer) live(ch string) bool {
	return t.roleOf(ch) != RoleNone && !slices.Contains(t.Gone, ch)
}

func (t *Transfer) markGone(ch string) {
	if ch != "" && !slices.Contains(t.Gone, ch) {
		t.Gone = append(t.Gone, ch)
	}
}

// forget drops a leg id that is being replaced, keeping Gone bounded to the
// five party slots.
func (t *Transfer) forget(ch string) {
	t.Gone = slices.DeleteFunc(t.Gone, func(g string) bool { return g == ch })
	if len(t.Gone) == 0 {
		t.Gone = nil
	}
}

func (t *Transfer) nextSeq() int {
	t.Seq++
	return t.Seq
}

// HoldBridgeOf is the id of the hold bridge transfer id makes.
func HoldBridgeOf(id string) string { return id + "-hold" }

func (t *Transfer) newID(kind string, n int) string {
	return t.ID + "-" + kind + "-" + strconv.Itoa(n)
}
