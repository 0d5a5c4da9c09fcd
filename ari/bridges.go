package ari

import (
	"context"
	"net/http"
)

// Bridges is the /bridges resource. Get it from Client.Bridges.
type Bridges struct{ c *Client }

// BridgeParams are the parameters of Bridges.Create.
type BridgeParams struct {
	// ID chooses the bridge's id (POST /bridges/{bridgeId}), so the caller
	// can subscribe before BridgeCreated.
	ID BridgeID
	// Type is a comma-separated list of mixing, holding, dtmf_events,
	// proxy_media, video_sfu, video_single, sdp_label;
	// e.g. "mixing,dtmf_events". Empty means "mixing".
	Type string
	Name string
}

// Create creates a bridge.
func (s *Bridges) Create(ctx context.Context, p BridgeParams) (*Bridge, error) {
	q := params{}
	q.str("type", p.Type)
	q.str("name", p.Name)
	r := call{method: http.MethodPost, tmpl: "/bridges", query: q.values()}
	if p.ID != "" {
		r.tmpl, r.args = "/bridges/{bridgeId}", []string{string(p.ID)}
	}
	return doObject[Bridge](ctx, s.c, r)
}

// Get returns the bridge's current state.
func (s *Bridges) Get(ctx context.Context, id BridgeID) (*Bridge, error) {
	return doObject[Bridge](ctx, s.c, call{method: http.MethodGet, tmpl: "/bridges/{bridgeId}", args: []string{string(id)}})
}

// List returns every bridge Asterisk has.
func (s *Bridges) List(ctx context.Context) ([]Bridge, error) {
	return doList[Bridge](ctx, s.c, call{method: http.MethodGet, tmpl: "/bridges"})
}

// Destroy destroys the bridge; its channels stay up, unbridged.
func (s *Bridges) Destroy(ctx context.Context, id BridgeID) error {
	return s.c.do(ctx, call{method: http.MethodDelete, tmpl: "/bridges/{bridgeId}", args: []string{string(id)}}, nil)
}

// AddChannelParams are the parameters of Bridges.AddChannel.
type AddChannelParams struct {
	Channels []ChannelID // required
	Role     string      // e.g. "announcer", "partner"
	// AbsorbDTMF keeps the channels' DTMF from being passed to the rest of
	// the bridge (the digits still reach us as ChannelDtmfReceived).
	AbsorbDTMF                  bool
	Mute                        bool // the channels are heard by nobody in the bridge
	InhibitConnectedLineUpdates bool
}

// AddChannel adds channels to the bridge. A channel in another bridge is
// moved. Asterisk answers 422 when a channel is not in Stasis (see
// IsNotInStasis) and 400 when it does not exist.
func (s *Bridges) AddChannel(ctx context.Context, bridge BridgeID, p AddChannelParams) error {
	q := params{}
	q.list("channel", strs(p.Channels))
	q.str("role", p.Role)
	q.flag("absorbDTMF", p.AbsorbDTMF)
	q.flag("mute", p.Mute)
	q.flag("inhibitConnectedLineUpdates", p.InhibitConnectedLineUpdates)
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/bridges/{bridgeId}/addChannel",
		args: []string{string(bridge)}, query: q.values()}, nil)
}

// RemoveChannel removes channels from the bridge.
func (s *Bridges) RemoveChannel(ctx context.Context, bridge BridgeID, channels ...ChannelID) error {
	q := params{}
	q.list("channel", strs(channels))
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/bridges/{bridgeId}/removeChannel",
		args: []string{string(bridge)}, query: q.values()}, nil)
}

// StartMOH plays music on hold to the whole bridge; class empty means default.
func (s *Bridges) StartMOH(ctx context.Context, id BridgeID, class string) error {
	q := params{}
	q.str("mohClass", class)
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/bridges/{bridgeId}/moh",
		args: []string{string(id)}, query: q.values()}, nil)
}

// StopMOH stops music on hold in the bridge.
func (s *Bridges) StopMOH(ctx context.Context, id BridgeID) error {
	return s.c.do(ctx, call{method: http.MethodDelete, tmpl: "/bridges/{bridgeId}/moh", args: []string{string(id)}}, nil)
}

// Play starts playing media to everyone in the bridge.
func (s *Bridges) Play(ctx context.Context, id BridgeID, p PlayParams) (*Playback, error) {
	r := call{method: http.MethodPost, tmpl: "/bridges/{bridgeId}/play",
		args: []string{string(id)}, query: p.query().values()}
	if p.PlaybackID != "" {
		r.tmpl = "/bridges/{bridgeId}/play/{playbackId}"
		r.args = append(r.args, string(p.PlaybackID))
	}
	return doObject[Playback](ctx, s.c, r)
}
