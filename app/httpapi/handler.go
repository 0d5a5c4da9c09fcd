package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/transfer"
)

// Options configure the API handler.
type Options struct {
	Backend Backend
	Tokens  *Tokens
	// Hub feeds the event stream; nil: GET .../events answers 503.
	Hub *Hub
	Log zerolog.Logger
	// Health is the body of GET /healthz (liveness: the process answers);
	// nil: {"status":"ok"}.
	Health func() any
	// Ready answers GET /readyz: nil when this instance can take calls,
	// else every reason why not (503 with the reasons in the body). nil:
	// always ready.
	Ready func(ctx context.Context) error
	// Metrics serves GET /metrics; nil: no /metrics route.
	Metrics http.Handler
	// CommandTimeout bounds how long an action waits for the call to take
	// it (default 10s); past it the answer is 504.
	CommandTimeout time.Duration
	// Heartbeat is the interval of the event stream's keep-alive comments
	// (default 15s).
	Heartbeat time.Duration
	// MediaAllow returns an account's media_allow list (see media.Check):
	// what media beyond tone:<indication> and sound:<plain name> a request
	// may name. nil: nothing beyond them.
	MediaAllow func(account string) []string
	// StreamWriteTimeout bounds each write of the event stream: a client
	// that stops reading is cut after it (default 30s; the server's
	// http.write_timeout).
	StreamWriteTimeout time.Duration
}

// route is one endpoint. The mux dispatches on the path; the method is
// checked by the handler so that a wrong method gets the API's envelope.
type route struct {
	method, path string
	h            http.HandlerFunc
}

// Handler is the API.
type Handler struct {
	opts   Options
	routes []route
	mux    *http.ServeMux
}

// New builds the API handler.
func New(o Options) *Handler {
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 10 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.StreamWriteTimeout <= 0 {
		o.StreamWriteTimeout = app.DefaultConfig().HTTP.WriteTimeout
	}
	h := &Handler{opts: o, mux: http.NewServeMux()}
	h.routes = []route{
		{"GET", "/healthz", h.health},
		{"GET", "/readyz", h.readiness},
		{"GET", "/v2/openapi", serveOpenAPI},
		{"GET", "/v2/accounts/{account_id}/channels", h.authed(h.listCalls)},
		{"GET", "/v2/accounts/{account_id}/channels/{call_id}", h.authed(h.getCall)},
		{"POST", "/v2/accounts/{account_id}/channels/{call_id}", h.authed(h.action)},
		{"GET", "/v2/accounts/{account_id}/events", h.authed(h.events)},
	}
	if o.Metrics != nil {
		h.routes = append(h.routes, route{"GET", "/metrics", o.Metrics.ServeHTTP})
	}
	byPath := map[string]map[string]http.HandlerFunc{}
	var order []string
	for _, rt := range h.routes {
		if byPath[rt.path] == nil {
			byPath[rt.path] = map[string]http.HandlerFunc{}
			order = append(order, rt.path)
		}
		byPath[rt.path][rt.method] = rt.h
	}
	for _, p := range order {
		methods := byPath[p]
		h.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			if f := methods[r.Method]; f != nil {
				f(w, r)
				return
			}
			allow := make([]string, 0, len(methods))
			for m := range methods {
				allow = append(allow, m)
			}
			sort.Strings(allow)
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, r, &Error{Status: http.StatusMethodNotAllowed, Reason: ReasonMethodNotAllowed,
				Message: "method " + r.Method + " not allowed on " + p + "; allowed: " + strings.Join(allow, ", ")})
		})
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, &Error{Status: http.StatusNotFound, Reason: ReasonNotFound,
			Message: "no such endpoint: " + quote(r.URL.Path) + "; see GET /v2/openapi"})
	})
	return h
}

// Routes lists the endpoints as "METHOD /path" (for the OpenAPI check).
func (h *Handler) Routes() []string {
	out := make([]string, len(h.routes))
	for i, rt := range h.routes {
		out[i] = rt.method + " " + rt.path
	}
	return out
}

// ServeHTTP gives the request an id and logs it (never its headers: they
// carry the token).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-ID")
	if !validRequestID(id) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	w.Header().Set("X-Request-ID", id)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
	rec := &recorder{ResponseWriter: w}
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		bw := &bodyWatch{ReadCloser: r.Body}
		r.Body = bw
		rec.body = bw
	}
	h.mux.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	ev := h.opts.Log.Info()
	switch {
	case rec.status >= 500:
		ev = h.opts.Log.Error()
	case r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics":
		ev = h.opts.Log.Debug()
	}
	ev.Str("request_id", id).Str("method", r.Method).Str("path", r.URL.Path).Str("route", r.Pattern).
		Int("status", rec.status).Dur("took", time.Since(start)).Msg("http request")
}

// drainRefused reads and drops a refused body that is not much larger than
// the limit, for at most drainWait, before the 413 is written. Closing the
// connection on unread bytes makes the kernel answer with a reset, and a
// client still sending its body then sees "connection reset by peer"
// instead of the 413 that says what was wrong. Larger or slower bodies are
// not waited for: the connection is closed on them (see bodyWatch).
func drainRefused(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > drainBytes {
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(drainWait))
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, drainBytes))
}

const (
	drainBytes = 4 * MaxBodyBytes
	drainWait  = 2 * time.Second
)

type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// recorder keeps the status for the log; Unwrap lets
// http.ResponseController reach Flush for the event stream.
type recorder struct {
	http.ResponseWriter
	status int
	body   *bodyWatch // nil: the request has no body
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		if r.body != nil && !r.body.eof.Load() {
			// Answered before the body was read (see bodyWatch): close
			// the connection, and read no more of it (net/http would
			// still look for the end of a chunked body).
			r.Header().Set("Connection", "close")
			_ = http.NewResponseController(r.ResponseWriter).SetReadDeadline(time.Now())
		}
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// authed checks the token for the URL's account before h.
func (h *Handler) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e := h.opts.Tokens.authorize(r, r.PathValue("account_id")); e != nil {
			writeError(w, r, e)
			return
		}
		next(w, r)
	}
}

func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	var body any = map[string]any{"status": "ok"}
	if h.opts.Health != nil {
		body = h.opts.Health()
	}
	writeJSON(w, http.StatusOK, body)
}

// readiness serves GET /readyz: 200 {"status":"ready"}, or 503
// {"status":"not ready","reasons":[...]} naming every unmet condition.
func (h *Handler) readiness(w http.ResponseWriter, r *http.Request) {
	var err error
	if h.opts.Ready != nil {
		err = h.opts.Ready(r.Context())
	}
	if err == nil {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
		return
	}
	reasons := []string{}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			reasons = append(reasons, e.Error())
		}
	} else {
		reasons = append(reasons, err.Error())
	}
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reasons": reasons})
}

func (h *Handler) listCalls(w http.ResponseWriter, r *http.Request) {
	calls := h.opts.Backend.Calls(r.PathValue("account_id"))
	if calls == nil {
		calls = []app.CallInfo{}
	}
	writeSuccess(w, r, http.StatusOK, calls)
}

// find returns the view of the account's live call that id names: an
// unknown call and another account's call are the same to the caller.
func (h *Handler) find(account, id string) (app.CallInfo, bool) {
	info, ok := h.opts.Backend.Live(id)
	if !ok || info.Account != account {
		return app.CallInfo{}, false
	}
	return info, true
}

func (h *Handler) getCall(w http.ResponseWriter, r *http.Request) {
	account, id := r.PathValue("account_id"), r.PathValue("call_id")
	info, ok := h.find(account, id)
	if !ok {
		writeError(w, r, notFoundCall(account, id))
		return
	}
	writeSuccess(w, r, http.StatusOK, info)
}

// ActionResult is the data of a successful action: the call right after
// it, the action, and the transfer it started or acted on.
type ActionResult struct {
	app.CallInfo
	Action        string `json:"action"`
	TransferID    string `json:"transfer_id,omitempty"`
	TransferState string `json:"transfer_state,omitempty"`
	// Outcome is set when the action ended the transfer (cancel,
	// threeway, complete after the target answered, ...).
	Outcome string `json:"outcome,omitempty"`
}

func (h *Handler) action(w http.ResponseWriter, r *http.Request) {
	account, id := r.PathValue("account_id"), r.PathValue("call_id")
	if e := checkContentType(r.Header.Get("Content-Type")); e != nil {
		writeError(w, r, e)
		return
	}
	tooLarge := &Error{Status: http.StatusRequestEntityTooLarge, Reason: ReasonBodyTooLarge, Field: "body",
		Message: "body: larger than the limit of 65536 bytes"}
	if r.ContentLength > MaxBodyBytes {
		drainRefused(w, r)
		writeError(w, r, tooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, tooLarge)
			return
		}
		writeError(w, r, &Error{Status: http.StatusBadRequest, Reason: ReasonMalformedJSON, Field: "body", Message: "body: could not be read"})
		return
	}
	var allow []string
	if h.opts.MediaAllow != nil {
		allow = h.opts.MediaAllow(account)
	}
	req, e := DecodeFor(body, allow)
	if e != nil {
		writeError(w, r, e)
		return
	}
	if _, ok := h.find(account, id); !ok {
		writeError(w, r, notFoundCall(account, id))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.CommandTimeout)
	defer cancel()
	info, err := h.opts.Backend.Do(ctx, id, req.Action, id, req.Target, req.Data())
	if err != nil {
		e, internal := backendError(err, info, account, id)
		if internal {
			h.opts.Log.Error().Err(err).Str("request_id", requestID(r.Context())).Str("call_id", id).Str("action", req.Action).Msg("action failed")
		}
		writeError(w, r, e)
		return
	}
	res := ActionResult{CallInfo: info, Action: req.Action}
	t := info.Transfer
	if t == nil {
		t = info.LastTransfer
	}
	if t != nil {
		res.TransferID, res.TransferState, res.Outcome = t.ID, t.State, t.Outcome
	}
	status := http.StatusOK
	if transfer.StartsTransfer(req.Action) {
		// The target is being called: the transfer's result comes later,
		// on the event stream or GET.
		status = http.StatusAccepted
	}
	writeSuccess(w, r, status, res)
}

// checkContentType accepts application/json, with no charset or UTF-8.
func checkContentType(ct string) *Error {
	e := &Error{Status: http.StatusUnsupportedMediaType, Reason: ReasonUnsupportedMedia, Field: "Content-Type"}
	if ct == "" {
		e.Message = "Content-Type: missing; send Content-Type: application/json"
		return e
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		e.Message = "Content-Type: " + quote(ct) + " is not supported; send application/json"
		return e
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		e.Message = "Content-Type: charset " + quote(cs) + " is not supported; send UTF-8"
		return e
	}
	return nil
}
