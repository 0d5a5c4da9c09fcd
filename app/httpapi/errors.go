package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/transfer"
)

// Error is an API error: the HTTP status, a stable machine-readable reason,
// the request field at fault (e.g. "data.target") when there is one, and a
// message for people that names the field or the reason.
type Error struct {
	Status  int
	Reason  string
	Field   string
	Message string
	// Call is the call's view for conflicts (what the action met) and for
	// 503 answers (the state transferd converges to).
	Call *app.CallInfo
	// RetryAfter, in seconds, is sent as the Retry-After header when > 0.
	RetryAfter int
}

func (e *Error) Error() string { return e.Message }

// Reasons (data.reason of an error envelope).
const (
	ReasonMalformedJSON      = "malformed_json"
	ReasonUnknownField       = "unknown_field"
	ReasonDuplicateField     = "duplicate_field"
	ReasonMissingField       = "missing_field"
	ReasonInvalidField       = "invalid_field"
	ReasonUnknownAction      = "unknown_action"
	ReasonUnauthorized       = "unauthorized"
	ReasonNotFound           = "not_found"
	ReasonMethodNotAllowed   = "method_not_allowed"
	ReasonUnsupportedMedia   = "unsupported_media_type"
	ReasonBodyTooLarge       = "body_too_large"
	ReasonTransferInProgress = "transfer_in_progress"
	ReasonNoTransfer         = "no_transfer"
	ReasonNotBridged         = "not_bridged"
	ReasonTargetOnCall       = "target_on_call"
	ReasonNotTransferor      = "not_transferor"
	ReasonInvalidState       = "invalid_state"
	ReasonTimeout            = "timeout"
	ReasonTooManyStreams     = "too_many_streams"
	ReasonUnavailable        = "unavailable"
	ReasonInternal           = "internal"
)

func badField(reason, field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Reason: reason, Field: field, Message: field + ": " + msg}
}

// notFoundCall is the one answer for an unknown call, an ended call and a
// call of another account: nothing in it depends on which.
func notFoundCall(account, callID string) *Error {
	return &Error{Status: http.StatusNotFound, Reason: ReasonNotFound,
		Message: "call " + quote(callID) + " not found in account " + quote(account)}
}

// conflicts maps app's errors to 409 answers.
var conflicts = []struct {
	err    error
	reason string
}{
	{app.ErrTransferInProgress, ReasonTransferInProgress},
	{app.ErrNoTransfer, ReasonNoTransfer},
	{app.ErrNotBridged, ReasonNotBridged},
	{app.ErrTargetOnCall, ReasonTargetOnCall},
	{app.ErrNotTransferor, ReasonNotTransferor},
}

// retryAfterSeconds is the Retry-After of a 503 while ARI is unreachable:
// the probe notices its return within a fraction of it.
const retryAfterSeconds = 2

// backendError turns an error of Backend.Do into an API error; info is the
// call's view Do returned with it. The second result says whether it is an
// internal error (logged, never shown).
func backendError(err error, info app.CallInfo, account, callID string) (*Error, bool) {
	var se *transfer.StateError
	switch {
	case errors.Is(err, app.ErrAsteriskUnavailable):
		e := &Error{Status: http.StatusServiceUnavailable, Reason: ReasonUnavailable, Message: err.Error(), RetryAfter: retryAfterSeconds}
		if info.ID != "" {
			e.Call = &info
		}
		return e, false
	case errors.Is(err, app.ErrUnknownCall):
		return notFoundCall(account, callID), false
	case errors.Is(err, app.ErrInvalidTarget):
		return badField(ReasonInvalidField, "data.target", err.Error()), false
	case errors.Is(err, app.ErrInvalidTakeback):
		return badField(ReasonInvalidField, "data.takeback_dtmf", err.Error()), false
	case errors.As(err, &se):
		return conflict(ReasonInvalidState, err, info), false
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusGatewayTimeout, Reason: ReasonTimeout,
			Message: "the call did not answer the action in time; it may still happen: GET the call to see its state"}, false
	}
	for _, c := range conflicts {
		if errors.Is(err, c.err) {
			return conflict(c.reason, err, info), false
		}
	}
	return &Error{Status: http.StatusInternalServerError, Reason: ReasonInternal, Message: "internal error"}, true
}

// conflict is a 409 with the call's view, when there is one: what the
// action met.
func conflict(reason string, err error, info app.CallInfo) *Error {
	e := &Error{Status: http.StatusConflict, Reason: reason, Message: err.Error()}
	if info.ID != "" {
		e.Call = &info
	}
	return e
}

// envelope is Kazoo's response envelope. transferd never echoes the auth
// token (Kazoo's auth_token field is left out).
type envelope struct {
	Status    string `json:"status"` // success or error
	Error     string `json:"error,omitempty"`
	Message   string `json:"message,omitempty"`
	Data      any    `json:"data"`
	RequestID string `json:"request_id"`
}

// errorData is the data of an error envelope.
type errorData struct {
	Reason string        `json:"reason"`
	Field  string        `json:"field,omitempty"`
	Call   *app.CallInfo `json:"call,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"status":"error","error":"500","message":"internal error","data":{"reason":"internal"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeSuccess(w http.ResponseWriter, r *http.Request, status int, data any) {
	writeJSON(w, status, envelope{Status: "success", Data: data, RequestID: requestID(r.Context())})
}

func writeError(w http.ResponseWriter, r *http.Request, e *Error) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="transferd"`)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, e.Status, envelope{
		Status: "error", Error: strconv.Itoa(e.Status), Message: e.Message,
		Data:      errorData{Reason: e.Reason, Field: e.Field, Call: e.Call},
		RequestID: requestID(r.Context()),
	})
}

// quote quotes a value taken from a request for a message, cut to 64 bytes
// so an error never grows with its input.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}
