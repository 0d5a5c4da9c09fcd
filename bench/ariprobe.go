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

// natsLatency times n GET /channels/{id} requests through NATS: an embedded
// nats-server, a natsproxy in front of the sandbox Asterisk and an ari.Client
// over natstransport — the path `transferd --nats` takes (issue 6).
func (e *env) natsLatency(ctx context.Context, n int) ([]time.Duration, error) {
	srv, err := natsbus.StartEmbedded(natsbus.Options{Host: "127.0.0.1", Name: "bench-nats"})
	if err != nil {
		return nil, err
	}
	defer srv.Shutdown()
	nc, err := natsbus.Connect(srv.ClientURL(), "bench", zerolog.Nop())
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	direct, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: e.sb.URL(), Username: integration.ARIUser, Password: ari.Secret(e.sb.Password)})
	if err != nil {
		return nil, err
	}
	const app = "bench-nats"
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p, err := natsproxy.New(natsproxy.Options{NC: nc, App: app, Transport: direct})
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(pctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-p.Ready():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	tr, err := natstransport.New(nc, natstransport.Options{App: app})
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	cl, err := ari.New(ari.Options{Transport: tr})
	if err != nil {
		return nil, err
	}
	for i := 0; i < 50; i++ { // warm up: the transport learns the node
		if _, err := cl.Channels.Get(ctx, probeID); err != nil {
			return nil, err
		}
	}
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		t := time.Now()
		if _, err := cl.Channels.Get(ctx, probeID); err != nil {
			return out, err
		}
		out = append(out, time.Since(t))
	}
	return out, nil
}
