package ari

import (
	"slices"
	"sync"

	"github.com/rs/zerolog"
)

// Filter selects events for a Subscription. Fields are ANDed; an empty field
// matches everything, so the zero Filter matches every event. Synthetic
// events (*Reconnected, *Disconnected) bypass the filter.
type Filter struct {
	App        string      // the event's application
	ChannelIDs []ChannelID // any channel the event carries (see ChannelsOf)
	BridgeIDs  []BridgeID  // any bridge the event carries (see BridgesOf)
	Types      []string    // ARI type names, e.g. "StasisStart"
}

// match reports whether ev passes f. keys is computed at most once per
// event and shared across subscriptions.
func (f *Filter) match(ev Event, keys func() *keySet) bool {
	if f.App != "" && ev.GetApplication() != f.App {
		return false
	}
	if len(f.Types) > 0 && !slices.Contains(f.Types, ev.GetType()) {
		return false
	}
	if len(f.ChannelIDs) > 0 && !containsAny(f.ChannelIDs, keys().channels) {
		return false
	}
	if len(f.BridgeIDs) > 0 && !containsAny(f.BridgeIDs, keys().bridges) {
		return false
	}
	return true
}

func containsAny[T comparable](want, have []T) bool {
	for _, h := range have {
		if slices.Contains(want, h) {
			return true
		}
	}
	return false
}

// backlogWarn is the first queue length at which a subscription's backlog is
// logged; each further doubling logs again. The queue is unbounded (nothing
// is ever dropped), so this is how a stuck consumer gets noticed.
const backlogWarn = 1024

// Subscription is an ordered stream of the events that pass its Filter.
//
// Delivery never blocks the event reader: the dispatcher appends to an
// unbounded queue under a mutex and wakes a per-subscription goroutine, which
// feeds Events() (the shape of nats.go's asyncCallbacksHandler). A slow
// consumer therefore delays only itself, and no event is dropped.
type Subscription struct {
	filter Filter
	out    chan Event
	log    zerolog.Logger
	remove func(*Subscription) // unregisters from the Client

	mu       sync.Mutex
	queue    []Event
	warnAt   int           // backlog length that triggers the next warning
	wake     chan struct{} // cap 1: "the queue may be non-empty"
	done     chan struct{} // closed by Close
	closing  sync.Once
	finished chan struct{} // closed when pump has returned
}

func newSubscription(f Filter, log zerolog.Logger, remove func(*Subscription)) *Subscription {
	s := &Subscription{
		// Copy the slices: the caller may reuse them, and match reads
		// them from the dispatching goroutine.
		filter: Filter{
			App:        f.App,
			ChannelIDs: slices.Clone(f.ChannelIDs),
			BridgeIDs:  slices.Clone(f.BridgeIDs),
			Types:      slices.Clone(f.Types),
		},
		out:      make(chan Event),
		log:      log,
		remove:   remove,
		warnAt:   backlogWarn,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
	}
	go s.pump()
	return s
}

// Events returns the channel events arrive on, in the order Asterisk sent
// them. It is closed after Close.
func (s *Subscription) Events() <-chan Event { return s.out }

// Close stops the subscription: it is unregistered, undelivered events are
// discarded, and Events() is closed before Close returns. Close is
// idempotent and safe to call concurrently, including from the goroutine
// that reads Events().
func (s *Subscription) Close() {
	s.closing.Do(func() {
		s.remove(s)
		close(s.done)
	})
	<-s.finished
}

// push queues ev. It never blocks beyond the queue mutex.
func (s *Subscription) push(ev Event) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	n := len(s.queue)
	warn := n >= s.warnAt
	if warn {
		s.warnAt *= 2
	}
	s.mu.Unlock()
	if warn {
		s.log.Warn().Int("backlog", n).Msg("ari subscription is falling behind")
	}
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is already pending; it covers this event too
	}
}

// pump moves events from the queue to out, one at a time, until Close.
func (s *Subscription) pump() {
	defer close(s.finished)
	defer close(s.out)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-s.wake:
				continue
			case <-s.done:
				return
			}
		}
		ev := s.queue[0]
		s.queue[0] = nil // let the event be collected once delivered
		s.queue = s.queue[1:]
		if len(s.queue) == 0 {
			s.queue = nil // drop the backing array a burst left behind
			s.warnAt = backlogWarn
		}
		s.mu.Unlock()
		select {
		case s.out <- ev:
		case <-s.done:
			return
		}
	}
}

// subscriptions is the Client's registry. The mutex is held while
// dispatching, and Close removes under it, so dispatch never ranges over a
// collection that Close is changing.
type subscriptions struct {
	mu  sync.RWMutex
	set map[*Subscription]struct{}
}

// Subscribe registers a subscription for the events f selects. Subscribe by
// id before the request that creates the channel or bridge, and its first
// events cannot be missed. Close it when done.
func (c *Client) Subscribe(f Filter) *Subscription {
	s := newSubscription(f, c.log, c.unsubscribe)
	c.subs.mu.Lock()
	c.subs.set[s] = struct{}{}
	c.subs.mu.Unlock()
	return s
}

func (c *Client) unsubscribe(s *Subscription) {
	c.subs.mu.Lock()
	delete(c.subs.set, s)
	c.subs.mu.Unlock()
}

// dispatch queues ev on every subscription it matches. It never blocks on a
// consumer.
func (c *Client) dispatch(ev Event) {
	synthetic := false
	switch ev.(type) {
	case *Reconnected, *Disconnected:
		synthetic = true
	}
	var keys *keySet
	lazyKeys := func() *keySet {
		if keys == nil {
			k := keysOf(ev)
			keys = &k
		}
		return keys
	}
	c.subs.mu.RLock()
	defer c.subs.mu.RUnlock()
	for s := range c.subs.set {
		if synthetic || s.filter.match(ev, lazyKeys) {
			s.push(ev)
		}
	}
}
