package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/transfer"
)

// The phone's own Transfer key. A SIP phone transfers with a REFER. With
// PJSIP_TRANSFER_HANDLING(ari-only) on the channel, Asterisk answers it
// 202, tells the phone "100 Trying" and hands the transfer to the
// application as a ChannelTransfer event; the application tells the phone
// how it ended with POST /channels/{id}/transfer_progress (a NOTIFY).
//
//   - Blind (Refer-To is a number): transferd's own blind transfer of the
//     other party to that number, as *7<n> does. The phone is told 200
//     once the transfer started (it then hangs up, as after *7), or 603
//     when transferd refuses it (a bad number, a transfer already running).
//   - Attended (Refer-To carries Replaces: the phone's two calls, both
//     through transferd): the consultation call's far end (Carol) is moved
//     into the first call's bridge beside the other party (Bob), and both
//     of the phone's legs are released. The phone is told 200 when Carol
//     is in Bob's bridge, 603 when she cannot be.
//
// Either way the outcome is counted and published like a feature-code
// transfer's.

// Values of AccountConfig.ReferHandling.
const (
	ReferARIOnly = "ari-only" // transferd handles REFER (Asterisk 22.3+)
	ReferCore    = "core"     // Asterisk handles REFER; transferd follows the replacement channels
)

// transferHandlingVar is the dialplan function that says who handles a
// PJSIP channel's REFER.
const transferHandlingVar = "PJSIP_TRANSFER_HANDLING()"

// referVariables adds what a leg transferd dials needs so that its REFER
// comes to transferd.
func (c *Call) referVariables(dialString string, vars map[string]string) {
	if c.acct.cfg.ReferHandling == ReferARIOnly && strings.HasPrefix(dialString, "PJSIP/") {
		vars[transferHandlingVar] = ReferARIOnly
	}
}

// takeReferHandling makes the caller's REFER come to transferd. A caller
// that is not a PJSIP channel has no such function: nothing to do.
func (c *Call) takeReferHandling(ctx context.Context, ch ari.Channel) {
	if c.acct.cfg.ReferHandling != ReferARIOnly || !strings.HasPrefix(ch.Name, "PJSIP/") {
		return
	}
	if err := c.app.client.Channels.SetVariable(ctx, ch.ID, transferHandlingVar, ReferARIOnly); err != nil {
		c.log.Warn().Err(err).Str(keyChannelID, string(ch.ID)).Msg("set PJSIP_TRANSFER_HANDLING: the phone's Transfer key stays with Asterisk")
	}
}

// Messages between the two calls of an attended REFER.
type (
	// handOver asks the consultation call to give its far end (keep) to
	// the call from, in from's bridge, and to hang up the transferor's
	// consultation leg (drop).
	handOver struct {
		from *Call
		keep ari.ChannelID
		drop ari.ChannelID
		src  ari.ChannelID // the leg that sent the REFER, in from
	}
	// adopt is the consultation call's answer: keep is in from's bridge now
	// (err nil), or could not be handed over.
	adopt struct {
		src    ari.ChannelID
		keep   ari.ChannelID
		number string
		err    error
	}
)

func (c *Call) onChannelTransfer(ctx context.Context, e *ari.ChannelTransfer) {
	if e.State != "" {
		// Asterisk echoes every transfer_progress as a ChannelTransfer with
		// that state; only the REFER itself (no state) asks for a transfer.
		return
	}
	src := e.ReferredBy.SourceChannel.ID
	l := c.legs[src]
	if l == nil {
		return // the consultation call also gets the event: the first call acts
	}
	dest := e.ReferTo.RequestedDestination
	log := c.log.With().Str(keyChannelID, string(src)).Str("destination", dest.Destination).Str("replaces", dest.ProtocolID).Logger()
	if dest.ProtocolID == "" {
		log.Info().Msg("phone's blind transfer (REFER)")
		c.referBlind(ctx, l, dest.Destination)
		return
	}
	log.Info().Msg("phone's attended transfer (REFER with Replaces)")
	if err := c.referAttended(ctx, l, e); err != nil {
		log.Warn().Err(err).Msg("attended REFER refused")
		c.referProgress(ctx, src, ari.TransferDeclined)
	}
}

func (c *Call) referBlind(ctx context.Context, l *leg, number string) {
	if _, err := c.startTransfer(ctx, l, number, nil, false); err != nil {
		c.log.Warn().Err(err).Str(keyChannelID, string(l.id)).Str("target", number).Msg("blind REFER refused")
		state := ari.TransferDeclined
		if errors.Is(err, ErrInvalidTarget) {
			state = ari.TransferUnavailable
		}
		c.referProgress(ctx, l.id, state)
		return
	}
	// As *7: the transfer goes on without the transferor. The phone is
	// told first, then released.
	c.referProgress(ctx, l.id, ari.TransferAnswered)
	if c.xfer != nil {
		c.hangup(ctx, l.id, "normal")
	}
}

func (c *Call) referAttended(ctx context.Context, l *leg, e *ari.ChannelTransfer) error {
	if c.xfer != nil {
		return ErrTransferInProgress
	}
	if c.phase != phaseTalking || !l.answered {
		return ErrNotBridged
	}
	if e.ReferTo.DestinationChannel == nil || e.ReferTo.ConnectedChannel == nil {
		return errors.New("the call to replace is unknown to Asterisk (not a call through this Asterisk)")
	}
	drop, keep := e.ReferTo.DestinationChannel.ID, e.ReferTo.ConnectedChannel.ID
	other := c.app.owner(drop)
	if other == nil || other == c {
		return fmt.Errorf("the consultation call (%s) is not a call through transferd", drop)
	}
	if len(c.liveParties()) != 2 {
		return fmt.Errorf("%w: %d parties", ErrNotBridged, len(c.liveParties()))
	}
	c.referProgress(ctx, l.id, ari.TransferProgressing)
	other.post(handOver{from: c, keep: keep, drop: drop, src: l.id})
	return nil
}

// onHandOver runs in the consultation call: its far end joins the other
// call's bridge and becomes that call's leg; the transferor's leg here is
// hung up, which ends this call.
func (c *Call) onHandOver(ctx context.Context, m handOver) {
	reply := adopt{src: m.src, keep: m.keep}
	k, d := c.legs[m.keep], c.legs[m.drop]
	switch {
	case k == nil || d == nil:
		reply.err = errors.New("the consultation call does not have those legs")
	case k.gone || !k.answered:
		reply.err = errors.New("the consultation target is not up")
	case c.xfer != nil:
		reply.err = fmt.Errorf("the consultation call is itself in a transfer: %w", ErrTransferInProgress)
	}
	if reply.err == nil {
		// The far end belongs to the other call from this moment: its
		// events go there.
		c.app.claim(m.from, k.id)
		if err := c.app.client.Bridges.AddChannel(ctx, m.from.bridge, ari.AddChannelParams{Channels: []ari.ChannelID{k.id}, AbsorbDTMF: true}); err != nil {
			c.app.claim(c, k.id)
			reply.err = fmt.Errorf("move %s into %s: %w", k.id, m.from.bridge, err)
		}
	}
	if reply.err != nil {
		m.from.post(reply)
		return
	}
	reply.number = k.number
	if k.role == roleCaller {
		reply.number = k.callback
	}
	if k.digitStop != nil {
		k.digitStop()
	}
	delete(c.legs, k.id)
	for i, id := range c.order {
		if id == k.id {
			c.order = append(c.order[:i:i], c.order[i+1:]...)
			break
		}
	}
	c.log.Info().Str(keyChannelID, string(k.id)).Str("to_call", m.from.id).Msg("leg handed over by an attended REFER")
	m.from.post(reply)
	c.hangup(ctx, d.id, "normal")
}

// onAdopt runs in the first call: the consultation target is in its bridge
// now; the transferor is told and released.
func (c *Call) onAdopt(ctx context.Context, m adopt) {
	src := c.legs[m.src]
	if m.err != nil {
		c.log.Warn().Err(m.err).Str(keyChannelID, string(m.src)).Msg("attended REFER failed")
		c.referProgress(ctx, m.src, ari.TransferDeclined)
		return
	}
	nl := &leg{id: m.keep, role: roleTarget, number: m.number, callback: m.number, answered: true}
	c.addLeg(nl)
	var transferee string
	for _, p := range c.liveParties() {
		if p.id != m.src && p.id != nl.id {
			transferee = string(p.id)
		}
	}
	c.xferCount++
	x := transfer.Transfer{
		ID: fmt.Sprintf("%s-x%d", c.id, c.xferCount), State: transfer.Completed, CallBridge: string(c.bridge),
		Transferor: string(m.src), Transferee: transferee, Target: string(nl.id), Number: m.number,
		Outcome: transfer.OutcomeCompleted,
	}
	c.xferLog = c.log.With().Str(keyTransferID, x.ID).Logger()
	c.xferLog.Info().Str("transferor", string(m.src)).Str("transferee", transferee).Str("target", string(nl.id)).
		Msg("transfer finished by the phone's attended REFER")
	if h := c.app.hooks.TransferEnded; h != nil {
		h(c.acct.name, transfer.OutcomeCompleted.String(), 0)
	}
	c.lastXfer = &x
	c.referProgress(ctx, m.src, ari.TransferAnswered)
	if src != nil && !src.gone {
		c.hangup(ctx, src.id, "normal")
	}
}

// referProgress tells the phone that sent a REFER how it goes. A phone
// that hung up meanwhile has nobody to tell.
func (c *Call) referProgress(ctx context.Context, id ari.ChannelID, state string) {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.app.client.Channels.TransferProgress(pctx, id, state); err != nil && !errors.Is(err, ari.ErrNotFound) {
		c.log.Warn().Err(err).Str(keyChannelID, string(id)).Str("state", state).Msg("transfer progress to the phone")
	}
}
