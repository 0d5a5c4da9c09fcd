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
//   - Blind (Refer-To is a number): transferd transfers the other party to
//     that number while the phone waits on the line (told 100 Trying).
//     The target's answer completes the transfer: the phone is told 200
//     and released. A target that fails (busy, unknown, no answer) gives
//     the other party back to the phone, which is told 503 (603 for other
//     failures, and for a REFER refused at once). A phone that hangs up
//     while the target rings leaves a transfer that goes on as *7's.
//   - Attended (Refer-To carries Replaces: the phone's two calls, both
//     through transferd): the consultation call's far end (Carol) is moved
//     into the first call's bridge beside the other party (Bob), and both
//     of the phone's legs are released. The transfer is opened in the
//     machine when the REFER arrives and finished when Carol is in Bob's
//     bridge. The phone is told 200 then, 603 when she cannot be.
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
	id, err := c.startTransfer(ctx, l, number, nil, false)
	if err != nil {
		c.log.Warn().Err(err).Str(keyChannelID, string(l.id)).Str("target", number).Msg("blind REFER refused")
		state := ari.TransferDeclined
		if errors.Is(err, ErrInvalidTarget) {
			state = ari.TransferUnavailable
		}
		c.referProgress(ctx, l.id, state)
		return
	}
	// The phone waits on the line, hearing the ringback, to be told how it
	// went (watchRefer): the transfer completes as soon as the target
	// answers, and a target that fails gives the other party back to it.
	c.refer = &referWatch{src: l.id, xfer: id}
	c.referProgress(ctx, l.id, ari.TransferProgressing)
	c.watchRefer(ctx)
}

// referWatch is a blind REFER's transfer, whose phone waits to be told.
type referWatch struct {
	src  ari.ChannelID // the phone's leg
	xfer string        // the transfer's id
}

// watchRefer runs after every message of the call: a blind REFER's target
// that answered completes the transfer (the phone is told 200 and
// released); a transfer that ended otherwise is told to the phone as a
// failure (503 for a target that could not be reached or was busy, 603
// for anything else), the other party back with it by the machine.
func (c *Call) watchRefer(ctx context.Context) {
	w := c.refer
	if w == nil {
		return
	}
	if c.xfer != nil && c.xfer.ID == w.xfer {
		switch {
		case c.xfer.Transferor != string(w.src) || c.xfer.State == transfer.Blond:
			// The phone hung up first: the transfer goes on without it,
			// as *7 does; nobody is left to tell.
			c.refer = nil
		case c.xfer.State == transfer.Consulting:
			c.refer = nil
			c.referProgress(ctx, w.src, ari.TransferAnswered)
			c.step(ctx, transfer.Pressed{Command: transfer.CommandComplete})
		}
		return
	}
	c.refer = nil
	outcome := transfer.OutcomeNone
	if c.lastXfer != nil && c.lastXfer.ID == w.xfer {
		outcome = c.lastXfer.Outcome
	}
	state := ari.TransferDeclined
	switch outcome {
	case transfer.OutcomeCompleted, transfer.OutcomePartialCompleted:
		state = ari.TransferAnswered
	case transfer.OutcomeBusy, transfer.OutcomeNoAnswer, transfer.OutcomeUnavailable,
		transfer.OutcomeInvalidNumber, transfer.OutcomeCongestion:
		state = ari.TransferUnavailable
	}
	c.log.Info().Str(keyChannelID, string(w.src)).Stringer("outcome", outcome).Str("told", state).Msg("blind REFER ended")
	c.referProgress(ctx, w.src, state)
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
	parties := c.liveParties()
	if len(parties) != 2 {
		return fmt.Errorf("%w: %d parties", ErrNotBridged, len(parties))
	}
	transferee := parties[0]
	if transferee.id == l.id {
		transferee = parties[1]
	}
	c.startReferTransfer(ctx, l, transferee, e.ReferTo.ConnectedChannel.Caller.Number)
	c.referProgress(ctx, l.id, ari.TransferProgressing)
	other.post(handOver{from: c, keep: keep, drop: drop, src: l.id})
	return nil
}

// startReferTransfer opens the transfer an attended REFER does, as a
// feature code's opens one: counted from now, published (the event stream
// says transfer.started), billed. It waits in the machine's Checking
// state (nothing has moved: the transferor still talks to the
// transferee) until the consultation call hands its far end over
// (onAdopt). The machine's availability check is not run: the target is
// already up.
func (c *Call) startReferTransfer(ctx context.Context, transferor, transferee *leg, number string) {
	if number == "" {
		number = "refer" // the consultation call knows; onAdopt sets it
	}
	opts, err := c.transferOptions(transferor, nil)
	if err != nil {
		opts = transfer.Options{}
	}
	opts.CheckAvailability = true
	id := c.takeXferID(ctx, false)
	t, _ := transfer.Start(transfer.StartParams{ID: id, CallBridge: string(c.bridge),
		Transferor: string(transferor.id), Transferee: string(transferee.id), Number: number, Opts: opts})
	c.xfer = &t
	c.referXfer = id
	c.xferStarted = time.Now()
	c.xferLog = c.log.With().Str(keyTransferID, id).Logger()
	c.xferLog.Info().Str("transferor", string(transferor.id)).Str("transferee", string(transferee.id)).
		Str("target", number).Msg("transfer started by the phone's attended REFER")
	c.markStart(ctx, transferor, false)
	c.awaitMarks() // on her CDR before the hand-over moves anyone
	c.celStart(ctx)
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
// now; the transfer completes (the transferor is told and released), or,
// when the hand-over failed, ends failed with the transferor still talking
// to the transferee.
func (c *Call) onAdopt(ctx context.Context, m adopt) {
	mine := c.xfer != nil && c.xfer.Transferor == string(m.src) && c.xfer.State == transfer.Checking
	if m.err != nil {
		c.log.Warn().Err(m.err).Str(keyChannelID, string(m.src)).Msg("attended REFER failed")
		c.referProgress(ctx, m.src, ari.TransferDeclined)
		if mine {
			c.xfer.State, c.xfer.Outcome = transfer.Failed, transfer.OutcomeError
			c.finish(ctx, transfer.Finish{Outcome: transfer.OutcomeError, Bridge: string(c.bridge),
				Parties: []string{c.xfer.Transferor, c.xfer.Transferee}})
		}
		return
	}
	nl := &leg{id: m.keep, role: roleTarget, number: m.number, callback: m.number, answered: true}
	c.addLeg(nl)
	c.referProgress(ctx, m.src, ari.TransferAnswered)
	if !mine {
		// The transfer ended meanwhile (cancelled, the transferee left):
		// the target is in the bridge all the same and stays with whoever
		// is left; the transferor is released.
		c.log.Warn().Str(keyChannelID, string(nl.id)).Msg("attended REFER's target arrived after its transfer ended")
		if src := c.legs[m.src]; src != nil && !src.gone {
			c.hangup(ctx, src.id, "normal")
		}
		return
	}
	c.xfer.Target, c.xfer.Number, c.xfer.Answered = string(nl.id), m.number, true
	c.xfer.State, c.xfer.Outcome = transfer.Completed, transfer.OutcomeCompleted
	c.xferLog.Info().Str("transferor", c.xfer.Transferor).Str("transferee", c.xfer.Transferee).Str("target", string(nl.id)).
		Msg("transfer finished by the phone's attended REFER")
	// finish releases the transferor: not among the parties.
	c.finish(ctx, transfer.Finish{Outcome: transfer.OutcomeCompleted, Bridge: string(c.bridge),
		Parties: []string{c.xfer.Transferee, string(nl.id)}})
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
