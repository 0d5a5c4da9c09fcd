package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/app/featurecode"
	"github.com/transferd/transferd/app/httpapi"
	"github.com/transferd/transferd/app/ui"
	"github.com/transferd/transferd/transfer"
)

// NewHTTPHandler serves transferd's HTTP endpoints: /healthz, /metrics
// (when m is not nil), the API under /v2 (package httpapi) and the
// operator page under /ui/ (package ui), with the
// event stream fed by hub (nil: the stream answers 503; pass EventHooks(hub)
// to New so the hub hears of every call change). It fails when an
// account's tokens are malformed, naming accounts.<name>.tokens[<i>].
func NewHTTPHandler(a *App, cfg Config, m *Metrics, hub *httpapi.Hub, log zerolog.Logger) (http.Handler, error) {
	tokens, err := APITokens(cfg)
	if err != nil {
		return nil, err
	}
	o := httpapi.Options{
		Backend:            apiBackend{a},
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

// APITokens builds the API's token table from the accounts' tokens.
func APITokens(cfg Config) (*httpapi.Tokens, error) {
	byAccount := map[string][]string{}
	for name, ac := range cfg.Accounts {
		for _, t := range ac.Tokens {
			byAccount[name] = append(byAccount[name], string(t))
		}
	}
	return httpapi.NewTokens(byAccount)
}

// EventHooks returns the hooks that publish every call change to hub.
func EventHooks(hub *httpapi.Hub) Hooks {
	return Hooks{CallChanged: func(ci CallInfo) { hub.Publish(APICallInfo(ci)) }}
}

// APICallInfo converts a call's view to the API's (a deep copy).
func APICallInfo(ci CallInfo) httpapi.CallInfo {
	out := httpapi.CallInfo{ID: ci.ID, Account: ci.Account, Bridge: ci.Bridge, State: ci.State,
		Started: ci.Started, Transfer: apiTransfer(ci.Transfer), LastTransfer: apiTransfer(ci.LastTransfer),
		Converging: ci.Converging}
	if ci.Parties != nil {
		out.Parties = make([]httpapi.PartyInfo, len(ci.Parties))
		for i, p := range ci.Parties {
			out.Parties[i] = httpapi.PartyInfo{Channel: p.Channel, Role: p.Role, Number: p.Number, Name: p.Name, State: p.State}
		}
	}
	return out
}

func apiTransfer(t *TransferInfo) *httpapi.TransferInfo {
	if t == nil {
		return nil
	}
	return &httpapi.TransferInfo{ID: t.ID, State: t.State, Target: t.Target, Transferor: t.Transferor,
		Transferee: t.Transferee, Outcome: t.Outcome}
}

// apiBackend is the adapter from *App to httpapi.Backend.
type apiBackend struct{ a *App }

func (b apiBackend) Calls(account string) []httpapi.CallInfo {
	calls := b.a.Calls(account)
	out := make([]httpapi.CallInfo, len(calls))
	for i, c := range calls {
		out[i] = APICallInfo(c)
	}
	return out
}

func (b apiBackend) Call(id string) (httpapi.Call, bool) {
	c := b.a.Call(id)
	if c == nil {
		return nil, false
	}
	return apiCall{c}, true
}

type apiCall struct{ c *Call }

func (c apiCall) Account() string        { return c.c.Account() }
func (c apiCall) Info() httpapi.CallInfo { return APICallInfo(c.c.Info()) }

func (c apiCall) Do(ctx context.Context, action, channel, target string, data map[string]string) (httpapi.CallInfo, error) {
	if tb := data[featurecode.TakebackData]; tb != "" {
		if err := c.c.checkTakeback(tb); err != nil {
			return httpapi.CallInfo{}, err
		}
	}
	info, err := c.c.Do(ctx, action, channel, target, data)
	api := APICallInfo(info)
	if errors.Is(err, ErrAsteriskUnavailable) {
		e := &httpapi.Error{Status: http.StatusServiceUnavailable, Reason: httpapi.ReasonUnavailable,
			Message: err.Error(), RetryAfter: retryAfterSeconds}
		if info.ID != "" {
			e.Call = &api
		}
		return api, e
	}
	return api, apiError(err)
}

// retryAfterSeconds is the Retry-After of a 503 while ARI is unreachable:
// the probe notices its return within a fraction of it.
const retryAfterSeconds = 2

// apiError marks the app's errors with the API's kinds (the message stays).
func apiError(err error) error {
	var se *transfer.StateError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrUnknownCall):
		return httpapi.Kind(httpapi.ErrNotFound, err)
	case errors.Is(err, ErrTransferInProgress):
		return httpapi.Kind(httpapi.ErrTransferInProgress, err)
	case errors.Is(err, ErrNoTransfer):
		return httpapi.Kind(httpapi.ErrNoTransfer, err)
	case errors.Is(err, ErrNotBridged):
		return httpapi.Kind(httpapi.ErrNotBridged, err)
	case errors.Is(err, ErrTargetOnCall):
		return httpapi.Kind(httpapi.ErrTargetOnCall, err)
	case errors.Is(err, ErrInvalidTarget):
		return httpapi.Kind(httpapi.ErrInvalidTarget, err)
	case errors.Is(err, ErrNotTransferor):
		return httpapi.Kind(httpapi.ErrNotTransferor, err)
	case errors.As(err, &se):
		return httpapi.Kind(httpapi.ErrInvalidState, err)
	}
	return err
}

// checkTakeback refuses a request's takeback_dtmf that cannot work: not
// the binding key followed by DTMF digits, or clashing with the account's
// other codes. A valid code that is not already a cancel code of the
// account is registered for that transfer only (Kazoo's per-request
// takeback_dtmf).
func (c *Call) checkTakeback(code string) error {
	if _, err := c.takebackMatcher(code); err != nil {
		return &httpapi.Error{Status: http.StatusBadRequest, Reason: httpapi.ReasonInvalidField, Field: "data.takeback_dtmf",
			Message: fmt.Sprintf("data.takeback_dtmf: %q cannot be a takeback code for account %q (its cancel codes: %s): %v",
				code, c.acct.name, cancelCodes(c.acct.cfg), err)}
	}
	return nil
}

// cancelCodes lists the account's cancel codes, e.g. "*0, *1".
func cancelCodes(ac AccountConfig) string {
	key := ac.Metaflows.BindingKey
	if key == "" {
		key = featurecode.DefaultBindingKey
	}
	seen := map[string]bool{}
	for code, act := range ac.Metaflows.Numbers {
		if act.Module == featurecode.ModuleCancel {
			seen[key+code] = true
		}
	}
	for _, act := range ac.Metaflows.Patterns {
		tb := act.Data[featurecode.TakebackData]
		if act.Module != featurecode.ModuleTransfer || len(tb) < 2 {
			continue
		}
		if _, defined := ac.Metaflows.Numbers[tb[1:]]; !defined {
			seen[tb] = true
		}
	}
	codes := make([]string, 0, len(seen))
	for c := range seen {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	if len(codes) == 0 {
		return "none"
	}
	s := codes[0]
	for _, c := range codes[1:] {
		s += ", " + c
	}
	return s
}
