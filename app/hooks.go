package app

import "time"

// joinHooks is the Hooks that calls every set of hs in turn, in order; a
// field stays nil when no set has it (so the app can skip work nobody
// observes).
func joinHooks(hs []Hooks) Hooks {
	if len(hs) == 1 {
		return hs[0]
	}
	var out Hooks
	for _, h := range hs {
		if out.CallChanged == nil {
			out.CallChanged = h.CallChanged
		} else if f, prev := h.CallChanged, out.CallChanged; f != nil {
			out.CallChanged = func(ci CallInfo) { prev(ci); f(ci) }
		}
		out.CallStarted = chain(out.CallStarted, h.CallStarted)
		out.CallEnded = chain(out.CallEnded, h.CallEnded)
		if out.TransfereeHeld == nil {
			out.TransfereeHeld = h.TransfereeHeld
		} else if f, prev := h.TransfereeHeld, out.TransfereeHeld; f != nil {
			out.TransfereeHeld = func(d time.Duration) { prev(d); f(d) }
		}
		if out.TransferEnded == nil {
			out.TransferEnded = h.TransferEnded
		} else if f, prev := h.TransferEnded, out.TransferEnded; f != nil {
			out.TransferEnded = func(account, outcome string, seconds float64) {
				prev(account, outcome, seconds)
				f(account, outcome, seconds)
			}
		}
	}
	return out
}

func chain(first, then func()) func() {
	if first == nil || then == nil {
		if first == nil {
			return then
		}
		return first
	}
	return func() { first(); then() }
}
