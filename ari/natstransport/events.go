package natstransport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natstransport/wire"
)

// streamBuffer is how many messages a stream holds before NATS counts the
// next as dropped (a slow consumer), which ends the stream: ari.Client then
// redials and sends *ari.Reconnected, so nothing is lost silently.
const streamBuffer = 1 << 16

// connectWait bounds how long Events waits for a reconnecting NATS
// connection before failing (ari.Client retries with backoff).
const connectWait = 2 * time.Second

// subscription roles.
type role int

const (
	rolePlain  role = iota // every event of the application
	roleQueue              // the StasisStart queue group
	roleDialog             // one dialog's events
)

// Events opens an event stream for apps (normally Options.App).
//
// Without DialogsOnly it subscribes to <prefix>event.<app>.> twice, as the
// stock client does: plainly, for every event, and in the queue group
// ARIProxyStasisStartDistributorQueue, for StasisStart only, so each new
// call goes to exactly one instance. A StasisStart is returned from the
// plain subscription only for a channel this instance created (or won
// before), and from the queue only for a channel nobody created through a
// proxy (natsproxy marks those with the Ari-Proxy-Created header; with a
// stock server, the queue may also hand another instance's dialled channel
// to this one as if it were new). Both subscriptions feed one channel from
// NATS's reader, so events keep the order the proxy published them in.
//
// The stream ends (Read fails) when the NATS connection drops or when
// events had to be dropped; ari.Client then reconnects and sends
// *ari.Reconnected so the application re-reads what it may have missed.
// ctx bounds only the opening.
func (t *Transport) Events(ctx context.Context, apps []string) (ari.EventStream, error) {
	if len(apps) == 0 {
		return nil, errors.New("natstransport: Events: no application")
	}
	for _, a := range apps {
		if err := wire.CheckToken("application", a); err != nil {
			return nil, fmt.Errorf("natstransport: Events: %w", err)
		}
	}
	if err := t.waitConnected(ctx); err != nil {
		return nil, err
	}
	s := &stream{
		t:      t,
		ch:     make(chan *nats.Msg, streamBuffer),
		done:   make(chan struct{}),
		roles:  map[*nats.Subscription]role{},
		dsubs:  map[string]*nats.Subscription{},
		status: t.nc.StatusChanged(nats.DISCONNECTED, nats.RECONNECTING, nats.CLOSED),
	}
	fail := func(err error) (ari.EventStream, error) {
		_ = s.Close()
		return nil, err
	}
	for _, app := range apps {
		subject := wire.EventSubject(t.opts.Prefix, app, ">")
		if !t.opts.DialogsOnly {
			sub, err := t.nc.ChanSubscribe(subject, s.ch)
			if err != nil {
				return fail(fmt.Errorf("natstransport: subscribe %s: %w", subject, err))
			}
			s.add(sub, rolePlain)
		}
		sub, err := t.nc.ChanQueueSubscribe(subject, wire.StasisStartQueue, s.ch)
		if err != nil {
			return fail(fmt.Errorf("natstransport: queue-subscribe %s: %w", subject, err))
		}
		s.add(sub, roleQueue)
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return fail(errors.New("natstransport: transport closed"))
	}
	t.streams[s] = struct{}{}
	for d := range t.dialogs {
		if err := s.joinDialog(d); err != nil {
			t.mu.Unlock()
			return fail(err)
		}
	}
	t.mu.Unlock()
	// The subscriptions are in force once the server has them; only then
	// may the client say it is connected.
	fctx, cancel := context.WithTimeout(ctx, t.opts.CommandTimeout)
	defer cancel()
	if err := t.nc.FlushWithContext(fctx); err != nil {
		return fail(fmt.Errorf("natstransport: flush subscriptions: %w", err))
	}
	return s, nil
}

// waitConnected waits, a short while, for a reconnecting connection.
func (t *Transport) waitConnected(ctx context.Context) error {
	deadline := time.Now().Add(connectWait)
	for {
		switch st := t.nc.Status(); st {
		case nats.CONNECTED:
			return nil
		case nats.CLOSED:
			return errors.New("natstransport: NATS connection closed")
		default:
			if time.Now().After(deadline) {
				return fmt.Errorf("natstransport: NATS connection %s", st)
			}
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// JoinDialog makes every event stream, open or opened later, receive the
// events proxies publish on <prefix>dialogevent.<dialog>: those of the
// resources bound to the dialog (created or touched by a request made with
// ari.WithDialog, or bound with BindDialog). It matters only with
// DialogsOnly; otherwise every event arrives anyway and JoinDialog only
// records the dialog. Joining twice is harmless; LeaveDialog when the call
// is over, or the subscriptions pile up.
func (t *Transport) JoinDialog(dialog string) error {
	dialog = wire.DialogToken(dialog)
	if err := wire.CheckToken("dialog", dialog); err != nil {
		return fmt.Errorf("natstransport: JoinDialog: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.dialogs[dialog]; ok {
		return nil
	}
	t.dialogs[dialog] = struct{}{}
	for s := range t.streams {
		if err := s.joinDialog(dialog); err != nil {
			return err
		}
	}
	return nil
}

// LeaveDialog undoes JoinDialog.
func (t *Transport) LeaveDialog(dialog string) {
	dialog = wire.DialogToken(dialog)
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.dialogs, dialog)
	for s := range t.streams {
		s.leaveDialog(dialog)
	}
}

// Dialogs returns the dialogs joined.
func (t *Transport) Dialogs() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.dialogs))
	for d := range t.dialogs {
		out = append(out, d)
	}
	return out
}

// BindDialog asks the proxy that has the resource (kind "channel", "bridge"
// or "playback") to bind it to dialog, so its events are published on the
// dialog's subject from now on: the ChannelSubscribe, BridgeSubscribe or
// PlaybackSubscribe request of ari-proxy. An instance taking over a call
// binds the call's resources to a dialog it has joined.
func (t *Transport) BindDialog(ctx context.Context, dialog, kind, id string) error {
	dialog = wire.DialogToken(dialog)
	if err := wire.CheckToken("dialog", dialog); err != nil {
		return fmt.Errorf("natstransport: BindDialog: %w", err)
	}
	var rk string
	switch kind {
	case wire.KindChannel:
		rk = "ChannelSubscribe"
	case wire.KindBridge:
		rk = "BridgeSubscribe"
	case wire.KindPlayback:
		rk = "PlaybackSubscribe"
	default:
		return fmt.Errorf("natstransport: BindDialog: cannot bind a %q", kind)
	}
	req := &wire.Request{Kind: rk, Key: &wire.Key{Kind: kind, ID: id, Dialog: dialog, App: t.opts.App}}
	resp, from, err := t.send(ctx, req, wire.ClassCommand, t.NodeOf(kind, id))
	if err != nil {
		return fmt.Errorf("natstransport: bind %s %s to dialog %s: %w", kind, id, dialog, err)
	}
	if resp.Error != "" {
		a := errorAnswer(resp)
		return fmt.Errorf("natstransport: bind %s %s to dialog %s: %d %s", kind, id, dialog, a.Status, resp.Error)
	}
	if n := answerNode(resp, from); n != "" {
		t.nodes.put(ref(kind, id), n)
	}
	return nil
}

// stream is one open event stream.
type stream struct {
	t      *Transport
	ch     chan *nats.Msg
	status chan nats.Status

	mu    sync.Mutex
	roles map[*nats.Subscription]role
	dsubs map[string]*nats.Subscription // by dialog

	closeOnce sync.Once
	done      chan struct{}
}

func (s *stream) add(sub *nats.Subscription, r role) {
	// Unlimited pending for channel subscriptions is the channel's size;
	// drops are detected in Read.
	s.mu.Lock()
	s.roles[sub] = r
	s.mu.Unlock()
}

// joinDialog subscribes the stream to a dialog; t.mu is held.
func (s *stream) joinDialog(d string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.dsubs[d]; ok {
		return nil
	}
	if !s.t.opts.DialogsOnly {
		return nil // every event arrives on the plain subscription
	}
	subject := wire.DialogEventSubject(s.t.opts.Prefix, d)
	sub, err := s.t.nc.ChanSubscribe(subject, s.ch)
	if err != nil {
		return fmt.Errorf("natstransport: subscribe %s: %w", subject, err)
	}
	s.dsubs[d] = sub
	s.roles[sub] = roleDialog
	return nil
}

func (s *stream) leaveDialog(d string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub, ok := s.dsubs[d]; ok {
		_ = sub.Unsubscribe()
		delete(s.dsubs, d)
		delete(s.roles, sub)
	}
}

// Read returns the next event for this instance.
func (s *stream) Read(ctx context.Context) ([]byte, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.done:
			return nil, errors.New("natstransport: event stream closed")
		case st, ok := <-s.status:
			if !ok {
				return nil, errors.New("natstransport: event stream closed")
			}
			return nil, fmt.Errorf("natstransport: NATS connection %s: events may have been missed", st)
		case m := <-s.ch:
			if err := s.checkDrops(); err != nil {
				return nil, err
			}
			if raw, ok := s.accept(m); ok {
				return raw, nil
			}
		}
	}
}

// checkDrops fails the stream once NATS has dropped a message for it.
func (s *stream) checkDrops() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.roles {
		if n, err := sub.Dropped(); err == nil && n > 0 {
			return fmt.Errorf("natstransport: %d events dropped on %s (slow consumer)", n, sub.Subject)
		}
	}
	return nil
}

// eventHead is what accept reads of an event.
type eventHead struct {
	Type       string `json:"type"`
	Timestamp  string `json:"timestamp"`
	AsteriskID string `json:"asterisk_id"`
	Channel    *struct {
		ID string `json:"id"`
	} `json:"channel"`
}

// accept decides whether this instance gets m, and learns from it.
func (s *stream) accept(m *nats.Msg) ([]byte, bool) {
	t := s.t
	s.mu.Lock()
	r, ok := s.roles[m.Sub]
	s.mu.Unlock()
	if !ok {
		return nil, false // a subscription left meanwhile
	}
	var h eventHead
	if err := json.Unmarshal(m.Data, &h); err != nil {
		// Not ours to judge: ari.Client counts and logs malformed
		// events. One copy is enough.
		return m.Data, r != roleQueue
	}
	node := wire.NodeOfEventSubject(t.opts.Prefix, m.Subject)
	if node == "" {
		node = m.Header.Get(wire.HeaderNode)
	}
	if node == "" {
		node = h.AsteriskID
	}
	isStart := h.Type == "StasisStart" && h.Channel != nil && h.Channel.ID != ""
	switch r {
	case roleQueue:
		if !isStart || m.Header.Get(wire.HeaderCreated) == "true" {
			return nil, false
		}
		if _, mine := t.local.get(h.Channel.ID); mine {
			return nil, false // the plain subscription delivers it
		}
		t.local.put(h.Channel.ID, "")
		if t.opts.DialogsOnly {
			s.followNewCall(h.Channel.ID, node)
		}
	case rolePlain:
		if isStart {
			if _, mine := t.local.get(h.Channel.ID); !mine {
				return nil, false // the queue group hands it to one instance
			}
		}
	}
	if isStart {
		// The same StasisStart can reach a stream twice (plain and queue,
		// or event and dialog): return it once.
		if last, ok := t.seen.get(h.Channel.ID); ok && last == h.Timestamp {
			return nil, false
		}
		t.seen.put(h.Channel.ID, h.Timestamp)
	}
	t.learnEvent(m.Data, node)
	return m.Data, true
}

// followNewCall, in DialogsOnly mode, joins the dialog named after a new
// call's channel and asks its proxy to bind the channel to it.
func (s *stream) followNewCall(channel, node string) {
	t := s.t
	if err := t.JoinDialog(channel); err != nil {
		t.log.Warn().Err(err).Str("channel", channel).Msg("join dialog of new call")
		return
	}
	if node != "" {
		t.nodes.put(ref(wire.KindChannel, channel), node)
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), t.opts.CommandTimeout)
		defer cancel()
		if err := t.BindDialog(ctx, channel, wire.KindChannel, channel); err != nil {
			t.log.Warn().Err(err).Str("channel", channel).Msg("bind new call to its dialog")
		}
	}()
}

// learnEvent records the node of every resource an event names, and
// forgets a destroyed one.
func (t *Transport) learnEvent(raw []byte, node string) {
	ev, err := ari.Decode(raw)
	if err != nil {
		return
	}
	if node != "" {
		for _, id := range ari.ChannelsOf(ev) {
			t.nodes.put(ref(wire.KindChannel, string(id)), node)
		}
		for _, id := range ari.BridgesOf(ev) {
			t.nodes.put(ref(wire.KindBridge, string(id)), node)
		}
	}
	switch e := ev.(type) {
	case *ari.ChannelDestroyed:
		id := string(e.Channel.ID)
		t.nodes.del(ref(wire.KindChannel, id))
		t.local.del(id)
		t.seen.del(id)
	case *ari.BridgeDestroyed:
		t.nodes.del(ref(wire.KindBridge, string(e.Bridge.ID)))
	case *ari.PlaybackStarted:
		if node != "" {
			t.nodes.put(ref(wire.KindPlayback, string(e.Playback.ID)), node)
		}
	case *ari.PlaybackFinished:
		t.nodes.del(ref(wire.KindPlayback, string(e.Playback.ID)))
	}
}

// Close unsubscribes the stream. It is idempotent.
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.t.nc.RemoveStatusListener(s.status)
		s.t.mu.Lock()
		delete(s.t.streams, s)
		s.t.mu.Unlock()
		s.mu.Lock()
		for sub := range s.roles {
			if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
				s.t.log.Debug().Err(err).Str("subject", sub.Subject).Msg("unsubscribe event stream")
			}
		}
		s.roles = map[*nats.Subscription]role{}
		s.dsubs = map[string]*nats.Subscription{}
		s.mu.Unlock()
	})
	return nil
}
