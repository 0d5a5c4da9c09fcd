package main

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Load steps at fixed rates, and the search for the highest rate each path
// sustains.
//
// A load run keeps C calls going; its rate is C over a script's length, so
// a step sets the talk time that gives the rate asked for (C stays at the
// load run's, 200 by default, until the talk would be shorter than a
// second; then C grows instead). The rate reached is measured, not assumed.

// scriptOverhead is a load script's length besides its talk, ring, consult
// and after times: Bob answering, the code's seven digits (80 ms each, 60 ms
// apart), the transfer itself.
const scriptOverhead = 1300 * time.Millisecond

// minStepTalk is the shortest talk a step uses before it adds calls.
const minStepTalk = time.Second

// atRate returns o set for a load run at rate transfers a second.
func atRate(o options, rate float64) options {
	lt := o.loadTiming
	fixed := lt.ring + lt.consult + lt.after + scriptOverhead
	conc := o.conc
	talk := time.Duration(float64(conc)/rate*float64(time.Second)) - fixed
	if talk < minStepTalk {
		talk = minStepTalk
		conc = int(math.Ceil(rate * (talk + fixed).Seconds()))
	}
	so := o
	so.conc = conc
	so.loadTiming.talk = talk
	so.profile = false
	if r := int(math.Ceil(rate * 1.5)); r > so.rampPerSec {
		so.rampPerSec = r
	}
	return so
}

// sustained says whether a step ran clean at the rate it was offered: no
// failed script over the whole step, nothing left on Asterisk, and at
// least 90 % of the rate reached (an overloaded path slows every script
// down before it fails any).
func sustained(r *loadResult) bool {
	return r != nil && r.totalErrs == 0 && len(r.leakChans)+len(r.leakBridges)+len(r.leakAnn) == 0 &&
		r.rate() >= 0.9*r.offered
}

func (r *loadResult) rate() float64 {
	if r.window <= 0 {
		return 0
	}
	return float64(r.ok) / r.window.Seconds()
}

// runStep is one load run at a fixed rate.
func runStep(ctx context.Context, e *env, o options, path string, rate float64, window time.Duration) (*loadResult, error) {
	so := atRate(o, rate)
	fmt.Printf("bench: step (%s): %.0f transfers/s offered: %d calls, talk %s\n", path, rate, so.conc, so.loadTiming.talk.Round(100*time.Millisecond))
	r, err := loadRun(ctx, e, so, path, window)
	if r != nil {
		r.offered = rate
		r.talk = so.loadTiming.talk
	}
	return r, err
}

// maxResult is the load steps and the search for the highest rate each
// path sustains.
type maxResult struct {
	steps     map[string][]*loadResult // by path, in the order run
	highest   map[string]float64       // the highest rate sustained (0: none)
	stoppedAt map[string]float64       // the first rate not sustained (0: never)
	window    time.Duration
	fixed     []float64 // the rates of the fixed steps (-steps)
	step      float64   // how much the search raised the rate after them
	searched  bool
}

// runSteps runs the fixed steps (-steps) and then, with -max, goes on
// raising the rate by -max-step. Both paths run at each rate, transferd
// first and native right after, so both meet the same moment of the shared
// machine. A path stops at its first rate not sustained, except that
// transferd runs every fixed step (their targets are about it).
func runSteps(ctx context.Context, e *env, o options, fixed []float64, search bool) (*maxResult, error) {
	m := &maxResult{steps: map[string][]*loadResult{}, highest: map[string]float64{}, stoppedAt: map[string]float64{},
		window: o.stepWindow, fixed: fixed, step: o.maxStep, searched: search}
	rates := append([]float64(nil), fixed...)
	if search {
		from := o.maxFrom
		if len(fixed) > 0 {
			from = fixed[len(fixed)-1] + o.maxStep
		}
		for r := from; r <= o.maxTo; r += o.maxStep {
			rates = append(rates, r)
		}
	}
	on := map[string]bool{pathTransferd: true, pathNative: search}
	for i, rate := range rates {
		isFixed := i < len(fixed)
		for _, path := range []string{pathTransferd, pathNative} {
			if !on[path] && !(isFixed && path == pathTransferd) {
				continue
			}
			r, err := runStep(ctx, e, o, path, rate, o.stepWindow)
			if err != nil {
				return m, err
			}
			m.steps[path] = append(m.steps[path], r)
			switch {
			case !on[path]:
			case sustained(r):
				m.highest[path] = rate
			default:
				on[path] = false
				m.stoppedAt[path] = rate
			}
		}
		if !isFixed && !on[pathTransferd] && !on[pathNative] {
			break
		}
	}
	return m, nil
}

// fixedStep returns transferd's run at a fixed step's rate.
func (m *maxResult) fixedStep(rate float64) *loadResult {
	for _, r := range m.steps[pathTransferd] {
		if r.offered == rate {
			return r
		}
	}
	return nil
}
