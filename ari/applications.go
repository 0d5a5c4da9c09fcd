package ari

import (
	"context"
	"net/http"
)

// Applications is the /applications resource. Get it from Client.Applications.
type Applications struct{ c *Client }

// Get returns the application and what it is subscribed to.
func (s *Applications) Get(ctx context.Context, name string) (*Application, error) {
	return doObject[Application](ctx, s.c, call{method: http.MethodGet, tmpl: "/applications/{applicationName}", args: []string{name}})
}

// List returns every registered Stasis application.
func (s *Applications) List(ctx context.Context) ([]Application, error) {
	return doList[Application](ctx, s.c, call{method: http.MethodGet, tmpl: "/applications"})
}

// Subscribe subscribes app to the events of eventSource, each written
// "channel:<id>", "bridge:<id>", "endpoint:<tech>[/<resource>]" or
// "deviceState:<name>". It returns the application's subscriptions after
// the change.
func (s *Applications) Subscribe(ctx context.Context, app string, eventSource ...string) (*Application, error) {
	q := params{}
	q.list("eventSource", eventSource)
	return doObject[Application](ctx, s.c, call{method: http.MethodPost, tmpl: "/applications/{applicationName}/subscription",
		args: []string{app}, query: q.values()})
}

// Unsubscribe removes subscriptions made with Subscribe.
func (s *Applications) Unsubscribe(ctx context.Context, app string, eventSource ...string) (*Application, error) {
	q := params{}
	q.list("eventSource", eventSource)
	return doObject[Application](ctx, s.c, call{method: http.MethodDelete, tmpl: "/applications/{applicationName}/subscription",
		args: []string{app}, query: q.values()})
}

// EventFilter is the body of Applications.SetEventFilter: the event types
// Asterisk sends the application (Allowed; empty: all) and those it never
// sends (Disallowed, which wins over Allowed).
type EventFilter struct {
	Allowed    []EventTypeName `json:"allowed"`
	Disallowed []EventTypeName `json:"disallowed"`
}

// EventTypeName names one event type in an EventFilter.
type EventTypeName struct {
	Type string `json:"type"`
}

// AllowOnly is the filter that lets exactly types through.
func AllowOnly(types ...string) EventFilter {
	f := EventFilter{Allowed: []EventTypeName{}, Disallowed: []EventTypeName{}}
	for _, t := range types {
		f.Allowed = append(f.Allowed, EventTypeName{Type: t})
	}
	return f
}

// SetEventFilter replaces the application's event type filter (Asterisk
// 13.26/16.3+). Asterisk drops a filtered event before encoding it for the
// websocket, so an application that ignores most types saves Asterisk that
// work as well as its own decoding. The filter lives as long as the
// application is registered in Asterisk: set it again after Asterisk
// restarts.
func (s *Applications) SetEventFilter(ctx context.Context, app string, f EventFilter) (*Application, error) {
	return doObject[Application](ctx, s.c, call{method: http.MethodPut, tmpl: "/applications/{applicationName}/eventFilter",
		args: []string{app}, body: f})
}
