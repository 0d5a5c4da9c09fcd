package app

// Reconciling a call with Asterisk.
//
// Why level-triggered. Effects are fired once, in order, and their failures
// are fed back as events; that is fast and right while Asterisk answers. It
// is not enough when Asterisk's state moves without transferd's effects: a
// request lost in an ARI outage, an event missed while the stream was down,
// a crash between a step and its effects, a takeover by another instance.
// So besides the effects (edge-triggered), every call can compare what must
// be true — the layout of its transfer snapshot (transfer.Expect), or of an
// ordinary call: every live party in the call bridge — with what Asterisk
// reports, and issue the requests that close the difference. A pass is
// idempotent: run it twice, and the second finds nothing to do.
//
// When it runs. After any effect failed (at once, then with a backoff up to
// reconcileRetryMax while it keeps failing); when ARI is back after an
// outage (the App's probe, and the event stream's Reconnected); after a
// restart or a takeover (restoreCall); and every reconcileEvery as a cheap
// safety net: in the steady state a pass reads one bridge per call (an
// answered leg seen in a bridge needs no read of its own).
//
// What it can repair: a party in the wrong bridge (moved), a missing call or
// hold bridge (created, with music), music whose start failed, a hold bridge
// left over (destroyed), a ringback that should play and does not (started
// again with its id) or should not and does (stopped), a party that must be
// gone and is not (hung up).
//
// What it cannot repair, it explains to the state machine instead of
// pretending: a party that is really gone (Left, so the transfer fails or
// completes as the table says), a dialed leg that answered while nobody
// listened (Answered). It cannot observe whether music plays in a bridge
// (ARI does not say): music is restarted whenever its bridge was created or
// restored by a pass, or its start failed. A leg whose create or dial got no
// answer is judged by what Asterisk has (lostdial.go): created or ringing,
// the call goes on; a leg still Down is never dialed twice.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/transfer"
)

const (
	// reconcileEvery is the period of the safety-net pass of every call.
	reconcileEvery = 30 * time.Second
	// reconcileTimeout bounds one reconcile (all its passes).
	reconcileTimeout = 5 * time.Second
	// reconcileRetryMin and reconcileRetryMax pace the passes of a call
	// whose last pass failed while ARI seemed reachable.
	reconcileRetryMin = 100 * time.Millisecond
	reconcileRetryMax = time.Second
	// maxPasses bounds the passes of one reconcile: each pass that feeds
	// an event to the call reads Asterisk again.
	maxPasses = 4
)

// reconcileNow is an inbox message: run a reconcile pass now.
type reconcileNow struct{}

// syncState is a call's bookkeeping for reconciling.
type syncState struct {
	dirty   bool // Asterisk may differ from the call's layout
	retry   *time.Timer
	backoff time.Duration
	// failures counts failed effects and repairs (the API compares it
	// before and after an action); stalled says a request got no answer
	// at all (the API then answers at once instead of reconciling).
	failures int
	stalled  bool
	// music lists hold bridges whose music may not play: its start failed,
	// or the bridge was (re)created by a pass, or the call was restored.
	music map[ari.BridgeID]bool
	// deferred holds timers that fired while ARI was unreachable: they are
	// applied after the next successful pass, once the actual state is
	// known (the target may have answered meanwhile).
	deferred []transfer.TimerFired
}

// effectFailed records a failed request of the call and schedules a pass.
func (c *Call) effectFailed(err error) {
	c.sync.failures++
	if ari.StatusOf(err) == 0 && !errors.Is(err, errARIDown) && !errors.Is(err, errLeaseNotConfirmed) {
		// No answer from Asterisk: maybe unreachable, the probe finds out.
		// (A request the lease guard kept back was never sent.)
		c.app.suspectARI()
	}
	c.needReconcile()
}

// needReconcile marks the call as possibly out of line with Asterisk and
// schedules a pass, unless one is scheduled or ARI is unreachable (the
// App's probe then triggers every call when it is back).
func (c *Call) needReconcile() {
	c.sync.dirty = true
	if c.sync.retry != nil || c.app.ariDown.Load() {
		return
	}
	if c.sync.backoff == 0 {
		c.sync.backoff = reconcileRetryMin
	}
	c.sync.retry = time.AfterFunc(c.sync.backoff, func() { c.post(reconcileNow{}) })
	c.sync.backoff = min(2*c.sync.backoff, reconcileRetryMax)
}

// reconcile compares the call with Asterisk and converges, feeding the
// state machine what cannot be repaired. It returns nil when Asterisk
// matches the call's layout.
func (c *Call) reconcile(ctx context.Context) error {
	if c.sync.retry != nil {
		c.sync.retry.Stop()
		c.sync.retry = nil
	}
	if c.ended || c.stopped {
		return nil
	}
	if c.app.ariDown.Load() {
		// The probe makes every call reconcile once ARI answers again.
		c.sync.dirty = true
		return errARIDown
	}
	ctx, cancel := context.WithTimeout(ctx, reconcileTimeout)
	defer cancel()
	var err error
	for pass := 0; pass < maxPasses && !c.ended; pass++ {
		var changed bool
		if changed, err = c.reconcilePass(ctx); err != nil || !changed {
			break
		}
	}
	if err != nil {
		c.log.Warn().Err(err).Msg("reconcile: Asterisk does not match the call yet")
		c.effectFailed(err)
		return err
	}
	c.sync.dirty, c.sync.backoff = false, 0
	if len(c.sync.deferred) > 0 && c.xfer != nil {
		timers := c.sync.deferred
		c.sync.deferred = nil
		for _, tf := range timers {
			c.log.Info().Str("timer", tf.Name).Msg("reconcile: applying a timer that fired while ARI was unreachable")
			c.step(ctx, tf)
		}
	}
	c.sync.deferred = nil
	return nil
}

// layout is what Asterisk must hold for the call now.
type layout struct {
	where      map[ari.ChannelID]ari.BridgeID // channel -> the bridge it must be in
	hold       ari.BridgeID                   // the hold bridge that must exist ("" none)
	holdUsed   bool                           // somebody must be in it
	mohClass   string
	ringback   ari.PlaybackID
	ringbackTo ari.ChannelID
	gone       []ari.ChannelID // parties that must not exist
}

func (c *Call) layout() layout {
	lay := layout{where: map[ari.ChannelID]ari.BridgeID{}}
	live := func(id ari.ChannelID) bool {
		l := c.legs[id]
		// A dialed leg that still rings is in no bridge: it joins its
		// bridge when it answers (billing.go, joinOnAnswer).
		return l != nil && !l.gone && !l.mustEnd && l.pending == nil && (l.answered || !l.dialedLeg())
	}
	if c.xfer == nil {
		if c.phase == phaseTalking {
			for _, id := range c.order {
				if live(id) {
					lay.where[id] = c.bridge
				}
			}
			if h := c.prehold; h != nil && live(h.transferee) && h.moved() {
				lay.where[h.transferee] = h.bridge
				lay.hold, lay.holdUsed, lay.mohClass = h.bridge, true, h.class
			}
		}
		return lay
	}
	x := transfer.Expect(*c.xfer)
	for _, ch := range x.Call {
		if id := ari.ChannelID(ch); live(id) {
			lay.where[id] = ari.BridgeID(x.CallBridge)
		}
	}
	lay.hold, lay.mohClass = ari.BridgeID(x.HoldBridge), x.MOHClass
	for _, ch := range x.Hold {
		if id := ari.ChannelID(ch); live(id) {
			lay.where[id] = lay.hold
			lay.holdUsed = true
		}
	}
	if x.Ringback != "" && live(ari.ChannelID(x.RingbackTo)) {
		lay.ringback, lay.ringbackTo = ari.PlaybackID(x.Ringback), ari.ChannelID(x.RingbackTo)
	}
	for _, g := range x.Gone {
		lay.gone = append(lay.gone, ari.ChannelID(g))
	}
	return lay
}

// reconcilePass reads Asterisk once and repairs what differs. changed says
// it fed the call an event (a party left or answered), so the layout may
// have changed and the caller reads again.
func (c *Call) reconcilePass(ctx context.Context) (changed bool, err error) {
	cl := c.app.client
	var errs []error
	fail := func(what string, err error) { errs = append(errs, fmt.Errorf("%s: %w", what, err)) }

	// Legs that must end and may not have: a hangup that got no answer, a
	// create whose answer was lost.
	for _, id := range c.order {
		l := c.legs[id]
		if !l.mustEnd {
			continue
		}
		switch err := cl.Channels.Hangup(ctx, id, "normal"); {
		case err == nil:
			l.mustEnd, l.ending = false, true
		case errors.Is(err, ari.ErrNotFound):
			l.mustEnd = false
			if !l.gone {
				c.onLeft(ctx, l, 0)
				return true, nil
			}
		default:
			fail("hang up "+string(id), err)
		}
	}

	// What Asterisk has: the call's bridges with their members.
	ids := []ari.BridgeID{c.bridge}
	for id := range c.holdBridges {
		ids = append(ids, id)
	}
	if c.xfer != nil && c.xfer.HoldBridge != "" && !c.holdBridges[ari.BridgeID(c.xfer.HoldBridge)] {
		ids = append(ids, ari.BridgeID(c.xfer.HoldBridge))
	}
	exists := map[ari.BridgeID]bool{}
	in := map[ari.ChannelID]ari.BridgeID{}
	for _, id := range ids {
		b, err := cl.Bridges.Get(ctx, id)
		switch {
		case errors.Is(err, ari.ErrNotFound):
		case err != nil:
			return false, fmt.Errorf("read bridge %s: %w", id, err)
		default:
			exists[id] = true
			for _, ch := range b.Channels {
				in[ch] = id
			}
		}
	}

	// Legs whose create got no answer: created, or created again
	// (lostdial.go).
	for _, id := range c.order {
		l := c.legs[id]
		if l.gone || l.pending == nil || !l.pending.createLost {
			continue
		}
		if changed, err := c.checkLostCreate(ctx, l); err != nil || changed {
			return changed, err
		}
	}

	// The legs: an answered leg seen in a bridge exists; any other is read.
	for _, id := range c.order {
		l := c.legs[id]
		if l.gone || l.mustEnd || l.pending != nil {
			continue
		}
		if _, bridged := in[id]; bridged && l.answered {
			continue
		}
		ch, err := cl.Channels.Get(ctx, id)
		if err == nil {
			c.checkLostDial(l, ch.State) // a dial whose answer was lost
		}
		switch {
		case errors.Is(err, ari.ErrNotFound):
			c.log.Info().Str(keyChannelID, string(id)).Str("role", l.role).Msg("reconcile: leg no longer in Asterisk")
			c.onLeft(ctx, l, 0)
			return true, nil
		case err != nil:
			return false, fmt.Errorf("read channel %s: %w", id, err)
		case ch.State == "Up" && !l.answered && l.role != roleCaller:
			c.log.Info().Str(keyChannelID, string(id)).Str("role", l.role).Msg("reconcile: leg answered unseen")
			c.onAnswered(ctx, l)
			return true, nil
		}
	}
	if c.ended {
		return false, nil
	}

	lay := c.layout()

	// Bridges that must exist.
	if !exists[c.bridge] {
		c.log.Warn().Str(keyBridgeID, string(c.bridge)).Msg("reconcile: call bridge missing; creating it")
		if _, err := cl.Bridges.Create(ctx, ari.BridgeParams{ID: c.bridge, Type: "mixing,dtmf_events", Name: "transferd " + c.id}); err != nil && !errors.Is(err, ari.ErrConflict) {
			fail("create call bridge", err)
		} else {
			exists[c.bridge] = true
		}
	}
	if lay.holdUsed && !exists[lay.hold] {
		c.log.Warn().Str(keyBridgeID, string(lay.hold)).Msg("reconcile: hold bridge missing; creating it")
		c.app.claimBridge(c, lay.hold)
		c.holdBridges[lay.hold] = true
		if _, err := cl.Bridges.Create(ctx, ari.BridgeParams{ID: lay.hold, Type: "holding", Name: "transferd " + string(lay.hold)}); err != nil && !errors.Is(err, ari.ErrConflict) {
			fail("create hold bridge", err)
		} else {
			exists[lay.hold] = true
			c.sync.music[lay.hold] = true
		}
	}

	// Every party where it must be: into the hold bridge first, so it is
	// never left empty by a move out of it (its music may stop then).
	members := map[ari.BridgeID]int{}
	for _, b := range in {
		members[b]++
	}
	for _, into := range []ari.BridgeID{lay.hold, c.bridge} {
		if into == "" || !exists[into] {
			continue
		}
		for _, id := range c.order {
			if want, ok := lay.where[id]; !ok || want != into || in[id] == into {
				continue
			}
			c.log.Info().Str(keyChannelID, string(id)).Str("in", string(in[id])).Str("want", string(into)).Msg("reconcile: moving party")
			err := cl.Bridges.AddChannel(ctx, into, c.joinParams(into, id))
			if err == nil {
				if into == lay.hold && members[into] == 0 {
					c.sync.music[into] = true // joined an empty hold bridge
				}
				members[in[id]]--
				members[into]++
				in[id] = into
				continue
			}
			if _, gerr := cl.Channels.Get(ctx, id); errors.Is(gerr, ari.ErrNotFound) {
				c.onLeft(ctx, c.legs[id], 0)
				return true, nil
			}
			fail("move "+string(id), err)
		}
	}

	// Music in the hold bridge, when somebody is held and it may not play.
	if lay.holdUsed && exists[lay.hold] && c.sync.music[lay.hold] {
		if err := startHoldMusic(ctx, cl, lay.hold, lay.mohClass); err != nil {
			fail("start music", err)
		} else {
			delete(c.sync.music, lay.hold)
		}
	}

	// Hold bridges that must not exist (any left by a step whose destroy
	// failed, or by a crash).
	for id := range c.holdBridges {
		if id == lay.hold {
			continue
		}
		if err := cl.Bridges.Destroy(ctx, id); err != nil && !errors.Is(err, ari.ErrNotFound) {
			fail("destroy "+string(id), err)
			continue
		}
		c.log.Info().Str(keyBridgeID, string(id)).Msg("reconcile: hold bridge destroyed")
		delete(c.holdBridges, id)
		delete(c.sync.music, id)
	}

	// Parties the transfer let go that are still there (their hangup was
	// lost). A party being played a goodbye hangs up after it.
	goodbye := map[ari.ChannelID]bool{}
	for _, ch := range c.hangAfter {
		goodbye[ch] = true
	}
	for _, id := range lay.gone {
		l := c.legs[id]
		if l == nil || l.gone || goodbye[id] {
			continue
		}
		c.log.Info().Str(keyChannelID, string(id)).Msg("reconcile: hanging up a party the transfer let go")
		switch err := cl.Channels.Hangup(ctx, id, "normal"); {
		case err == nil:
			l.ending = true
		case errors.Is(err, ari.ErrNotFound):
			c.onLeft(ctx, l, 0)
			return true, nil
		case err != nil:
			fail("hang up "+string(id), err)
		}
	}

	// Ringback: the one the layout wants plays; the others are stopped.
	if lay.ringback != "" {
		_, err := cl.Playbacks.Get(ctx, lay.ringback)
		switch {
		case errors.Is(err, ari.ErrNotFound):
			c.log.Info().Str("playback_id", string(lay.ringback)).Str(keyChannelID, string(lay.ringbackTo)).Msg("reconcile: ringback missing; starting it")
			c.ringbacks[lay.ringback] = true
			if _, err := cl.Channels.Play(ctx, lay.ringbackTo, ari.PlayParams{Media: []string{c.xfer.Opts.Ringback}, PlaybackID: lay.ringback}); err != nil {
				fail("ringback", err)
			}
		case err != nil:
			fail("read ringback", err)
		}
	}
	keepRingbacks := c.xfer == nil && c.ringingLegs() > 0
	for id := range c.ringbacks {
		if id == lay.ringback || keepRingbacks {
			continue
		}
		if err := cl.Playbacks.Stop(ctx, id); err != nil && !errors.Is(err, ari.ErrNotFound) {
			fail("stop ringback "+string(id), err)
			continue
		}
		delete(c.ringbacks, id)
	}

	if c.xfer == nil {
		c.settle(ctx)
	}
	return false, errors.Join(errs...)
}

// ringingLegs counts the live legs that have not answered.
func (c *Call) ringingLegs() int {
	n := 0
	for _, l := range c.legs {
		if !l.gone && !l.answered && !l.mustEnd && !l.ending {
			n++
		}
	}
	return n
}

// suspectARI is told that a request got no usable answer, or that the
// event stream dropped. The probe decides: ARI counts as unreachable
// (actions are refused, timers wait, effects are not sent) until Asterisk
// answers a ping AND the event stream is up again. Both matter: while the
// stream is down Asterisk keeps the application inactive, drops its events
// and silently refuses to put a created channel in it. Once both are back,
// every call reconciles.
func (a *App) suspectARI() {
	if a.probing.CompareAndSwap(false, true) {
		go a.probeARI(a.runCtx)
	}
}

// probeInterval is how often the probe pings ARI while it is unreachable;
// pingTimeout is how long it waits for an answer.
const (
	probeInterval = 200 * time.Millisecond
	pingTimeout   = 5 * time.Second
)

func (a *App) probeARI(ctx context.Context) {
	defer a.probing.Store(false)
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		// A loaded Asterisk may be slow to answer; only no answer at all
		// makes it unreachable.
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		_, err := a.client.Asterisk.Ping(pctx)
		cancel()
		up := a.client.Stats().Connected
		if err == nil && up {
			if a.ariDown.CompareAndSwap(true, false) {
				a.log.Info().Msg("ARI reachable again; reconciling every call")
				a.postAll(reconcileNow{})
			}
			return
		}
		if err == nil {
			// Asterisk answers: no need to wait out the stream's backoff.
			a.client.RedialNow()
			err = errors.New("the event stream is down")
		}
		if a.ariDown.CompareAndSwap(false, true) {
			a.log.Warn().Err(err).Msg("ARI unreachable; calls reconcile when it is back")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.probeWake:
		}
	}
}

// wakeProbe makes a waiting probe try again at once (the event stream is
// back).
func (a *App) wakeProbe() {
	select {
	case a.probeWake <- struct{}{}:
	default:
	}
}

// ARIReachable reports whether ARI answers requests, as far as transferd
// knows: false from a request that got no answer (or a lost event stream)
// until a ping is answered again.
func (a *App) ARIReachable() bool { return !a.ariDown.Load() }
