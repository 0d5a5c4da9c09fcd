package app

import (
	"net/http"
	"time"

	"github.com/transferd/transferd/ari"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the Prometheus series transferd exports on /metrics. Each
// instance has its own registry (no package-level state).
type Metrics struct {
	reg            *prometheus.Registry
	activeCalls    prometheus.Gauge
	callsStarted   prometheus.Counter
	transfers      *prometheus.CounterVec
	transferLength prometheus.Histogram
	ariLatency     *prometheus.HistogramVec
	holdLatency    prometheus.Histogram
}

// NewMetrics registers transferd's series.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		activeCalls: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "transferd_active_calls", Help: "Calls in progress."}),
		callsStarted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "transferd_calls_total", Help: "Calls that entered the application."}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "transferd_transfers_total", Help: "Finished transfers by outcome (completed, partial-completed, cancelled, failed:busy, ...)."},
			[]string{"account", "outcome"}),
		transferLength: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "transferd_transfer_duration_seconds", Help: "From the transfer code to the transfer's end.",
			Buckets: []float64{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300}}),
		ariLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "transferd_ari_request_duration_seconds", Help: "ARI request latency by method, path template and status.",
			Buckets: []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}},
			[]string{"method", "path", "status"}),
	}
	m.holdLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "transferd_code_to_hold_seconds", Help: "From the digit that decided a transfer code (its final digit, or its prefix when that holds the transferee before the number) or the API request, to the transferee entering the holding bridge.",
		Buckets: []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25}})
	m.reg.MustRegister(m.activeCalls, m.callsStarted, m.transfers, m.transferLength, m.ariLatency, m.holdLatency,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// WatchARI exports the ari client's event-stream counters.
func (m *Metrics) WatchARI(stats func() ari.Stats) {
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "transferd_ari_events_received_total", Help: "Events read from the ARI event stream."},
			func() float64 { return float64(stats().Received) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "transferd_ari_events_dropped_total", Help: "Events that could not be decoded and were not dispatched (malformed); none is dropped otherwise."},
			func() float64 { return float64(stats().Malformed) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "transferd_ari_events_unknown_total", Help: "Events of a type the client does not know (dispatched raw)."},
			func() float64 { return float64(stats().Unknown) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "transferd_ari_websocket_reconnects_total", Help: "Reconnects of the ARI event stream."},
			func() float64 { return float64(stats().Reconnects) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "transferd_ari_connected", Help: "1 while the ARI event stream is up."},
			func() float64 {
				if stats().Connected {
					return 1
				}
				return 0
			}),
	)
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// ObserveARI is the ari client's OnRequest hook.
func (m *Metrics) ObserveARI(method, path string, status int, d time.Duration) {
	m.ariLatency.WithLabelValues(method, path, statusLabel(status)).Observe(d.Seconds())
}

func statusLabel(s int) string {
	if s == 0 {
		return "transport_error"
	}
	return http.StatusText(s)
}

// Hooks returns the app hooks that feed these metrics.
func (m *Metrics) Hooks() Hooks {
	return Hooks{
		CallStarted:    func() { m.callsStarted.Inc(); m.activeCalls.Inc() },
		CallEnded:      func() { m.activeCalls.Dec() },
		TransfereeHeld: func(d time.Duration) { m.holdLatency.Observe(d.Seconds()) },
		TransferEnded: func(account, outcome string, seconds float64) {
			m.transfers.WithLabelValues(account, outcome).Inc()
			m.transferLength.Observe(seconds)
		},
	}
}
