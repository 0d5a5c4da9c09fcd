package app

// Lost answers to a leg's create or dial.
//
// A request that gets no answer at all (an ARI outage, a NATS server
// restarting between transferd and the proxy) may still have been carried
// out: Asterisk created the channel, or dialed it and the phone rings,
// and only the answer was lost. Treating that as a failure hangs up a
// ringing target. So a leg whose create or dial got no answer stays in the
// call, and the reconciler asks Asterisk what happened:
//
//   - create: the channel exists, so the call is placed (its StasisStart
//     may have been lost with the answer); it does not, so it is created
//     again with the same id (a create that arrives late then meets a
//     conflict, so the leg exists once either way);
//   - dial: the leg rings, is up or busy, so the dial happened and the call
//     goes on; the leg is gone, so it left. A leg still "Down" is not
//     dialed again: Asterisk cannot say whether a dial is under way (a
//     trunk that answers 183 stays Down until answered), and dialing a
//     channel twice breaks it. It is watched like any ringing leg: the
//     transfer's no-answer timer, or the call's dial timeout, ends it if
//     it never answers.

import (
	"context"
	"errors"
	"time"

	"github.com/transferd/transferd/ari"
)

// inFlightGrace is how long a dial sent before a restart or a takeover
// (by this process before it stopped, or by the previous owner) may still
// land in Asterisk. A leg found Down after a restart is dialed only after
// it, if still Down: dialing a channel twice runs its dialplan twice
// (Asterisk 22.10 then crashed on a Local channel: "already has PBX
// structure", then a failed assertion in stasis_app_exec).
const inFlightGrace = 3 * time.Second

// heldForInFlight puts off a restored leg's dial until inFlightGrace has
// passed, then reads the leg: rung or answered meanwhile, the dial landed
// and is not sent again. It says whether placeCall must stop here.
func (c *Call) heldForInFlight(ctx context.Context, l *leg) bool {
	p := l.pending
	if p.inFlightUntil.IsZero() {
		return false
	}
	id := l.id
	if wait := time.Until(p.inFlightUntil); wait > 0 {
		time.AfterFunc(wait, func() { c.post(placeNow{leg: id}) })
		return true
	}
	ch, err := c.app.client.Channels.Get(ctx, id)
	switch {
	case errors.Is(err, ari.ErrNotFound):
		c.post(legGone{leg: id})
		return true
	case err != nil:
		// Not known yet: asked again in a second.
		p.inFlightUntil = time.Now().Add(time.Second)
		time.AfterFunc(time.Second, func() { c.post(placeNow{leg: id}) })
		return true
	case ch.State != "Down" && ch.State != "Rsrvd":
		c.log.Info().Str(keyChannelID, string(id)).Str("role", l.role).Str("state", ch.State).
			Msg("a dial in flight at the restart reached Asterisk; not dialing again")
		l.pending = nil
		l.progressed = true
		if ch.State == "Up" {
			c.onAnswered(ctx, l)
		}
		return true
	}
	p.inFlightUntil = time.Time{}
	return false
}

// dialLostPatience is how long a leg whose dial got no answer may stay
// Down before the reconciler stops asking (it is still watched as a
// ringing leg).
const dialLostPatience = 10 * time.Second

// msgLostReached is logged when Asterisk shows that a create or dial whose
// answer was lost was carried out.
const msgLostReached = "the dial whose answer was lost reached Asterisk"

// createUnanswered keeps a leg whose create got no answer pending, for the
// reconciler to ask Asterisk whether it exists.
func (c *Call) createUnanswered(l *leg, err error) {
	l.pending.createLost = true
	c.log.Warn().Err(err).Str(keyChannelID, string(l.id)).Str("role", l.role).
		Msg("create got no answer; asking Asterisk whether the leg exists")
	c.effectFailed(err)
}

// dialUnanswered keeps a leg whose dial got no answer as a dialed leg, for
// the reconciler to read its state. A dial timeout transferd gave Asterisk
// is kept by transferd too, in case the dial never got there.
func (c *Call) dialUnanswered(l *leg, err error) {
	if c.app.runCtx.Err() != nil {
		// The process is stopping (the request was cut short, most likely
		// before it was sent): the leg stays pending in the snapshot, and
		// the next start dials it if Asterisk has it Down (resumeDials).
		c.log.Info().Err(err).Str(keyChannelID, string(l.id)).Msg("dial cut short by the stop; left to the next start")
		return
	}
	timeout := l.pending.timeout
	l.pending = nil
	l.dialLost = time.Now()
	c.log.Warn().Err(err).Str(keyChannelID, string(l.id)).Str("role", l.role).
		Msg("dial got no answer; asking Asterisk whether the leg rings")
	if timeout > 0 {
		id := l.id
		c.timers["ring:"+string(id)] = time.AfterFunc(timeout, func() { c.post(ringExpiry{leg: id}) })
	}
	c.effectFailed(err)
}

// dialConfirmed clears a lost dial once Asterisk shows it happened (an
// event of the dial, or the leg's state).
func (c *Call) dialConfirmed(l *leg, state string) {
	if l.dialLost.IsZero() {
		return
	}
	c.log.Info().Str(keyChannelID, string(l.id)).Str("role", l.role).Str("state", state).
		Dur("after", time.Since(l.dialLost)).Msg(msgLostReached)
	l.dialLost = time.Time{}
	l.progressed = true
}

// checkLostDial judges a lost dial by the leg's state in Asterisk.
func (c *Call) checkLostDial(l *leg, state string) {
	switch {
	case l.dialLost.IsZero():
	case state != "Down" && state != "Rsrvd":
		c.dialConfirmed(l, state)
	case time.Since(l.dialLost) > dialLostPatience:
		c.log.Warn().Str(keyChannelID, string(l.id)).Str("role", l.role).
			Msg("the leg whose dial got no answer is still Down; watched as a ringing leg (its no-answer timeout ends it)")
		l.dialLost = time.Time{}
	}
}

// checkLostCreate asks Asterisk whether a leg whose create got no answer
// exists, and places or creates it. changed says the leg left the call.
func (c *Call) checkLostCreate(ctx context.Context, l *leg) (changed bool, err error) {
	_, err = c.app.client.Channels.Get(ctx, l.id)
	switch {
	case err == nil:
		c.log.Info().Str(keyChannelID, string(l.id)).Str("role", l.role).Msg("the create whose answer was lost reached Asterisk")
		l.pending.createLost = false
		c.placeCall(ctx, l, 0)
		return false, nil
	case errors.Is(err, ari.ErrNotFound):
		c.log.Info().Str(keyChannelID, string(l.id)).Str("role", l.role).Msg("the create whose answer was lost did not reach Asterisk; creating the leg again")
		if err := c.createLeg(ctx, l); err != nil {
			c.log.Warn().Err(err).Str(keyChannelID, string(l.id)).Msg("create leg again")
			c.onLeft(ctx, l, 0)
			return true, nil
		}
		return false, nil
	}
	return false, err
}
