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
	"runtime"
	"sync"
	"time"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/service"
)

// serveTransferd is `bench serve-transferd`: transferd built by package
// service exactly as cmd/transferd builds it (configuration file, ARI
// transport and client, metrics, event hub, application, HTTP server,
// drain on SIGTERM), run as a separate process so its CPU time can be read
// from /proc. The benchmark adds only its probes (every code-to-hold
// latency, every ARI request's duration) and, on a second listener it
// alone uses, net/http/pprof and a heap reading after a forced GC
// (/bench/heap).
func serveTransferd(args []string) int {
	fs := flag.NewFlagSet("serve-transferd", flag.ContinueOnError)
	configPath := fs.String("config", "", "transferd configuration file")
	debugAddr := fs.String("debug", "", "listen address for pprof and /bench/heap")
	pool := fs.Int("http-pool", 0, "if > 0: keep at most this many HTTP connections to ARI, all reusable (0: ari's own pool of ari.DefaultMaxConns, as cmd/transferd)")
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
	log := service.Logger(cfg.Log, service.InstanceID(cfg))

	var hc *http.Client
	if *pool > 0 {
		tp := http.DefaultTransport.(*http.Transport).Clone()
		tp.MaxConnsPerHost = *pool
		tp.MaxIdleConnsPerHost = *pool
		hc = &http.Client{Transport: tp}
	}
	// The benchmark's probes: every ARI request's exact duration, by
	// method and path template, and every code-to-hold latency (the
	// metrics' histograms have coarse buckets).
	reqs := &reqRecorder{by: map[string][]time.Duration{}}
	holds := &holdRecorder{}
	var events *eventCounter // every ARI event transferd receives, by type
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	svc, err := service.New(ctx, cfg, service.Options{
		Log:           log,
		Hooks:         []app.Hooks{{TransfereeHeld: holds.add}},
		OnARIRequest:  func(method, path string, _ int, d time.Duration) { reqs.add(method+" "+path, d) },
		ARIHTTPClient: hc,
		OnARIClient:   func(c *ari.Client) { events = countEvents(c) },
	})
	if err != nil {
		log.Error().Err(err).Msg("transferd could not start")
		return 1
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
				Goroutines: runtime.NumGoroutine(), LiveCalls: svc.App.LiveCalls(), Sys: ms.Sys,
			})
		})
		mux.HandleFunc("/bench/holds", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(holds.take(r.URL.Query().Has("reset")))
		})
		mux.HandleFunc("/bench/events", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(events.take(r.URL.Query().Has("reset")))
		})
		mux.HandleFunc("/bench/ari", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(reqs.take(r.URL.Query().Has("reset")))
		})
		debug := &http.Server{Addr: *debugAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := debug.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Str("listen", debug.Addr).Msg("debug server")
				stop()
			}
		}()
		defer debug.Close()
	}
	if err := svc.RunWithSignals(ctx); err != nil {
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

// eventCounter counts the ARI events a client receives, by type.
type eventCounter struct {
	mu sync.Mutex
	by map[string]float64
}

func countEvents(client *ari.Client) *eventCounter {
	ec := &eventCounter{by: map[string]float64{}}
	sub := client.Subscribe(ari.Filter{})
	go func() {
		for ev := range sub.Events() {
			ec.mu.Lock()
			ec.by[ev.GetType()]++
			ec.mu.Unlock()
		}
	}()
	return ec
}

func (ec *eventCounter) take(reset bool) map[string]float64 {
	out := map[string]float64{}
	if ec == nil {
		return out
	}
	ec.mu.Lock()
	defer ec.mu.Unlock()
	for k, v := range ec.by {
		out[k] = v
	}
	if reset {
		ec.by = map[string]float64{}
	}
	return out
}
