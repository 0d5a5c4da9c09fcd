package main

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natsproxy"
	"github.com/transferd/transferd/ari/natstransport"
	"github.com/transferd/transferd/integration"
	"github.com/transferd/transferd/natsbus"
)

// probeID is a channel that exists only to be read: created in the phones
// application and never dialed.
const probeID = ari.ChannelID("probe-1")

func (e *env) startProbe(ctx context.Context) error {
	_, err := e.cl.Channels.Create(ctx, ari.CreateParams{Endpoint: "Local/probe@transferd-native-caller/n",
		App: integration.PhonesApp, AppArgs: "probe", ChannelID: probeID, OtherChannelID: "probe-2"})
	return err
}

func (e *env) stopProbe(ctx context.Context) {
	_ = e.cl.Channels.Hangup(ctx, probeID, "normal")
}

// ariLatency times n GET /channels/{id} requests made one after another.
func (e *env) ariLatency(ctx context.Context, n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		t := time.Now()
		if _, err := e.cl.Channels.Get(ctx, probeID); err != nil {
			return out, err
		}
		out = append(out, time.Since(t))
	}
	return out, nil
}

// ariSampler times one GET /channels/{id} every interval until stopped.
type ariSampler struct {
	mu   sync.Mutex
	ds   []time.Duration
	errs int
	stop func()
	done chan struct{}
}

func (e *env) sampleARI(ctx context.Context, every time.Duration) *ariSampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &ariSampler{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			t := time.Now()
			_, err := e.cl.Channels.Get(ctx, probeID)
			d := time.Since(t)
			s.mu.Lock()
			if err != nil {
				if ctx.Err() == nil {
					s.errs++
				}
			} else {
				s.ds = append(s.ds, d)
			}
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *ariSampler) finish() []time.Duration {
	s.stop()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ds
}

// natsOverhead times n pairs of the same request, one direct over HTTP and
// one through NATS, alternating, so a busy moment of the shared machine
// weighs on both: what NATS adds is the difference of their p50s.
func (e *env) natsOverhead(ctx context.Context, n int) (direct, nats []time.Duration, err error) {
	srv, err := natsbus.StartEmbedded(natsbus.Options{Host: "127.0.0.1", Name: "bench-nats-pair"})
	if err != nil {
		return nil, nil, err
	}
	defer srv.Shutdown()
	nc, err := natsbus.Connect(srv.ClientURL(), "bench", zerolog.Nop())
	if err != nil {
		return nil, nil, err
	}
	defer nc.Close()
	tr, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: e.sb.URL(), Username: integration.ARIUser, Password: ari.Secret(e.sb.Password)})
	if err != nil {
		return nil, nil, err
	}
	const app = "bench-nats-pair"
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p, err := natsproxy.New(natsproxy.Options{NC: nc, App: app, Transport: tr})
	if err != nil {
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(pctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-p.Ready():
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	ntr, err := natstransport.New(nc, natstransport.Options{App: app})
	if err != nil {
		return nil, nil, err
	}
	defer ntr.Close()
	over, err := ari.New(ari.Options{Transport: ntr})
	if err != nil {
		return nil, nil, err
	}
	// The direct client is one of its own, like the proxy's: same HTTP
	// keep-alive, same JSON decoding.
	plain, err := ari.New(ari.Options{Transport: tr})
	if err != nil {
		return nil, nil, err
	}
	for i := 0; i < 50; i++ { // warm up both (the transport learns the node)
		if _, err := over.Channels.Get(ctx, probeID); err != nil {
			return nil, nil, err
		}
		if _, err := plain.Channels.Get(ctx, probeID); err != nil {
			return nil, nil, err
		}
	}
	for i := 0; i < n; i++ {
		for _, c := range []*ari.Client{plain, over} {
			t := time.Now()
			if _, err := c.Channels.Get(ctx, probeID); err != nil {
				return direct, nats, err
			}
			if c == plain {
				direct = append(direct, time.Since(t))
			} else {
				nats = append(nats, time.Since(t))
			}
		}
	}
	return direct, nats, nil
}
