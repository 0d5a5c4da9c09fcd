package ari

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinels for the statuses Asterisk uses to mean something specific. Match
// them with errors.Is on an error returned by a resource method; the *Error
// underneath keeps the exact status and Asterisk's message. The meaning per
// endpoint is in the rest-api JSON (errorResponses); the common ones are:
var (
	// ErrBadRequest (400): a parameter is missing or invalid; for
	// Bridges.AddChannel it also means "Channel not found".
	ErrBadRequest = errors.New("ari: bad request")
	// ErrUnauthorized (401): ARI user or password rejected.
	ErrUnauthorized = errors.New("ari: unauthorized")
	// ErrNotFound (404): the channel, bridge, playback… does not exist (any more).
	ErrNotFound = errors.New("ari: not found")
	// ErrConflict (409): the resource exists but is in the wrong place for
	// the operation, typically "Channel not in Stasis application" (see
	// IsNotInStasis) or "Channel with given unique ID already exists".
	ErrConflict = errors.New("ari: conflict")
	// ErrPreconditionFailed (412): "Channel in invalid state", for example
	// answering a channel that is already hung up.
	ErrPreconditionFailed = errors.New("ari: precondition failed")
	// ErrUnprocessable (422): the request is well formed but refers to
	// something unusable, e.g. AddChannel with a channel not in Stasis, or
	// Applications.Subscribe with an event source that does not exist.
	ErrUnprocessable = errors.New("ari: unprocessable")
)

// Error is Asterisk's answer to a request it refused: any status outside
// 2xx. Transport failures (no answer at all) are never an *Error.
type Error struct {
	Method  string // "POST"
	Path    string // escaped request path, "/channels/x/answer"
	Status  int    // HTTP status, e.g. 404
	Message string // Asterisk's {"message": …}, else the raw body trimmed
}

// Error reads "ari: POST /channels/x/answer: 404 Channel not found".
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("ari: %s %s: %d %s", e.Method, e.Path, e.Status, msg)
}

// Is maps the status to the package's sentinels, so
// errors.Is(err, ari.ErrNotFound) works through any wrapping.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrPreconditionFailed:
		return e.Status == http.StatusPreconditionFailed
	case ErrUnprocessable:
		return e.Status == http.StatusUnprocessableEntity
	}
	return false
}

// maxMessage bounds how much of a non-JSON error body goes into Message
// (an HTML error page from a proxy, say).
const maxMessage = 512

// newError builds the *Error for a non-2xx answer. Asterisk answers
// {"message": "..."}; anything else is kept as trimmed text.
func newError(method, path string, resp *Response) *Error {
	e := &Error{Method: method, Path: path, Status: resp.Status}
	var body struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(resp.Body, &body); err == nil && body.Message != "" {
		e.Message = body.Message
		return e
	}
	msg := strings.TrimSpace(string(resp.Body))
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "…"
	}
	e.Message = msg
	return e
}

// StatusOf returns the HTTP status of the *Error inside err, or 0 when err
// is nil or carries no answer from Asterisk (a transport failure, a
// cancelled context, an undecodable answer).
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsNotInStasis reports whether Asterisk refused the request because the
// channel (or bridge) is not in a Stasis application: it hung up, or left
// for the dialplan. Asterisk says so only in the message, with a 409 for
// most channel operations and a 422 for Bridges.AddChannel, so the
// string match lives here, once. The stock ari-proxy passes on only the
// status ("Non-2XX response: 409 Conflict", Asterisk's message dropped):
// such a 409 or 422 may mean not in Stasis, so it counts (a caller that
// retries then gives up after its retries, as for any other refusal).
func IsNotInStasis(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if e.Status != http.StatusConflict && e.Status != http.StatusUnprocessableEntity {
		return false
	}
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "not in stasis") || strings.Contains(m, "not in a stasis") ||
		strings.HasPrefix(m, stockNoReason)
}

// stockNoReason starts the stock ari-proxy's error text, which carries no
// reason from Asterisk (lower case).
const stockNoReason = "non-2xx response:"
