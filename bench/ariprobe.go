package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
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

// natsPaired is what natsOverhead measured.
type natsPaired struct {
	// direct and ours: the same request direct over HTTP and through
	// natsproxy, alternating.
	direct, ours []time.Duration
	// withStock: direct, through natsproxy and through the stock
	// ari-proxy, in rounds of three; empty without a stock binary.
	withStock [3][]time.Duration
	stockBin  string // the stock binary given, or ""
	stockErr  error  // why it was given but not measured
}

// natsOverhead times n pairs of the same request, one direct over HTTP and
// one through natstransport → natsproxy → HTTP, alternating, so a busy
// moment of the shared machine weighs on both: what NATS adds is the
// difference of their p50s. Then, when stockBin is not "", n rounds of
// three: direct, natsproxy, and natstransport (stock mode) → the stock
// ari-proxy → HTTP. The rounds of three are apart because the stock
// proxy's process, running beside, slows the other two as well (on the
// 2-core machine, direct p50 0.11 → 0.22 ms). Each proxy has its own NATS
// connection, as in its own process; the transports share the
// application's.
func (e *env) natsOverhead(ctx context.Context, n int, stockBin string) (*natsPaired, error) {
	res := &natsPaired{stockBin: stockBin}
	srv, err := natsbus.StartEmbedded(natsbus.Options{Host: "127.0.0.1", Name: "bench-nats-pair"})
	if err != nil {
		return res, err
	}
	defer srv.Shutdown()
	pnc, err := natsbus.Connect(srv.ClientURL(), "bench-proxy", zerolog.Nop())
	if err != nil {
		return res, err
	}
	defer pnc.Close()
	nc, err := natsbus.Connect(srv.ClientURL(), "bench", zerolog.Nop())
	if err != nil {
		return res, err
	}
	defer nc.Close()
	tr, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: e.sb.URL(), Username: integration.ARIUser, Password: ari.Secret(e.sb.Password)})
	if err != nil {
		return res, err
	}
	const app = "bench-nats-pair"
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p, err := natsproxy.New(natsproxy.Options{NC: pnc, App: app, Transport: tr})
	if err != nil {
		return res, err
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(pctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-p.Ready():
	case <-ctx.Done():
		return res, ctx.Err()
	}
	ntr, err := natstransport.New(nc, natstransport.Options{App: app})
	if err != nil {
		return res, err
	}
	defer ntr.Close()
	over, err := ari.New(ari.Options{Transport: ntr})
	if err != nil {
		return res, err
	}
	// The direct client is one of its own, like the proxy's: same HTTP
	// keep-alive, same JSON decoding.
	plain, err := ari.New(ari.Options{Transport: tr})
	if err != nil {
		return res, err
	}
	clients := []*ari.Client{plain, over}
	if stockBin != "" {
		stock, err := e.stockClient(ctx, stockBin, srv.ClientURL(), nc)
		if err != nil {
			res.stockErr = err
		} else {
			defer stock.close()
			clients = append(clients, stock.client)
		}
	}
	for i := 0; i < 50; i++ { // warm up (the transports learn the node)
		for j, c := range clients {
			if _, err := c.Channels.Get(ctx, probeID); err != nil {
				if j == 2 {
					res.stockErr = fmt.Errorf("GET /channels/{id} through it: %w", err)
					clients = clients[:2]
					break
				}
				return res, err
			}
		}
	}
	if err := rounds(ctx, n, clients[:2], []*[]time.Duration{&res.direct, &res.ours}); err != nil {
		return res, err
	}
	if len(clients) == 3 {
		w := &res.withStock
		if err := rounds(ctx, n, clients, []*[]time.Duration{&w[0], &w[1], &w[2]}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// rounds times n rounds of GET /channels/{id}, one by each client in turn,
// into outs (one per client).
func rounds(ctx context.Context, n int, clients []*ari.Client, outs []*[]time.Duration) error {
	for i := 0; i < n; i++ {
		for j, c := range clients {
			t := time.Now()
			if _, err := c.Channels.Get(ctx, probeID); err != nil {
				return err
			}
			*outs[j] = append(*outs[j], time.Since(t))
		}
	}
	return nil
}

// stockARI is an ari.Client through a stock ari-proxy.
type stockARI struct {
	client *ari.Client
	close  func()
}

// stockClient starts the stock ari-proxy on the NATS server at natsURL and
// returns a client that reaches it through natstransport in stock mode on
// nc.
func (e *env) stockClient(ctx context.Context, bin, natsURL string, nc *nats.Conn) (*stockARI, error) {
	const app = "bench-nats-stock"
	sp, err := e.startStockProxy(ctx, bin, natsURL, app)
	if err != nil {
		return nil, err
	}
	tr, err := natstransport.New(nc, natstransport.Options{App: app, StockServer: true})
	if err != nil {
		sp.stop()
		return nil, err
	}
	cl, err := ari.New(ari.Options{Transport: tr})
	if err != nil {
		_ = tr.Close()
		sp.stop()
		return nil, err
	}
	return &stockARI{client: cl, close: func() { _ = tr.Close(); sp.stop() }}, nil
}
