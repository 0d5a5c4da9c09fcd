package ari

import (
	"context"
	"net/http"
)

// Playbacks is the /playbacks resource. Get it from Client.Playbacks.
type Playbacks struct{ c *Client }

// Get returns the playback's current state.
func (s *Playbacks) Get(ctx context.Context, id PlaybackID) (*Playback, error) {
	return doObject[Playback](ctx, s.c, call{method: http.MethodGet, tmpl: "/playbacks/{playbackId}", args: []string{string(id)}})
}

// Stop stops the playback; PlaybackFinished follows.
func (s *Playbacks) Stop(ctx context.Context, id PlaybackID) error {
	return s.c.do(ctx, call{method: http.MethodDelete, tmpl: "/playbacks/{playbackId}", args: []string{string(id)}}, nil)
}

// Control applies operation to the playback: restart, pause, unpause,
// reverse or forward.
func (s *Playbacks) Control(ctx context.Context, id PlaybackID, operation string) error {
	q := params{}
	q.str("operation", operation)
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/playbacks/{playbackId}/control",
		args: []string{string(id)}, query: q.values()}, nil)
}
