package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/transfer"
)

// snapshot is what a restarted transferd needs to carry a call on.
type snapshot struct {
	Version   uint64             `json:"v"`
	ID        string             `json:"id"`
	Account   string             `json:"account"`
	Node      string             `json:"node,omitempty"`
	Started   time.Time          `json:"started,omitzero"`
	Phase     callPhase          `json:"phase"`
	Legs      []legSnapshot      `json:"legs"`
	XferCount int                `json:"xfers"`
	Xfer      *transfer.Transfer `json:"xfer,omitempty"`
	// LastXfer is the last finished transfer, kept until the call ends so
	// the API still tells its outcome after a restart.
	LastXfer  *transfer.Transfer        `json:"last_xfer,omitempty"`
	Timers    map[string]timerSnap      `json:"timers,omitempty"`
	Ringbacks []ari.PlaybackID          `json:"ringbacks,omitempty"`
	Holds     []ari.BridgeID            `json:"holds,omitempty"`
	HangAfter map[ari.PlaybackID]string `json:"hang_after,omitempty"`

	// XferStarted is when the transfer began, so an instance that takes
	// the call over measures its duration from the code, not the takeover.
	XferStarted time.Time `json:"xfer_started,omitempty"`
	// ReferXfer is the id of the transfer a phone's attended REFER opened
	// (it waits in Checking for the consultation call's hand-over, which a
	// restart loses).
	ReferXfer string `json:"refer_xfer,omitempty"`
}

type legSnapshot struct {
	ID       ari.ChannelID `json:"id"`
	Role     string        `json:"role"`
	Number   string        `json:"number,omitempty"`
	Name     string        `json:"name,omitempty"`
	Callback string        `json:"callback,omitempty"`
	Answered bool          `json:"answered,omitempty"`
	Gone     bool          `json:"gone,omitempty"`
	// Pending: the leg is being created and dialed (a restart finds it
	// created or not, dialed or not, and carries on).
	Pending bool `json:"pending,omitempty"`
	MustEnd bool `json:"must_end,omitempty"`
}

type timerSnap struct {
	Seq      int       `json:"seq"`
	Deadline time.Time `json:"deadline"`
}

// persister writes a call's snapshots, one at a time and in order. Most
// are written in the background (the call goroutine does not wait, and a
// newer snapshot replaces one not yet written); a write-ahead waits for
// its own. After the call ends it deletes the variable, last.
type persister struct {
	mu      sync.Mutex
	pending *queued
	remove  bool
	busy    bool
	// failed: the last write failed, so the next snapshot is written even
	// if the call has not changed since.
	failed atomic.Bool

	io      sync.Mutex // held by each write, so writes never overtake each other
	written uint64     // version of the last snapshot written (under io)
	// hurry ends the wait of a background snapshot (persistDelay) at once.
	hurry chan struct{}
}

// persistDelay is how long a background snapshot waits before it is
// written, so that the changes one moment of a call brings (a leg created,
// then in Stasis, then answered; a hangup's three events; the transfer's
// end and the legs it hangs up) are written once, not once each. Only
// snapshots that are not written ahead wait: the state they add (a leg in
// Stasis, answered, gone) is what a restart reads again from Asterisk
// anyway (resumeDials, reconcile), while every step that moves, dials or
// hangs up is written before its effects, as before. A call that stops
// (the process stopping, a lost lease) or ends writes at once.
const persistDelay = 100 * time.Millisecond

// hurryPersist makes a waiting background snapshot be written now.
func (c *Call) hurryPersist() {
	select {
	case c.persister.hurry <- struct{}{}:
	default:
	}
}

// snapshot returns the call's state as it will be once effects (the
// effects of the step about to run, or nil) are carried out: the legs they
// dial, the bridges and ringbacks they start and the timers they start are
// in it, so a step that only adds is written once. What they end (a hold
// bridge, a ringback) stays listed until it is really gone: a crash before
// the destroy must leave the restored call knowing what to clean up.
func (c *Call) snapshot(effects []transfer.Effect) snapshot {
	s := snapshot{ID: c.id, Account: c.acct.name, Node: c.node, Started: c.started, Phase: c.phase, XferCount: c.xferCount,
		Timers: map[string]timerSnap{}, HangAfter: map[ari.PlaybackID]string{}}
	for _, id := range c.order {
		l := c.legs[id]
		s.Legs = append(s.Legs, legSnapshot{ID: l.id, Role: l.role, Number: l.number, Name: l.name, Callback: l.callback,
			Answered: l.answered, Gone: l.gone, Pending: l.pending != nil, MustEnd: l.mustEnd})
	}
	if c.xfer != nil {
		x := *c.xfer
		s.Xfer = &x
		s.XferStarted = c.xferStarted
		if x.ID == c.referXfer {
			s.ReferXfer = x.ID
		}
	}
	if c.lastXfer != nil {
		x := *c.lastXfer
		s.LastXfer = &x
	}
	for name, d := range c.deadlines {
		s.Timers[name] = d
	}
	for id := range c.ringbacks {
		if h := c.prehold; h != nil && id == h.toneID {
			// The dial tone of a hold made ahead of a code: a restore
			// stops it by the next transfer's id, so it costs no write
			// (two per transfer: its start and its end).
			continue
		}
		s.Ringbacks = append(s.Ringbacks, id)
	}
	for id := range c.holdBridges {
		if h := c.prehold; h != nil && c.xfer == nil && id == h.bridge {
			// A hold made ahead of a code: a restore finds it by the next
			// transfer's id (restoreCall), so it costs no write of its own.
			continue
		}
		s.Holds = append(s.Holds, id)
	}
	for pb, ch := range c.hangAfter {
		s.HangAfter[pb] = string(ch)
	}
	now := c.stepAt
	for _, eff := range effects {
		switch e := eff.(type) {
		case transfer.StartRingback:
			s.Ringbacks = append(s.Ringbacks, ari.PlaybackID(e.PlaybackID))
		case transfer.Dial:
			if c.legs[ari.ChannelID(e.Channel)] == nil {
				s.Legs = append(s.Legs, legSnapshot{ID: ari.ChannelID(e.Channel), Role: roleOf(e.Role), Number: e.Number,
					Callback: e.Number, Pending: true})
			}
		case transfer.CreateBridge:
			if !c.holdBridges[ari.BridgeID(e.ID)] {
				s.Holds = append(s.Holds, ari.BridgeID(e.ID))
			}
		case transfer.StartTimer:
			s.Timers[e.Name] = timerSnap{Seq: e.Seq, Deadline: now.Add(e.After)}
		case transfer.StopTimer:
			delete(s.Timers, e.Name)
		}
	}
	slices.Sort(s.Ringbacks)
	slices.Sort(s.Holds)
	return s
}

// encode returns the snapshot's JSON, with its version, and whether it
// differs from the last one queued (versions aside). It encodes once, with
// the next version: the version is the JSON's first member, so what
// follows its comma is the snapshot without it.
func (c *Call) encode(s *snapshot) ([]byte, bool) {
	s.Version = c.version + 1
	body, err := json.Marshal(s)
	if err != nil {
		s.Version = 0
		c.log.Error().Err(err).Msg("encode call snapshot")
		return nil, false
	}
	rest := body[bytes.IndexByte(body, ',')+1:]
	if bytes.Equal(rest, c.lastSnap) && !c.persister.failed.Load() {
		s.Version = 0
		return nil, false
	}
	c.lastSnap = rest
	c.version++
	return body, true
}

// persist queues the call's snapshot for writing, if it changed.
func (c *Call) persist() {
	s := c.snapshot(nil)
	adds := c.addsSomething(&s)
	if b, changed := c.encode(&s); changed {
		c.queuePersist(&queued{version: s.Version, body: b}, false)
		if adds {
			c.hurryPersist()
		}
	}
}

// addsSomething says whether s holds something the last snapshot queued
// did not, that a restart could not read again from Asterisk: a leg,
// bridge, playback or timer (what to clean up or wait for), or any change
// of the call's phase or transfer (its state and what it recorded: a
// transfer restored one step behind can end differently, e.g. partial
// instead of completed). It remembers what s holds. Such a snapshot is
// written without persistDelay; what is left to wait are the legs' own
// flags (in Stasis, answered, gone), which restore reads again.
func (c *Call) addsSomething(s *snapshot) bool {
	now := map[string]bool{}
	if b, err := json.Marshal(struct {
		Phase     callPhase
		XferCount int
		Xfer      *transfer.Transfer
		LastXfer  *transfer.Transfer
	}{s.Phase, s.XferCount, s.Xfer, s.LastXfer}); err == nil {
		now["state "+string(b)] = true
	}
	for _, l := range s.Legs {
		now["leg "+string(l.ID)] = true
	}
	for _, id := range s.Ringbacks {
		now["playback "+string(id)] = true
	}
	for id := range s.HangAfter {
		now["playback "+string(id)] = true
	}
	for _, id := range s.Holds {
		now["bridge "+string(id)] = true
	}
	for name, t := range s.Timers {
		now[fmt.Sprintf("timer %s %d %d", name, t.Seq, t.Deadline.UnixNano())] = true
	}
	adds := c.listed == nil
	for k := range now {
		if !c.listed[k] {
			adds = true
			break
		}
	}
	c.listed = now
	return adds
}

// writeAheadTimeout bounds how long a step waits for its snapshot.
const writeAheadTimeout = 3 * time.Second

// writeAhead makes the snapshot of the state a step leads to durable before
// the step's effects run: a crash between the two is then recovered by
// reconciling towards the new state, never left half way. Only steps that
// move parties, dial or hang up, or end the transfer are written ahead (one
// write per step that matters); the rest are persisted in the background.
//
// The write runs on its own goroutine (nil: nothing to write): apply waits
// for it before the step's effects, but the create of a leg the step dials
// goes out beside it (sendAhead), so the target's channel is made while the
// snapshot is written; its dial still waits for the write, so nothing rings
// that the snapshot does not name. A crash between the create and the
// write leaves a channel that was never dialled and that the restored
// snapshot does not name: restore hangs it up (dropUnwritten).
func (c *Call) writeAhead(effects []transfer.Effect) *inflight {
	if !movesSomething(effects) {
		return nil
	}
	s := c.snapshot(effects)
	c.addsSomething(&s)
	b, changed := c.encode(&s)
	if !changed {
		return nil
	}
	q := &queued{version: s.Version, body: b}
	if c.app.ariDown.Load() && c.app.storeOnARI {
		// The store is Asterisk itself and it does not answer: the write
		// would only add its timeout to the step. The background writer
		// keeps trying.
		c.queuePersist(q, false)
		return nil
	}
	log := c.log
	return goRequest(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), writeAheadTimeout)
		defer cancel()
		if err := c.write(ctx, q); err != nil {
			log.Warn().Err(err).Msg("write-ahead of the call snapshot failed; effects run anyway")
			c.queuePersist(q, false)
		}
		return nil
	})
}

func movesSomething(effects []transfer.Effect) bool {
	for _, eff := range effects {
		switch eff.(type) {
		case transfer.Dial, transfer.Move, transfer.CreateBridge, transfer.DestroyBridge,
			transfer.Hangup, transfer.PlayThenHangup, transfer.Finish:
			return true
		}
	}
	return false
}

// queued is an encoded snapshot waiting to be written.
type queued struct {
	version uint64
	body    []byte
}

// write saves q now, unless a newer snapshot was written already.
func (c *Call) write(ctx context.Context, q *queued) error {
	p := &c.persister
	p.io.Lock()
	defer p.io.Unlock()
	if q.version <= p.written {
		return nil
	}
	if !c.app.leaseConfirmed(c.id) {
		// A background write that outlived a pause: the call is being
		// fenced (ownership.go), and the store may hold the new owner's
		// snapshot by now.
		return errLeaseNotConfirmed
	}
	if err := c.app.store.Save(ctx, c.id, q.body); err != nil {
		p.failed.Store(true)
		return err
	}
	p.failed.Store(false)
	p.written = q.version
	return nil
}

// unpersist queues the deletion of the call's snapshot.
func (c *Call) unpersist() {
	c.queuePersist(nil, true)
	c.hurryPersist()
}

func (c *Call) queuePersist(q *queued, remove bool) {
	p := &c.persister
	p.mu.Lock()
	p.pending, p.remove = q, remove
	start := !p.busy
	p.busy = true
	p.mu.Unlock()
	if start {
		go c.flush(!remove)
	}
}

// flush writes the queued snapshots; wait: after persistDelay (or a hurry).
// What is queued while a write runs waits persistDelay again, unless
// hurried: a call's moments come in bursts (its callee dialled, then in
// Stasis 1 ms later, then answered), and a writer that went straight on
// wrote each of them.
func (c *Call) flush(wait bool) {
	p := &c.persister
	for first := true; ; first = false {
		if wait || !first {
			t := time.NewTimer(persistDelay)
			select {
			case <-t.C:
			case <-p.hurry:
				t.Stop()
			}
		}
		p.mu.Lock()
		q, remove := p.pending, p.remove
		p.pending, p.remove = nil, false
		if q == nil && !remove {
			p.busy = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		if remove {
			// Snapshot first, lease second: a snapshot without a lease
			// looks like an orphan to the other instances.
			p.io.Lock()
			p.written = ^uint64(0) // nothing may be written after the deletion
			err = c.app.store.Delete(ctx, c.id)
			p.io.Unlock()
			if own := c.app.own; own != nil && err == nil {
				err = own.Release(ctx, c.id)
				c.app.forgetLease(c.id)
			}
		} else {
			err = c.write(ctx, q)
		}
		cancel()
		if err != nil {
			c.log.Warn().Err(err).Bool("delete", remove).Msg("persist call snapshot")
		}
	}
}

// reconcile finds the channels still in the application that no live
// call owns, reads their snapshots and carries their calls on. It also
// asks every live call to check its legs against Asterisk (events may have
// been missed while the stream was down).
func (a *App) reconcile(ctx context.Context) {
	a.postAll(resync{})

	appInfo, err := a.client.Applications.Get(ctx, a.cfg.ARI.App)
	if err != nil {
		a.log.Warn().Err(err).Msg("reconcile: read application")
		return
	}
	present := map[ari.ChannelID]bool{}
	for _, id := range appInfo.ChannelIDs {
		present[ari.ChannelID(id)] = true
	}
	ids, err := a.store.List(ctx)
	if err != nil {
		a.log.Warn().Err(err).Msg("reconcile: list call snapshots")
	}
	for _, id := range ids {
		if a.Call(id) != nil {
			continue
		}
		if a.own != nil {
			// Shared store: only calls nobody holds are this instance's
			// to restore.
			start := time.Now()
			if ok, err := a.own.Claim(ctx, id); err != nil || !ok {
				continue
			}
			a.leaseRenewed(id, start)
		}
		raw, err := a.store.Load(ctx, id)
		if err != nil {
			a.log.Warn().Err(err).Str(keyCallID, id).Msg("reconcile: call in the index without a snapshot")
			continue
		}
		var s snapshot
		if err := json.Unmarshal(raw, &s); err != nil {
			a.log.Warn().Err(err).Str(keyCallID, id).Msg("reconcile: unreadable snapshot")
			continue
		}
		if err := a.restoreCall(ctx, s, appInfo.ChannelIDs); err != nil {
			a.log.Error().Err(err).Str(keyCallID, s.ID).Msg("reconcile: call not restored")
			_ = a.store.Delete(ctx, id)
		}
	}
	// A channel in the application that no call owns entered while nobody
	// listened, or lost its snapshot: nobody can carry it. A channel whose
	// StasisStart is still on its way looks the same for a moment, so the
	// verdict waits a grace period. With several instances, such channels
	// may be other instances' calls: leave them alone.
	if a.own != nil {
		return
	}
	select {
	case <-time.After(orphanGrace):
	case <-ctx.Done():
		return
	}
	for ch := range present {
		if a.owner(ch) != nil {
			continue
		}
		a.log.Warn().Str(keyChannelID, string(ch)).Msg("reconcile: channel in the application without a call; hanging up")
		if err := a.client.Channels.Hangup(ctx, ch, "normal"); err != nil && !errors.Is(err, ari.ErrNotFound) {
			a.log.Warn().Err(err).Str(keyChannelID, string(ch)).Msg("reconcile: hangup")
		}
	}
}

// orphanGrace is how long reconcile waits before hanging up a channel no
// call owns.
const orphanGrace = 3 * time.Second

// restoreCall rebuilds a call from its snapshot and starts its goroutine.
// inApp lists the channels in the application, read before the restore
// (dropUnwritten looks there for legs the snapshot does not name).
func (a *App) restoreCall(ctx context.Context, s snapshot, inApp []ari.ChannelID) error {
	acct, ok := a.accounts[s.Account]
	if !ok {
		return fmt.Errorf("account %q is no longer configured", s.Account)
	}
	c := newCall(a, acct, s.ID)
	c.version = s.Version
	c.node = s.Node
	c.started = s.Started
	c.phase = s.Phase
	c.xferCount = s.XferCount
	for _, ls := range s.Legs {
		l := &leg{id: ls.ID, role: ls.Role, number: ls.Number, name: ls.Name, callback: ls.Callback, answered: ls.Answered, gone: ls.Gone,
			mustEnd: ls.MustEnd}
		if ls.Pending {
			// As dial left it: a transfer leg is dialed outside any bridge
			// (it joins on answer, billing.go); the callee is dialed alone,
			// for the caller, with the account's dial timeout.
			l.pending = &pendingDial{}
			if s.Xfer != nil {
				l.pending.caller = ari.ChannelID(s.Xfer.Transferor)
			}
			if ls.Role == roleCallee {
				l.pending = &pendingDial{timeout: acct.cfg.DialTimeout}
				if len(s.Legs) > 0 && s.Legs[0].Role == roleCaller {
					l.pending.caller = s.Legs[0].ID
				}
			}
		}
		c.addLeg(l)
	}
	for _, id := range s.Ringbacks {
		c.ringbacks[id] = true
	}
	for _, id := range s.Holds {
		c.holdBridges[id] = true
		// Whether its music plays cannot be read: start it again (harmless
		// when it plays).
		c.sync.music[id] = true
		a.claimBridge(c, id)
	}
	if s.Xfer == nil && s.Phase == phaseTalking {
		// A hold made ahead of a transfer code (prehold.go) whose bridge
		// the last snapshot written may not name: the restored call has no
		// hold, so reconcile moves the party back and destroys the bridge
		// if it is there.
		next := c.xferID(c.xferCount + 1)
		id := ari.BridgeID(transfer.HoldBridgeOf(next))
		if !c.holdBridges[id] {
			c.holdBridges[id] = true
			a.claimBridge(c, id)
		}
		// And its dial tone, which reconcile stops (404 when none plays).
		if c.acct.cfg.Transfer.DialTone != "" {
			c.ringbacks[dialToneID(next)] = true
		}
	}
	if s.LastXfer != nil {
		x := *s.LastXfer
		c.lastXfer = &x
	}
	for pb, ch := range s.HangAfter {
		c.hangAfter[pb] = ari.ChannelID(ch)
	}
	if s.Xfer != nil {
		x := *s.Xfer
		c.xfer = &x
		c.xferStarted = s.XferStarted
		if c.xferStarted.IsZero() { // a snapshot from before xfer_started
			c.xferStarted = time.Now()
		}
		c.xferLog = c.log.With().Str(keyTransferID, x.ID).Logger()
		c.referXfer = s.ReferXfer
	}
	a.mu.Lock()
	if _, dup := a.calls[c.id]; dup {
		a.mu.Unlock()
		return nil
	}
	a.calls[c.id] = c
	a.mu.Unlock()
	a.follow(ctx, c, s)
	c.log.Info().Int("legs", len(s.Legs)).Bool("transfer", s.Xfer != nil).Msg("call restored")
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		c.run(ctx, callStart{}, func(ctx context.Context) {
			for name, t := range s.Timers {
				c.armTimer(name, t.Seq, time.Until(t.Deadline))
			}
			c.dropUnwritten(ctx, inApp)
			if c.xfer == nil && c.phase == phaseTalking {
				// The next transfer's id may be the one a hold made ahead
				// of a code had (prehold.go): reconcile destroys that
				// bridge below, and Asterisk keeps a destroyed bridge's id
				// a while (a create with it answers 409, a move into it
				// 404). The next transfer takes a new id.
				c.xferCount++
			}
			c.resumeDials(ctx)
			c.resumeChecking(ctx)
			if c.xfer != nil && c.xfer.State.Terminal() {
				// The process stopped while the transfer's last step ran:
				// finish it (the reconcile below carries out the rest).
				x := *c.xfer
				c.finish(ctx, transfer.Finish{Outcome: x.Outcome, Bridge: x.CallBridge, Parties: transfer.Parties(x)})
			}
			_ = c.reconcile(ctx)
		})
	}()
	return nil
}

// dropUnwritten hangs up the channels of a step whose write-ahead did not
// land: a leg's create goes out beside its step's write-ahead (sendAhead),
// so a crash between the two leaves a channel in the application that the
// restored snapshot does not name. It was never dialled (the dial waits for
// the write), so nobody hears it; but it holds the id this call will give
// the leg when the step comes again. Only ids this call makes next are
// candidates: those of its open transfer, or of the transfer it would
// start next, among inApp (the application's channels).
func (c *Call) dropUnwritten(ctx context.Context, inApp []ari.ChannelID) {
	prefix := c.xferID(c.xferCount+1) + "-"
	if c.xfer != nil {
		prefix = c.xfer.ID + "-"
	}
	for _, id := range inApp {
		if !strings.HasPrefix(string(id), prefix) || c.legs[id] != nil {
			continue
		}
		c.log.Warn().Str(keyChannelID, string(id)).Msg("restore: leg created after the last snapshot was written; hanging up")
		if err := c.app.client.Channels.Hangup(ctx, id, "normal"); err != nil && !errors.Is(err, ari.ErrNotFound) {
			c.log.Warn().Err(err).Str(keyChannelID, string(id)).Msg("restore: hangup")
			continue
		}
		// Gone before the call takes its first message: Asterisk refuses a
		// create with the id of a channel that is still being destroyed.
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		for wctx.Err() == nil {
			if _, err := c.app.client.Channels.Get(wctx, id); errors.Is(err, ari.ErrNotFound) {
				break
			}
			select {
			case <-wctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
		cancel()
	}
}

// resumeDials carries on the dials a restart interrupted: a leg that was
// never created is created, one created but not dialed is dialed, and one
// already dialed is simply watched.
func (c *Call) resumeDials(ctx context.Context) {
	for _, id := range c.order {
		l := c.legs[id]
		if l.pending == nil || l.gone {
			continue
		}
		ds, err := c.acct.cfg.DialString(l.number)
		if err != nil {
			l.pending = nil
			c.onLeft(ctx, l, 0)
			continue
		}
		l.pending.dialString = ds
		ch, err := c.app.client.Channels.Get(ctx, id)
		switch {
		case errors.Is(err, ari.ErrNotFound):
			c.log.Info().Str(keyChannelID, string(id)).Msg("restore: creating a leg the restart interrupted")
			// A create still in flight may land first: a conflict then
			// means the leg exists (lostdial.go).
			l.pending.createLost = true
			if err := c.createLeg(ctx, l); err != nil {
				c.log.Warn().Err(err).Str(keyChannelID, string(id)).Msg("restore: create leg")
				c.onLeft(ctx, l, 0)
			}
		case err != nil, ch.State == "Down":
			// Dialed only once a dial still in flight (from before the
			// restart, or the previous owner's) would have landed, and if
			// the leg is still Down then: a channel dialed twice breaks
			// (lostdial.go).
			c.log.Info().Str(keyChannelID, string(id)).Msg("restore: dialing a leg the restart interrupted, unless a dial in flight lands")
			l.pending.inFlightUntil = time.Now().Add(inFlightGrace)
			c.post(placeNow{leg: id})
		default:
			l.pending = nil // dialed already
		}
	}
}

// resync is an inbox message: reconcile with Asterisk (after a reconnect,
// a restart, a takeover, or periodically).
type resync struct{}

// resumeChecking carries on a transfer the restart caught in Checking
// (nothing had moved: the transferor still talks to the transferee), which
// no event would ever move on: the availability answer it waited for was
// lost with the process. A feature code's or the API's transfer asks
// again; one a phone's attended REFER opened waited for the consultation
// call's hand-over, which is lost too, so it is cancelled (the phone's
// REFER gets no answer and the phone keeps both calls).
func (c *Call) resumeChecking(ctx context.Context) {
	if c.xfer == nil || c.xfer.State != transfer.Checking {
		return
	}
	if c.xfer.ID == c.referXfer {
		c.xferLog.Info().Msg("restore: the attended REFER's hand-over was lost with the restart; transfer cancelled")
		c.step(ctx, transfer.Pressed{Command: transfer.CommandCancel})
		return
	}
	c.xferLog.Info().Msg("restore: checking the target's availability again")
	c.step(ctx, transfer.AvailabilityChecked{Reachable: c.reachable(ctx, c.xfer.Number)})
}
