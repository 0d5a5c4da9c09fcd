package ari

import (
	"context"
	"net/http"
)

// Asterisk is the /asterisk resource. Get it from Client.Asterisk.
type Asterisk struct{ c *Client }

// Info returns build, system, config and status information.
func (s *Asterisk) Info(ctx context.Context) (*AsteriskInfo, error) {
	return doObject[AsteriskInfo](ctx, s.c, call{method: http.MethodGet, tmpl: "/asterisk/info"})
}

// Ping checks that Asterisk answers; the answer carries its entity id.
func (s *Asterisk) Ping(ctx context.Context) (*AsteriskPing, error) {
	return doObject[AsteriskPing](ctx, s.c, call{method: http.MethodGet, tmpl: "/asterisk/ping"})
}

// GetGlobalVariable returns a global dialplan variable or function value.
func (s *Asterisk) GetGlobalVariable(ctx context.Context, name string) (string, error) {
	v, err := doObject[Variable](ctx, s.c, call{method: http.MethodGet, tmpl: "/asterisk/variable",
		query: params{"variable": {name}}.values()})
	if err != nil {
		return "", err
	}
	return v.Value, nil
}

// SetGlobalVariable sets a global variable; "" sets an empty value.
func (s *Asterisk) SetGlobalVariable(ctx context.Context, name, value string) error {
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/asterisk/variable",
		query: params{"variable": {name}, "value": {value}}.values()}, nil)
}

// DeleteGlobalVariable removes a global variable: the value is left out of
// the request, which Asterisk reads as "unset" (an empty value would keep
// an empty variable).
func (s *Asterisk) DeleteGlobalVariable(ctx context.Context, name string) error {
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/asterisk/variable",
		query: params{"variable": {name}}.values()}, nil)
}
