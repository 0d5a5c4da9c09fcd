package app

import (
	"encoding/json"
	"net/http"

	"github.com/rs/zerolog"
)

// NewHTTPHandler serves transferd's HTTP endpoints: /healthz, /metrics and
// the transfer API under /v2.
func NewHTTPHandler(a *App, cfg Config, m *Metrics, log zerolog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "ok", "live_calls": a.LiveCalls()})
	})
	if m != nil {
		mux.Handle("GET /metrics", m.Handler())
	}
	return mux
}
