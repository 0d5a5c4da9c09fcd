package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/transferd/transferd/app/featurecode"
	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/transfer"
)

// The hold before the number. Asterisk's atxfer puts the transferee on
// hold as soon as it recognises the feature code, while the transferor is
// still typing the number; transferd used to wait for the whole code, so
// between the final digit and the target's dial stood the hold bridge's
// create and the transferee's move (the dial must not reach Asterisk while
// he is still in the transferor's bridge: her CDR with him would stay open
// as talk, issue 12). Now, once the digits typed can only become a
// transfer code (featurecode's Collector.Bound: "*2" with the default
// codes), the call makes the transfer's hold bridge, marks the transferor's
// record and moves the other party in with music, under the id the
// transfer will have. When the code completes the transfer starts as
// always; its hold effects find the work done and send nothing, so only
// the write-ahead and the target's create and dial stand between the
// final digit and ringing.
//
// What the hold is not: a transfer. The call's snapshot has no transfer
// and no state machine runs; a code that is abandoned (it matches
// nothing, times out incomplete, names a refused number) or a transferor
// who hangs up puts everything back: the held party into the call bridge,
// the bridge destroyed. A restart in the middle finds the same thing from
// the snapshot (a talking call whose parties are all in its bridge):
// reconcile moves the held party back and destroys the bridge, the next
// transfer's hold bridge, which restoreCall always looks for (snapshots
// leave it out until its transfer starts).

// preHold is the hold made ahead of a transfer code. Its requests run on
// goroutines of their own (the mark beside the bridge's create, then the
// move; the music once the move is answered), so the call goes on taking digits and events: a
// call goroutine that waited for them held the code's final digit, and
// with it the target's create and dial, behind the hold's music, which a
// loaded Asterisk answers in seconds (at 14 transfers/s the benchmark's
// scripts gave up waiting for the target to ring). held and music report
// them; the call waits for them only where it needs their outcome.
type preHold struct {
	id         string // the transfer id it is made for
	bridge     ari.BridgeID
	transferor ari.ChannelID
	transferee ari.ChannelID
	class      string    // its music class
	held       *inflight // the mark, the bridge and the move; err nil: he is in it
	music      *inflight // the music, once held; err nil: it plays
	// The transferor's dial tone (transfer.dial_tone; nil: none), played
	// until her next digit.
	tone     *inflight
	toneID   ari.PlaybackID
	toneStop *inflight // its stop, once sent
}

// moved waits for the move and says whether the transferee is held.
func (h *preHold) moved() bool { return h.held.wait() == nil }

// playing waits for the music and says whether it plays.
func (h *preHold) playing() bool { return h.music.wait() == nil }

// errNotHeld is the music's outcome when the transferee was not held.
var errNotHeld = errors.New("not started: the transferee was not held")

// preHoldFor puts the other party on hold when l's digits can only become
// a code that starts a transfer. It does nothing when that is not the
// case, when a transfer or a hold is already there, or when the call is
// not two parties talking: the transfer then starts as it always did.
func (c *Call) preHoldFor(ctx context.Context, l *leg) {
	if c.prehold != nil || c.xfer != nil || c.phase != phaseTalking || c.app.ariDown.Load() || l.collector == nil {
		return
	}
	a, ok := l.collector.Bound()
	if !ok || !transfer.StartsTransfer(a.Module) {
		return
	}
	others := c.othersThan(l)
	if len(others) != 1 {
		return // the transfer would refuse
	}
	other := others[0]
	opts, err := c.transferOptions(l, a.Data)
	if err != nil || opts.CheckAvailability {
		// Refused when the code completes, or held only once the target
		// is known to be reachable.
		return
	}
	id := c.xferID(c.xferCount + 1)
	h := &preHold{id: id, bridge: ari.BridgeID(transfer.HoldBridgeOf(id)), transferor: l.id, transferee: other.id, class: opts.MOHClass}
	if h.class == "" {
		h.class = transfer.DefaultMOHClass
	}
	c.app.claimBridge(c, h.bridge)
	c.holdBridges[h.bridge] = true
	c.prehold = h
	c.log.Info().Str(keyTransferID, id).Str(keyBridgeID, string(h.bridge)).Str(keyChannelID, string(other.id)).
		Str("transferor", string(l.id)).Msg("holding the transferee while the number is typed")
	cl, log, hook := c.app.client, c.log.With().Str(keyTransferID, id).Str(keyBridgeID, string(h.bridge)).Logger(), c.app.hooks.TransfereeHeld
	decided := time.Now()
	join := c.joinParams(h.bridge, other.id)
	// The call's message ends long before these requests do; the music,
	// which waits for the move, is the last of them.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), effectTimeout)
	h.held = goRequest(func() error {
		// The transferor's mark, before anyone moves (billing.go,
		// markStart): the record of the call being transferred carries it.
		mark := goRequest(func() error {
			return cl.Channels.SetVariable(rctx, l.id, "CDR(userfield)", userfield(id, "transferor", ""))
		})
		_, err := cl.Bridges.Create(rctx, ari.BridgeParams{ID: h.bridge, Type: "holding", Name: "transferd " + id})
		if merr := mark.wait(); merr != nil {
			log.Debug().Err(merr).Msg("hold before the number: mark")
		}
		if err != nil && !errors.Is(err, ari.ErrConflict) {
			return fmt.Errorf("bridge: %w", err)
		}
		if err := cl.Bridges.AddChannel(rctx, h.bridge, join); err != nil {
			return fmt.Errorf("move: %w", err)
		}
		return nil
	})
	c.startDialTone(ctx, h)
	held := h.held
	h.music = goRequest(func() error {
		defer cancel()
		if err := held.wait(); err != nil {
			log.Warn().Err(err).Msg("hold before the number")
			return errNotHeld
		}
		if hook != nil {
			// The prefix is the code's deciding digit here (the metric's
			// "final digit" when the hold waits for the number).
			hook(time.Since(decided))
		}
		err := startHoldMusic(rctx, cl, h.bridge, h.class)
		if err != nil {
			log.Warn().Err(err).Msg("hold before the number: music")
		}
		return err
	})
}

// releasePreHold undoes a hold whose transfer code did not start a
// transfer: the held party back into the call bridge, the hold bridge
// destroyed, the transferor's mark cleared, and the transfer id it was
// made for skipped (the record of the call carries it already).
func (c *Call) releasePreHold(ctx context.Context, why string) {
	h := c.prehold
	if h == nil {
		return
	}
	c.prehold = nil
	c.xferCount++
	c.stopDialTone(h)
	if h.toneStop != nil {
		// Stopped before he comes back: while a playback holds her bridge
		// channel, Asterisk did not carry out his move back (it hung
		// until its timeout in TestScenario17HoldWhileTyping).
		_ = h.toneStop.wait()
	}
	cl := c.app.client
	log := c.log.With().Str(keyTransferID, h.id).Str(keyBridgeID, string(h.bridge)).Logger()
	// A hold that failed may have failed only to hear its answer: Asterisk
	// may hold him in the bridge (or, once it is destroyed, in none), so
	// the reconciler reads where he is and puts him back.
	failed := !h.moved()
	if !failed {
		if l, r := c.legs[h.transferee], c.legs[h.transferor]; l != nil && !l.gone && r != nil && !r.gone {
			err := cl.Bridges.AddChannel(ctx, c.bridge, ari.AddChannelParams{Channels: []ari.ChannelID{h.transferee}, AbsorbDTMF: true})
			if err != nil {
				log.Warn().Err(err).Str(keyChannelID, string(h.transferee)).Msg("hold before the number: moving back")
				failed = true
			}
		}
	}
	if h.playing() {
		if err := stopHoldMusic(ctx, cl, h.bridge, h.class); err != nil {
			log.Debug().Err(err).Msg("hold before the number: music stop")
		}
	}
	if !failed {
		if err := cl.Bridges.Destroy(ctx, h.bridge); err == nil || errors.Is(err, ari.ErrNotFound) {
			delete(c.holdBridges, h.bridge)
			delete(c.sync.music, h.bridge)
		} else {
			failed = true
		}
	}
	if l := c.legs[h.transferor]; l != nil && !l.gone {
		c.setVar(ctx, h.transferor, "CDR(userfield)", "")
	}
	log.Info().Str("why", why).Msg("hold before the number released")
	if failed {
		c.needReconcile() // the layout has the party in the call bridge and no hold bridge
	}
}

// keepPreHold decides, after a digit result, whether the hold made ahead
// of a code still stands: the code is still open and bound to a transfer,
// or it just completed as one (the transfer takes the hold over). What
// else the result says releases it.
func (c *Call) keepPreHold(ctx context.Context, l *leg, r featurecode.Result) {
	h := c.prehold
	if h == nil || h.transferor != l.id {
		return
	}
	if r.Kind == featurecode.Matched && transfer.StartsTransfer(r.Action.Module) {
		return // startTransfer takes it, or releases it when it refuses
	}
	if a, ok := l.collector.Bound(); ok && transfer.StartsTransfer(a.Module) {
		return
	}
	c.releasePreHold(ctx, "the code is not a transfer")
}

// preHeld says whether eff is already done by the hold made ahead of the
// transfer now starting: its hold bridge's create, the transferee's move
// into it, and its music when of the same class. It waits for the hold's
// requests still on their way (the move is answered long before the
// number is typed, but a loaded Asterisk can take seconds for the music).
func (c *Call) preHeld(eff transfer.Effect) bool {
	h := c.prehold
	if h == nil || c.xfer == nil || c.xfer.ID != h.id {
		return false
	}
	switch e := eff.(type) {
	case transfer.CreateBridge:
		// A hold that failed leaves the transfer to make its own (a
		// bridge already there is no error).
		return ari.BridgeID(e.ID) == h.bridge && h.moved()
	case transfer.Move:
		return ari.BridgeID(e.Bridge) == h.bridge && ari.ChannelID(e.Channel) == h.transferee && h.moved()
	case transfer.StartMOH:
		return ari.BridgeID(e.Bridge) == h.bridge && e.Class == h.class && h.playing()
	}
	return false
}

// The dial tone. Asterisk's atxfer plays a dial tone to the transferor
// while it collects the number, until her first digit; without one she
// heard silence after the prefix and could not tell that the code was
// taken. transferd plays transfer.dial_tone to her from the moment the
// prefix holds the transferee to her next digit, or to the hold's end.
// Its playback is a ringback as far as the call's bookkeeping goes
// (c.ringbacks): PlaybackFinished forgets it, a reconcile pass stops it
// (the layout of a call with no transfer has no ringback), and a restart
// stops it by its id (restoreCall: <next transfer id>-dialtone), which is
// why the snapshot leaves it out.

// dialToneID is the playback id of the dial tone played before transfer
// id's number.
func dialToneID(id string) ari.PlaybackID { return ari.PlaybackID(id + "-dialtone") }

// startDialTone plays the account's dial tone to h's transferor.
func (c *Call) startDialTone(ctx context.Context, h *preHold) {
	media := c.acct.cfg.Transfer.DialTone
	if media == "" {
		return
	}
	cl, to, held := c.app.client, h.transferor, h.held
	h.toneID = dialToneID(h.id)
	c.ringbacks[h.toneID] = true
	id := h.toneID
	rctx := context.WithoutCancel(ctx) // outlives the digit's message
	h.tone = goRequest(func() error {
		// Once he has left her bridge: a playback to a party of a
		// bridge holds her bridge channel, and Asterisk did not take him
		// out of it while the tone played (the move hung).
		if err := held.wait(); err != nil {
			return errNotHeld
		}
		rctx, cancel := context.WithTimeout(rctx, effectTimeout)
		defer cancel()
		_, err := cl.Channels.Play(rctx, to, ari.PlayParams{Media: []string{media}, PlaybackID: id})
		return err
	})
}

// stopDialTone stops h's dial tone once its start is answered (a stop
// that came first would find nothing, and the tone would then play on).
// It returns at once; h.toneStop reports. A stop that fails leaves it to
// a reconcile pass.
func (c *Call) stopDialTone(h *preHold) {
	if h == nil || h.tone == nil || h.toneStop != nil {
		return
	}
	cl, log, tone, id := c.app.client, c.log, h.tone, h.toneID
	h.toneStop = goRequest(func() error {
		if err := tone.wait(); err != nil {
			log.Debug().Err(err).Str("playback_id", string(id)).Msg("dial tone not started")
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), effectTimeout)
		defer cancel()
		err := cl.Playbacks.Stop(ctx, id)
		if err != nil && !errors.Is(err, ari.ErrNotFound) {
			log.Warn().Err(err).Str("playback_id", string(id)).Msg("dial tone stop; left to a reconcile pass")
			c.post(reconcileNow{})
			return err
		}
		return nil
	})
}
