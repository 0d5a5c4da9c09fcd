package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/app/featurecode"
	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/transfer"
)

// messageTimeout bounds the ARI requests made for one inbox message.
const messageTimeout = 20 * time.Second

// Leg roles: how a channel came into the call.
const (
	roleCaller   = "caller"   // entered the app from the dialplan
	roleCallee   = "callee"   // the destination the app dialled for the caller
	roleTarget   = "target"   // a transfer target
	roleRecall   = "recall"   // a transferor called back after a failed partial transfer
	roleFallback = "fallback" // the fallback destination of a failed partial transfer
)

// Call is one call through the app: its legs, its mixing bridge and at most
// one transfer at a time. Everything but post, Info and the immutable fields
// belongs to the call's goroutine.
type Call struct {
	id     string
	app    *App
	acct   *account
	log    zerolog.Logger
	bridge ari.BridgeID
	inbox  *inbox
	info   atomic.Pointer[CallInfo]
	// done is closed when the call's goroutine has let go of the call
	// (App.release): App.WaitCalls waits on it.
	done chan struct{}

	// Owned by the call goroutine.
	phase       callPhase
	legs        map[ari.ChannelID]*leg
	order       []ari.ChannelID
	xfer        *transfer.Transfer
	lastXfer    *transfer.Transfer
	xferLog     zerolog.Logger
	xferStarted time.Time
	referXfer   string // the id of the transfer an attended REFER opened (restore.go)
	xferCount   int
	bill        billingState
	timers      map[string]*time.Timer
	hangAfter   map[ari.PlaybackID]ari.ChannelID
	ringbacks   map[ari.PlaybackID]bool
	holdBridges map[ari.BridgeID]bool
	core        map[ari.ChannelID]coreNote // what Asterisk's own transfers said (refercore.go)
	refer       *referWatch                // a blind REFER waiting to be told (refer.go)
	deadlines   map[string]timerSnap       // running transfer timers, for snapshots
	version     uint64
	node        string // Asterisk entity id of the call's node
	// codeAt is when the last transfer code completed (or an API command
	// arrived); holdPending says the transferee has yet to reach the hold
	// bridge (for the code-to-hold latency).
	codeAt      time.Time
	holdPending bool
	prehold     *preHold                    // the transferee held while a transfer code is typed (prehold.go)
	lines       *connectedLines             // what each party's phone shows (connected.go)
	creating    map[ari.ChannelID]*inflight // create requests sent ahead of their effect (pipeline.go)
	marking     *inflight                   // billing marks sent ahead of a step's effects (pipeline.go)
	cel         *inflight                   // the last CEL user event raised (billing.go)
	persister   persister
	lastSnap    []byte           // the last snapshot queued, versions aside
	listed      map[string]bool  // what the last snapshot queued lists (addsSomething)
	queue       []transfer.Event // events waiting for the step loop (drain)
	stepping    bool             // the step loop is running
	stepAt      time.Time        // when the effects being applied were written ahead
	sync        syncState
	ended       bool
	stopped     bool      // given up without ending: see stopCall
	started     time.Time // the caller's channel creation time
}

type callPhase int

const (
	phaseDialing callPhase = iota + 1 // the callee rings
	phaseTalking                      // the call is up
)

func (p callPhase) String() string {
	switch p {
	case phaseDialing:
		return "dialing"
	case phaseTalking:
		return "talking"
	}
	return "unknown"
}

// leg is one channel of the call.
type leg struct {
	id        ari.ChannelID
	role      string
	number    string // the number that reached it (the caller's own number for the caller)
	name      string // caller id name, when Asterisk gave one (the caller's)
	callback  string // where to call it back
	answered  bool
	gone      bool
	collector *featurecode.Collector
	// ownCollector: the collector is a transfer's own (with its takeback
	// code), put back to the account's when the transfer ends.
	ownCollector bool
	pending      *pendingDial // set between create and StasisStart
	// progressed: a Dial event reported progress (ringing, busy, ...).
	progressed bool
	// mustEnd: the leg must be hung up but Asterisk did not confirm it (a
	// hangup without an answer, a create whose answer was lost); the
	// reconciler hangs it up again.
	mustEnd bool
	// ending: Asterisk accepted its hangup; its events are on their way
	// (until then it is not gone, but it rings for nobody).
	ending bool
	// dialLost: its dial got no answer, so Asterisk may or may not be
	// ringing it; the reconciler reads its state (lostdial.go).
	dialLost  time.Time
	digitGen  int
	digitStop func() bool
	cause     int        // the hangup cause, once known
	dtmf      dtmfDedupe // the last digit reported (dtmf.go)
	// reported is the caller id Asterisk reported with the channel (its
	// StasisStart), so the connected-line update needs no read of its own.
	reported *identity
}

// Messages a call's inbox carries besides ARI events.
type (
	callStart struct {
		node     string // the Asterisk the caller is on (entity id)
		caller   ari.Channel
		dest     string
		callback string
	}
	stopCall   struct{}
	timerFired struct{ transfer.TimerFired }
	// ringExpiry: a leg left ringing after a transfer did not answer in time.
	ringExpiry  struct{ leg ari.ChannelID }
	digitExpiry struct {
		leg ari.ChannelID
		gen int
	}
	// command is a request from the HTTP API, answered on reply.
	command struct {
		at      time.Time
		action  string
		channel ari.ChannelID // the party asking (the transferor)
		target  string
		data    map[string]string
		reply   chan commandResult
	}
	commandResult struct {
		info CallInfo
		err  error
	}
)

func newCall(a *App, acct *account, id string) *Call {
	c := &Call{
		id: id, app: a, acct: acct,
		bridge:      ari.BridgeID(id),
		inbox:       newInbox(),
		done:        make(chan struct{}),
		legs:        map[ari.ChannelID]*leg{},
		timers:      map[string]*time.Timer{},
		hangAfter:   map[ari.PlaybackID]ari.ChannelID{},
		ringbacks:   map[ari.PlaybackID]bool{},
		holdBridges: map[ari.BridgeID]bool{},
		deadlines:   map[string]timerSnap{},
		sync:        syncState{music: map[ari.BridgeID]bool{}},
	}
	c.persister.hurry = make(chan struct{}, 1)
	c.log = a.log.With().Str(keyCallID, id).Str(keyAccountID, acct.name).Logger()
	a.claimBridge(c, c.bridge)
	return c
}

func (c *Call) post(m any) { c.inbox.push(m) }

// run is the call's goroutine. A restored call passes restored, which
// replaces begin.
func (c *Call) run(ctx context.Context, start callStart, restored func(context.Context)) {
	if start.caller.ID != "" {
		c.node = start.node
	}
	// Every request of the call carries its node (resources it creates stay
	// on the caller's Asterisk: a transfer never mixes nodes) and its
	// dialog (a NATS proxy then routes the call's events to its owner).
	// Both are ignored by the direct HTTP transport.
	ctx = ari.WithDialog(ari.WithNode(ctx, c.node), c.id)
	if c.app.own != nil {
		// Nothing is sent for the call once its lease is not confirmed
		// (a pause in the middle of a message; ownership.go).
		ctx = ari.WithGuard(ctx, c.leaseGuard)
	}
	defer c.app.release(c)
	defer c.stopTimers()
	if h := c.app.hooks.CallStarted; h != nil {
		h()
	}
	if h := c.app.hooks.CallEnded; h != nil {
		defer h()
	}
	if restored != nil {
		restored(ctx)
	} else {
		c.begin(ctx, start)
	}
	// A call reconciles with Asterisk now and then (reconcile.go), so one
	// whose events were lost (a failed request, a gap in the stream) still
	// converges, and ends rather than living, and blocking a drain, for ever.
	check := time.NewTicker(reconcileEvery)
	defer check.Stop()
	c.publish()
	for !c.ended && !c.stopped {
		select {
		case <-ctx.Done():
			// The process is stopping: channels stay in Stasis, and the next
			// start finds them again (reconcile).
			return
		case <-check.C:
			c.post(resync{})
		case <-c.inbox.signal:
			for _, m := range c.inbox.take() {
				c.fenced() // stops a call whose lease is not confirmed (ownership.go)
				if c.ended || c.stopped {
					if cmd, ok := m.(command); ok {
						cmd.reply <- commandResult{err: ErrUnknownCall}
					}
					continue
				}
				// Bound each message's ARI work: a request Asterisk never
				// answers must not wedge the call forever.
				mctx, cancel := context.WithTimeout(ctx, messageTimeout)
				c.handle(mctx, m)
				c.watchRefer(mctx)
				c.syncConnected(mctx)
				cancel()
			}
			c.publish()
		}
	}
	if c.stopped {
		c.log.Info().Msg("call left in Stasis for another instance or the next start")
		return
	}
	c.unpersist()
	c.publish()
	c.log.Info().Msg("call ended")
}

// begin answers nothing yet: it makes the call's bridge, indicates ringing
// to the caller and dials the destination.
func (c *Call) begin(ctx context.Context, s callStart) {
	caller := &leg{id: s.caller.ID, role: roleCaller, number: s.caller.Caller.Number, name: s.caller.Caller.Name,
		callback: s.callback, collector: c.acct.matcher.NewCollector(),
		reported: &identity{name: s.caller.Caller.Name, number: s.caller.Caller.Number}}
	c.started = creationTime(s.caller.CreationTime)
	c.addLeg(caller)
	c.takeReferHandling(ctx, s.caller)
	c.phase = phaseDialing
	c.log.Info().Str("destination", s.dest).Str("caller_number", caller.number).Str("node", c.node).Msg("call started")
	if _, err := c.app.client.Bridges.Create(ctx, ari.BridgeParams{ID: c.bridge, Type: "mixing,dtmf_events", Name: "transferd " + c.id}); err != nil {
		c.log.Error().Err(err).Msg("create call bridge")
		c.hangup(ctx, caller.id, "congestion")
		return
	}
	if err := c.app.client.Channels.Ring(ctx, caller.id); err != nil {
		c.log.Debug().Err(err).Msg("ring caller")
	}
	c.markCaller(ctx, caller)
	callee := &leg{id: ari.ChannelID(c.id + "-b"), role: roleCallee, number: s.dest, callback: s.dest}
	if err := c.dial(ctx, callee, "", caller.id, c.acct.cfg.DialTimeout); err != nil {
		c.log.Warn().Err(err).Msg("dial destination")
		c.hangup(ctx, caller.id, "unallocated")
	}
}

// creationTime parses a channel's creationtime as Asterisk writes it
// ("2026-11-30T11:04:43.123+0000"); a time it cannot read is now.
func creationTime(s string) time.Time {
	if t, err := time.Parse("2006-01-02T15:04:05.000-0700", s); err == nil {
		return t.UTC()
	}
	return time.Now().UTC()
}

func (c *Call) addLeg(l *leg) {
	if l.collector == nil {
		l.collector = c.acct.matcher.NewCollector()
	}
	c.legs[l.id] = l
	c.order = append(c.order, l.id)
	c.app.claim(c, l.id)
}

// dial creates a leg in the application and, once it is there (its
// StasisStart: before that Asterisk answers 409 "not in Stasis"), dials it.
// The app then sees the progress as Dial events. A leg joins its bridge
// only when it answers (joinOnAnswer), so it is never billed while it
// rings; bridge, when set, joins it at once. The leg is created for the
// party partyFor names (its originator, caller id and Dial caller).
func (c *Call) dial(ctx context.Context, l *leg, bridge ari.BridgeID, caller ari.ChannelID, timeout time.Duration) error {
	if err := c.prepareDial(l, bridge, caller, timeout); err != nil {
		return err
	}
	return c.createLeg(ctx, l)
}

// prepareDial makes l a pending leg of the call: what dial does before
// the create request.
func (c *Call) prepareDial(l *leg, bridge ari.BridgeID, caller ari.ChannelID, timeout time.Duration) error {
	ds, err := c.acct.cfg.DialString(l.number)
	if err != nil {
		return err
	}
	party := c.partyFor(l, caller)
	if party != nil {
		caller = party.id
	}
	l.pending = &pendingDial{bridge: bridge, caller: caller, timeout: timeout, dialString: ds}
	c.addLeg(l)
	return nil
}

// createLeg creates a pending leg's channel in the application; placeCall
// joins and dials it once it is there. The party it is dialled for
// (pending.caller) is its originator.
func (c *Call) createLeg(ctx context.Context, l *leg) error {
	if f := c.creating[l.id]; f != nil {
		// Sent ahead of the step's other effects (pipeline.go).
		delete(c.creating, l.id)
		err := f.wait()
		if e := f.early; err == nil && e != nil && e.tried {
			return c.dialedEarly(l, e)
		}
		return c.created(l, err)
	}
	_, err := c.app.client.Channels.Create(ctx, c.createParams(l))
	return c.created(l, err)
}

// createParams is the request that creates a pending leg's channel.
func (c *Call) createParams(l *leg) ari.CreateParams {
	ds := l.pending.dialString
	vars := map[string]string{}
	for k, v := range c.acct.cfg.Variables {
		vars[k] = v
	}
	c.referVariables(ds, vars)
	c.legVariables(l, vars)
	c.createCallerID(l, ds, vars)
	p := ari.CreateParams{Endpoint: ds, App: c.app.cfg.ARI.App, AppArgs: "dialed," + c.id, ChannelID: l.id, Variables: vars, Originator: l.pending.caller}
	if strings.HasPrefix(ds, "Local/") {
		p.OtherChannelID = l.id + "-2"
	}
	return p
}

// created takes the answer to a leg's create request.
func (c *Call) created(l *leg, err error) error {
	ds := l.pending.dialString
	if err != nil {
		switch {
		case ari.StatusOf(err) == 0:
			// No answer (an ARI outage, a NATS restart): the channel may
			// exist all the same. Asterisk says (lostdial.go).
			c.createUnanswered(l, err)
			return nil
		case l.pending.createLost && errors.Is(err, ari.ErrConflict):
			// Created again after a lost answer (or by a restart): the
			// first create got through after all, and its dial may follow.
			c.log.Info().Str(keyChannelID, string(l.id)).Msg("the create whose answer was lost reached Asterisk")
			l.pending.inFlightUntil = time.Now().Add(inFlightGrace)
		default:
			l.gone = true
			return fmt.Errorf("create %s (%s): %w", l.id, ds, err)
		}
	}
	l.pending.createLost = false
	// The leg's StasisStart normally triggers placeCall. Behind NATS it
	// may be delivered to another instance (StasisStart goes to one
	// instance of the queue group), so do not wait for it forever.
	id := l.id
	time.AfterFunc(placeWait, func() { c.post(placeNow{leg: id}) })
	return nil
}

// dialedEarly takes a leg created and dialled ahead of its effect
// (createAhead). Dialled, it is no longer pending: its StasisStart, when it
// comes, has nothing left to do. A dial whose answer was lost is judged by
// what Asterisk has, as any (lostdial.go); one Asterisk refused (most often
// because the leg was not yet in Stasis) is placed as a created leg is.
func (c *Call) dialedEarly(l *leg, e *earlyDial) error {
	l.reported = &identity{name: e.channel.Caller.Name, number: e.channel.Caller.Number}
	switch {
	case e.err == nil:
		ds := l.pending.dialString
		l.pending = nil
		c.log.Debug().Str(keyChannelID, string(l.id)).Str("dialstring", ds).Str("role", l.role).Msg("dialing (with its create)")
		return nil
	case ari.StatusOf(e.err) == 0:
		c.dialUnanswered(l, e.err)
		return nil
	default:
		if !ari.IsNotInStasis(e.err) {
			c.log.Debug().Err(e.err).Str(keyChannelID, string(l.id)).Msg("early dial refused; dialing on its StasisStart")
		}
		return c.created(l, nil)
	}
}

// placeWait is how long dial waits for a created leg's StasisStart before
// trying to place the call anyway.
const placeWait = 250 * time.Millisecond

// placeNow asks to place a created leg's call without its StasisStart.
type placeNow struct {
	leg     ari.ChannelID
	attempt int
}

// pendingDial is what dial still has to do once the leg is in Stasis.
type pendingDial struct {
	bridge     ari.BridgeID
	caller     ari.ChannelID
	timeout    time.Duration
	dialString string
	joined     bool // already added to bridge
	started    bool // an attempt chain is running
	retryAt    int  // the attempt the scheduled retry carries
	// createLost: the create got no answer; the reconciler asks Asterisk
	// whether the channel exists (lostdial.go).
	createLost bool
	// inFlightUntil: a dial sent before a restart or takeover may still
	// land until then; the leg is dialed only if it is still Down
	// (lostdial.go).
	inFlightUntil time.Time
}

// placeCall finishes dial when the leg's StasisStart arrives (or placeWait
// passed). A leg not in Stasis yet is retried a few times.
func (c *Call) placeCall(ctx context.Context, l *leg, attempt int) {
	p := l.pending
	if p == nil {
		return // dialled already (with its create: dialedEarly)
	}
	// Exactly one chain of attempts: the first trigger (StasisStart or
	// placeWait) starts it, and only the retry it scheduled continues it.
	if (attempt == 0 && p.started) || (attempt > 0 && attempt != p.retryAt) {
		return
	}
	if c.heldForInFlight(ctx, l) {
		return
	}
	p.started = true
	p.createLost = false // placing it means it exists (its StasisStart came)
	retry := func(err error) bool {
		if !ari.IsNotInStasis(err) || attempt >= 20 {
			return false
		}
		p.retryAt = attempt + 1
		id := l.id
		time.AfterFunc(100*time.Millisecond, func() { c.post(placeNow{leg: id, attempt: attempt + 1}) })
		return true
	}
	fail := func(err error) {
		c.log.Warn().Err(err).Str(keyChannelID, string(l.id)).Msg("dial failed")
		c.hangup(ctx, l.id, "normal")
		// The hangup's events report the failure to whoever waits.
	}
	if p.bridge != "" && !p.joined {
		if err := c.app.client.Bridges.AddChannel(ctx, p.bridge, c.joinParams(p.bridge, l.id)); err != nil {
			if !retry(err) {
				fail(fmt.Errorf("add %s to %s: %w", l.id, p.bridge, err))
			}
			return
		}
		p.joined = true
	}
	if err := c.app.client.Channels.Dial(ctx, l.id, p.caller, int(p.timeout/time.Second)); err != nil {
		if ari.StatusOf(err) == 0 {
			c.dialUnanswered(l, err)
			return
		}
		if !retry(err) {
			fail(fmt.Errorf("dial %s (%s): %w", l.id, p.dialString, err))
		}
		return
	}
	l.pending = nil
	c.log.Debug().Str(keyChannelID, string(l.id)).Str("dialstring", p.dialString).Str("role", l.role).Msg("dialing")
}

// handle processes one inbox message.
func (c *Call) handle(ctx context.Context, m any) {
	switch m := m.(type) {
	case stopCall:
		// Stop without touching Asterisk or the snapshot: the process is
		// stopping, or another instance carries the call on. A snapshot
		// waiting to be written goes now (a lost lease refuses it).
		c.stopped = true
		c.hurryPersist()
	case resync, reconcileNow:
		_ = c.reconcile(ctx)
	case placeNow:
		if l := c.legs[m.leg]; l != nil && l.pending != nil && !l.gone {
			c.placeCall(ctx, l, m.attempt)
		}
	case ringExpiry:
		if l := c.legs[m.leg]; l != nil && !l.gone && !l.answered && c.xfer == nil {
			c.log.Info().Str(keyChannelID, string(l.id)).Msg("ringing leg did not answer in time")
			c.hangup(ctx, l.id, "no_answer")
		}
	case timerFired:
		if c.xfer == nil {
			return
		}
		if c.app.ariDown.Load() {
			// Not decided blind: the target may have answered meanwhile.
			// The next successful reconcile applies it.
			c.xferLog.Info().Str("timer", m.Name).Msg("timer fired while ARI is unreachable; deferred until it is back")
			c.sync.deferred = append(c.sync.deferred, m.TimerFired)
			c.needReconcile()
			return
		}
		c.step(ctx, m.TimerFired)
	case digitExpiry:
		if l := c.legs[m.leg]; l != nil && l.digitGen == m.gen && !l.gone {
			c.onDigitResult(ctx, l, l.collector.Timeout())
		}
	case replaced:
		c.onReplaced(ctx, m)
	case legGone:
		if l := c.legs[m.leg]; l != nil {
			c.onLeft(ctx, l, 0)
		}
	case goneCheck:
		c.onGoneCheck(ctx, m)
	case handOver:
		c.onHandOver(ctx, m)
	case adopt:
		c.onAdopt(ctx, m)
	case command:
		info, err := c.onCommand(ctx, m)
		m.reply <- commandResult{info: info, err: err}
	case ari.Event:
		c.onEvent(ctx, m)
	}
}

func (c *Call) onEvent(ctx context.Context, ev ari.Event) {
	switch e := ev.(type) {
	case *ari.StasisStart:
		if l := c.legs[e.Channel.ID]; l != nil && l.pending != nil && !l.gone {
			l.reported = &identity{name: e.Channel.Caller.Name, number: e.Channel.Caller.Number}
			c.fillCallerID(ctx, l, e.Channel)
			c.placeCall(ctx, l, 0)
		}
	case *ari.Dial:
		l := c.legs[e.Peer.ID]
		if l == nil {
			return
		}
		c.log.Debug().Str(keyChannelID, string(l.id)).Str("dialstatus", e.Dialstatus).Msg("dial event")
		c.dialConfirmed(l, "dial event "+e.Dialstatus)
		if e.Dialstatus != "" {
			l.progressed = true
		}
		switch e.Dialstatus {
		case "ANSWER":
			c.onAnswered(ctx, l)
		case "RINGING", "PROGRESS", "PROCEEDING", "":
			if e.Dialstatus == "RINGING" && c.xfer != nil {
				c.step(ctx, transfer.Ringing{Channel: string(l.id)})
			}
		default:
			c.onDialFailed(ctx, l, e.Dialstatus)
		}
		c.celStartDue(ctx, l, e.Dialstatus)
	case *ari.ChannelStateChange:
		// A second source of "answered", for legs whose Dial event was missed.
		if l := c.legs[e.Channel.ID]; l != nil && e.Channel.State == "Up" && l.role != roleCaller {
			c.onAnswered(ctx, l)
		}
	case *ari.ChannelHangupRequest:
		if l := c.legs[e.Channel.ID]; l != nil {
			c.onLeft(ctx, l, e.Cause)
		}
	case *ari.StasisEnd:
		// A dialed leg that never answered leaves Stasis because it is
		// being destroyed: wait for ChannelDestroyed, which carries the
		// hangup cause that says why (unallocated, busy, ...).
		if l := c.legs[e.Channel.ID]; l != nil && (l.answered || l.role == roleCaller || l.role == roleCallee) {
			c.onLeft(ctx, l, 0)
		} else if l != nil && !l.gone {
			c.onUnansweredStasisEnd(l)
		}
	case *ari.ChannelDestroyed:
		if l := c.legs[e.Channel.ID]; l != nil {
			c.onLeft(ctx, l, e.Cause)
		}
	case *ari.ChannelTransfer:
		c.onChannelTransfer(ctx, e)
	case *ari.BridgeBlindTransfer:
		c.onBridgeBlindTransfer(ctx, e)
	case *ari.BridgeAttendedTransfer:
		c.onBridgeAttendedTransfer(ctx, e)
	case *ari.ChannelDtmfReceived:
		if l := c.legs[e.Channel.ID]; l != nil {
			dup := l.dtmf.duplicate(e)
			c.log.Debug().Str(keyChannelID, string(l.id)).Str("digit", e.Digit).Int("duration_ms", e.DurationMs).
				Str("at", e.Timestamp).Bool("duplicate", dup).Msg("dtmf")
			if !dup {
				c.onDigit(ctx, l, e.Digit)
			}
		}
	case *ari.PlaybackFinished:
		if ch, ok := c.hangAfter[e.Playback.ID]; ok {
			delete(c.hangAfter, e.Playback.ID)
			c.hangup(ctx, ch, "normal")
		}
		delete(c.ringbacks, e.Playback.ID)
	}
}

func (c *Call) onAnswered(ctx context.Context, l *leg) {
	if l.answered || l.gone {
		return
	}
	l.answered = true
	switch {
	case c.phase == phaseDialing && l.role == roleCallee:
		caller := c.firstLeg(roleCaller)
		if caller == nil || caller.gone {
			c.hangup(ctx, l.id, "normal")
			return
		}
		if err := c.app.client.Channels.Answer(ctx, caller.id); err != nil {
			c.log.Warn().Err(err).Msg("answer caller")
		}
		caller.answered = true
		if err := c.app.client.Bridges.AddChannel(ctx, c.bridge, ari.AddChannelParams{Channels: []ari.ChannelID{caller.id, l.id}, AbsorbDTMF: true}); err != nil {
			if ctx.Err() != nil {
				// The process is stopping (or the message ran out of time):
				// both parties are up in Asterisk, so leave them there; the
				// next start (or the reconciler) finds the answered callee
				// and bridges them. Hanging up here would drop a good call.
				c.log.Warn().Err(err).Msg("bridge caller and callee: left for the reconciler")
				c.phase = phaseTalking // the layout puts both in the call bridge
				c.effectFailed(err)
				return
			}
			if ari.StatusOf(err) == 0 {
				// No answer (an ARI outage, a NATS restart): Asterisk may
				// have bridged them. Both are up, so the reconciler puts
				// them together; hanging up would drop a good call.
				c.log.Warn().Err(err).Msg("bridge caller and callee: no answer; left for the reconciler")
				c.phase = phaseTalking
				c.effectFailed(err)
				return
			}
			c.log.Error().Err(err).Msg("bridge caller and callee")
			c.hangup(ctx, caller.id, "normal")
			c.hangup(ctx, l.id, "normal")
			return
		}
		c.phase = phaseTalking
		c.log.Info().Str("callee", string(l.id)).Msg("call answered")
	case c.xfer != nil && c.inTransfer(l.id) && c.xfer.State == transfer.CallingTarget && !c.waitedFor(l):
		// The consultation begins: the target joins the transferor while
		// the step stops her ringback, one request beside the other
		// instead of after it (she hears neither for that moment).
		join := c.startJoin(ctx, l) // no party mark: she did not wait alone
		c.step(ctx, transfer.Answered{Channel: string(l.id)})
		join()
	case c.xfer != nil && c.inTransfer(l.id):
		c.joinOnAnswer(ctx, l)
		c.step(ctx, transfer.Answered{Channel: string(l.id)})
	default:
		// A leg left ringing by a finished transfer (the transferee hung up
		// while the target rang): the call simply goes on with it.
		c.joinOnAnswer(ctx, l)
		c.stopTimer("ring:" + string(l.id))
		c.stopRingbacks(ctx)
		c.log.Info().Str(keyChannelID, string(l.id)).Msg("leg answered")
	}
}

func (c *Call) onDialFailed(ctx context.Context, l *leg, status string) {
	if l.gone || l.answered {
		return
	}
	c.log.Info().Str(keyChannelID, string(l.id)).Str("dialstatus", status).Msg("dial failed")
	switch {
	case c.phase == phaseDialing && l.role == roleCallee:
		if caller := c.firstLeg(roleCaller); caller != nil {
			c.hangup(ctx, caller.id, hangupReason(status))
		}
	case c.xfer != nil && c.inTransfer(l.id):
		c.step(ctx, transfer.DialFailed{Channel: string(l.id), Outcome: transfer.ClassifyDial(status)})
	default:
		c.hangup(ctx, l.id, "normal")
	}
}

// hangupReason maps a dial status to the reason the caller is hung up with,
// so the caller's phone shows busy as busy.
func hangupReason(dialstatus string) string {
	switch dialstatus {
	case "BUSY":
		return "busy"
	case "NOANSWER":
		return "no_answer"
	case "CONGESTION", "CHANUNAVAIL":
		return "congestion"
	}
	return "normal"
}

func (c *Call) onLeft(ctx context.Context, l *leg, cause int) {
	if l.gone {
		// The second of ChannelHangupRequest / StasisEnd / ChannelDestroyed.
		// A leg that left Stasis first (a phone's BYE) learns its cause now.
		if cause != 0 && l.cause == 0 {
			l.cause = cause
			c.log.Info().Str(keyChannelID, string(l.id)).Str("role", l.role).Int("cause", cause).Msg("leg hung up")
		}
		return
	}
	l.gone = true
	l.cause = cause
	if l.digitStop != nil {
		l.digitStop()
	}
	ev := c.log.Info().Str(keyChannelID, string(l.id)).Str("role", l.role)
	if cause != 0 { // 0: left Stasis before Asterisk said why ("leg hung up" follows)
		ev = ev.Int("cause", cause)
	}
	ev.Msg("leg left")
	if h := c.prehold; h != nil && (h.transferor == l.id || h.transferee == l.id) {
		c.releasePreHold(ctx, "a party left") // nobody to move back: the call ends
	}
	if c.xfer != nil && c.inTransfer(l.id) {
		// The machine decides what the departure means (transfer.LeftOutcome
		// for a dialed leg that never answered).
		c.step(ctx, transfer.Left{Channel: string(l.id), Cause: cause, Unreached: l.dialedLeg() && !l.answered && !l.progressed})
	}
	if c.xfer == nil {
		c.settle(ctx)
	}
	c.endIfEmpty(ctx)
}

// settle applies the ordinary-call rule outside a transfer: a call needs two
// parties, so the last one left alone (with nobody ringing) is hung up.
func (c *Call) settle(ctx context.Context) {
	var up, ringing []*leg
	for _, id := range c.order {
		l := c.legs[id]
		switch {
		case l.gone:
		case l.answered:
			up = append(up, l)
		default:
			ringing = append(ringing, l)
		}
	}
	if c.phase == phaseDialing {
		// Caller gone before the callee answered: cancel the callee.
		if caller := c.firstLeg(roleCaller); caller != nil && caller.gone {
			for _, l := range ringing {
				c.hangup(ctx, l.id, "normal")
			}
		}
		return
	}
	if len(up) <= 1 && len(ringing) == 0 {
		for _, l := range up {
			c.hangup(ctx, l.id, "normal")
		}
	}
	if len(up) == 0 {
		for _, l := range ringing {
			c.hangup(ctx, l.id, "normal")
		}
	}
}

// endIfEmpty ends the call once every leg is gone.
func (c *Call) endIfEmpty(ctx context.Context) {
	for _, l := range c.legs {
		if !l.gone {
			return
		}
	}
	if c.xfer != nil {
		c.log.Warn().Str(keyTransferID, c.xfer.ID).Stringer("state", c.xfer.State).Msg("every leg gone while a transfer was open")
		c.xfer = nil
	}
	c.stopTimers()
	for id := range c.holdBridges {
		c.destroyBridge(ctx, id)
	}
	c.destroyBridge(ctx, c.bridge)
	c.ended = true
}

func (c *Call) destroyBridge(ctx context.Context, id ari.BridgeID) {
	err := c.app.client.Bridges.Destroy(ctx, id)
	if err != nil && !errors.Is(err, ari.ErrNotFound) {
		// One retry with a fresh deadline: a bridge must not outlive its call.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = c.app.client.Bridges.Destroy(rctx, id)
		cancel()
	}
	if err != nil && !errors.Is(err, ari.ErrNotFound) {
		c.log.Warn().Err(err).Str(keyBridgeID, string(id)).Msg("destroy bridge")
	}
}

// hangup hangs a leg up; a leg that is already gone counts as done.
func (c *Call) hangup(ctx context.Context, id ari.ChannelID, reason string) {
	err := errARIDown
	if !c.app.ariDown.Load() {
		err = c.app.client.Channels.Hangup(ctx, id, reason)
	}
	if err == nil {
		if l := c.legs[id]; l != nil {
			l.ending = true
		}
		return
	}
	if errors.Is(err, ari.ErrNotFound) {
		if l := c.legs[id]; l != nil && !l.gone {
			// Asterisk no longer knows it, so no hangup event will come.
			c.post(legGone{leg: id})
		}
		return
	}
	c.log.Warn().Err(err).Str(keyChannelID, string(id)).Msg("hangup")
	if l := c.legs[id]; l != nil {
		l.mustEnd = true
	}
	c.effectFailed(err)
}

func (c *Call) firstLeg(role string) *leg {
	for _, id := range c.order {
		if l := c.legs[id]; l.role == role {
			return l
		}
	}
	return nil
}

func (c *Call) stopRingbacks(ctx context.Context) {
	for id := range c.ringbacks {
		if err := c.app.client.Playbacks.Stop(ctx, id); err != nil && !errors.Is(err, ari.ErrNotFound) {
			c.log.Debug().Err(err).Msg("stop ringback")
		}
		delete(c.ringbacks, id)
	}
}

// armTimer starts (or restarts) a transfer timer.
func (c *Call) armTimer(name string, seq int, after time.Duration) {
	if t, ok := c.timers[name]; ok {
		t.Stop()
	}
	if after < 0 {
		after = 0
	}
	fired := transfer.TimerFired{Name: name, Seq: seq}
	c.timers[name] = time.AfterFunc(after, func() { c.post(timerFired{fired}) })
	now := c.stepAt // the instant the step's write-ahead used, so both agree
	if now.IsZero() {
		now = time.Now()
	}
	c.deadlines[name] = timerSnap{Seq: seq, Deadline: now.Add(after)}
}

func (c *Call) stopTimer(name string) {
	if t, ok := c.timers[name]; ok {
		t.Stop()
		delete(c.timers, name)
	}
	delete(c.deadlines, name)
}

func (c *Call) stopTimers() {
	if c.sync.retry != nil {
		c.sync.retry.Stop()
		c.sync.retry = nil
	}
	for name := range c.timers {
		c.stopTimer(name)
	}
	for _, l := range c.legs {
		if l.digitStop != nil {
			l.digitStop()
		}
	}
}

// dialedLeg says whether the app dialed this leg for a transfer.
func (l *leg) dialedLeg() bool {
	return l.role == roleTarget || l.role == roleRecall || l.role == roleFallback
}

// liveParties are the answered legs still present.
func (c *Call) liveParties() []*leg {
	var out []*leg
	for _, id := range c.order {
		if l := c.legs[id]; !l.gone && l.answered {
			out = append(out, l)
		}
	}
	return out
}
