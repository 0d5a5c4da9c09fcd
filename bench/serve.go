package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/app/httpapi"
	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/service"
)

// serveTransferd is `bench serve-transferd`: transferd as cmd/transferd
// wires it (keep the two in step) (configuration file, metrics, hooks, its own ARI
// client, JSON logs on stderr), run as a separate process so its CPU time
// can be read from /proc, plus what cmd/transferd does not have yet:
// net/http/pprof and a heap reading after a forced GC (/bench/heap), on a
// second listener the benchmark alone uses.
func serveTransferd(args []string) int {
	fs := flag.NewFlagSet("serve-transferd", flag.ContinueOnError)
	configPath := fs.String("config", "", "transferd configuration file")
	debugAddr := fs.String("debug", "", "listen address for pprof and /bench/heap")
	pool := fs.Int("http-pool", 0, "if > 0: keep at most this many HTTP connections to ARI, all reusable (cmd/transferd: Go's defaults, unbounded with 2 idle)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := app.LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve-transferd:", err)
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "serve-transferd:", err)
		return 2
	}
	level, err := zerolog.ParseLevel(cfg.Log.Level)
	if err != nil {
		level = zerolog.InfoLevel
	}
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	host, _ := os.Hostname()
	log := zerolog.New(os.Stderr).Level(level).With().Timestamp().Str("instance", fmt.Sprintf("%s-%d", host, os.Getpid())).Logger()

	var hc *http.Client
	if *pool > 0 {
		tp := http.DefaultTransport.(*http.Transport).Clone()
		tp.MaxConnsPerHost = *pool
		tp.MaxIdleConnsPerHost = *pool
		hc = &http.Client{Transport: tp}
	}
	transport, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: cfg.ARI.URL, Username: cfg.ARI.Username, Password: cfg.ARI.Password, Client: hc})
	if err != nil {
		log.Error().Err(err).Msg("ari transport")
		return 2
	}
	metrics := app.NewMetrics()
	// The benchmark's addition: every ARI request's exact duration, by
	// method and path template.
	reqs := &reqRecorder{by: map[string][]time.Duration{}}
	onRequest := func(method, path string, status int, d time.Duration) {
		metrics.ObserveARI(method, path, status, d)
		reqs.add(method+" "+path, d)
	}
	client, err := ari.New(ari.Options{Transport: transport, Apps: []string{cfg.ARI.App},
		Logger: log.With().Str("component", "ari").Logger(), OnRequest: onRequest})
	if err != nil {
		log.Error().Err(err).Msg("ari client")
		return 2
	}
	metrics.WatchARI(client.Stats)
	hub := httpapi.NewHub(httpapi.HubOptions{})
	hooks := metrics.Hooks()
	hooks.CallChanged = hub.Publish
	// The benchmark's addition: every code-to-hold latency, exactly (the
	// metric's histogram has coarse buckets).
	holds := &holdRecorder{}
	if f := hooks.TransfereeHeld; f != nil {
		hooks.TransfereeHeld = func(d time.Duration) { f(d); holds.add(d) }
	} else {
		hooks.TransfereeHeld = holds.add
	}
	application, err := app.New(cfg, client, log, hooks)
	if err != nil {
		log.Error().Err(err).Msg("app")
		return 2
	}
	handler, err := service.HTTPHandler(application, cfg, metrics, hub, log)
	if err != nil {
		log.Error().Err(err).Msg("http api")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var servers []*http.Server
	if cfg.HTTP.Listen != "" {
		srv := &http.Server{Addr: cfg.HTTP.Listen, Handler: handler, ReadHeaderTimeout: 5 * time.Second}
		srv.RegisterOnShutdown(hub.Close)
		servers = append(servers, srv)
	}
	if *debugAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/bench/heap", func(w http.ResponseWriter, r *http.Request) {
			// Two GCs: the first may leave finalizer-held objects behind.
			runtime.GC()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(heapReading{
				HeapAlloc: ms.HeapAlloc, HeapInuse: ms.HeapInuse, HeapObjects: ms.HeapObjects, StackInuse: ms.StackInuse,
				Goroutines: runtime.NumGoroutine(), LiveCalls: application.LiveCalls(), Sys: ms.Sys,
			})
		})
		mux.HandleFunc("/bench/holds", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(holds.take(r.URL.Query().Has("reset")))
		})
		mux.HandleFunc("/bench/ari", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(reqs.take(r.URL.Query().Has("reset")))
		})
		servers = append(servers, &http.Server{Addr: *debugAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second})
	}
	for _, srv := range servers {
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Str("listen", srv.Addr).Msg("http server")
				stop()
			}
		}()
	}
	log.Info().Str("ari_url", cfg.ARI.URL).Str("app", cfg.ARI.App).Str("http", cfg.HTTP.Listen).Msg("transferd (bench) starting")
	err = application.Run(ctx)
	for _, srv := range servers {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	if err != nil {
		log.Error().Err(err).Msg("transferd stopped")
		return 1
	}
	return 0
}

// holdRecorder keeps the code-to-hold latencies (Hooks.TransfereeHeld).
type holdRecorder struct {
	mu sync.Mutex
	ds []time.Duration
}

func (h *holdRecorder) add(d time.Duration) {
	h.mu.Lock()
	h.ds = append(h.ds, d)
	h.mu.Unlock()
}

// take returns the latencies recorded so far (nanoseconds), and forgets
// them when reset.
func (h *holdRecorder) take(reset bool) []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := append([]time.Duration(nil), h.ds...)
	if reset {
		h.ds = nil
	}
	return out
}

// reqRecorder keeps ARI request durations by "METHOD /path/{template}".
type reqRecorder struct {
	mu sync.Mutex
	by map[string][]time.Duration
}

func (r *reqRecorder) add(key string, d time.Duration) {
	r.mu.Lock()
	r.by[key] = append(r.by[key], d)
	r.mu.Unlock()
}

func (r *reqRecorder) take(reset bool) map[string][]time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.by
	if reset {
		r.by = map[string][]time.Duration{}
	} else {
		out = map[string][]time.Duration{}
		for k, v := range r.by {
			out[k] = append([]time.Duration(nil), v...)
		}
	}
	return out
}

// heapReading is /bench/heap's answer.
type heapReading struct {
	HeapAlloc   uint64 `json:"heap_alloc"`
	HeapInuse   uint64 `json:"heap_inuse"`
	HeapObjects uint64 `json:"heap_objects"`
	StackInuse  uint64 `json:"stack_inuse"`
	Sys         uint64 `json:"sys"`
	Goroutines  int    `json:"goroutines"`
	LiveCalls   int    `json:"live_calls"`
}
