package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/integration"
)

// sim plays every handset of the benchmark on the sandbox's phones
// application (integration.PhonesApp, the name the sandbox dialplan sends
// dialed phones to), like integration.Phones but built for load: events are
// routed by channel to the one script that owns them and forgotten when the
// script ends, so thousands of calls do not accumulate.
//
// Routing: a caller is originated by a script with channel id <key>-a
// (its ;2 half <key>-a-in enters transferd or the native dialplan); a dialed
// phone's StasisStart carries dialed,<number>,<TD_TEST>: TD_TEST is the key
// on the native path (inherited from the caller), and on the transferd path
// the key is the id prefix (transferd names legs after the call id).
type sim struct {
	cl *ari.Client

	mu    sync.Mutex
	keys  map[string]*run
	chans map[ari.ChannelID]*run

	stray atomic.Int64 // events of channels no script owns
}

// run is one script's mailbox: every event of its channels, in order.
type run struct {
	key string
	s   *sim

	mu     sync.Mutex
	evs    []stamped
	notify chan struct{}
	owned  []ari.ChannelID
}

// stamped is an event with the time the benchmark received it.
type stamped struct {
	ev ari.Event
	at time.Time
}

func newSim(ctx context.Context, cl *ari.Client) *sim {
	s := &sim{cl: cl, keys: map[string]*run{}, chans: map[ari.ChannelID]*run{}}
	sub := cl.Subscribe(ari.Filter{App: integration.PhonesApp})
	go func() {
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-sub.Events():
				if !ok {
					return
				}
				s.route(ev, time.Now())
			}
		}
	}()
	return s
}

// start registers a script's key.
func (s *sim) start(key string) *run {
	r := &run{key: key, s: s, notify: make(chan struct{})}
	s.mu.Lock()
	s.keys[key] = r
	s.mu.Unlock()
	return r
}

// end forgets a script and its channels.
func (r *run) end() {
	s := r.s
	s.mu.Lock()
	delete(s.keys, r.key)
	r.mu.Lock()
	for _, id := range r.owned {
		if s.chans[id] == r {
			delete(s.chans, id)
		}
	}
	r.mu.Unlock()
	s.mu.Unlock()
}

func (s *sim) route(ev ari.Event, at time.Time) {
	if st, ok := ev.(*ari.StasisStart); ok && len(st.Args) >= 2 {
		var key string
		switch st.Args[0] {
		case "caller":
			key = st.Args[1]
		case "dialed":
			if len(st.Args) >= 3 {
				key = st.Args[2]
			}
			s.mu.Lock()
			_, known := s.keys[key]
			s.mu.Unlock()
			if !known {
				key, _, _ = strings.Cut(string(st.Channel.ID), "-")
			}
		}
		s.mu.Lock()
		r := s.keys[key]
		if r != nil {
			s.chans[st.Channel.ID] = r
		}
		s.mu.Unlock()
		if r == nil {
			s.stray.Add(1)
			// Nobody wants this phone: hang it up so it does not linger.
			go func() { _ = s.cl.Channels.Hangup(context.Background(), st.Channel.ID, "normal") }()
			return
		}
		r.mu.Lock()
		r.owned = append(r.owned, st.Channel.ID)
		r.mu.Unlock()
		r.record(ev, at)
		return
	}
	var seen *run
	for _, id := range ari.ChannelsOf(ev) {
		s.mu.Lock()
		r := s.chans[id]
		if _, gone := ev.(*ari.ChannelDestroyed); gone {
			delete(s.chans, id)
		}
		s.mu.Unlock()
		if r != nil && r != seen {
			seen = r
			r.record(ev, at)
		}
	}
}

func (r *run) record(ev ari.Event, at time.Time) {
	r.mu.Lock()
	r.evs = append(r.evs, stamped{ev, at})
	close(r.notify)
	r.notify = make(chan struct{})
	r.mu.Unlock()
}

// mark is the index to wait from for "after now".
func (r *run) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.evs)
}

// wait returns the first event from index from on that matches.
func (r *run) wait(ctx context.Context, from int, what string, match func(ari.Event) bool) (stamped, error) {
	for {
		r.mu.Lock()
		evs, notify := r.evs, r.notify
		r.mu.Unlock()
		for i := from; i < len(evs); i++ {
			if match(evs[i].ev) {
				return evs[i], nil
			}
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return stamped{}, fmt.Errorf("%s: waiting for %s: %w", r.key, what, ctx.Err())
		}
	}
}

// dialed matches the StasisStart of a phone called for number.
func dialed(number string) func(ari.Event) bool {
	return func(ev ari.Event) bool {
		st, ok := ev.(*ari.StasisStart)
		return ok && len(st.Args) >= 2 && st.Args[0] == "dialed" && st.Args[1] == number
	}
}

// gone matches the end of a channel.
func gone(id ari.ChannelID) func(ari.Event) bool {
	return func(ev ari.Event) bool {
		switch e := ev.(type) {
		case *ari.ChannelDestroyed:
			return e.Channel.ID == id
		case *ari.StasisEnd:
			return e.Channel.ID == id
		}
		return false
	}
}

// isGone says whether a channel has already ended.
func (r *run) isGone(id ari.ChannelID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := gone(id)
	for _, e := range r.evs {
		if m(e.ev) {
			return true
		}
	}
	return false
}
