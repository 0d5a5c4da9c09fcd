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
