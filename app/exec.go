package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/transfer"
)

// step feeds one event to the transfer state machine and executes what it
// asks for. It is a queue, as etcd/raft's driver is: events that effects
// produce (an availability answer, a failed critical effect) are queued and
// taken by the loop after the step that produced them, never by a
// recursive step. A failed effect comes back as an EffectFailed event, so
// the machine, not this code, decides what a failure means.
func (c *Call) step(ctx context.Context, ev transfer.Event) {
	c.queue = append(c.queue, ev)
	c.drain(ctx)
}

// drain runs queued events through the machine until the queue is empty.
// A step already running (drain was reached from one of its effects) takes
// the new events itself.
func (c *Call) drain(ctx context.Context) {
	if c.stepping {
		return
	}
	c.stepping = true
	defer func() { c.stepping = false }()
	for len(c.queue) > 0 {
		ev := c.queue[0]
		c.queue = c.queue[1:]
		if c.xfer == nil {
			continue // the transfer ended: nobody to tell
		}
		from := c.xfer.State
		next, effects, note := transfer.Next(*c.xfer, ev)
		e := c.xferLog.Info()
		if note.Text != "" && next.State == from && len(effects) == 0 {
			// Asterisk's warn-and-stay rule: an unexpected event changes nothing.
			e = c.xferLog.Warn()
			if note.Level == transfer.LevelDebug {
				e = c.xferLog.Debug()
			}
		}
		e.Stringer("from", from).Stringer("event", transfer.KindOf(*c.xfer, ev)).Stringer("to", next.State).
			Int("effects", len(effects)).Str("note", note.Text).Msg("transfer step")
		*c.xfer = next
		c.apply(ctx, effects, ev)
	}
	c.queue = nil
}

// effectTimeout bounds each effect's ARI request: an Asterisk that does not
// answer costs a step this long once (the probe then finds ARI unreachable,
// and the step's other requests fail at once), not the whole message's
// budget. It is generous: a loaded Asterisk can take seconds to create a
// channel, and a slow answer must not fail a transfer.
const effectTimeout = 10 * time.Second

// errARIDown fails a request without sending it while ARI is known to be
// unreachable (the reconciler carries out what is missed once it is back).
var errARIDown = errors.New("not sent: ARI is unreachable")

// apply executes every effect of a step in order, so the step's Finish is
// always reached, then queues the failures the machine must know about
// (transfer.Critical: a leg that could not be dialed, a party that could not
// be moved); the others are only logged, and every failure makes the call
// reconcile. The step's snapshot is written ahead of its effects (see
// rederivable for the steps that need not wait for it). ev is the event
// that led to the step (nil for a transfer's start).
func (c *Call) apply(ctx context.Context, effects []transfer.Effect, ev transfer.Event) {
	c.stepAt = time.Now()
	defer func() { c.stepAt = time.Time{} }()
	written := c.writeAhead(effects)
	gate := c.sendAhead(ctx, effects, written)
	defer gate.open()
	if written != nil {
		if c.rederivable(ev, effects) {
			defer written.wait() // durable by the step's end all the same
		} else {
			_ = written.wait()
		}
	}
	c.awaitMarks()
	var failed []transfer.Event
	stalled := false // a request of this step got no answer at all
	for _, eff := range effects {
		var err error
		if (stalled || c.app.ariDown.Load()) && touchesARI(eff) && !c.sentAhead(eff) {
			err = errARIDown
		} else {
			ectx, cancel := context.WithTimeout(ctx, effectTimeout)
			err = c.exec(ectx, eff)
			cancel()
		}
		// Answered (he has left the call bridge) or not sent: the early
		// dial waits no longer.
		gate.openAfter(eff)
		if err != nil {
			log := c.log
			if c.xfer != nil {
				log = c.xferLog
			}
			log.Warn().Err(err).Stringer("effect", eff).Bool("critical", transfer.Critical(eff)).Msg("effect failed")
			c.effectFailed(err)
			if ari.StatusOf(err) == 0 && !errors.Is(err, errARIDown) {
				// Sending the rest into the void would only add a timeout
				// each: they fail now, and the reconciler carries them out.
				stalled = true
				c.sync.stalled = true
			}
			if transfer.Critical(eff) {
				failed = append(failed, transfer.EffectFailed{Effect: eff, Status: ari.StatusOf(err)})
			}
		}
	}
	c.queue = append(c.queue, failed...)
}

// rederivable says whether a step's effects may run while its write-ahead
// is on its way. The write-ahead is there so that a restart knows what the
// step decided; a step that a restart decides again by itself need not
// wait for it. That is a step caused by a party leaving (Asterisk keeps
// the fact: the restored call's reconcile reads the leg gone and feeds the
// same Left, before it moves anybody) whose effects only move parties,
// music and bridges, which the reconcile puts where the step puts them. A
// step that also dials or hangs up waits (a Finish hangs up the legs it
// does not keep): a party it hung up would be read gone too, and could be
// taken for the cause. This is the step that completes a transfer when the
// transferor hangs up, where the write cost a round trip between her
// hangup and the parties bridged.
func (c *Call) rederivable(ev transfer.Event, effects []transfer.Effect) bool {
	left, ok := ev.(transfer.Left)
	if !ok {
		return false
	}
	for _, eff := range effects {
		switch e := eff.(type) {
		case transfer.Dial, transfer.Hangup, transfer.PlayThenHangup:
			return false
		case transfer.Finish:
			keep := map[string]bool{left.Channel: true}
			for _, p := range e.Parties {
				keep[p] = true
			}
			for _, l := range c.legs {
				if !l.gone && !keep[string(l.id)] {
					return false
				}
			}
		}
	}
	return true
}

// touchesARI says whether an effect sends a request.
func touchesARI(eff transfer.Effect) bool {
	switch eff.(type) {
	case transfer.StartTimer, transfer.StopTimer, transfer.Finish, transfer.CheckAvailability:
		return false // CheckAvailability fails open by itself
	}
	return true
}

// exec performs one effect through ARI. Events the effect produces at once
// (an availability answer) go on the step queue.
func (c *Call) exec(ctx context.Context, eff transfer.Effect) error {
	cl := c.app.client
	if c.preHeld(eff) {
		// Done while the code was typed (prehold.go).
		if _, ok := eff.(transfer.Move); ok {
			c.holdPending = false // counted when the prefix held him
		}
		return nil
	}
	switch e := eff.(type) {
	case transfer.CreateBridge:
		id := ari.BridgeID(e.ID)
		c.app.claimBridge(c, id)
		c.holdBridges[id] = true
		_, err := cl.Bridges.Create(ctx, ari.BridgeParams{ID: id, Type: e.Type, Name: "transferd " + e.ID})
		if errors.Is(err, ari.ErrConflict) {
			err = nil // already there: a restart re-running the step
		}
		return err
	case transfer.DestroyBridge:
		id := ari.BridgeID(e.ID)
		err := cl.Bridges.Destroy(ctx, id)
		if errors.Is(err, ari.ErrNotFound) {
			err = nil
		}
		if err == nil {
			// Forgotten only once gone: a failed destroy (Asterisk slow
			// under load) is retried when the call ends.
			delete(c.holdBridges, id)
		}
		return err
	case transfer.Move:
		if c.deferMove(e) {
			return nil // a ringing leg joins its bridge when it answers
		}
		c.clearForWaiter(ctx, e)
		err := cl.Bridges.AddChannel(ctx, ari.BridgeID(e.Bridge), c.joinParams(ari.BridgeID(e.Bridge), ari.ChannelID(e.Channel)))
		if err == nil {
			c.holdMusicBack(ctx, ari.BridgeID(e.Bridge))
		}
		if err == nil && c.holdPending && c.xfer != nil && e.Bridge == c.xfer.HoldBridge && e.Channel == c.xfer.Transferee {
			c.holdPending = false
			if h := c.app.hooks.TransfereeHeld; h != nil && !c.codeAt.IsZero() {
				h(time.Since(c.codeAt))
			}
		}
		return err
	case transfer.StartMOH:
		err := startHoldMusic(ctx, cl, ari.BridgeID(e.Bridge), e.Class)
		if err != nil {
			c.sync.music[ari.BridgeID(e.Bridge)] = true
		} else {
			delete(c.sync.music, ari.BridgeID(e.Bridge))
		}
		return err
	case transfer.StopMOH:
		return stopHoldMusic(ctx, cl, ari.BridgeID(e.Bridge), c.holdClass(ari.BridgeID(e.Bridge)))
	case transfer.StartRingback:
		id := ari.PlaybackID(e.PlaybackID)
		c.ringbacks[id] = true
		_, err := cl.Channels.Play(ctx, ari.ChannelID(e.Channel), ari.PlayParams{Media: []string{e.Media}, PlaybackID: id})
		return err
	case transfer.StopPlayback:
		id := ari.PlaybackID(e.PlaybackID)
		err := cl.Playbacks.Stop(ctx, id)
		if errors.Is(err, ari.ErrNotFound) {
			err = nil
		}
		if err == nil {
			// Forgotten only once stopped: the reconciler stops it otherwise.
			delete(c.ringbacks, id)
		}
		return err
	case transfer.Dial:
		if l := c.legs[ari.ChannelID(e.Channel)]; l != nil && c.sentAhead(e) {
			return c.createLeg(ctx, l) // made pending by sendAhead
		}
		// Not into e.Bridge yet: the leg joins it when it answers (billing.go).
		return c.dial(ctx, dialLeg(e), "", c.dialCaller(), 0)
	case transfer.Hangup:
		c.hangup(ctx, ari.ChannelID(e.Channel), e.Reason)
		return nil
	case transfer.Play:
		if _, err := cl.Channels.Play(ctx, ari.ChannelID(e.Channel), ari.PlayParams{Media: []string{e.Media}}); err != nil {
			// A tone is a courtesy: its failure changes nothing.
			c.log.Debug().Err(err).Str("media", e.Media).Msg("play")
		}
		return nil
	case transfer.PlayThenHangup:
		ch := ari.ChannelID(e.Channel)
		id := ari.PlaybackID(fmt.Sprintf("%s-bye-%d", c.id, c.app.nextID()))
		if _, err := cl.Channels.Play(ctx, ch, ari.PlayParams{Media: []string{e.Media}, PlaybackID: id}); err != nil {
			c.log.Warn().Err(err).Str("media", e.Media).Msg("play before hangup")
			c.hangup(ctx, ch, "normal")
			return nil
		}
		c.hangAfter[id] = ch
		return nil
	case transfer.CheckAvailability:
		c.queue = append(c.queue, transfer.AvailabilityChecked{Reachable: c.reachable(ctx, e.Number)})
		return nil
	case transfer.StartTimer:
		c.armTimer(e.Name, e.Seq, e.After)
		return nil
	case transfer.StopTimer:
		c.stopTimer(e.Name)
		return nil
	case transfer.Finish:
		c.finish(ctx, e)
		return nil
	}
	return fmt.Errorf("unknown effect %T", eff)
}

func roleOf(r transfer.Role) string {
	switch r {
	case transfer.RoleRecall:
		return roleRecall
	case transfer.RoleFallback:
		return roleFallback
	}
	return roleTarget
}

// reachable asks Asterisk for the target's device state. A failed check
// does not block the transfer: the attempt itself will tell.
func (c *Call) reachable(ctx context.Context, number string) bool {
	tmpl := c.acct.cfg.AvailabilityDevice
	if tmpl == "" {
		return true
	}
	device := replaceNumber(tmpl, number)
	ds, err := c.app.client.DeviceStates.Get(ctx, device)
	if err != nil {
		c.xferLog.Warn().Err(err).Str("device", device).Msg("availability check failed; trying anyway")
		return true
	}
	c.xferLog.Info().Str("device", device).Str("state", ds.State).Msg("availability check")
	switch ds.State {
	case "UNAVAILABLE", "INVALID":
		return false
	}
	return true
}

// finish closes the transfer: the call goes on with the parties the machine
// left in the call's bridge.
func (c *Call) finish(ctx context.Context, f transfer.Finish) {
	if c.xfer == nil {
		return
	}
	c.markFinish(ctx, f)
	secs := time.Since(c.xferStarted).Seconds()
	c.xferLog.Info().Stringer("outcome", f.Outcome).Strs("parties", f.Parties).Float64("seconds", secs).Msg("transfer finished")
	if c.app.hooks.TransferEnded != nil {
		c.app.hooks.TransferEnded(c.acct.name, f.Outcome.String(), secs)
	}
	done := *c.xfer
	c.lastXfer = &done
	c.xfer = nil
	for _, l := range c.legs {
		if l.ownCollector {
			l.collector, l.ownCollector = c.acct.matcher.NewCollector(), false
		}
	}
	for name := range c.timers {
		c.stopTimer(name)
	}
	// Parties the machine no longer counts but that are still up are
	// hung up, so nothing is left behind.
	keep := map[ari.ChannelID]bool{}
	for _, p := range f.Parties {
		keep[ari.ChannelID(p)] = true
	}
	for _, id := range c.order {
		l := c.legs[id]
		if !l.gone && !keep[id] {
			c.log.Info().Str(keyChannelID, string(id)).Msg("leg not part of the call after the transfer; hanging up")
			c.hangup(ctx, id, "normal")
		}
	}
	c.watchRinging(ctx, done.Opts)
	c.settle(ctx)
	c.endIfEmpty(ctx)
}

// watchRinging looks after a leg a finished transfer left ringing (the
// transferee hung up while the target rang, or three-way before the target
// answered): it still gets no more than the no-answer timeout, and a party
// left alone with it hears ringback meanwhile.
func (c *Call) watchRinging(ctx context.Context, o transfer.Options) {
	var ringing, up []*leg
	for _, id := range c.order {
		switch l := c.legs[id]; {
		case l.gone:
		case l.answered:
			up = append(up, l)
		case l.ending || l.mustEnd:
			// Being hung up (the transfer let it go): it rings for nobody.
		default:
			ringing = append(ringing, l)
		}
	}
	if len(ringing) == 0 {
		return
	}
	timeout := o.NoAnswerTimeout
	if timeout <= 0 {
		timeout = c.acct.cfg.Transfer.NoAnswerTimeout
	}
	for _, l := range ringing {
		id := l.id
		t := time.AfterFunc(timeout, func() { c.post(ringExpiry{leg: id}) })
		c.timers["ring:"+string(id)] = t
	}
	if len(up) == 1 && o.Ringback != "" {
		pb := ari.PlaybackID(fmt.Sprintf("%s-ringback-%d", c.id, c.app.nextID()))
		c.ringbacks[pb] = true
		if _, err := c.app.client.Channels.Play(ctx, up[0].id, ari.PlayParams{Media: []string{o.Ringback}, PlaybackID: pb}); err != nil {
			c.log.Debug().Err(err).Msg("ringback")
		}
	}
}

// inTransfer says whether the open transfer concerns this channel.
func (c *Call) inTransfer(id ari.ChannelID) bool {
	if c.xfer == nil {
		return false
	}
	t, ch := c.xfer, string(id)
	return ch != "" && (ch == t.Transferor || ch == t.Transferee || ch == t.Target || ch == t.Recall || ch == t.FallbackLeg)
}
