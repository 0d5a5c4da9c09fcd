package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/transfer"
)

// snapshot is what a restarted transferd needs to carry a call on.
type snapshot struct {
	Version   uint64                    `json:"v"`
	ID        string                    `json:"id"`
	Account   string                    `json:"account"`
	Node      string                    `json:"node,omitempty"`
	Started   time.Time                 `json:"started,omitzero"`
	Phase     callPhase                 `json:"phase"`
	Legs      []legSnapshot             `json:"legs"`
	XferCount int                       `json:"xfers"`
	Xfer      *transfer.Transfer        `json:"xfer,omitempty"`
	Timers    map[string]timerSnap      `json:"timers,omitempty"`
	Ringbacks []ari.PlaybackID          `json:"ringbacks,omitempty"`
	Holds     []ari.BridgeID            `json:"holds,omitempty"`
	HangAfter map[ari.PlaybackID]string `json:"hang_after,omitempty"`
}

type legSnapshot struct {
	ID       ari.ChannelID `json:"id"`
	Role     string        `json:"role"`
	Number   string        `json:"number,omitempty"`
	Name     string        `json:"name,omitempty"`
	Callback string        `json:"callback,omitempty"`
	Answered bool          `json:"answered,omitempty"`
	Gone     bool          `json:"gone,omitempty"`
}

type timerSnap struct {
	Seq      int       `json:"seq"`
	Deadline time.Time `json:"deadline"`
}

// persister writes a call's latest snapshot in the background: the call
// goroutine never waits for it, and a newer snapshot replaces one not yet
// written. After the call ends it deletes the variable, last.
type persister struct {
	mu      sync.Mutex
	pending *snapshot
	remove  bool
	busy    bool
}

func (c *Call) snapshot() snapshot {
	c.version++
	s := snapshot{Version: c.version, ID: c.id, Account: c.acct.name, Node: c.node, Started: c.started, Phase: c.phase, XferCount: c.xferCount,
		Timers: map[string]timerSnap{}, HangAfter: map[ari.PlaybackID]string{}}
	for _, id := range c.order {
		l := c.legs[id]
		s.Legs = append(s.Legs, legSnapshot{ID: l.id, Role: l.role, Number: l.number, Name: l.name, Callback: l.callback, Answered: l.answered, Gone: l.gone})
	}
	if c.xfer != nil {
		x := *c.xfer
		s.Xfer = &x
	}
	for name, d := range c.deadlines {
		s.Timers[name] = d
	}
	for id := range c.ringbacks {
		s.Ringbacks = append(s.Ringbacks, id)
	}
	for id := range c.holdBridges {
		s.Holds = append(s.Holds, id)
	}
	for pb, ch := range c.hangAfter {
		s.HangAfter[pb] = string(ch)
	}
	return s
}

// persist queues the call's snapshot for writing.
func (c *Call) persist() {
	s := c.snapshot()
	c.queuePersist(&s, false)
}

// unpersist queues the deletion of the call's snapshot.
func (c *Call) unpersist() { c.queuePersist(nil, true) }

func (c *Call) queuePersist(s *snapshot, remove bool) {
	p := &c.persister
	p.mu.Lock()
	p.pending, p.remove = s, remove
	start := !p.busy
	p.busy = true
	p.mu.Unlock()
	if start {
		go c.flush()
	}
}

func (c *Call) flush() {
	p := &c.persister
	for {
		p.mu.Lock()
		s, remove := p.pending, p.remove
		p.pending, p.remove = nil, false
		if s == nil && !remove {
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
			err = c.app.store.Delete(ctx, c.id)
			if own := c.app.own; own != nil && err == nil {
				err = own.Release(ctx, c.id)
			}
		} else {
			var b []byte
			if b, err = json.Marshal(s); err == nil {
				err = c.app.store.Save(ctx, c.id, b)
			}
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
			if ok, err := a.own.Claim(ctx, id); err != nil || !ok {
				continue
			}
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
		if err := a.restoreCall(ctx, s); err != nil {
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
func (a *App) restoreCall(ctx context.Context, s snapshot) error {
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
		l := &leg{id: ls.ID, role: ls.Role, number: ls.Number, name: ls.Name, callback: ls.Callback, answered: ls.Answered, gone: ls.Gone}
		c.addLeg(l)
	}
	for _, id := range s.Ringbacks {
		c.ringbacks[id] = true
	}
	for _, id := range s.Holds {
		c.holdBridges[id] = true
		a.claimBridge(c, id)
	}
	for pb, ch := range s.HangAfter {
		c.hangAfter[pb] = ari.ChannelID(ch)
	}
	if s.Xfer != nil {
		x := *s.Xfer
		c.xfer = &x
		c.xferStarted = time.Now()
		c.xferLog = c.log.With().Str(keyTransferID, x.ID).Logger()
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
			c.resync(ctx)
		})
	}()
	return nil
}

// resync compares the call's legs with Asterisk and feeds what was missed:
// a leg that is gone left, a dialed leg that is up answered.
func (c *Call) resync(ctx context.Context) {
	for _, id := range append([]ari.ChannelID(nil), c.order...) {
		l := c.legs[id]
		if l.gone {
			continue
		}
		ch, err := c.app.client.Channels.Get(ctx, id)
		switch {
		case errors.Is(err, ari.ErrNotFound):
			c.onLeft(ctx, l, 0)
		case err != nil:
			c.log.Warn().Err(err).Str(keyChannelID, string(id)).Msg("resync: get channel")
		case ch.State == "Up" && !l.answered && l.role != roleCaller:
			c.onAnswered(ctx, l)
		}
		if c.ended {
			return
		}
	}
	if c.xfer == nil {
		c.settle(ctx)
	}
}

// resync is an inbox message: check legs against Asterisk.
type resync struct{}
