package service

import (
	"net/http"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/app/httpapi"
	"github.com/transferd/transferd/app/ui"
)

// HTTPHandler serves transferd's HTTP endpoints: /healthz, /readyz,
// /metrics (when m is not nil), the API under /v2 (package httpapi) and
// the operator page under /ui/ (package ui), with the event stream fed by
// hub (nil: the stream answers 503; hub.Hooks() must be among the hooks
// given to app.New so the hub hears of every call change). It fails when
// an account's tokens are malformed, naming accounts.<name>.tokens[<i>].
func HTTPHandler(a *app.App, cfg app.Config, m *app.Metrics, hub *httpapi.Hub, log zerolog.Logger) (http.Handler, error) {
	tokens, err := httpapi.ConfigTokens(cfg)
	if err != nil {
		return nil, err
	}
	o := httpapi.Options{
		Backend:            a,
		Tokens:             tokens,
		Hub:                hub,
		Log:                log.With().Str("component", "http").Logger(),
		Health:             func() any { return map[string]any{"status": "ok", "live_calls": a.LiveCalls()} },
		Ready:              a.Ready,
		StreamWriteTimeout: cfg.HTTP.WriteTimeout,
		MediaAllow: func(account string) []string {
			return cfg.Accounts[account].MediaAllow
		},
	}
	if m != nil {
		o.Metrics = m.Handler()
	}
	return ui.Mount(httpapi.New(o)), nil // the operator page at /ui/
}
