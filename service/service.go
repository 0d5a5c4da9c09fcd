package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/app/httpapi"
	"github.com/transferd/transferd/ari"
)

// Options is what a caller adds to the configuration. The zero value is
// transferd as cmd/transferd runs it.
type Options struct {
	// Log is the root logger (see Logger).
	Log zerolog.Logger
	// Hooks observe every call besides the metrics and the event hub (the
	// benchmark's exact latencies).
	Hooks []app.Hooks
	// OnARIRequest hears every ARI request besides the metrics.
	OnARIRequest func(method, path string, status int, d time.Duration)
	// ARIHTTPClient carries ARI's requests in HTTP mode; nil: ari's own
	// client (a pool of ari.DefaultMaxConns kept-alive connections).
	ARIHTTPClient *http.Client
	// OnARIClient is given the ARI client once made (the benchmark
	// subscribes to count the events transferd receives).
	OnARIClient func(*ari.Client)
}

// Service is a transferd ready to run: its ARI client and transport (HTTP,
// or NATS with the shared call store and leases), metrics, event hub,
// application and HTTP server.
type Service struct {
	// App is the Stasis application.
	App *app.App

	cfg  app.Config
	log  zerolog.Logger
	nats *natsSetup // nil in HTTP mode
	hub  *httpapi.Hub
	srv  *http.Server // nil when http.listen is ""
	ln   net.Listener
}

// New builds transferd from cfg (already validated): in NATS mode it
// connects (starting the embedded nats-server when configured) and opens
// the shared call store; it listens on http.listen. Nothing talks to
// Asterisk before Run. On error everything New opened is closed again.
func New(ctx context.Context, cfg app.Config, o Options) (_ *Service, err error) {
	log := o.Log
	s := &Service{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	var transport ari.Transport
	if cfg.NATS.Enabled() {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		s.nats, err = setupNATS(sctx, cfg, log)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("nats: %w", err)
		}
		transport = s.nats.transport
		log.Info().Msg("ARI through NATS; calls shared with other instances") // the logger carries instance
	} else {
		transport, err = ari.NewHTTPTransport(ari.HTTPOptions{URL: cfg.ARI.URL, Username: cfg.ARI.Username,
			Password: cfg.ARI.Password, Client: o.ARIHTTPClient})
		if err != nil {
			return nil, fmt.Errorf("ari transport: %w", err)
		}
	}
	metrics := app.NewMetrics()
	onRequest := metrics.ObserveARI
	if f := o.OnARIRequest; f != nil {
		onRequest = func(method, path string, status int, d time.Duration) {
			metrics.ObserveARI(method, path, status, d)
			f(method, path, status, d)
		}
	}
	client, err := ari.New(ari.Options{Transport: transport, Apps: []string{cfg.ARI.App},
		Logger: log.With().Str("component", "ari").Logger(), OnRequest: onRequest})
	if err != nil {
		return nil, fmt.Errorf("ari client: %w", err)
	}
	metrics.WatchARI(client.Stats)
	if f := o.OnARIClient; f != nil {
		f(client)
	}
	// The event hub hears every call change on the calls' goroutines and
	// fans it out to the API's event streams without blocking them.
	s.hub = httpapi.NewHub(httpapi.HubOptions{})
	hooks := append([]app.Hooks{metrics.Hooks(), s.hub.Hooks()}, o.Hooks...)
	if s.App, err = app.New(cfg, client, log, hooks...); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	if n := s.nats; n != nil {
		s.App.SetStore(n.cluster)
		s.App.SetOwnership(n.cluster)
		s.App.SetDialogs(dialogs{n.transport})
		s.App.AddReadyCheck(n.ready)
		// Events published while NATS was away are lost: every call checks
		// its legs against Asterisk once NATS is back.
		resync := func() { s.App.ResyncSoon() }
		n.reconnected.Store(&resync)
	}
	handler, err := HTTPHandler(s.App, cfg, metrics, s.hub, log)
	if err != nil {
		return nil, fmt.Errorf("http api: %w", err)
	}
	if cfg.HTTP.Listen != "" {
		if s.ln, err = httpapi.Listen(cfg.HTTP.Listen, cfg.HTTP.MaxConnections); err != nil {
			return nil, fmt.Errorf("http server on %s: %w", cfg.HTTP.Listen, err)
		}
		s.srv = httpapi.NewServer(handler, cfg.HTTP)
		// Event streams never end by themselves: end them on shutdown.
		s.srv.RegisterOnShutdown(s.hub.Close)
	}
	return s, nil
}

// Run serves HTTP and runs the application until ctx ends (or the HTTP
// server fails), then shuts the server down and closes what New opened.
// Live calls stay in Stasis for the next start (see Drain).
func (s *Service) Run(ctx context.Context) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	defer s.close()
	if s.srv != nil {
		go func() {
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error().Err(err).Str("listen", s.cfg.HTTP.Listen).Msg("http server")
				stop()
			}
		}()
	}
	s.log.Info().Str("ari_url", s.cfg.ARI.URL).Str("app", s.cfg.ARI.App).Str("http", s.cfg.HTTP.Listen).Msg("transferd starting")
	err := s.App.Run(ctx)
	if s.srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.srv.Shutdown(sctx)
		cancel()
	}
	return err
}

// RunWithSignals is Run, ended by the signals as an operator expects:
// SIGINT stops at once (live calls stay in Stasis for the next start);
// SIGTERM drains (see Drain) and then stops.
func (s *Service) RunWithSignals(ctx context.Context) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case sig := <-sigs:
				if sig == syscall.SIGINT {
					s.log.Info().Msg("SIGINT: stopping now; live calls stay in Stasis for the next start")
					stop()
					return
				}
				s.log.Info().Int("live_calls", s.App.LiveCalls()).Msg("SIGTERM: draining, no new calls")
				go func() {
					s.Drain(ctx)
					stop()
				}()
			}
		}
	}()
	return s.Run(ctx)
}

// Drain stops taking new calls and returns once the live calls have ended,
// or after drain_timeout: then, behind NATS, the calls left are handed to
// the other instances; alone, they stay bridged in Asterisk, in Stasis,
// and the next start carries them on. The caller then ends Run. When ctx
// ends first (a stop during the drain) the calls are left as they are.
func (s *Service) Drain(ctx context.Context) {
	s.App.Drain()
	wctx, cancel := context.WithTimeout(ctx, s.cfg.DrainTimeout)
	err := s.App.WaitCalls(wctx)
	cancel()
	if err == nil || ctx.Err() != nil {
		return
	}
	if s.nats != nil {
		// Other instances take the rest over.
		n := s.App.Handoff(ctx)
		s.log.Info().Int("calls", n).Msg("drain: calls handed to the other instances")
		return
	}
	s.log.Warn().Int("live_calls", s.App.LiveCalls()).Dur("drain_timeout", s.cfg.DrainTimeout).
		Msg("drain timeout: exiting; the live calls stay bridged in Asterisk and are recovered on the next start")
}

// close releases what New opened: the listener (already closed when the
// server was shut down) and NATS.
func (s *Service) close() {
	if s.ln != nil {
		_ = s.ln.Close()
	}
	if s.nats != nil {
		s.nats.close()
	}
}

// Logger is the root logger for c: JSON (or console) on stderr, with
// millisecond timestamps and the instance id on every line.
func Logger(c app.LogConfig, instance string) zerolog.Logger {
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil {
		level = zerolog.InfoLevel
	}
	// Millisecond timestamps: transfer steps happen within milliseconds.
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	var log zerolog.Logger
	if c.Format == "console" {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"})
	} else {
		log = zerolog.New(os.Stderr)
	}
	return log.Level(level).With().Timestamp().Str("instance", instance).Logger()
}
