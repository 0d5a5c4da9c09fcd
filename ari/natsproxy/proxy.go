// Package natsproxy is transferd's "proxy mode": it connects to one
// Asterisk's ARI and serves it on NATS in the ari-proxy v5 protocol, for
// sites that do not run CyCoreSystems' ari-proxy, and for tests. Run one per
// Asterisk (and application).
//
// It publishes every event of the application on
// <prefix>event.<app>.<node>, and again on <prefix>dialogevent.<dialog> for
// each dialog the event's channels, bridges or playbacks are bound to; it
// answers requests on <prefix>{get,data,command}[.<app>[.<node>]] and, in
// the queue group "ariproxy", on <prefix>create[.<app>[.<node>]]; it
// announces {"node","application"} on <prefix>announce at start, every
// minute and when pinged on <prefix>ping.
//
// It serves every request kind of the stock ari-proxy v5.3.1 server
// (wire.StockKinds; the Stage kinds as the stock server does: they bind and
// answer a key, and change nothing in Asterisk).
//
// Besides the stock kinds it serves the extension kinds of package wire and
// fills its extension fields (Status, Message, Items, and Data on creates),
// which a stock client ignores. Replies and events carry the node in the
// Ari-Proxy-Node header, and the StasisStart of a channel created through a
// request carries Ari-Proxy-Created: true, so natstransport does not hand it
// out as a new call.
package natsproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natstransport/wire"
)

// Defaults of Options.
const (
	DefaultRequestTimeout = 10 * time.Second
	DefaultMaxConcurrent  = 256
	DefaultMaxTracked     = 100_000
)

// Options configures New.
type Options struct {
	// NC is the NATS connection; it should reconnect forever
	// (natsbus.Connect). The proxy never closes it. Required.
	NC *nats.Conn
	// Prefix starts every subject; default "ari.".
	Prefix string
	// App is the Stasis application served. Required.
	App string
	// Transport reaches the Asterisk: normally an *ari.HTTPTransport.
	// Required.
	Transport ari.Transport
	// Node names this Asterisk in subjects, keys and announcements. Empty
	// means its entity id (/asterisk/info system.entity_id), as the stock
	// proxy does. Set it when several Asterisks share an entity id (on one
	// host, their ids come from the same MAC address); events then carry
	// it as their asterisk_id too.
	Node string
	// AnnounceInterval is how often the proxy announces itself; default
	// one minute.
	AnnounceInterval time.Duration
	// RequestTimeout bounds each ARI call; default 10s.
	RequestTimeout time.Duration
	// MaxConcurrent bounds the requests served at once; more wait.
	// Default 256.
	MaxConcurrent int
	// MaxTracked bounds the dialog bindings and the created-channel
	// memory; default 100000.
	MaxTracked int
	// Logger gets Info lines for the lifecycle and Warn lines for every
	// failure (a failed publish included).
	Logger zerolog.Logger
}

// Proxy serves one Asterisk on NATS.
type Proxy struct {
	opts Options
	log  zerolog.Logger
	nc   *nats.Conn
	ari  ari.Transport

	node      string
	rewriteID bool // events get node as asterisk_id

	dialogs *dialogs
	created *createdSet

	sem   chan struct{}
	wg    sync.WaitGroup
	ready chan struct{}
}

// New checks opts. It does not connect; Run does.
func New(opts Options) (*Proxy, error) {
	if opts.NC == nil {
		return nil, errors.New("natsproxy: Options.NC is nil")
	}
	if opts.Transport == nil {
		return nil, errors.New("natsproxy: Options.Transport is nil")
	}
	if opts.Prefix == "" {
		opts.Prefix = wire.DefaultPrefix
	}
	if err := wire.CheckPrefix(opts.Prefix); err != nil {
		return nil, fmt.Errorf("natsproxy: %w", err)
	}
	if err := wire.CheckToken("application", opts.App); err != nil {
		return nil, fmt.Errorf("natsproxy: Options.App: %w", err)
	}
	if opts.Node != "" {
		if err := wire.CheckToken("node", opts.Node); err != nil {
			return nil, fmt.Errorf("natsproxy: Options.Node: %w", err)
		}
	}
	if opts.AnnounceInterval <= 0 {
		opts.AnnounceInterval = wire.AnnounceInterval
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	if opts.MaxTracked <= 0 {
		opts.MaxTracked = DefaultMaxTracked
	}
	return &Proxy{
		opts:    opts,
		log:     opts.Logger.With().Str("component", "natsproxy").Str("app", opts.App).Logger(),
		nc:      opts.NC,
		ari:     opts.Transport,
		dialogs: newDialogs(opts.MaxTracked),
		created: newCreatedSet(opts.MaxTracked),
		sem:     make(chan struct{}, opts.MaxConcurrent),
		ready:   make(chan struct{}),
	}, nil
}

// Run is New followed by Proxy.Run.
func Run(ctx context.Context, opts Options) error {
	p, err := New(opts)
	if err != nil {
		return err
	}
	return p.Run(ctx)
}

// Ready is closed once the proxy has its node, its event stream and its
// subscriptions, and has announced itself.
func (p *Proxy) Ready() <-chan struct{} { return p.ready }

// Node returns the node name; valid once Ready is closed.
func (p *Proxy) Node() string { return p.node }

// Run serves until ctx ends, then unsubscribes, lets the requests in
// progress finish and returns ctx.Err(). It fails early only when the
// subscriptions cannot be made. Asterisk being down is waited out, with
// Warn lines.
func (p *Proxy) Run(ctx context.Context) error {
	node, err := p.findNode(ctx)
	if err != nil {
		return err
	}
	p.node = node
	p.log = p.log.With().Str("node", node).Logger()

	// Events first: Asterisk accepts app=<app> in an originate only while
	// the application has a websocket.
	evUp := make(chan struct{})
	evDone := make(chan struct{})
	go func() {
		defer close(evDone)
		p.runEvents(ctx, evUp)
	}()
	select {
	case <-evUp:
	case <-ctx.Done():
		<-evDone
		return ctx.Err()
	}

	subs, err := p.subscribe()
	defer func() {
		for _, s := range subs {
			if err := s.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
				p.log.Warn().Err(err).Str("subject", s.Subject).Msg("unsubscribe")
			}
		}
		p.wg.Wait()
		<-evDone
	}()
	if err != nil {
		return err
	}
	if err := p.nc.Flush(); err != nil {
		p.log.Warn().Err(err).Msg("flush subscriptions (NATS reconnecting?)")
	}
	p.announce()
	p.log.Info().Str("prefix", p.opts.Prefix).Msg("ari proxy serving")
	close(p.ready)

	tick := time.NewTicker(p.opts.AnnounceInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			p.log.Info().Msg("ari proxy stopping")
			return ctx.Err()
		case <-tick.C:
			p.announce()
		}
	}
}

// findNode returns Options.Node or Asterisk's entity id, waiting for
// Asterisk to answer.
func (p *Proxy) findNode(ctx context.Context) (string, error) {
	if p.opts.Node != "" {
		return p.opts.Node, nil
	}
	for attempt := 0; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, p.opts.RequestTimeout)
		resp, err := p.ari.RoundTrip(rctx, &ari.Request{Method: http.MethodGet, Path: "/asterisk/info"})
		cancel()
		if err == nil && resp.Status == http.StatusOK {
			var info ari.AsteriskInfo
			if err := json.Unmarshal(resp.Body, &info); err != nil || info.System == nil || info.System.EntityID == "" {
				return "", fmt.Errorf("natsproxy: /asterisk/info has no system.entity_id (set Options.Node): %v", err)
			}
			if err := wire.CheckToken("node", info.System.EntityID); err != nil {
				return "", fmt.Errorf("natsproxy: Asterisk's entity id (set Options.Node): %w", err)
			}
			return info.System.EntityID, nil
		}
		if err == nil {
			err = fmt.Errorf("status %d: %s", resp.Status, strings.TrimSpace(string(resp.Body)))
		}
		p.log.Warn().Err(err).Int("attempt", attempt+1).Msg("asterisk info failed; retrying")
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return "", err
		}
	}
}

// backoff is a jittered exponential delay from 100ms to 5s.
func backoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << min(attempt, 6)
	d = min(d, 5*time.Second)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// subscribe makes the ping, request and create subscriptions.
func (p *Proxy) subscribe() ([]*nats.Subscription, error) {
	var subs []*nats.Subscription
	add := func(s *nats.Subscription, err error) error {
		if err != nil {
			return fmt.Errorf("natsproxy: subscribe: %w", err)
		}
		subs = append(subs, s)
		return nil
	}
	if err := add(p.nc.Subscribe(wire.PingSubject(p.opts.Prefix), func(*nats.Msg) { p.announce() })); err != nil {
		return subs, err
	}
	levels := [][2]string{{"", ""}, {p.opts.App, ""}, {p.opts.App, p.node}}
	for _, class := range []string{wire.ClassGet, wire.ClassData, wire.ClassCommand} {
		for _, l := range levels {
			if err := add(p.nc.Subscribe(wire.Subject(p.opts.Prefix, class, l[0], l[1]), p.onRequest)); err != nil {
				return subs, err
			}
		}
	}
	for _, l := range levels {
		if err := add(p.nc.QueueSubscribe(wire.Subject(p.opts.Prefix, wire.ClassCreate, l[0], l[1]), wire.CreateQueue, p.onRequest)); err != nil {
			return subs, err
		}
	}
	return subs, nil
}

// announce publishes this proxy's presence.
func (p *Proxy) announce() {
	b, err := json.Marshal(wire.Announcement{Node: p.node, Application: p.opts.App})
	if err == nil {
		err = p.nc.Publish(wire.AnnounceSubject(p.opts.Prefix), b)
	}
	if err != nil {
		p.log.Warn().Err(err).Msg("announce failed")
	}
}

// runEvents keeps an event stream to Asterisk open and publishes what it
// reads, redialling with backoff. up is closed on the first connection.
func (p *Proxy) runEvents(ctx context.Context, up chan struct{}) {
	var once sync.Once
	for attempt := 0; ; {
		stream, err := p.ari.Events(ctx, []string{p.opts.App})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.log.Warn().Err(err).Int("attempt", attempt+1).Msg("asterisk event stream dial failed")
			if sleep(ctx, backoff(attempt)) != nil {
				return
			}
			attempt++
			continue
		}
		once.Do(func() { close(up) })
		p.log.Info().Msg("asterisk event stream connected")
		attempt = 0
		for {
			raw, err := stream.Read(ctx)
			if err != nil {
				if cerr := stream.Close(); cerr != nil {
					p.log.Debug().Err(cerr).Msg("close event stream")
				}
				if ctx.Err() != nil {
					return
				}
				p.log.Warn().Err(err).Msg("asterisk event stream dropped; events are missed until it is back")
				break
			}
			p.publishEvent(raw)
		}
		if sleep(ctx, backoff(0)) != nil {
			return
		}
	}
}

// publishEvent publishes one Asterisk event on the application's subject
// and on each dialog bound to what it concerns.
func (p *Proxy) publishEvent(raw []byte) {
	ev, decErr := ari.Decode(raw)
	if decErr != nil {
		// Forward it anyway: the clients count and log malformed events.
		p.log.Warn().Err(decErr).Msg("undecodable asterisk event forwarded as is")
	}
	data := raw
	if ev != nil && ev.GetAsteriskID() != p.node && p.opts.Node != "" {
		if b, err := wire.SetEventFields(raw, map[string]string{"asterisk_id": p.node}); err == nil {
			data = b
		}
	}
	hdr := nats.Header{}
	hdr.Set(wire.HeaderNode, p.node)
	var refs []string
	if ev != nil {
		refs = eventRefs(ev)
		if s, ok := ev.(*ari.StasisStart); ok && p.created.has(string(s.Channel.ID)) {
			hdr.Set(wire.HeaderCreated, "true")
		}
	}
	p.publish(&nats.Msg{Subject: wire.EventSubject(p.opts.Prefix, p.opts.App, p.node), Data: data, Header: hdr})
	for _, d := range p.dialogs.of(refs) {
		b, err := wire.SetEventFields(data, map[string]string{"dialog": d})
		if err != nil {
			p.log.Warn().Err(err).Str("dialog", d).Msg("dialog event not published")
			continue
		}
		p.publish(&nats.Msg{Subject: wire.DialogEventSubject(p.opts.Prefix, d), Data: b, Header: hdr})
	}
	switch e := ev.(type) {
	case *ari.ChannelDestroyed:
		p.dialogs.unbind(ref(wire.KindChannel, string(e.Channel.ID)))
		p.created.del(string(e.Channel.ID))
	case *ari.BridgeDestroyed:
		p.dialogs.unbind(ref(wire.KindBridge, string(e.Bridge.ID)))
	case *ari.PlaybackFinished:
		p.dialogs.unbind(ref(wire.KindPlayback, string(e.Playback.ID)))
	}
}

func (p *Proxy) publish(m *nats.Msg) {
	if err := p.nc.PublishMsg(m); err != nil {
		p.log.Warn().Err(err).Str("subject", m.Subject).Msg("event not published")
	}
}

// eventRefs names every channel, bridge and playback an event concerns.
func eventRefs(ev ari.Event) []string {
	var out []string
	for _, id := range ari.ChannelsOf(ev) {
		out = append(out, ref(wire.KindChannel, string(id)))
	}
	for _, id := range ari.BridgesOf(ev) {
		out = append(out, ref(wire.KindBridge, string(id)))
	}
	switch e := ev.(type) {
	case *ari.PlaybackStarted:
		out = append(out, ref(wire.KindPlayback, string(e.Playback.ID)))
	case *ari.PlaybackContinuing:
		out = append(out, ref(wire.KindPlayback, string(e.Playback.ID)))
	case *ari.PlaybackFinished:
		out = append(out, ref(wire.KindPlayback, string(e.Playback.ID)))
	}
	return out
}

func ref(kind, id string) string { return kind + ":" + id }
