package ari

import (
	"context"
	"net/http"
)

// DeviceStates is the /deviceStates resource. Get it from Client.DeviceStates.
type DeviceStates struct{ c *Client }

// Get returns the state of a device, e.g. "PJSIP/alice" or "Stasis:desk".
func (s *DeviceStates) Get(ctx context.Context, name string) (*DeviceState, error) {
	return doObject[DeviceState](ctx, s.c, call{method: http.MethodGet, tmpl: "/deviceStates/{deviceName}", args: []string{name}})
}

// List returns the states of the devices ARI controls (Stasis:…).
func (s *DeviceStates) List(ctx context.Context) ([]DeviceState, error) {
	return doList[DeviceState](ctx, s.c, call{method: http.MethodGet, tmpl: "/deviceStates"})
}
