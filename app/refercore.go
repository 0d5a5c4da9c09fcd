package app

import (
	"context"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/transfer"
)

// Transfers Asterisk does itself. Where the admin leaves PJSIP's transfer
// handling at core (refer_handling: core, or a phone that is not PJSIP),
// a phone's REFER makes Asterisk transfer the call on its own, inside
// transferd's bridges:
//
//   - Blind: a Local channel (exten@TRANSFER_CONTEXT, or the endpoint's
//     context) takes the transferor's place beside the other party; the
//     transferor's channel is out of the bridge, still in the application.
//   - Attended, both of the phone's calls through transferd: the two
//     bridges are linked by a Local channel pair, one half in each bridge,
//     each in its transferor leg's place (destination "link").
//
// The newcomers arrive as replacement channels (replace.go) and then a
// BridgeBlindTransfer or BridgeAttendedTransfer says what it was. transferd
// follows: the newcomer is the transfer target (its number is what it
// reaches), the transferor's channel, no longer in any call, is hung up
// (as Asterisk does outside Stasis), and the call records the transfer
// and its outcome like any other. Either event may come before or after
// the replacement it explains.

// coreNote is what a core transfer said about a channel before its
// replacement arrived.
type coreNote struct {
	release bool   // a transferor swapped out: hang it up once replaced
	target  bool   // a newcomer: it is now the call's transfer target
	number  string // the number the newcomer reaches ("" leaves it)
}

func (c *Call) note(id ari.ChannelID, n coreNote) {
	if c.core == nil {
		c.core = map[ari.ChannelID]coreNote{}
	}
	old := c.core[id]
	old.release = old.release || n.release
	old.target = old.target || n.target
	if n.number != "" {
		old.number = n.number
	}
	c.core[id] = old
}

// applyCoreNote runs once leg nl has taken old's place (onReplaced).
func (c *Call) applyCoreNote(ctx context.Context, old ari.ChannelID, nl *leg) {
	if n, ok := c.core[nl.id]; ok {
		delete(c.core, nl.id)
		c.retarget(nl, n)
	}
	if n, ok := c.core[old]; ok && n.release {
		delete(c.core, old)
		c.releaseTransferor(ctx, old)
	}
}

func (c *Call) retarget(l *leg, n coreNote) {
	if n.target {
		l.role = roleTarget
	}
	if n.number != "" {
		l.number, l.callback = n.number, n.number
	}
}

// releaseTransferor hangs up a transferor's channel that a core transfer
// took out of the call, unless it is (again) one of the call's legs.
func (c *Call) releaseTransferor(ctx context.Context, id ari.ChannelID) {
	if l := c.legs[id]; l != nil && !l.gone {
		// Not replaced yet: the replacement releases it (applyCoreNote).
		c.note(id, coreNote{release: true})
		return
	}
	c.log.Info().Str(keyChannelID, string(id)).Msg("transferor's channel left the call by Asterisk's transfer; hanging it up")
	c.hangup(ctx, id, "normal")
}

// place applies n to the newcomer id now, or when it arrives.
func (c *Call) place(id ari.ChannelID, n coreNote) {
	if l := c.legs[id]; l != nil {
		c.retarget(l, n)
		return
	}
	c.note(id, n)
}

func (c *Call) inMyBridge(b *ari.Bridge) bool {
	if b == nil {
		return false
	}
	return b.ID == c.bridge || c.holdBridges[b.ID]
}

func (c *Call) onBridgeBlindTransfer(ctx context.Context, e *ari.BridgeBlindTransfer) {
	if !c.inMyBridge(e.Bridge) {
		return
	}
	log := c.log.With().Str(keyChannelID, string(e.Channel.ID)).Str("exten", e.Exten).Str("result", e.Result).Logger()
	if e.Result != "Success" {
		log.Info().Msg("Asterisk's blind transfer failed; the call goes on as it was")
		return
	}
	log.Info().Msg("Asterisk's own blind transfer (REFER with core handling)")
	var target ari.ChannelID
	if e.ReplaceChannel != nil {
		target = e.ReplaceChannel.ID
		c.place(target, coreNote{target: true, number: e.Exten})
	}
	var transferee ari.ChannelID
	if e.Transferee != nil {
		transferee = e.Transferee.ID
	}
	c.recordCoreTransfer(ctx, e.Channel.ID, transferee, target, e.Exten)
	c.releaseTransferor(ctx, e.Channel.ID)
	c.publish()
}

func (c *Call) onBridgeAttendedTransfer(ctx context.Context, e *ari.BridgeAttendedTransfer) {
	first, second := c.inMyBridge(e.TransfererFirstLegBridge), c.inMyBridge(e.TransfererSecondLegBridge)
	if !first && !second {
		return
	}
	log := c.log.With().Str("transferor", string(e.TransfererFirstLeg.ID)).Str("destination", e.DestinationType).Str("result", e.Result).Logger()
	if e.Result != "Success" {
		log.Info().Msg("Asterisk's attended transfer failed; the call goes on as it was")
		return
	}
	log.Info().Bool("first_leg_here", first).Msg("Asterisk's own attended transfer (REFER with core handling)")
	num := func(ch *ari.Channel) string {
		if ch == nil {
			return ""
		}
		return ch.Caller.Number
	}
	if e.DestinationType != "link" {
		// Swapped or merged bridges: the replacement channels (if any) took
		// their places already; the reconciler judges the rest.
		log.Warn().Msg("attended transfer destination not followed beyond the replacements")
	}
	if first {
		// The call of the phone's first line (Bob's): its link half stands
		// for the target (Carol).
		var target ari.ChannelID
		if l := e.DestinationLinkFirstLeg; l != nil {
			target = l.ID
			c.place(target, coreNote{target: true, number: num(e.TransferTarget)})
		}
		var transferee ari.ChannelID
		if e.Transferee != nil {
			transferee = e.Transferee.ID
		}
		c.recordCoreTransfer(ctx, e.TransfererFirstLeg.ID, transferee, target, num(e.TransferTarget))
		c.releaseTransferor(ctx, e.TransfererFirstLeg.ID)
	}
	if second {
		// The consultation call (Carol's): its link half stands for Bob.
		if l := e.DestinationLinkSecondLeg; l != nil {
			c.place(l.ID, coreNote{number: num(e.Transferee)})
		}
		c.releaseTransferor(ctx, e.TransfererSecondLeg.ID)
	}
	c.publish()
}

// recordCoreTransfer records a transfer Asterisk did, as finished with
// outcome completed (metrics, event stream, last transfer). A transfer of
// transferd's own that was running is left to its machine: the legs it
// follows tell it what happened.
func (c *Call) recordCoreTransfer(ctx context.Context, transferor, transferee, target ari.ChannelID, number string) {
	if c.xfer != nil {
		c.log.Warn().Str(keyTransferID, c.xfer.ID).Msg("Asterisk transferred a leg during a transfer of transferd's own")
		return
	}
	x := transfer.Transfer{
		ID: c.takeXferID(ctx, false), State: transfer.Completed, CallBridge: string(c.bridge),
		Transferor: string(transferor), Transferee: string(transferee), Target: string(target), Number: number,
		Outcome: transfer.OutcomeCompleted,
	}
	c.xferLog = c.log.With().Str(keyTransferID, x.ID).Logger()
	c.xferLog.Info().Str("transferor", string(transferor)).Str("transferee", string(transferee)).Str("target", string(target)).
		Str("number", number).Msg("transfer done by Asterisk (core REFER handling)")
	if h := c.app.hooks.TransferEnded; h != nil {
		h(c.acct.name, transfer.OutcomeCompleted.String(), 0)
	}
	c.lastXfer = &x
}
