package transfer

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// world is a toy Asterisk that carries out effects the way the app does
// (every effect of a batch, in order; critical failures fed back afterwards)
// and audits what a transfer leaves behind. It is the test's model of the
// outside, independent of the machine's own bookkeeping.
type world struct {
	call     string
	bridges  map[string]bool
	moh      map[string]bool
	where    map[string]string // live channel -> bridge ("" = none)
	playing  map[string]string // playback id -> channel
	timers   map[string]int    // name -> seq
	finishes []Finish
	faulty   bool // a failure was injected; cascades are not problems
	problems []string
}

func newWorld(t Transfer) *world {
	return &world{
		call:    t.CallBridge,
		bridges: map[string]bool{t.CallBridge: true},
		moh:     map[string]bool{},
		where:   map[string]string{t.Transferor: t.CallBridge, t.Transferee: t.CallBridge},
		playing: map[string]string{},
		timers:  map[string]int{},
	}
}

func (w *world) clone() *world {
	c := *w
	c.bridges = maps.Clone(w.bridges)
	c.moh = maps.Clone(w.moh)
	c.where = maps.Clone(w.where)
	c.playing = maps.Clone(w.playing)
	c.timers = maps.Clone(w.timers)
	c.finishes = slices.Clone(w.finishes)
	c.problems = slices.Clone(w.problems)
	return &c
}

func (w *world) alive(ch string) bool { _, ok := w.where[ch]; return ok }

func (w *world) kill(ch string) {
	delete(w.where, ch)
	for id, c := range w.playing {
		if c == ch {
			delete(w.playing, id)
		}
	}
}

func (w *world) problem(format string, args ...any) {
	if !w.faulty {
		w.problems = append(w.problems, fmt.Sprintf(format, args...))
	}
}

// fault is an injected failure: the effect at index fails with status.
type fault struct {
	index  int
	status int
}

var noFault = fault{index: -1}

// exec carries out a batch. It returns the EffectFailed events the app
// would feed back (failed critical effects, in order).
func (w *world) exec(effs []Effect, f fault) []Event {
	var back []Event
	failed := func(e Effect, status int) { back = append(back, EffectFailed{Effect: e, Status: status}) }
	if f.index >= 0 {
		w.faulty = true
	}
	for i, e := range effs {
		inject := i == f.index
		if _, ok := e.(Finish); ok && i != len(effs)-1 {
			w.problems = append(w.problems, "Finish is not the last effect")
		}
		switch e := e.(type) {
		case CreateBridge:
			switch {
			case inject:
				failed(e, f.status)
			case w.bridges[e.ID]:
				w.problem("%s: bridge exists", e)
				failed(e, 409)
			default:
				w.bridges[e.ID] = true
			}
		case DestroyBridge:
			if !w.bridges[e.ID] {
				w.problem("%s: no such bridge", e)
				continue
			}
			delete(w.bridges, e.ID)
			delete(w.moh, e.ID)
			for ch, b := range w.where {
				if b == e.ID {
					w.where[ch] = ""
				}
			}
		case Move:
			switch {
			case inject:
				if channelGone(f.status) {
					w.kill(e.Channel)
				}
				failed(e, f.status)
			case !w.alive(e.Channel):
				w.problem("%s: channel gone", e)
				failed(e, 422)
			case !w.bridges[e.Bridge]:
				w.problem("%s: no such bridge", e)
				failed(e, 404)
			default:
				w.where[e.Channel] = e.Bridge
			}
		case StartMOH:
			if !w.bridges[e.Bridge] {
				w.problem("%s: no such bridge", e)
				continue
			}
			w.moh[e.Bridge] = true
		case StopMOH:
			if !w.moh[e.Bridge] {
				w.problem("%s: no music", e)
			}
			delete(w.moh, e.Bridge)
		case StartRingback:
			if !w.alive(e.Channel) {
				w.problem("%s: channel gone", e)
				continue
			}
			if _, ok := w.playing[e.PlaybackID]; ok {
				w.problem("%s: playback id in use", e)
			}
			w.playing[e.PlaybackID] = e.Channel
		case StopPlayback:
			// Not a problem when missing: the channel may have left.
			delete(w.playing, e.PlaybackID)
		case Dial:
			switch {
			case inject:
				failed(e, f.status)
			case w.alive(e.Channel):
				w.problem("%s: channel id in use", e)
			case !w.bridges[e.Bridge]:
				w.problem("%s: no such bridge", e)
				failed(e, 404)
			default:
				w.where[e.Channel] = e.Bridge
			}
		case Hangup:
			if !w.alive(e.Channel) {
				w.problem("%s: channel gone", e)
			}
			w.kill(e.Channel)
		case PlayThenHangup:
			if !w.alive(e.Channel) {
				w.problem("%s: channel gone", e)
			}
			w.kill(e.Channel)
		case Play:
			if !w.alive(e.Channel) {
				w.problem("%s: channel gone", e)
			}
		case CheckAvailability:
			if inject {
				failed(e, f.status)
			}
		case StartTimer:
			if _, ok := w.timers[e.Name]; ok {
				w.problems = append(w.problems, fmt.Sprintf("%s: timer already running", e))
			}
			w.timers[e.Name] = e.Seq
		case StopTimer:
			if _, ok := w.timers[e.Name]; !ok {
				w.problems = append(w.problems, fmt.Sprintf("%s: timer not running", e))
			}
			delete(w.timers, e.Name)
		case Finish:
			w.finishes = append(w.finishes, e)
		default:
			w.problems = append(w.problems, fmt.Sprintf("unknown effect %T", e))
		}
	}
	return back
}

// observe applies what an event says about the outside.
func (w *world) observe(ev Event) {
	switch e := ev.(type) {
	case Left:
		w.kill(e.Channel)
	case TimerFired:
		if seq, ok := w.timers[e.Name]; ok && seq == e.Seq {
			delete(w.timers, e.Name)
		}
	}
}

// audit checks the world against the snapshot; it returns what is wrong.
func (w *world) audit(t Transfer) []string {
	bad := slices.Clone(w.problems)
	add := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	if !w.faulty {
		bad = append(bad, w.differs(Expect(t))...)
	}
	if !t.State.Terminal() {
		if len(w.finishes) > 0 {
			add("Finish emitted in non-terminal %s", t.State)
		}
		want := ""
		switch t.State {
		case CallingTarget, Hesitant, Blond, Recalling, Retransfer, Fallback:
			want = TimerNoAnswer
		case WaitToRetransfer, WaitToRecall:
			want = TimerLoopDelay
		}
		if t.Timer != want {
			add("%s: running timer %q, want %q", t.State, t.Timer, want)
		}
		if want != "" && (len(w.timers) != 1 || w.timers[want] != t.TimerSeq) {
			add("%s: world timers %v, want %s#%d", t.State, w.timers, want, t.TimerSeq)
		}
		if want == "" && len(w.timers) != 0 {
			add("%s: timers %v left running", t.State, w.timers)
		}
		if t.Held != "" && w.alive(t.Held) && w.where[t.Held] != t.HoldBridge && !w.faulty {
			add("held %s is in %q, not %s", t.Held, w.where[t.Held], t.HoldBridge)
		}
		if b := t.Transferee; w.alive(b) && !w.faulty {
			switch w.where[b] {
			case w.call:
			case t.HoldBridge:
				if !w.moh[t.HoldBridge] {
					add("transferee on hold without music")
				}
			default:
				add("transferee in %q", w.where[b])
			}
		}
		return bad
	}
	if len(w.finishes) != 1 {
		add("%d Finish effects, want 1", len(w.finishes))
		return bad
	}
	fin := w.finishes[0]
	if fin.Outcome != t.Outcome {
		add("Finish outcome %s, snapshot %s", fin.Outcome, t.Outcome)
	}
	if len(w.bridges) != 1 || !w.bridges[w.call] {
		add("bridges left: %v", sortedKeys(w.bridges))
	}
	if len(w.moh) != 0 {
		add("music left on: %v", sortedKeys(w.moh))
	}
	if len(w.playing) != 0 {
		add("playbacks left: %v", sortedKeys(w.playing))
	}
	if len(w.timers) != 0 {
		add("timers left: %v", w.timers)
	}
	alive := sortedKeys(w.where)
	parties := slices.Sorted(slices.Values(fin.Parties))
	if !slices.Equal(alive, parties) {
		add("channels alive %v, Finish parties %v", alive, parties)
	}
	for _, ch := range alive {
		if w.where[ch] != w.call {
			add("%s left in %q, not the call bridge", ch, w.where[ch])
		}
	}
	return bad
}

// differs compares the world with a layout: the layout of every snapshot
// must be exactly where the effects that led to it left the world.
func (w *world) differs(l Layout) []string {
	var bad []string
	add := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	want := map[string]string{}
	for _, ch := range l.Call {
		want[ch] = l.CallBridge
	}
	for _, ch := range l.Hold {
		want[ch] = l.HoldBridge
	}
	if !maps.Equal(want, w.where) {
		add("layout wants channels %v, world has %v", want, w.where)
	}
	for _, g := range l.Gone {
		if w.alive(g) {
			add("layout wants %s gone, it is alive", g)
		}
	}
	if len(l.Hold) > 0 && !w.moh[l.HoldBridge] {
		add("layout wants music in %s, world has none", l.HoldBridge)
	}
	if l.HoldBridge != "" && !w.bridges[l.HoldBridge] {
		add("layout wants hold bridge %s, world has none", l.HoldBridge)
	}
	if l.HoldBridge == "" && len(w.bridges) != 1 {
		add("layout wants no hold bridge, world has %v", sortedKeys(w.bridges))
	}
	wantPlay := map[string]string{}
	if l.Ringback != "" {
		wantPlay[l.Ringback] = l.RingbackTo
	}
	if !maps.Equal(wantPlay, w.playing) {
		add("layout wants playbacks %v, world has %v", wantPlay, w.playing)
	}
	return bad
}

func sortedKeys[V any](m map[string]V) []string {
	ks := slices.Collect(maps.Keys(m))
	sort.Strings(ks)
	return ks
}

// key is a canonical string of the world, for deduplication.
func (w *world) key() string {
	var b strings.Builder
	fmt.Fprint(&b, sortedKeys(w.bridges), sortedKeys(w.moh), len(w.finishes), w.faulty, len(w.problems))
	for _, ch := range sortedKeys(w.where) {
		fmt.Fprint(&b, ch, "@", w.where[ch], ";")
	}
	for _, id := range sortedKeys(w.playing) {
		fmt.Fprint(&b, id, ">", w.playing[id], ";")
	}
	for _, n := range sortedKeys(w.timers) {
		fmt.Fprint(&b, n, "#", w.timers[n], ";")
	}
	return b.String()
}
