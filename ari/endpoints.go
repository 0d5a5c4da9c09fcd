package ari

import (
	"context"
	"net/http"
)

// Endpoints is the /endpoints resource. Get it from Client.Endpoints.
type Endpoints struct{ c *Client }

// List returns every endpoint.
func (s *Endpoints) List(ctx context.Context) ([]Endpoint, error) {
	return doList[Endpoint](ctx, s.c, call{method: http.MethodGet, tmpl: "/endpoints"})
}

// ListByTech returns the endpoints of one technology, e.g. "PJSIP".
func (s *Endpoints) ListByTech(ctx context.Context, tech string) ([]Endpoint, error) {
	return doList[Endpoint](ctx, s.c, call{method: http.MethodGet, tmpl: "/endpoints/{tech}", args: []string{tech}})
}

// Get returns one endpoint, e.g. ("PJSIP", "alice").
func (s *Endpoints) Get(ctx context.Context, tech, resource string) (*Endpoint, error) {
	return doObject[Endpoint](ctx, s.c, call{method: http.MethodGet, tmpl: "/endpoints/{tech}/{resource}",
		args: []string{tech, resource}})
}
