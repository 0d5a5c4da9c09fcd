package integration

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/ari"
)

// What Asterisk must look like for what transferd reports, and the check
// that it does: the fault tests and the kill -9 sweeps judge transferd by
// Asterisk's bridges and channels, read directly over ARI, never by
// transferd's own word.

// callLayout is one call as Asterisk has it.
type callLayout struct {
	bridges []ari.Bridge             // bridges whose id starts with the call id
	chans   map[ari.ChannelID]string // transferd's side of every leg of the call → Asterisk state
	inBr    map[ari.ChannelID]string // which bridge each channel is in
}

// readLayout reads the call's bridges and channels from Asterisk. The
// channels of a call are its id and every id under it (transferd names its
// legs <call>-b, <call>-x1-target-1, ...), minus the test's phones: the
// Local ;2 halves of those legs, <leg>-2.
func readLayout(ctx context.Context, c *ari.Client, call ari.ChannelID) (callLayout, error) {
	l := callLayout{chans: map[ari.ChannelID]string{}, inBr: map[ari.ChannelID]string{}}
	bs, err := c.Bridges.List(ctx)
	if err != nil {
		return l, err
	}
	for _, b := range bs {
		if strings.HasPrefix(string(b.ID), string(call)) {
			l.bridges = append(l.bridges, b)
			for _, ch := range b.Channels {
				l.inBr[ch] = string(b.ID)
			}
		}
	}
	chs, err := c.Channels.List(ctx)
	if err != nil {
		return l, err
	}
	all := map[ari.ChannelID]bool{}
	for _, ch := range chs {
		all[ch.ID] = true
	}
	for _, ch := range chs {
		if ch.ID != call && !strings.HasPrefix(string(ch.ID), string(call)+"-") {
			continue
		}
		if leg, ok := strings.CutSuffix(string(ch.ID), "-2"); ok && all[ari.ChannelID(leg)] {
			continue // the phone half of a leg
		}
		l.chans[ch.ID] = ch.State
	}
	return l, nil
}

func (l callLayout) String() string {
	var parts []string
	for _, b := range l.bridges {
		m := make([]string, len(b.Channels))
		for i, c := range b.Channels {
			m[i] = string(c)
		}
		sort.Strings(m)
		parts = append(parts, fmt.Sprintf("bridge %s(%s)[%s]", b.ID, b.BridgeType, strings.Join(m, " ")))
	}
	var chs []string
	for id, st := range l.chans {
		chs = append(chs, fmt.Sprintf("%s=%s", id, st))
	}
	sort.Strings(chs)
	return strings.Join(parts, "; ") + "; channels " + strings.Join(chs, " ")
}

// desiredLayout derives from transferd's report which of the call's legs
// must be in the call bridge and which in the holding bridge, by the
// transfer state (transfer/state.go says who is where in each).
func desiredLayout(info app.CallInfo) (callBr, hold []ari.ChannelID) {
	// A dialed leg that still rings is in no bridge: it joins its bridge
	// when it answers (app/billing.go: not billed while ringing).
	var live []ari.ChannelID
	for _, p := range info.Parties {
		if p.State != "gone" && p.State != "ringing" {
			live = append(live, ari.ChannelID(p.Channel))
		}
	}
	if info.Transfer == nil {
		return live, nil
	}
	a, b := ari.ChannelID(info.Transfer.Transferor), ari.ChannelID(info.Transfer.Transferee)
	var third []ari.ChannelID // the target, recall or fallback leg now live
	for _, id := range live {
		if id != a && id != b {
			third = append(third, id)
		}
	}
	alive := func(ids ...ari.ChannelID) []ari.ChannelID {
		var out []ari.ChannelID
		for _, id := range ids {
			if slices.Contains(live, id) {
				out = append(out, id)
			}
		}
		return out
	}
	switch info.Transfer.State {
	case "CallingTarget", "Consulting":
		return append(alive(a), third...), alive(b)
	case "Hesitant", "DoubleChecking":
		return alive(a, b), third
	case "Blond", "Recalling", "Retransfer", "Fallback":
		return append(alive(b), third...), nil
	case "WaitToRetransfer", "WaitToRecall":
		return third, alive(b)
	}
	return live, nil
}

// mismatch compares transferd's report (nil: transferd says the call is
// over) with Asterisk's layout and says what differs, or "".
func mismatch(info *app.CallInfo, l callLayout) string {
	var bad []string
	if info == nil {
		for id := range l.chans {
			bad = append(bad, fmt.Sprintf("channel %s (%s) lives on after the call ended", id, l.chans[id]))
		}
		for _, b := range l.bridges {
			bad = append(bad, fmt.Sprintf("bridge %s left after the call ended", b.ID))
		}
		sort.Strings(bad)
		return strings.Join(bad, "; ")
	}
	reported := map[ari.ChannelID]bool{}
	for _, p := range info.Parties {
		id := ari.ChannelID(p.Channel)
		st, ok := l.chans[id]
		switch {
		case p.State == "gone" && ok:
			bad = append(bad, fmt.Sprintf("%s reported gone but is %s", id, st))
		case p.State != "gone" && !ok:
			bad = append(bad, fmt.Sprintf("%s reported %s but is gone", id, p.State))
		case (p.State == "up" || p.State == "held") && st != "Up":
			bad = append(bad, fmt.Sprintf("%s reported %s but is %s", id, p.State, st))
		case p.State == "ringing" && st == "Up":
			bad = append(bad, fmt.Sprintf("%s reported ringing but is Up", id))
		}
		if p.State != "gone" {
			reported[id] = true
		}
	}
	for id, st := range l.chans {
		if !reported[id] {
			bad = append(bad, fmt.Sprintf("%s (%s) is not a live party of the report", id, st))
		}
	}
	wantCall, wantHold := desiredLayout(*info)
	sawCall, sawHold := false, false
	for _, b := range l.bridges {
		switch {
		case string(b.ID) == info.Bridge:
			sawCall = true
			if !sameSet(b.Channels, wantCall) {
				bad = append(bad, fmt.Sprintf("call bridge has %v, want %v", b.Channels, wantCall))
			}
		case b.BridgeType == "holding" && len(wantHold) == 0 && len(b.Channels) == 0 && info.Transfer != nil:
			// Empty while the leg it holds still rings (it joins on answer).
		case b.BridgeType == "holding" && len(wantHold) > 0 && !sawHold:
			sawHold = true
			if !sameSet(b.Channels, wantHold) {
				bad = append(bad, fmt.Sprintf("hold bridge %s has %v, want %v", b.ID, b.Channels, wantHold))
			}
		default:
			bad = append(bad, fmt.Sprintf("unexpected bridge %s(%s) with %v", b.ID, b.BridgeType, b.Channels))
		}
	}
	if !sawCall && len(wantCall) > 0 {
		bad = append(bad, fmt.Sprintf("no call bridge %s, want %v in it", info.Bridge, wantCall))
	}
	if !sawHold && len(wantHold) > 0 {
		bad = append(bad, fmt.Sprintf("no holding bridge, want %v on hold", wantHold))
	}
	sort.Strings(bad)
	return strings.Join(bad, "; ")
}

// stranded judges Asterisk alone, whatever transferd says: a caller alone
// on hold (a holding bridge with no transfer visible in the call bridge:
// no transferor with a third leg), an answered channel alone in a mixing
// bridge (unless a dialed leg rings for it), a ringing leg nobody hears (its
// bridge has no answered channel, or, outside any bridge, the call bridge
// has none), or a leg that is neither in a bridge nor ringing for someone
// (created, never dialled or left ringing in the void). It returns one line
// per problem.
func stranded(l callLayout, call ari.ChannelID) []string {
	var out []string
	up := func(id ari.ChannelID) bool { return l.chans[id] == "Up" }
	// Dialed legs ring outside any bridge until they answer; whoever waits
	// for them is alone in the call bridge, hearing ringback.
	var ringingOut []ari.ChannelID
	for id, st := range l.chans {
		if _, ok := l.inBr[id]; !ok && st != "Up" && st != "Down" {
			ringingOut = append(ringingOut, id)
		}
	}
	var callBr *ari.Bridge
	for i := range l.bridges {
		if l.bridges[i].ID == ari.BridgeID(call) {
			callBr = &l.bridges[i]
		}
	}
	for _, b := range l.bridges {
		var answered, ringing []ari.ChannelID
		for _, ch := range b.Channels {
			if up(ch) {
				answered = append(answered, ch)
			} else {
				ringing = append(ringing, ch)
			}
		}
		switch b.BridgeType {
		case "holding":
			if len(b.Channels) == 0 {
				continue
			}
			// Legitimate only while a transfer visibly runs: the call
			// bridge holds a party and another leg (ringing or answered),
			// or it is empty between two dials of the recall loop.
			if callBr == nil || len(callBr.Channels)+len(ringingOut) == 1 {
				out = append(out, fmt.Sprintf("%v alone on hold in %s (call bridge: %v)", b.Channels, b.ID, bridgeMembers(callBr)))
			}
		default:
			if len(answered) == 0 && len(ringing) > 0 {
				out = append(out, fmt.Sprintf("ringing %v in %s with nobody to hear it", ringing, b.ID))
			}
			if len(answered) == 1 && len(ringing) == 0 && len(b.Channels) == 1 && len(ringingOut) == 0 {
				out = append(out, fmt.Sprintf("%s alone in %s", answered[0], b.ID))
			}
		}
	}
	callHears := false // an answered party in the call bridge hears the ringback
	if callBr != nil {
		for _, ch := range callBr.Channels {
			callHears = callHears || up(ch)
		}
	}
	for id, st := range l.chans {
		if _, ok := l.inBr[id]; !ok && !(callHears && slices.Contains(ringingOut, id)) {
			out = append(out, fmt.Sprintf("%s (%s) in no bridge", id, st))
		}
	}
	sort.Strings(out)
	return out
}

func bridgeMembers(b *ari.Bridge) []ari.ChannelID {
	if b == nil {
		return nil
	}
	return b.Channels
}
