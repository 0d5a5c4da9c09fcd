package transfer

import "slices"

// Layout is what Asterisk must look like for a transfer snapshot: who is in
// which bridge, who hears what, which legs ring and which parties must be
// gone. The app's reconciler compares it with what Asterisk reports and
// closes the difference, so the effects of a step are an optimisation of
// reaching the layout of the new snapshot, not the only way there.
//
// A terminal snapshot's layout is the ordinary call its Finish leaves: the
// live parties in the call bridge, no hold bridge, no ringback.
type Layout struct {
	CallBridge string
	// Call lists the channels that must be in the call bridge, Hold those in
	// the hold bridge (HoldBridge, with music of MOHClass). A dialed leg that
	// still rings is listed where it will be once it answers: the app dials
	// it outside any bridge and joins it there on answer (so it is not
	// billed while ringing).
	Call       []string
	HoldBridge string
	Hold       []string
	MOHClass   string
	// Ringing lists the dialed legs that must exist and have not answered.
	Ringing []string
	// Ringback is the playback that must play to RingbackTo ("" none).
	Ringback   string
	RingbackTo string
	// Gone lists the parties that must no longer exist.
	Gone []string
}

// Expect returns the layout of t. It is a pure function of the snapshot:
// every step keeps the snapshot in line with its effects, so the layout of
// the snapshot after a step is where those effects lead.
func Expect(t Transfer) Layout {
	l := Layout{CallBridge: t.CallBridge, Gone: slices.Clone(t.Gone)}
	held := ""
	if !t.State.Terminal() && t.HoldBridge != "" {
		l.HoldBridge, l.MOHClass = t.HoldBridge, t.Opts.MOHClass
		if t.Held != "" && t.live(t.Held) {
			held = t.Held
			l.Hold = []string{held}
		}
	}
	for _, p := range Parties(t) {
		if p != held {
			l.Call = append(l.Call, p)
		}
	}
	if t.live(t.Target) && !t.Answered {
		l.Ringing = append(l.Ringing, t.Target)
	}
	if !t.State.Terminal() {
		for _, leg := range []string{t.Recall, t.FallbackLeg} {
			if t.live(leg) {
				// Recall and fallback legs end the transfer when they answer:
				// while it runs, they ring.
				l.Ringing = append(l.Ringing, leg)
			}
		}
		if t.Ringback != "" {
			l.Ringback, l.RingbackTo = t.Ringback, t.Transferee
			if t.State == CallingTarget {
				l.RingbackTo = t.Transferor
			}
		}
	}
	return l
}

// Parties lists the parties of t that have not left, in the order
// transferor, transferee, target, recall, fallback. For a terminal snapshot
// they are the parties of its Finish.
func Parties(t Transfer) []string {
	var out []string
	for _, p := range []string{t.Transferor, t.Transferee, t.Target, t.Recall, t.FallbackLeg} {
		if p != "" && t.live(p) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
