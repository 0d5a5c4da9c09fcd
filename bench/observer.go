package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/transferd/transferd/ari"
)

// observerApp is the application that watches every channel and bridge of
// the sandbox during the side-by-side runs. It owns nothing: it subscribes
// to all channels and bridges (eventSource "channel:" and "bridge:" with an
// empty id), so it sees Asterisk's native transfer, which never enters
// Stasis, as well as transferd's.
const observerApp = "bench-observer"

// observer keeps a live model of channel states, bridge membership and
// playbacks from the events, and fires conditions on the event that makes
// them true, recording that event's time.
type observer struct {
	cl *ari.Client

	mu      sync.Mutex
	chans   map[ari.ChannelID]*obsChan
	byName  map[string]ari.ChannelID
	bridges map[ari.BridgeID]*obsBridge
	conds   []*cond
	trace   func(stamped)
}

type obsChan struct {
	name    string
	state   string
	bridge  ari.BridgeID
	playing map[ari.PlaybackID]bool
}

type obsBridge struct {
	typ     string
	members map[ari.ChannelID]bool
}

// cond is a condition waited for; at is set when it fires.
type cond struct {
	f    func(o *observer, ev ari.Event) bool
	done chan struct{}
	at   eventTime
}

// eventTime is when something happened: Asterisk's timestamp of the event
// and the time the benchmark received it.
type eventTime struct {
	ast   time.Time
	local time.Time
}

func newObserver(ctx context.Context, cl *ari.Client) (*observer, error) {
	o := &observer{cl: cl, chans: map[ari.ChannelID]*obsChan{}, byName: map[string]ari.ChannelID{}, bridges: map[ari.BridgeID]*obsBridge{}}
	sub := cl.Subscribe(ari.Filter{App: observerApp})
	go func() { _ = cl.Run(ctx) }()
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
				o.apply(ev, time.Now())
			}
		}
	}()
	select {
	case <-cl.Connected():
	case <-time.After(15 * time.Second):
		return nil, fmt.Errorf("observer never connected")
	}
	if _, err := cl.Applications.Subscribe(ctx, observerApp, "channel:", "bridge:"); err != nil {
		return nil, fmt.Errorf("observer: subscribe to all channels and bridges: %w", err)
	}
	return o, nil
}

func (o *observer) ch(c ari.Channel) *obsChan {
	oc := o.chans[c.ID]
	if oc == nil {
		oc = &obsChan{playing: map[ari.PlaybackID]bool{}}
		o.chans[c.ID] = oc
	}
	if c.Name != "" && oc.name != c.Name {
		oc.name = c.Name
		o.byName[c.Name] = c.ID
	}
	if c.State != "" {
		oc.state = c.State
	}
	return oc
}

func (o *observer) br(b ari.Bridge) *obsBridge {
	ob := o.bridges[b.ID]
	if ob == nil {
		ob = &obsBridge{members: map[ari.ChannelID]bool{}}
		o.bridges[b.ID] = ob
	}
	if b.BridgeType != "" {
		ob.typ = b.BridgeType
	}
	return ob
}

func (o *observer) apply(ev ari.Event, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.trace != nil {
		o.trace(stamped{ev, at})
	}
	switch e := ev.(type) {
	case *ari.ChannelCreated:
		o.ch(e.Channel)
	case *ari.ChannelStateChange:
		o.ch(e.Channel)
	case *ari.StasisStart:
		o.ch(e.Channel)
	case *ari.ChannelDestroyed:
		if oc := o.chans[e.Channel.ID]; oc != nil {
			if b := o.bridges[oc.bridge]; b != nil {
				delete(b.members, e.Channel.ID)
			}
			delete(o.byName, oc.name)
		}
		delete(o.chans, e.Channel.ID)
	case *ari.ChannelEnteredBridge:
		b := o.br(e.Bridge)
		if e.Channel != nil {
			oc := o.ch(*e.Channel)
			if old := o.bridges[oc.bridge]; old != nil && oc.bridge != e.Bridge.ID {
				delete(old.members, e.Channel.ID)
			}
			oc.bridge = e.Bridge.ID
			b.members[e.Channel.ID] = true
		}
	case *ari.ChannelLeftBridge:
		b := o.br(e.Bridge)
		delete(b.members, e.Channel.ID)
		if oc := o.ch(e.Channel); oc.bridge == e.Bridge.ID {
			oc.bridge = ""
		}
	case *ari.BridgeMerged:
		into := o.br(e.Bridge)
		if from := o.bridges[e.BridgeFrom.ID]; from != nil {
			for id := range from.members {
				into.members[id] = true
				if oc := o.chans[id]; oc != nil {
					oc.bridge = e.Bridge.ID
				}
			}
			from.members = map[ari.ChannelID]bool{}
		}
	case *ari.BridgeDestroyed:
		delete(o.bridges, e.Bridge.ID)
	case *ari.PlaybackStarted:
		if id, ok := strings.CutPrefix(e.Playback.TargetURI, "channel:"); ok {
			if oc := o.chans[ari.ChannelID(id)]; oc != nil {
				oc.playing[e.Playback.ID] = true
			}
		}
	case *ari.PlaybackFinished:
		if id, ok := strings.CutPrefix(e.Playback.TargetURI, "channel:"); ok {
			if oc := o.chans[ari.ChannelID(id)]; oc != nil {
				delete(oc.playing, e.Playback.ID)
			}
		}
	}
	if len(o.conds) == 0 {
		return
	}
	var when eventTime
	kept := o.conds[:0]
	for _, c := range o.conds {
		if c.f(o, ev) {
			if when.local.IsZero() {
				when = eventTime{ast: astTime(ev, at), local: at}
			}
			c.at = when
			close(c.done)
			continue
		}
		kept = append(kept, c)
	}
	o.conds = kept
}

// astTime is Asterisk's timestamp of an event (the local time when it has none).
func astTime(ev ari.Event, local time.Time) time.Time {
	if t, err := ari.ParseTime(ev.GetTimestamp()); err == nil {
		return t
	}
	return local
}

// when registers a condition; it fires on the first later event after
// which f is true.
func (o *observer) when(f func(o *observer, ev ari.Event) bool) *cond {
	c := &cond{f: f, done: make(chan struct{})}
	o.mu.Lock()
	o.conds = append(o.conds, c)
	o.mu.Unlock()
	return c
}

// cancel drops a condition that is no longer wanted.
func (o *observer) cancel(c *cond) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, x := range o.conds {
		if x == c {
			o.conds = append(o.conds[:i], o.conds[i+1:]...)
			return
		}
	}
}

func (c *cond) wait(ctx context.Context, what string) (eventTime, error) {
	select {
	case <-c.done:
		return c.at, nil
	case <-ctx.Done():
		return eventTime{}, fmt.Errorf("observer: %s: %w", what, ctx.Err())
	}
}

// partner is the other half of a Local channel (;1 for ;2 and back), by name.
func (o *observer) partner(id ari.ChannelID) ari.ChannelID {
	oc := o.chans[id]
	if oc == nil {
		return ""
	}
	var other string
	switch {
	case strings.HasSuffix(oc.name, ";2"):
		other = strings.TrimSuffix(oc.name, ";2") + ";1"
	case strings.HasSuffix(oc.name, ";1"):
		other = strings.TrimSuffix(oc.name, ";1") + ";2"
	default:
		return ""
	}
	return o.byName[other]
}

// together says whether two channels are in the same bridge.
func (o *observer) together(a, b ari.ChannelID) bool {
	ca, cb := o.chans[a], o.chans[b]
	return ca != nil && cb != nil && ca.bridge != "" && ca.bridge == cb.bridge
}

// bridgeType is the type of the bridge a channel is in ("" for none).
func (o *observer) bridgeOf(id ari.ChannelID) (ari.BridgeID, string) {
	if c := o.chans[id]; c != nil && c.bridge != "" {
		if b := o.bridges[c.bridge]; b != nil {
			return c.bridge, b.typ
		}
		return c.bridge, ""
	}
	return "", ""
}

func (o *observer) state(id ari.ChannelID) string {
	if c := o.chans[id]; c != nil {
		return c.state
	}
	return ""
}

func (o *observer) playing(id ari.ChannelID) int {
	if c := o.chans[id]; c != nil {
		return len(c.playing)
	}
	return 0
}

// describe is a one-line dump of a channel, for error messages.
func (o *observer) describe(ids ...ari.ChannelID) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var parts []string
	for _, id := range ids {
		c := o.chans[id]
		if c == nil {
			parts = append(parts, string(id)+"=?")
			continue
		}
		b, typ := o.bridgeOf(id)
		parts = append(parts, fmt.Sprintf("%s(%s %s bridge=%s/%s playing=%d)", id, c.name, c.state, b, typ, len(c.playing)))
	}
	return strings.Join(parts, " ")
}
