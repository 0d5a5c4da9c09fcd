package ari

import (
	"context"
	"net/url"
)

// Transport carries one ARI request and returns Asterisk's answer as it came.
//
// Like http.RoundTripper it does not interpret status codes: a 404 is a
// Response, not an error. A non-nil error means no answer was obtained
// (connection refused, timeout, context cancelled). The Client maps statuses
// to *Error, so a second implementation (NATS) repeats no resource code.
type Transport interface {
	RoundTrip(ctx context.Context, req *Request) (*Response, error)
	// Events opens one event stream for the given applications, with
	// subscribeAll=false. ctx bounds the opening only; the stream lives until
	// Close or until Read fails.
	Events(ctx context.Context, apps []string) (EventStream, error)
}

// Request is one ARI REST call, independent of how it travels.
type Request struct {
	Method string // "GET", "POST", "PUT" or "DELETE"
	// Path is relative to the ARI base and already escaped, for example
	// "/channels/abc/answer". Asterisk's own path template is not carried:
	// a transport must not need it.
	Path  string
	Query url.Values // ARI takes every parameter but "variables" in the query
	Body  []byte     // JSON, or nil
}

// Response is Asterisk's answer, uninterpreted.
type Response struct {
	Status int    // HTTP status code
	Body   []byte // usually JSON; may be empty (204)
}

// EventStream is one open event connection. Read returns the next raw event
// (one JSON object per message). After Read fails the stream is finished;
// Close must still be called. Read and Close may be called concurrently.
type EventStream interface {
	Read(ctx context.Context) ([]byte, error)
	Close() error
}
