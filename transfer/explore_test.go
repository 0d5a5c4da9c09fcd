package transfer

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// classified are the kinds the table is written in (KindOf's range).
var classified = func() []EventKind {
	var ks []EventKind
	for k := KindUnknown; k < numKinds; k++ {
		switch k {
		case KindAnswered, KindDialFailed, KindLeft, KindTimerFired, KindEffectFailed:
			continue
		}
		ks = append(ks, k)
	}
	return ks
}()

// TestExhaustive checks the shape of the table: every state × kind is a row
// or ignored (never both), guards never hide rows, terminal states accept
// nothing, and every state where a party can leave has an exit for it.
func TestExhaustive(t *testing.T) {
	for s := StateUnknown; s < numStates; s++ {
		for _, k := range classified {
			var rows []row
			for _, r := range table {
				if r.from == s && r.on == k {
					rows = append(rows, r)
				}
			}
			_, isIgnored := lookupIgnore(s, k)
			switch {
			case s.Terminal() || s == StateUnknown:
				if len(rows) > 0 || isIgnored {
					t.Errorf("%s × %s: a terminal (or unknown) state must accept nothing and need no ignore entry", s, k)
				}
			case len(rows) > 0 && isIgnored:
				t.Errorf("%s × %s: both a row and ignored", s, k)
			case len(rows) == 0 && !isIgnored:
				t.Errorf("%s × %s: neither a row nor ignored", s, k)
			}
			for i, r := range rows {
				if r.when == nil && i != len(rows)-1 {
					t.Errorf("%s × %s: unguarded row %d hides the rows after it", s, k, i)
				}
				if i == len(rows)-1 && r.when != nil {
					t.Errorf("%s × %s: last row is guarded; the group is not total", s, k)
				}
			}
		}
	}
	for _, s := range activeStates {
		if !hasRow(s, KindTransfereeLeft) {
			t.Errorf("%s has no exit for the transferee leaving", s)
		}
	}
	for _, s := range []State{Checking, CallingTarget, Hesitant, Consulting, DoubleChecking} {
		if !hasRow(s, KindTransferorLeft) {
			t.Errorf("%s has no exit for the transferor leaving", s)
		}
	}
	for _, s := range []State{CallingTarget, Hesitant, Consulting, DoubleChecking, Blond, Retransfer} {
		if !hasRow(s, KindTargetLeft) {
			t.Errorf("%s has no exit for the target leaving", s)
		}
	}
	for _, s := range []State{CallingTarget, Hesitant, Blond, Retransfer} {
		if !hasRow(s, KindTargetAnswered) || !hasRow(s, KindNoAnswerTimeout) {
			t.Errorf("%s does not handle the ringing target answering or timing out", s)
		}
	}
	for _, ig := range ignored {
		for _, s := range ig.states {
			if s.Terminal() {
				t.Errorf("ignore entry %q lists terminal %s", ig.why, s)
			}
		}
	}
	for i, r := range table {
		if r.from.Terminal() || r.do == nil {
			t.Errorf("row %d {%s, %s}: from a terminal state or without action", i, r.from, r.on)
		}
	}
}

func hasRow(s State, k EventKind) bool {
	for _, r := range table {
		if r.from == s && r.on == k {
			return true
		}
	}
	return false
}

// candidates lists the events that can plausibly happen to t in w: facts
// about every live party, duplicates about gone ones, strangers, every
// command, the running and stale timers, late answers and failures.
func candidates(t Transfer, w *world) []Event {
	var evs []Event
	for _, ch := range []string{t.Transferor, t.Transferee, t.Target, t.Recall, t.FallbackLeg, "stranger"} {
		if ch == "" {
			continue
		}
		evs = append(evs, Left{Channel: ch, Cause: 16})
		if ch == t.Transferor || ch == t.Transferee {
			continue
		}
		evs = append(evs, Answered{Channel: ch}, Ringing{Channel: ch})
		if w.alive(ch) {
			evs = append(evs, DialFailed{Channel: ch, Outcome: OutcomeBusy}, Left{Channel: ch, Cause: 17})
		}
	}
	for c := CommandNone; c <= numCommands; c++ {
		evs = append(evs, Pressed{Command: c})
	}
	for _, name := range sortedKeys(w.timers) {
		evs = append(evs, TimerFired{Name: name, Seq: w.timers[name]})
	}
	evs = append(evs,
		TimerFired{Name: TimerNoAnswer, Seq: t.TimerSeq - 1},
		TimerFired{Name: TimerLoopDelay, Seq: t.TimerSeq + 1},
		AvailabilityChecked{Reachable: true}, AvailabilityChecked{},
		EffectFailed{Effect: StopMOH{Bridge: t.ID + "-hold"}, Status: 404},
		EffectFailed{Effect: Move{Channel: t.Transferee, Bridge: t.CallBridge}, Status: 409},
		EffectFailed{Effect: CreateBridge{ID: "elsewhere", Type: "holding"}, Status: 500},
		EffectFailed{},
		nil,
	)
	return evs
}

// faults lists the failures to inject into a batch: each critical effect,
// with the statuses that mean something for it.
func faults(effs []Effect) []fault {
	var fs []fault
	for i, e := range effs {
		switch e.(type) {
		case Dial:
			fs = append(fs, fault{i, 404}, fault{i, 0})
		case Move:
			fs = append(fs, fault{i, 422})
		case CreateBridge:
			fs = append(fs, fault{i, 500})
		case CheckAvailability:
			fs = append(fs, fault{i, 404}, fault{i, 0})
		}
	}
	return fs
}

// checker holds what one step must satisfy, shared by the exploration and
// the fuzz target.
type checker struct {
	tb   testing.TB
	used []bool
}

// apply feeds ev to t in w with fault f, then the fed-back failures, and
// checks every invariant on the way. It returns the new snapshot and world.
func (c *checker) apply(t Transfer, w *world, ev Event, f fault) (Transfer, *world, bool) {
	c.tb.Helper()
	kind := KindOf(t, ev)
	switch kind {
	case KindAnswered, KindDialFailed, KindLeft, KindTimerFired, KindEffectFailed:
		c.tb.Fatalf("KindOf(%s, %s) = raw kind %s", t.State, describe(ev), kind)
	}
	if ig, ok := lookupIgnore(t.State, kind); ok && ig.impossible {
		c.tb.Fatalf("KindOf(%s, %s) = %s, listed as impossible there (%s)", t.State, describe(ev), kind, ig.why)
	}
	before := clone(t)
	next, effs, note, i := step(t, ev)
	if diff := cmp.Diff(before, t); diff != "" {
		c.tb.Fatalf("Next(%s, %s) modified its input:\n%s", t.State, describe(ev), diff)
	}
	if i < 0 {
		if len(effs) != 0 || !cmp.Equal(next, t) {
			c.tb.Fatalf("Next(%s, %s) ignored the event (%s) but changed something: %v", t.State, describe(ev), note, effs)
		}
		if note.Level == LevelInfo || note.Text == "" {
			c.tb.Fatalf("Next(%s, %s) ignored the event with note %q", t.State, describe(ev), note)
		}
		return t, w, false
	}
	if c.used != nil {
		c.used[i] = true
	}
	if len(effs) > 12 {
		c.tb.Fatalf("Next(%s, %s): %d effects", t.State, describe(ev), len(effs))
	}
	if next.State.Terminal() && f.index >= 0 {
		f = noFault // a failure in a terminal batch has nobody to react; not modelled
	}
	w = w.clone()
	w.observe(ev)
	back := w.exec(effs, f)
	cur := next
	for _, fb := range back {
		cur = c.feedBack(cur, w, fb)
	}
	if problems := w.audit(cur); len(problems) > 0 {
		c.tb.Fatalf("after Next(%s, %s) -> %s with fault %+v (fed back %v): %v", t.State, describe(ev), cur.State, f, back, problems)
	}
	b, err := json.Marshal(cur)
	if err != nil || len(b) > 2048 {
		c.tb.Fatalf("snapshot %d bytes, err %v", len(b), err)
	}
	return cur, w, true
}

// feedBack runs a fed-back EffectFailed the way the app does.
func (c *checker) feedBack(t Transfer, w *world, ev Event) Transfer {
	next, effs, _, i := step(t, ev)
	if i >= 0 && c.used != nil {
		c.used[i] = true
	}
	w.exec(effs, noFault)
	return next
}

// clone deep-copies a snapshot.
func clone(t Transfer) Transfer {
	c := t
	if t.Gone != nil {
		c.Gone = append([]string{}, t.Gone...)
	}
	return c
}

var exploreConfigs = []Options{
	{FailSound: failMedia, CompleteSound: doneMedia},
	{OnTransfereeLeft: CancelTarget, CheckAvailability: true, FailSound: failMedia},
	{Callback: "9100", CallbackRetries: 2, LoopDelay: 10 * time.Second},
	{Callback: "9100", CallbackRetries: 2},
	{Callback: "9100", CallbackRetries: 1, Fallback: FallbackOptions{Kind: FallbackDial, Number: "3000"}},
	{Fallback: FallbackOptions{Kind: FallbackDial, Number: "3000"}, LoopDelay: time.Second},
	{Callback: "9100", CallbackRetries: 3, LoopDelay: time.Second, Fallback: FallbackOptions{Kind: FallbackDial, Number: "3000"}},
}

// TestExplore model-checks the machine: from Start under several option
// sets it tries every candidate event (and every injected effect failure)
// breadth first, auditing the world after each step: no timer, bridge,
// music, playback or channel is left behind at a terminal state, Finish
// names exactly the channels still up, and terminal states ignore
// everything. Every table row must be reached.
func TestExplore(t *testing.T) {
	depth := 16
	if testing.Short() {
		depth = 9
	}
	c := &checker{tb: t, used: make([]bool, len(table))}
	total := 0
	for _, opts := range exploreConfigs {
		total += explore(t, c, opts, depth)
	}
	t.Logf("explored %d distinct (snapshot, world) pairs", total)
	for i, r := range table {
		if !c.used[i] && !testing.Short() {
			t.Errorf("row %d {%s, %s} never reached by the exploration", i, r.from, r.on)
		}
	}
}

type node struct {
	t     Transfer
	w     *world
	depth int
}

func explore(t *testing.T, c *checker, opts Options, maxDepth int) int {
	start, effs := startX(opts)
	seen := map[string]bool{}
	var queue []node
	push := func(tr Transfer, w *world, d int) {
		b, _ := json.Marshal(tr)
		key := string(b) + "|" + w.key()
		if !seen[key] {
			seen[key] = true
			queue = append(queue, node{tr, w, d})
		}
	}
	for _, f := range append([]fault{noFault}, faults(effs)...) {
		w := newWorld(start)
		back := w.exec(effs, f)
		cur := start
		for _, fb := range back {
			cur = c.feedBack(cur, w, fb)
		}
		if p := w.audit(cur); len(p) > 0 {
			t.Fatalf("Start with fault %+v: %v", f, p)
		}
		push(cur, w, 0)
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, ev := range candidates(n.t, n.w) {
			if n.t.State.Terminal() {
				next, effs, _ := Next(n.t, ev)
				if len(effs) != 0 || !cmp.Equal(next, n.t) {
					t.Fatalf("terminal %s accepted %s: %v", n.t.State, describe(ev), effs)
				}
				continue
			}
			_, probe, _, i := step(n.t, ev)
			fs := []fault{noFault}
			if i >= 0 {
				fs = append(fs, faults(probe)...)
			}
			for _, f := range fs {
				next, w, changed := c.apply(n.t, n.w, ev, f)
				if changed && n.depth+1 < maxDepth {
					push(next, w, n.depth+1)
				}
			}
		}
	}
	return len(seen)
}

// TestCanApply checks CanApply against the table for every state and
// command.
func TestCanApply(t *testing.T) {
	for s := StateUnknown; s < numStates; s++ {
		for c := CommandNone; c <= numCommands; c++ {
			tr := Transfer{State: s}
			err := CanApply(tr, c)
			want := c.kind() != KindUnknown && !s.Terminal() && hasRow(s, c.kind())
			if (err == nil) != want {
				t.Errorf("CanApply(%s, %s) = %v, want ok=%v", s, c, err, want)
			}
			if err != nil {
				se, ok := err.(*StateError)
				if !ok || se.State != s || se.Command != c {
					t.Errorf("CanApply(%s, %s) = %#v, want *StateError", s, c, err)
				}
			}
		}
	}
	if got, want := (&StateError{State: Blond, Command: CommandSwap}).Error(), "transfer: cannot swap in state Blond"; got != want {
		t.Errorf("StateError.Error() = %q, want %q", got, want)
	}
}

// TestJSONRoundTrip encodes and decodes snapshots of every state the
// exploration of the transcripts reaches.
func TestJSONRoundTrip(t *testing.T) {
	var snaps []Transfer
	for _, opts := range exploreConfigs {
		tr, _ := startX(opts)
		snaps = append(snaps, tr)
		for _, ev := range []Event{Pressed{Command: CommandSwap}, Answered{Channel: c1}, Left{Channel: "A"},
			TimerFired{Name: TimerNoAnswer, Seq: 1}, AvailabilityChecked{Reachable: true}} {
			tr, _, _ = Next(tr, ev)
			snaps = append(snaps, tr)
		}
	}
	snaps = append(snaps, Transfer{}, Transfer{State: Fallback, Outcome: OutcomeFellBack, Gone: []string{"A", "B"}})
	for _, s := range snaps {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("Marshal(%s): %v", s.State, err)
		}
		var got Transfer
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("JSON round trip of %s (-want +got):\n%s", b, diff)
		}
	}
	for _, bad := range []string{`{"state":"Nowhere"}`, `{"outcome":"failed:gremlins"}`} {
		var got Transfer
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("Unmarshal(%s) = nil error, want one", bad)
		}
	}
	if _, err := json.Marshal(Transfer{State: numStates}); err == nil {
		t.Errorf("Marshal of an invalid state succeeded")
	}
}

// TestStartInvalid checks that bad parameters end at once, cleanly.
func TestStartInvalid(t *testing.T) {
	p := StartParams{ID: "x", CallBridge: "M", Transferor: "A", Transferee: "A"}
	if err := p.Validate(); err == nil {
		t.Fatalf("Validate(%+v) = nil", p)
	}
	tr, effs := Start(p)
	want := []Effect{Finish{Outcome: OutcomeError, Bridge: "M", Parties: []string{"A"}}}
	if tr.State != Failed || !cmp.Equal(effs, want) {
		t.Errorf("Start(invalid) = %s %v, want Failed %v", tr.State, effs, want)
	}
	if err := (StartParams{ID: "x", CallBridge: "M", Transferor: "A", Transferee: "B", Number: "1"}).Validate(); err != nil {
		t.Errorf("Validate(valid) = %v", err)
	}
	if next, effs, note := Next(Transfer{}, Pressed{Command: CommandCancel}); next.State != StateUnknown || effs != nil || note.Level != LevelWarn {
		t.Errorf("Next(zero Transfer) = %s %v %s, want warn-and-stay", next.State, effs, note)
	}
}

// TestNeverPanics feeds hostile values.
func TestNeverPanics(t *testing.T) {
	var nilLeft *Left
	tr, _ := startX(Options{})
	for _, ev := range []Event{nil, nilLeft, EffectFailed{}, EffectFailed{Effect: (*Dial)(nil)}, Pressed{Command: -1},
		TimerFired{}, Left{}, DialFailed{Outcome: -3}} {
		next, effs, note := Next(tr, ev)
		if len(effs) != 0 || next.State != tr.State || note.String() == "" {
			t.Errorf("Next(%s) = %s %v %q", describe(ev), next.State, effs, note)
		}
	}
	for _, s := range []fmt.Stringer{State(-1), Outcome(99), Role(42), Command(7), EventKind(-2), NoteLevel(9)} {
		if s.String() == "" {
			t.Errorf("%T String() is empty", s)
		}
	}
}
