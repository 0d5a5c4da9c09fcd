package app

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/transferd/transferd/ari"
)

// Replacement channels. Asterisk sometimes puts a new channel in the place
// of one the application has: call pickup (the picker takes the ringing
// target's place), a REFER with Replaces, a masquerade, Local channel
// optimisation. The newcomer enters the application with a StasisStart
// carrying replace_channel and no arguments. It is one of the call's legs
// from then on: the same role, the same bridge, the same transfer state.

// replaced: channel new took the place of the call's leg old.
type replaced struct {
	old ari.ChannelID
	new ari.Channel
}

// legGone: Asterisk no longer has a leg (a request about it answered 404, or
// it left Stasis and is gone): whatever event would have said so is lost.
type legGone struct{ leg ari.ChannelID }

// goneCheck: a leg that never answered left Stasis; if no ChannelDestroyed
// says why within a moment, ask Asterisk whether it still exists.
type goneCheck struct{ leg ari.ChannelID }

// goneCheckAfter is how long a leg that left Stasis unanswered may wait for
// its ChannelDestroyed (which carries the cause) before it is looked up.
const goneCheckAfter = time.Second

// routeReplacement hands a replacement channel to the call that owns the
// channel it replaces. It reports whether it did.
func (a *App) routeReplacement(e *ari.StasisStart) bool {
	if e.ReplaceChannel == nil || e.ReplaceChannel.ID == "" {
		return false
	}
	c := a.owner(e.ReplaceChannel.ID)
	if c == nil {
		return false
	}
	a.claim(c, e.Channel.ID)
	c.post(replaced{old: e.ReplaceChannel.ID, new: e.Channel})
	return true
}

func (a *App) unclaim(c *Call, id ari.ChannelID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.channels[id] == c {
		delete(a.channels, id)
	}
}

// onReplaced puts the new channel in the old leg's place.
func (c *Call) onReplaced(ctx context.Context, m replaced) {
	log := c.log.With().Str(keyChannelID, string(m.new.ID)).Str("replaces", string(m.old)).Logger()
	old := c.legs[m.old]
	if c.legs[m.new.ID] != nil {
		return // already done (a repeated event)
	}
	if old == nil || old.gone {
		// The leg it replaces already left and the call moved on without
		// it: there is no place left to take.
		log.Warn().Msg("replacement of a leg that already left: hanging it up")
		c.app.unclaim(c, m.new.ID)
		c.hangup(ctx, m.new.ID, "normal")
		return
	}
	if old.digitStop != nil {
		old.digitStop()
	}
	nl := &leg{id: m.new.ID, role: old.role, number: old.number, callback: old.callback,
		answered: old.answered, progressed: old.progressed,
		collector: old.collector, ownCollector: old.ownCollector}
	delete(c.legs, old.id)
	c.legs[nl.id] = nl
	for i, id := range c.order {
		if id == old.id {
			c.order[i] = nl.id
		}
	}
	c.app.unclaim(c, old.id)
	held := false
	if c.xfer != nil {
		held = c.xfer.Held == string(old.id)
		x := c.xfer.ReplaceChannel(string(old.id), string(nl.id))
		c.xfer = &x
	}
	if t, ok := c.timers["ring:"+string(old.id)]; ok {
		// A leg left ringing after a transfer: the newcomer answered it.
		t.Stop()
		delete(c.timers, "ring:"+string(old.id))
	}
	log.Info().Str("role", nl.role).Str("state", m.new.State).Msg("leg replaced")
	// Asterisk swaps the newcomer into the old channel's bridge; make sure.
	want := c.bridge
	if held && c.xfer != nil && c.xfer.HoldBridge != "" {
		want = ari.BridgeID(c.xfer.HoldBridge)
	}
	c.ensureInBridge(ctx, nl.id, want)
	if m.new.State == "Up" && !nl.answered {
		c.onAnswered(ctx, nl)
	}
	c.applyCoreNote(ctx, old.id, nl)
}

// ensureInBridge adds ch to bridge unless it is already in one of the
// call's bridges.
func (c *Call) ensureInBridge(ctx context.Context, ch ari.ChannelID, bridge ari.BridgeID) {
	ids := []ari.BridgeID{c.bridge}
	for id := range c.holdBridges {
		ids = append(ids, id)
	}
	for _, id := range ids {
		b, err := c.app.client.Bridges.Get(ctx, id)
		if err == nil && slices.Contains(b.Channels, ch) {
			return
		}
	}
	if err := c.app.client.Bridges.AddChannel(ctx, bridge, ari.AddChannelParams{Channels: []ari.ChannelID{ch}, AbsorbDTMF: true}); err != nil {
		c.log.Warn().Err(err).Str(keyChannelID, string(ch)).Str(keyBridgeID, string(bridge)).Msg("add replacement channel to its bridge")
	}
}

// onUnansweredStasisEnd: a leg that never answered left the application.
// Its ChannelDestroyed normally follows with the cause; if it does not,
// the leg is looked up and counted gone when Asterisk no longer has it.
func (c *Call) onUnansweredStasisEnd(l *leg) {
	id := l.id
	time.AfterFunc(goneCheckAfter, func() { c.post(goneCheck{leg: id}) })
}

func (c *Call) onGoneCheck(ctx context.Context, m goneCheck) {
	l := c.legs[m.leg]
	if l == nil || l.gone {
		return
	}
	if _, err := c.app.client.Channels.Get(ctx, l.id); errors.Is(err, ari.ErrNotFound) {
		c.onLeft(ctx, l, 0)
	}
}
