package app

import (
	"context"
	"errors"
	"fmt"

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
// reconcile moves the held party back and destroys the bridge, which is
// named in the snapshot's holds, or, when the crash beat that write, is
// the next transfer's hold bridge (restoreCall looks for it).

// preHold is the hold made ahead of a transfer code.
type preHold struct {
	id         string // the transfer id it is made for
	bridge     ari.BridgeID
	transferor ari.ChannelID
	transferee ari.ChannelID
	class      string // its music class
	moved      bool   // the transferee is in the bridge
	music      bool   // its music was started
}

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
	var other *leg
	for _, p := range c.liveParties() {
		if p.id == l.id {
			continue
		}
		if other != nil {
			return // more than two parties: the transfer would refuse
		}
		other = p
	}
	if other == nil {
		return
	}
	opts, err := c.transferOptions(l, a.Data)
	if err != nil {
		return // the transfer refuses it when the code completes
	}
	id := fmt.Sprintf("%s-x%d", c.id, c.xferCount+1)
	h := &preHold{id: id, bridge: ari.BridgeID(id + "-hold"), transferor: l.id, transferee: other.id, class: opts.MOHClass}
	if h.class == "" {
		h.class = transfer.DefaultMOHClass
	}
	log := c.log.With().Str(keyTransferID, id).Str(keyBridgeID, string(h.bridge)).Logger()
	cl := c.app.client
	// The transferor's mark, before anyone moves (billing.go, markStart):
	// the record of the call being transferred carries it.
	c.setVar(ctx, l.id, "CDR(userfield)", userfield(id, "transferor", ""))
	c.app.claimBridge(c, h.bridge)
	c.holdBridges[h.bridge] = true
	if _, err := cl.Bridges.Create(ctx, ari.BridgeParams{ID: h.bridge, Type: "holding", Name: "transferd " + id}); err != nil && !errors.Is(err, ari.ErrConflict) {
		log.Warn().Err(err).Msg("hold before the number: bridge")
		c.prehold = h
		c.releasePreHold(ctx, "bridge not made")
		return
	}
	c.prehold = h
	err = cl.Bridges.AddChannel(ctx, h.bridge, ari.AddChannelParams{Channels: []ari.ChannelID{other.id}, AbsorbDTMF: true})
	if err != nil {
		log.Warn().Err(err).Str(keyChannelID, string(other.id)).Msg("hold before the number: move")
		c.releasePreHold(ctx, "move failed")
		return
	}
	h.moved = true
	if err := cl.Bridges.StartMOH(ctx, h.bridge, h.class); err != nil {
		// The reconciler starts it (layout: the held party's bridge).
		log.Warn().Err(err).Msg("hold before the number: music")
		c.sync.music[h.bridge] = true
		c.needReconcile()
	} else {
		h.music = true
	}
	log.Info().Str(keyChannelID, string(other.id)).Str("transferor", string(l.id)).Msg("transferee held before the number is complete")
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
	cl := c.app.client
	log := c.log.With().Str(keyTransferID, h.id).Str(keyBridgeID, string(h.bridge)).Logger()
	failed := false
	if h.moved {
		if l := c.legs[h.transferee]; l != nil && !l.gone {
			err := cl.Bridges.AddChannel(ctx, c.bridge, ari.AddChannelParams{Channels: []ari.ChannelID{h.transferee}, AbsorbDTMF: true})
			if err != nil {
				log.Warn().Err(err).Str(keyChannelID, string(h.transferee)).Msg("hold before the number: moving back")
				failed = true
			}
		}
	}
	if h.music {
		if err := cl.Bridges.StopMOH(ctx, h.bridge); err != nil && !errors.Is(err, ari.ErrNotFound) && !errors.Is(err, ari.ErrConflict) {
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
// into it, and its music when of the same class.
func (c *Call) preHeld(eff transfer.Effect) bool {
	h := c.prehold
	if h == nil || c.xfer == nil || c.xfer.ID != h.id {
		return false
	}
	switch e := eff.(type) {
	case transfer.CreateBridge:
		return ari.BridgeID(e.ID) == h.bridge
	case transfer.Move:
		return h.moved && ari.BridgeID(e.Bridge) == h.bridge && ari.ChannelID(e.Channel) == h.transferee
	case transfer.StartMOH:
		return h.music && ari.BridgeID(e.Bridge) == h.bridge && e.Class == h.class
	}
	return false
}
