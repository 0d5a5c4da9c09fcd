package app

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/transferd/transferd/ari"
)

// Ownership shares calls among transferd instances: a call belongs to the
// instance holding its lease (package cluster implements this on NATS
// JetStream). Without it (one instance), every call in the application is
// this instance's.
type Ownership interface {
	// Claim takes a call; false when another instance holds it.
	Claim(ctx context.Context, callID string) (bool, error)
	// Renew keeps this instance's leases; lost are calls another instance
	// took over (this one was presumed dead) and must be given up.
	Renew(ctx context.Context, callIDs []string) (lost []string, err error)
	// Release gives up an ended call.
	Release(ctx context.Context, callID string) error
	// Orphans lists calls with a snapshot and no live lease.
	Orphans(ctx context.Context) ([]string, error)
	LeaseTTL() time.Duration
}

// Dialogs routes a call's events to the instance that owns it (the NATS
// transport's per-call dialog subjects). A new call's dialog is joined by
// the transport itself; a call taken over is joined here, with its
// channels and bridges bound to it.
type Dialogs interface {
	Join(ctx context.Context, dialog string, channels []ari.ChannelID, bridges []ari.BridgeID) error
	Leave(dialog string)
}

// SetDialogs sets how calls taken over get their events (call before Run).
func (a *App) SetDialogs(d Dialogs) { a.dialogs = d }

// follow makes this instance receive a restored call's events.
func (a *App) follow(ctx context.Context, c *Call, s snapshot) {
	if a.dialogs == nil {
		return
	}
	var chans []ari.ChannelID
	for _, l := range s.Legs {
		if !l.Gone {
			chans = append(chans, l.ID)
		}
	}
	bridges := append([]ari.BridgeID{c.bridge}, s.Holds...)
	if err := a.dialogs.Join(ctx, c.id, chans, bridges); err != nil {
		a.log.Warn().Err(err).Str(keyCallID, c.id).Msg("follow the call's events")
	}
}

// SetOwnership makes the app share calls with other instances (call
// before Run). Store should then be shared too (the same cluster).
func (a *App) SetOwnership(o Ownership) { a.own = o }

// ownershipLoop renews this instance's leases and takes over calls whose
// owner died.
func (a *App) ownershipLoop(ctx context.Context) {
	ttl := a.own.LeaseTTL()
	renew := time.NewTicker(ttl / 3)
	defer renew.Stop()
	scan := time.NewTicker(ttl / 2)
	defer scan.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-renew.C:
			a.renewLeases(ctx)
		case <-scan.C:
			a.takeOrphans(ctx)
		}
	}
}

func (a *App) liveCallIDs() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := make([]string, 0, len(a.calls))
	for id := range a.calls {
		ids = append(ids, id)
	}
	return ids
}

func (a *App) renewLeases(ctx context.Context) {
	ttl := a.own.LeaseTTL()
	start := time.Now()
	var ids []string
	for _, id := range a.liveCallIDs() {
		// A lease not confirmed for 2/3 of its time when this renewal
		// starts (the process was paused or starved) may have lapsed, and
		// another instance may have carried the call on, ended it or handed
		// it off meanwhile: renewing now (re-creating an expired lease)
		// would take the call back with a stale view of it. Give it up
		// without writing the lease; whoever claims it once the lease has
		// lapsed (this instance too) restores it from its snapshot.
		if age := start.Sub(a.leaseFrom(id, start)); age > ttl*2/3 {
			a.giveUp(id, age)
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, ttl/2)
	defer cancel()
	lost, err := a.own.Renew(rctx, ids)
	if err != nil {
		a.log.Warn().Err(err).Msg("renew call leases")
	}
	gone := map[string]bool{}
	for _, id := range lost {
		gone[id] = true
		a.forgetLease(id)
		// Another instance carries the call now: stop without touching it.
		a.log.Warn().Str(keyCallID, id).Msg("call taken over by another instance; giving it up")
		if c := a.Call(id); c != nil {
			c.post(stopCall{})
		}
	}
	for _, id := range ids {
		switch {
		case gone[id]:
		case err == nil:
			a.leaseRenewed(id, start)
		case time.Since(a.leaseFrom(id, start)) > ttl*2/3:
			// Fencing: the lease may lapse before the next renewal can
			// land, and another instance may then take the call over. Two
			// instances must never drive one call, so this one stops
			// first, touching nothing; whoever claims the call once its
			// lease has lapsed (this instance too) restores it from its
			// snapshot and reconciles it with Asterisk.
			a.giveUp(id, time.Since(a.leaseFrom(id, start)))
		}
	}
}

// giveUp stops a call whose lease this instance could not keep confirmed
// (see renewLeases), touching nothing. Forgetting the lease fences the
// call at once: its goroutine checks the lease before each message
// (Call.fenced), so events and timers queued ahead of the stop are not
// acted on either.
func (a *App) giveUp(id string, unrenewed time.Duration) {
	a.forgetLease(id)
	a.log.Warn().Str(keyCallID, id).Dur("unrenewed", unrenewed).
		Msg("call lease not renewed in time; giving the call up before another instance takes it")
	if c := a.Call(id); c != nil {
		c.post(stopCall{})
	}
}

// leaseAge is how long ago this instance last confirmed its lease on a
// call, by the monotonic clock, which runs on while the process is paused
// (SIGSTOP, a suspended VM's guest excepted); ok is false when it holds no
// lease it knows of (never claimed, given up, lost to a takeover).
func (a *App) leaseAge(id string) (age time.Duration, ok bool) {
	a.mu.Lock()
	at, ok := a.leases[id]
	a.mu.Unlock()
	if !ok {
		return 0, false
	}
	return time.Since(at), true
}

// leaseConfirmed says whether this instance may act on a call now: always
// without ownership; with it, while its lease was confirmed within 2/3 of
// the lease time (the rest is the margin for what it does to land before
// the lease could lapse).
func (a *App) leaseConfirmed(id string) bool {
	if a.own == nil {
		return true
	}
	age, ok := a.leaseAge(id)
	return ok && age <= a.own.LeaseTTL()*2/3
}

// errLeaseNotConfirmed refuses a snapshot write of a call whose lease is
// not confirmed (leaseConfirmed).
var errLeaseNotConfirmed = errors.New("the call's lease is not confirmed: its snapshot may be another instance's now")

// leaseGuard refuses the call's ARI requests while its lease is not
// confirmed (ari.WithGuard): a pause in the middle of a message is caught
// at the next request, and the next message stops the call (fenced).
func (c *Call) leaseGuard() error {
	if !c.app.leaseConfirmed(c.id) {
		return errLeaseNotConfirmed
	}
	return nil
}

// fenced says whether the call must do nothing more here, and stops it
// then: with calls shared among instances, a call acts only while this
// instance's lease on it was confirmed within 2/3 of the lease time. A
// process woken from a pause longer than that runs the timers that fired
// and the events that arrived meanwhile before its renewal learns that
// the lease lapsed or moved to another instance: this check, made before
// every inbox message, keeps them from touching a call another instance
// may carry now. Nothing is written either (the snapshot may be the new
// owner's); whoever claims the call restores it from its snapshot.
func (c *Call) fenced() bool {
	a := c.app
	if a.own == nil || c.stopped || c.ended {
		return false
	}
	if a.leaseConfirmed(c.id) {
		return false
	}
	age, ok := a.leaseAge(c.id)
	c.stopped = true
	p := &c.persister
	p.io.Lock()
	p.written = ^uint64(0) // no snapshot of this instance's any more
	p.io.Unlock()
	a.forgetLease(c.id)
	ev := c.log.Warn()
	if ok {
		ev = ev.Dur("unrenewed", age)
	}
	ev.Msg("call lease not confirmed in time (this process was paused or starved, or lost it); giving the call up untouched")
	return true
}

// leaseRenewed records that this instance's lease on a call was written at
// the latest at 'at' (a renewal or claim that started then succeeded).
func (a *App) leaseRenewed(id string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.leases == nil {
		a.leases = map[string]time.Time{}
	}
	a.leases[id] = at
}

// leaseFrom is when this instance's lease on a call was last known
// written; def when unknown.
func (a *App) leaseFrom(id string, def time.Time) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	if at, ok := a.leases[id]; ok {
		return at
	}
	return def
}

func (a *App) forgetLease(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.leases, id)
}

// takeOrphans claims calls whose owner stopped renewing, and carries them
// on from their snapshots.
func (a *App) takeOrphans(ctx context.Context) {
	if a.draining.Load() {
		return
	}
	ids, err := a.own.Orphans(ctx)
	if err != nil {
		a.log.Warn().Err(err).Msg("look for orphaned calls")
		return
	}
	var inApp []ari.ChannelID // read once, for the first call claimed
	listed := false
	for _, id := range ids {
		if a.Call(id) != nil {
			continue
		}
		start := time.Now()
		ok, err := a.own.Claim(ctx, id)
		if err != nil || !ok {
			continue
		}
		a.leaseRenewed(id, start)
		raw, err := a.store.Load(ctx, id)
		if err != nil {
			a.log.Warn().Err(err).Str(keyCallID, id).Msg("orphaned call without a readable snapshot")
			_ = a.own.Release(ctx, id)
			continue
		}
		var s snapshot
		if err := json.Unmarshal(raw, &s); err != nil {
			a.log.Warn().Err(err).Str(keyCallID, id).Msg("orphaned call with an unreadable snapshot")
			_ = a.own.Release(ctx, id)
			continue
		}
		if !listed {
			listed = true
			if appInfo, err := a.client.Applications.Get(ctx, a.cfg.ARI.App); err != nil {
				a.log.Warn().Err(err).Msg("take over: read application for legs created after the last snapshot")
			} else {
				inApp = appInfo.ChannelIDs
			}
		}
		if err := a.restoreCall(ctx, s, inApp); err != nil {
			a.log.Error().Err(err).Str(keyCallID, id).Msg("take over call")
			_ = a.own.Release(ctx, id)
			continue
		}
		a.log.Info().Str(keyCallID, id).Dur("took", time.Since(start)).Msg("took over a call whose owner stopped")
	}
}

// claimNew takes a new call for this instance. Without ownership every
// call is ours.
func (a *App) claimNew(ctx context.Context, id ari.ChannelID) bool {
	if a.own == nil {
		return true
	}
	start := time.Now()
	ok, err := a.own.Claim(ctx, string(id))
	if err != nil {
		a.log.Warn().Err(err).Str(keyCallID, string(id)).Msg("claim new call")
		return false
	}
	if ok {
		a.leaseRenewed(string(id), start)
	}
	return ok
}

// Handoff gives every live call up to the other instances: the calls stop
// here without touching Asterisk, their snapshots stay and their leases are
// released, so another instance takes each over at once. It returns how
// many calls were handed off.
func (a *App) Handoff(ctx context.Context) int {
	if a.own == nil {
		return 0
	}
	ids := a.liveCallIDs()
	a.postAll(stopCall{})
	// Let the calls' goroutines stop before the leases go, so two instances
	// never act on a call at once.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := a.WaitCalls(wctx); err != nil {
		a.log.Warn().Int("live_calls", a.LiveCalls()).Msg("hand off: calls still stopping after 5s; their leases go anyway")
	}
	cancel()
	for _, id := range ids {
		if err := a.own.Release(ctx, id); err != nil {
			a.log.Warn().Err(err).Str(keyCallID, id).Msg("hand off call")
		}
	}
	return len(ids)
}

// ResyncSoon makes every live call check its legs against Asterisk now and
// again a few seconds later: after the bus carrying events was away (a NATS
// restart), events of that time are lost and the event streams and proxies
// take a moment to come back.
func (a *App) ResyncSoon() {
	all := func() { a.postAll(resync{}) }
	all()
	for _, d := range []time.Duration{2 * time.Second, 6 * time.Second} {
		time.AfterFunc(d, all)
	}
}
