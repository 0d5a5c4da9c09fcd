package transfer

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fuzzOptions derives options from one byte.
func fuzzOptions(b byte) Options {
	o := Options{
		CheckAvailability: b&1 != 0,
		CallbackRetries:   int(b>>3) & 3,
	}
	if b&2 != 0 {
		o.OnTransfereeLeft = CancelTarget
	}
	if b&4 != 0 {
		o.Callback = "9100"
	}
	if b&32 != 0 {
		o.LoopDelay = 10 * time.Second
	}
	if b&64 != 0 {
		o.Fallback = FallbackOptions{Kind: FallbackDial, Number: "3000"}
	}
	if b&128 != 0 {
		o.FailSound, o.CompleteSound = failMedia, doneMedia
	}
	return o
}

// FuzzNext drives a transfer with events chosen by the input among the
// plausible ones (candidates), sometimes failing a critical effect, and
// checks the same invariants as TestExplore after every step: no panic,
// bounded effects and snapshot, input never modified, warn-and-stay leaves
// everything as it was, nothing leaks at a terminal state, and a terminal
// state accepts nothing.
func FuzzNext(f *testing.F) {
	f.Add([]byte{0x00, 0x03, 0x00, 0x05, 0x00})
	f.Add([]byte{0x2c, 0x00, 0x00, 0x01, 0xff, 0x09, 0x00, 0x11, 0x00})
	f.Add([]byte{0xff, 0xc8, 0x07, 0x02, 0xd0, 0x10, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		tr, effs := startX(fuzzOptions(data[0]))
		data = data[1:]
		w := newWorld(tr)
		c := &checker{tb: t}
		start := noFault
		if len(data) > 0 {
			if fs := faults(effs); data[0] >= 200 && len(fs) > 0 {
				start = fs[int(data[0])%len(fs)]
			}
			data = data[1:]
		}
		for _, fb := range w.exec(effs, start) {
			tr = c.feedBack(tr, w, fb)
		}
		if p := w.audit(tr); len(p) > 0 {
			t.Fatalf("Start with fault %+v: %v", start, p)
		}
		for steps := 0; steps < 256 && len(data) >= 2; steps++ {
			evs := candidates(tr, w)
			ev := evs[int(data[0])%len(evs)]
			pick := data[1]
			data = data[2:]
			if tr.State.Terminal() {
				next, effs, _ := Next(tr, ev)
				if len(effs) != 0 || !cmp.Equal(next, tr) {
					t.Fatalf("terminal %s accepted %s: %v", tr.State, describe(ev), effs)
				}
				continue
			}
			flt := noFault
			if _, probe, _, i := step(tr, ev); i >= 0 && pick >= 200 {
				if fs := faults(probe); len(fs) > 0 {
					flt = fs[int(pick)%len(fs)]
				}
			}
			tr, w, _ = c.apply(tr, w, ev, flt)
		}
	})
}
