package app

import (
	"context"
	"time"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/transfer"
)

// Pipelining. A step's effects run in order, each request waiting for the
// one before: at a transfer's start that was the billing marks, the
// write-ahead, the hold bridge, the move, the music and only then the
// target's channel, so the target rang some seven round trips after the
// code. Requests that do not depend on each other are now sent together
// and their answers taken in the order their effects come, so what the
// state machine learns (an EffectFailed, in effect order) is unchanged:
//   - the billing marks of a transfer's start go out with its write-ahead;
//   - the create request of a step's Dial goes out with the step's first
//     effect, so the target's channel is made while the transferee is put
//     on hold; and its dial follows on the same goroutine as soon as the
//     create is answered, the write-ahead written and the transferee out
//     of the call bridge (holdGate), instead of waiting for the leg's
//     StasisStart to reach the call goroutine behind the hold's music and
//     the ringback (a trace at load 12 had the StasisStart 4 ms after the
//     code and the dial 14 ms after it).

// inflight is a request running on its own goroutine; the call goroutine
// takes its answer later with wait.
type inflight struct {
	done chan struct{}
	err  error
	// early is what a create sent ahead did after its answer (createAhead).
	early *earlyDial
}

// earlyDial is a dial sent right after its leg's create answered.
type earlyDial struct {
	channel *ari.Channel // the create's answer
	tried   bool         // the dial was sent
	err     error        // its answer
}

// goRequest runs f on a new goroutine. f must not touch the call's state:
// only the ARI client and the logger.
func goRequest(f func() error) *inflight {
	r := &inflight{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = f()
	}()
	return r
}

func (r *inflight) wait() error {
	<-r.done
	return r.err
}

// awaitMarks waits for billing marks sent ahead (markStart): they must be
// on the parties before the step's effects move them.
func (c *Call) awaitMarks() {
	if c.marking != nil {
		_ = c.marking.wait()
		c.marking = nil
	}
}

// sendAhead sends the create requests of the step's Dial effects now, before
// the effects ahead of them run and beside the step's write-ahead (written,
// nil if none). Only effects that do not change what a dial is (its party,
// its variables) may stand before it: the scan stops at the first that
// could (a hangup, a finish), and a Dial after it runs in turn, as before.
// exec takes the answer when it reaches the Dial. The gate it returns
// (nil if none) holds the early dials until apply opens it (holdGate).
func (c *Call) sendAhead(ctx context.Context, effects []transfer.Effect, written *inflight) (gate *holdGate) {
	if c.app.ariDown.Load() {
		return nil
	}
	for i, eff := range effects {
		switch e := eff.(type) {
		case transfer.CreateBridge, transfer.Move, transfer.StartMOH, transfer.StopMOH,
			transfer.StartRingback, transfer.StopPlayback, transfer.Play, transfer.StartTimer, transfer.StopTimer:
			continue
		case transfer.Dial:
			if i == 0 && written == nil {
				continue // nothing to overlap with
			}
			id := ari.ChannelID(e.Channel)
			if c.legs[id] != nil {
				continue // exec decides what an existing leg means
			}
			l := dialLeg(e)
			if err := c.prepareDial(l, "", c.dialCaller(), 0); err != nil {
				continue // exec meets the same error in turn
			}
			if c.creating == nil {
				c.creating = map[ari.ChannelID]*inflight{}
			}
			if gate == nil {
				gate = newHoldGate(c.xfer, effects[:i])
			}
			c.creating[id] = c.createAhead(ctx, l, written, c.marking, gate.wait())
			continue
		}
		return gate
	}
	return gate
}

// holdGate holds a transfer start's early dial until the transferee has
// left the call bridge for the hold bridge. The dial must not reach
// Asterisk before: Asterisk's CDR engine keeps the transferor's record with
// him open, as talk, until she hangs up when she dials while he is still in
// her bridge (issue 12's billing test caught it: Alice and Bob billed 6.2 s
// for 3.2 s of talk). apply opens it when the move is answered (or not
// sent), and at the latest when the step ends.
type holdGate struct {
	move transfer.Move
	r    *inflight
}

// newHoldGate returns the gate for the first move into t's hold bridge
// among the effects before a Dial, nil if there is none.
func newHoldGate(t *transfer.Transfer, before []transfer.Effect) *holdGate {
	for _, eff := range before {
		if m, ok := eff.(transfer.Move); ok && t != nil && m.Bridge == t.HoldBridge {
			return &holdGate{move: m, r: &inflight{done: make(chan struct{})}}
		}
	}
	return nil
}

// wait is what an early dial waits for (nil: nothing).
func (g *holdGate) wait() *inflight {
	if g == nil {
		return nil
	}
	return g.r
}

// openAfter opens the gate once eff, its move, has been carried out or
// skipped; open opens it whatever came.
func (g *holdGate) openAfter(eff transfer.Effect) {
	if m, ok := eff.(transfer.Move); ok && g != nil && m == g.move {
		g.open()
	}
}

func (g *holdGate) open() {
	if g != nil && g.r != nil {
		close(g.r.done)
		g.r = nil
	}
}

// createAhead creates a pending leg and dials it on a goroutine of its own.
// The dial needs the leg in Stasis, which Asterisk does on a thread of its
// own after answering the create: a dial that comes too early (409 not in
// Stasis) is left to placeCall, as is any other failure but a lost answer.
// A leg without a caller number of its own gets one first (fillCallerID's
// rule), so its records read right from the dial on. The dial also waits
// for the requests in first (the step's write-ahead, so nothing rings that
// a restart would not know; the billing marks, which must be on the
// transferor's CDR before she dials anyone): the create alone goes out
// beside them.
func (c *Call) createAhead(ctx context.Context, l *leg, first ...*inflight) *inflight {
	cl, log := c.app.client, c.log
	id, number, p := l.id, l.number, c.createParams(l)
	caller, timeout := l.pending.caller, int(l.pending.timeout/time.Second)
	early := &earlyDial{}
	started, forget := c.app.awaitStasis(id)
	r := goRequest(func() error {
		defer forget()
		rctx, cancel := context.WithTimeout(ctx, effectTimeout)
		defer cancel()
		ch, err := cl.Channels.Create(rctx, p)
		if err != nil {
			return err
		}
		early.channel = ch
		if _, set := p.Variables["CALLERID(num)"]; !set && ch.Caller.Number == "" && number != "" {
			if err := cl.Channels.SetVariable(rctx, id, "CALLERID(num)", number); err != nil {
				log.Debug().Err(err).Str(keyChannelID, string(id)).Msg("caller id before an early dial")
			}
		}
		for _, r := range first {
			if r != nil {
				_ = r.wait()
			}
		}
		early.tried = true
		early.err = cl.Channels.Dial(rctx, id, caller, timeout)
		if ari.IsNotInStasis(early.err) {
			// Asterisk answers the create before its own thread has put
			// the leg in Stasis: try again once the event reader has seen
			// its StasisStart, rather than leave the dial to the call
			// goroutine, busy with the step's other effects by then.
			select {
			case <-started:
				early.err = cl.Channels.Dial(rctx, id, caller, timeout)
			case <-time.After(stasisWait):
			case <-rctx.Done():
			}
		}
		return nil
	})
	r.early = early
	return r
}

// sentAhead says whether eff is a Dial whose create request is on its way:
// its answer must be taken even when the step's other requests are skipped.
func (c *Call) sentAhead(eff transfer.Effect) bool {
	d, ok := eff.(transfer.Dial)
	return ok && c.creating[ari.ChannelID(d.Channel)] != nil
}

// dialLeg is the leg a Dial effect makes.
func dialLeg(e transfer.Dial) *leg {
	return &leg{id: ari.ChannelID(e.Channel), role: roleOf(e.Role), number: e.Number, callback: e.Number}
}

// dialCaller is the party a transfer's Dial is made for (partyFor decides
// among the parties still up).
func (c *Call) dialCaller() ari.ChannelID {
	if c.xfer != nil {
		return ari.ChannelID(c.xfer.Transferor)
	}
	return ""
}

// stasisWait bounds how long an early dial refused as "not in Stasis"
// waits for its leg's StasisStart (behind NATS it may go to another
// instance): then the call places the leg as a created one.
const stasisWait = 100 * time.Millisecond

// awaitStasis returns a channel closed when the event reader sees id's
// StasisStart, and the function that stops waiting.
func (a *App) awaitStasis(id ari.ChannelID) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	a.mu.Lock()
	a.inStasis[id] = ch
	a.mu.Unlock()
	return ch, func() {
		a.mu.Lock()
		if a.inStasis[id] == ch {
			delete(a.inStasis, id)
		}
		a.mu.Unlock()
	}
}

// stasisStarted tells the early dial waiting for id, if any.
func (a *App) stasisStarted(id ari.ChannelID) {
	a.mu.Lock()
	ch := a.inStasis[id]
	delete(a.inStasis, id)
	a.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}
