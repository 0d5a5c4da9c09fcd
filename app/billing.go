package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/transfer"
)

// Billing: what transferd does so that Asterisk's CDRs and CELs say who
// talked to whom, for how long, and that a transfer happened.
//
//   - A leg transferd dials joins its bridge only when it answers (dial
//     first, join on answer): a ringing leg in a bridge would be billed as
//     talking from the moment it joined. Whoever waits hears a ringback
//     playback instead of the leg's early media.
//   - Every leg is created with an originator (the party it is for), so it
//     carries the call's linkedid from its first event, and with that
//     party's caller id, so src and dst read right.
//   - CHANNEL(accountcode) is the account's billing.accountcode.
//   - CDR(userfield) marks the legs of a transfer (transfer id, role, and
//     the outcome on the legs still up when it ends), and a user-defined CEL
//     event (TRANSFERD_START, TRANSFERD_END) is raised through a Local
//     channel side trip into billing.cel_context (dialplan/extensions_transferd.conf).

// Channel variables transferd sets on the legs it creates (documented in the
// README).
const (
	varCall     = "TRANSFERD_CALL"     // the call id
	varTransfer = "TRANSFERD_TRANSFER" // the transfer id
	varRole     = "TRANSFERD_ROLE"     // the leg's role: callee, target, recall, fallback
)

// billingState is what a call remembers of the open transfer for its
// records.
type billingState struct {
	blind   bool // the target is dialled for the transferee
	started bool // TRANSFERD_START was raised
	// startDue: TRANSFERD_START waits for the target's ringing
	// (celStartDue).
	startDue bool
	// holdEmptied: a ringing leg was to go on hold instead of the party
	// that left the hold bridge, so the bridge may have had nobody but its
	// music, which Asterisk then drops (the ARI music channel is "lonely").
	holdEmptied bool
}

// joinBridge is the bridge a dialed leg joins when it answers: the hold
// bridge when the transfer put it on hold while it rang (a swap), else the
// call bridge.
func (c *Call) joinBridge(l *leg) ari.BridgeID {
	if c.xfer != nil && c.xfer.HoldBridge != "" && c.xfer.Held == string(l.id) {
		return ari.BridgeID(c.xfer.HoldBridge)
	}
	return c.bridge
}

// joinOnAnswer adds a dialed leg that just answered to its bridge.
func (c *Call) joinOnAnswer(ctx context.Context, l *leg) {
	if c.waitedFor(l) {
		// The party waiting for this leg (the transferee of a partial or
		// blind transfer, or during a recall or fallback) sat alone in the
		// call bridge, so its CDR runs from when it started waiting. Made
		// party A, the leg carries the pair's CDR from its answer instead,
		// as native atxfer's target does: the wait is not billed as talk.
		c.setVar(ctx, l.id, "CDR_PROP(party_a)", "1")
	}
	c.startJoin(ctx, l)()
}

// startJoin sends the request that adds an answered leg to its bridge on a
// goroutine of its own, so the call can send others beside it (onAnswered:
// the ringback's stop); the returned func waits for its answer and brings
// the hold music back if the join emptied the hold bridge.
func (c *Call) startJoin(ctx context.Context, l *leg) func() {
	b, cl := c.joinBridge(l), c.app.client
	p := c.joinParams(b, l.id)
	r := goRequest(func() error {
		return cl.Bridges.AddChannel(ctx, b, p)
	})
	return func() {
		if err := r.wait(); err != nil {
			// The leg is going (its hangup events follow, and the machine
			// learns it from them) or Asterisk failed: then the leg is
			// answered and in no bridge, and whoever waited for it hears
			// nothing. The layout has it in its bridge, so a reconcile
			// pass adds it again (a leg gone meanwhile is left out).
			c.log.Warn().Err(err).Str(keyChannelID, string(l.id)).Str(keyBridgeID, string(b)).Msg("join answered leg")
			c.effectFailed(err)
			return
		}
		c.holdMusicBack(ctx, b)
	}
}

// waitedFor says whether a leg that answers meets a party that waited
// alone for it: the transfer's transferor is gone (Blond, Recalling,
// Retransfer, Fallback) and the leg joins the call bridge.
func (c *Call) waitedFor(l *leg) bool {
	if c.xfer == nil || c.joinBridge(l) != c.bridge {
		return false
	}
	a := c.legs[ari.ChannelID(c.xfer.Transferor)]
	return a == nil || a.gone
}

// deferMove says whether a Move is for a dialed leg still ringing: it is in
// no bridge yet and joins joinBridge when it answers, so the move is
// already what will happen.
func (c *Call) deferMove(m transfer.Move) bool {
	l := c.legs[ari.ChannelID(m.Channel)]
	if l == nil || !l.dialedLeg() || l.answered || l.gone {
		return false
	}
	if c.xfer != nil && m.Bridge == c.xfer.HoldBridge {
		c.bill.holdEmptied = true
	}
	return true
}

// clearForWaiter runs before a Move into the call bridge when the
// transferor leaves it: as the transfer turns blond (she hung up,
// completed, or was blind while the target rings), and as it completes
// (she hung up, or completed, while talking to the target). She is taken
// out of the bridge first. Asterisk's CDR engine pairs a party entering a
// bridge with everyone still in it, a channel that is hanging up included:
// were she still there when the transferee came back, her wait alone
// (blond) or her talk with the target (completed) would be billed as talk
// with him, or not, by the race between her hangup and the move (her
// hangup can reach the bridge a millisecond after him). Out first, the
// records are the same every time. The removal returns once she has left
// (Asterisk departs the channel before answering); an error means she was
// already out (or gone), which is what is wanted. It costs one request,
// only on these transitions.
func (c *Call) clearForWaiter(ctx context.Context, m transfer.Move) {
	t := c.xfer
	if t == nil || (t.State != transfer.Blond && t.State != transfer.Completed) || m.Channel == t.Transferor || m.Bridge != string(c.bridge) {
		return
	}
	if err := c.app.client.Bridges.RemoveChannel(ctx, c.bridge, ari.ChannelID(t.Transferor)); err != nil {
		c.log.Debug().Err(err).Str(keyChannelID, t.Transferor).Msg("transferor out of the bridge before the transferee returns")
	}
}

// holdMusicBack starts the hold bridge's music again when a party joins it
// after it may have been empty (see holdEmptied). Starting it again is
// harmless when it still plays.
func (c *Call) holdMusicBack(ctx context.Context, b ari.BridgeID) {
	if c.xfer == nil || string(b) != c.xfer.HoldBridge || !c.bill.holdEmptied {
		return
	}
	c.bill.holdEmptied = false
	if err := startHoldMusic(ctx, c.app.client, b, c.xfer.Opts.MOHClass); err != nil {
		c.log.Warn().Err(err).Str(keyBridgeID, string(b)).Msg("hold music again")
	}
}

// partyFor is the party a new leg is dialled for: its originator (linkedid)
// and the caller id it presents. The callee is dialled for the caller; an
// attended transfer's target for the transferor, a blind one's for the
// transferee (as with Asterisk's own transfers); recall and fallback legs
// for the transferee. A party that is gone cannot be an originator: the
// next one still up is used.
func (c *Call) partyFor(l *leg, caller ari.ChannelID) *leg {
	var want []ari.ChannelID
	switch {
	case l.role == roleCallee:
		want = []ari.ChannelID{caller}
	case c.xfer != nil && l.role == roleTarget && !c.bill.blind:
		want = []ari.ChannelID{ari.ChannelID(c.xfer.Transferor), ari.ChannelID(c.xfer.Transferee)}
	case c.xfer != nil:
		want = []ari.ChannelID{ari.ChannelID(c.xfer.Transferee), ari.ChannelID(c.xfer.Transferor)}
	}
	for _, id := range want {
		if p := c.legs[id]; p != nil && !p.gone {
			return p
		}
	}
	for _, p := range c.liveParties() {
		if p.id != l.id {
			return p
		}
	}
	return nil
}

// legVariables adds what a new leg carries for billing to its create-time
// variables: the account code, the call, transfer and role, and the
// transfer's mark in CDR(userfield). (The party it is for is its
// originator; Dial passes that party's identity on as the leg's connected
// line, which is what the called phone shows.)
func (c *Call) legVariables(l *leg, vars map[string]string) {
	vars[varCall] = c.id
	vars[varRole] = l.role
	if code := c.acct.cfg.Billing.AccountCode; code != "" {
		vars["CHANNEL(accountcode)"] = code
	}
	if c.xfer != nil && l.dialedLeg() {
		vars[varTransfer] = c.xfer.ID
		vars["CDR(userfield)"] = userfield(c.xfer.ID, l.role, "")
	}
}

// fillCallerID gives a new leg a caller id when its endpoint gave it none
// (a Local channel, a PJSIP endpoint without callerid): the number it
// reaches, as its CDR's src when it is party A. An endpoint's own identity
// is kept: the caller's phone shows it as the connected line.
func (c *Call) fillCallerID(ctx context.Context, l *leg, ch ari.Channel) {
	if ch.Caller.Number != "" || l.number == "" {
		return
	}
	c.setVar(ctx, l.id, "CALLERID(num)", l.number)
}

// createCallerID gives a Local channel leg its caller id with its
// creation: a Local channel never has one of its own, so fillCallerID would
// always set it, one request more on the way to the target ringing.
func (c *Call) createCallerID(l *leg, dialString string, vars map[string]string) {
	if l.number != "" && strings.HasPrefix(dialString, "Local/") {
		vars["CALLERID(num)"] = l.number
	}
}

// userfield is transferd's mark in CDR(userfield):
// transfer=<id>;role=<role>[;outcome=<outcome>].
func userfield(xfer, role, outcome string) string {
	s := "transfer=" + xfer + ";role=" + role
	if outcome != "" {
		s += ";outcome=" + outcome
	}
	return s
}

// markCaller gives the caller's leg the account code before anything is
// dialled for it (Dial passes it on to the callee as Asterisk does).
func (c *Call) markCaller(ctx context.Context, l *leg) {
	if code := c.acct.cfg.Billing.AccountCode; code != "" {
		c.setVar(ctx, l.id, "CHANNEL(accountcode)", code)
	}
}

// markStart marks the transferor before the transfer's first effect: her
// current CDR (the call being transferred) is still open then, so the mark
// lands on it. One request, on the way to putting the transferee on hold:
// the transferee needs none of his own, as the row of the call being
// transferred carries both parties' userfields (Asterisk joins party A's
// and party B's), his later rows are marked with the outcome when the
// transfer ends, and a row of his in between (back with the transferor
// after a swap) carries hers. The request goes out together with the
// start's write-ahead; the start's effects wait for it (awaitMarks).
func (c *Call) markStart(ctx context.Context, transferor *leg, blind bool) {
	c.bill = billingState{blind: blind}
	id := c.xfer.ID
	if h := c.prehold; h != nil && h.id == id {
		return // marked before the transferee was held (prehold.go)
	}
	c.marking = goRequest(func() error {
		c.setVar(ctx, transferor.id, "CDR(userfield)", userfield(id, "transferor", ""))
		return nil
	})
}

// celStart raises TRANSFERD_START once the start's effects are done (not
// before: they put the transferee on hold, which must not wait), or, for a
// transfer that ended within them, from markFinish.
func (c *Call) celStart(ctx context.Context) {
	if c.xfer == nil || c.bill.started {
		return
	}
	c.bill.started, c.bill.startDue = true, false
	kind := "attended"
	if c.bill.blind {
		kind = "blind"
	}
	t := c.xfer
	// The transferee stays in the call; the transferor of a blind transfer
	// is hung up right after this, possibly before the originate reaches
	// Asterisk (it is sent in the background).
	c.celEvent(ctx, "start", fmt.Sprintf("transfer=%s;call=%s;kind=%s;transferor=%s;transferee=%s;target=%s",
		t.ID, c.id, kind, t.Transferor, t.Transferee, t.Number), t.Transferee, t.Transferor)
}

// celStartDue raises the TRANSFERD_START that a transfer's start left
// due, once a leg of the transfer rings, answers or fails (or, in
// markFinish, when the transfer ends first). Raised at the start itself,
// its originate (a Local channel and its dialplan, milliseconds of
// Asterisk's work) landed while Asterisk created and dialled the target,
// and the target rang later by as much. It is raised after the step that
// the dial event caused, so that step's requests do not queue behind it
// either. The event's time is then the target's ringing, a few
// milliseconds after the code; its text names the same transfer.
func (c *Call) celStartDue(ctx context.Context, l *leg, dialstatus string) {
	if !c.bill.startDue || c.xfer == nil || !c.inTransfer(l.id) {
		return
	}
	switch dialstatus {
	case "", "PROCEEDING":
		return // the dial's start, or the network's "trying": not yet
	}
	c.celStart(ctx)
}

// markFinish writes the outcome on every leg of the transfer still up and
// raises TRANSFERD_END. It runs before finish hangs up the legs the
// transfer leaves out, so their records carry the outcome too.
func (c *Call) markFinish(ctx context.Context, f transfer.Finish) {
	c.celStart(ctx)
	t := c.xfer
	roles := []struct{ id, role string }{
		{t.Transferor, "transferor"}, {t.Transferee, "transferee"}, {t.Target, roleTarget},
		{t.Recall, roleRecall}, {t.FallbackLeg, roleFallback},
	}
	for _, r := range roles {
		if l := c.legs[ari.ChannelID(r.id)]; r.id != "" && l != nil && !l.gone {
			c.setVar(ctx, l.id, "CDR(userfield)", userfield(t.ID, r.role, f.Outcome.String()))
		}
	}
	// The parties the call goes on with: the others may be hung up by
	// the step's own effects.
	c.celEvent(ctx, "end", fmt.Sprintf("transfer=%s;call=%s;outcome=%s;parties=%s",
		t.ID, c.id, f.Outcome, strings.Join(f.Parties, "+")), f.Parties...)
}

func (c *Call) setVar(ctx context.Context, id ari.ChannelID, name, value string) {
	if err := c.app.client.Channels.SetVariable(ctx, id, name, value); err != nil {
		c.log.Debug().Err(err).Str(keyChannelID, string(id)).Str("variable", name).Msg("set billing variable")
	}
}

// celEvent raises the CEL user-defined event TRANSFERD_<EVENT> with extra.
// ARI cannot raise one (CELGenUserEvent is a dialplan application and
// nothing else writes USER_DEFINED), and sending a party of the call to the
// dialplan would take it out of Stasis. So transferd originates a Local
// channel into billing.cel_context, whose dialplan raises the event and
// hangs up without answering. A party of the call is its originator, so the
// event carries the call's linkedid; its CDRs are disabled. The originator
// is the first of stay still up (parties that remain in the call), else any
// live party: Asterisk refuses an originator that is already gone (400), and
// then the event is raised without one (its own linkedid; call= and
// transfer= still join it to the call) rather than lost.
func (c *Call) celEvent(ctx context.Context, event, extra string, stay ...string) {
	cctx := c.acct.cfg.Billing.CELContext
	if cctx == "" {
		return
	}
	var originator ari.ChannelID
	for _, id := range stay {
		if l := c.legs[ari.ChannelID(id)]; l != nil && !l.gone {
			originator = l.id
			break
		}
	}
	if ps := c.liveParties(); originator == "" && len(ps) > 0 {
		originator = ps[0].id
	}
	id := ari.ChannelID(fmt.Sprintf("%s-cel-%d", c.id, c.app.nextID()))
	p := ari.OriginateParams{
		Endpoint: fmt.Sprintf("Local/%s@%s/n", event, cctx),
		// Never reached: the Local channel does not answer. Originate
		// needs a place for the answered channel all the same.
		Context: cctx, Extension: event, Priority: 1,
		ChannelID: id, OtherChannelID: id + "-2", Originator: originator,
		Timeout: 5,
		Variables: map[string]string{
			"CDR_PROP(disable)":    "1",
			"_TRANSFERD_CEL_EXTRA": extra,
		},
	}
	// Sent on its own goroutine: the originate of a Local channel costs
	// Asterisk milliseconds, which the call's next event (the target's
	// StasisStart, right after TRANSFERD_START) need not wait for. The
	// events of a call are still raised in order: each waits for the one
	// before.
	prev, log := c.cel, c.log
	rctx := context.WithoutCancel(ctx) // outlives the message that raised it
	c.cel = goRequest(func() error {
		if prev != nil {
			_ = prev.wait()
		}
		rctx, cancel := context.WithTimeout(rctx, effectTimeout)
		defer cancel()
		_, err := c.app.client.Channels.Originate(rctx, p)
		if ari.StatusOf(err) == 400 && p.Originator != "" {
			log.Info().Err(err).Str("event", event).Str("originator", string(p.Originator)).Msg("CEL user event: originator gone, raised without one")
			p.Originator = ""
			_, err = c.app.client.Channels.Originate(rctx, p)
		}
		if err != nil {
			log.Warn().Err(err).Str("event", event).Str("cel_context", cctx).Msg("CEL user event (is extensions_transferd.conf included?)")
		}
		return err
	})
}
