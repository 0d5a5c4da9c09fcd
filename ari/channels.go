package ari

import (
	"context"
	"net/http"
)

// Channels is the /channels resource. Get it from Client.Channels.
type Channels struct{ c *Client }

// OriginateParams are the parameters of Channels.Originate. Set either
// Extension/Context/Priority (or Label) to run dialplan, or App to put the
// answered channel in Stasis. Zero values are omitted.
type OriginateParams struct {
	Endpoint  string // required, e.g. "PJSIP/alice" or "Local/201@phones"
	Extension string
	Context   string
	Priority  int
	Label     string
	App       string
	AppArgs   string // comma-separated, delivered in StasisStart.Args
	CallerID  string // "Name <number>"
	Timeout   int    // seconds to wait for an answer; 0 means Asterisk's 30, -1 none
	// ChannelID chooses the new channel's id, so the caller can subscribe
	// before the first event. It selects POST /channels/{channelId}.
	ChannelID      ChannelID
	OtherChannelID ChannelID // the ;2 half of a Local channel
	Originator     ChannelID // the channel that causes this one, for codec and linkedid
	Formats        []string  // codec names, e.g. "ulaw"; only without Originator
	Variables      map[string]string
}

// Originate creates a channel and dials Endpoint.
func (s *Channels) Originate(ctx context.Context, p OriginateParams) (*Channel, error) {
	q := params{}
	q.str("endpoint", p.Endpoint)
	q.str("extension", p.Extension)
	q.str("context", p.Context)
	q.num("priority", p.Priority)
	q.str("label", p.Label)
	q.str("app", p.App)
	q.str("appArgs", p.AppArgs)
	q.str("callerId", p.CallerID)
	q.num("timeout", p.Timeout)
	q.str("otherChannelId", string(p.OtherChannelID))
	q.str("originator", string(p.Originator))
	q.list("formats", p.Formats)
	r := call{method: http.MethodPost, tmpl: "/channels", query: q.values(), body: variablesBody(p.Variables)}
	if p.ChannelID != "" {
		r.tmpl, r.args = "/channels/{channelId}", []string{string(p.ChannelID)}
	}
	return doObject[Channel](ctx, s.c, r)
}

// CreateParams are the parameters of Channels.Create.
type CreateParams struct {
	Endpoint       string // required
	App            string // required: the new channel is in Stasis at once
	AppArgs        string
	ChannelID      ChannelID
	OtherChannelID ChannelID
	Originator     ChannelID
	Formats        []string
	Variables      map[string]string
}

// Create creates a channel without dialling it; Dial then places the call.
// Unlike Originate, the channel is in Stasis before it rings, so it can be
// bridged (ringback) first.
func (s *Channels) Create(ctx context.Context, p CreateParams) (*Channel, error) {
	q := params{}
	q.str("endpoint", p.Endpoint)
	q.str("app", p.App)
	q.str("appArgs", p.AppArgs)
	q.str("channelId", string(p.ChannelID))
	q.str("otherChannelId", string(p.OtherChannelID))
	q.str("originator", string(p.Originator))
	q.list("formats", p.Formats)
	return doObject[Channel](ctx, s.c, call{method: http.MethodPost, tmpl: "/channels/create",
		query: q.values(), body: variablesBody(p.Variables)})
}

// Dial dials a channel made by Create. caller, if set, is the channel that
// placed the call (for connected line and Dial events); timeout is in
// seconds, 0 meaning none.
func (s *Channels) Dial(ctx context.Context, id, caller ChannelID, timeout int) error {
	q := params{}
	q.str("caller", string(caller))
	q.num("timeout", timeout)
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/channels/{channelId}/dial",
		args: []string{string(id)}, query: q.values()}, nil)
}

// Get returns the channel's current state.
func (s *Channels) Get(ctx context.Context, id ChannelID) (*Channel, error) {
	return doObject[Channel](ctx, s.c, call{method: http.MethodGet, tmpl: "/channels/{channelId}", args: []string{string(id)}})
}

// List returns every channel Asterisk has, in Stasis or not.
func (s *Channels) List(ctx context.Context) ([]Channel, error) {
	return doList[Channel](ctx, s.c, call{method: http.MethodGet, tmpl: "/channels"})
}

// Hangup hangs the channel up. reason is one of ARI's names (normal, busy,
// congestion, no_answer, timeout, rejected, unallocated, normal_unspecified,
// number_incomplete, codec_mismatch, interworking, failure, answered_elsewhere);
// empty means Asterisk's default (normal).
func (s *Channels) Hangup(ctx context.Context, id ChannelID, reason string) error {
	q := params{}
	q.str("reason", reason)
	return s.c.do(ctx, call{method: http.MethodDelete, tmpl: "/channels/{channelId}",
		args: []string{string(id)}, query: q.values()}, nil)
}

// simple performs a parameterless operation on a channel.
func (s *Channels) simple(ctx context.Context, method, tmpl string, id ChannelID) error {
	return s.c.do(ctx, call{method: method, tmpl: tmpl, args: []string{string(id)}}, nil)
}

// Transfer progress states for TransferProgress: what a phone that sent a
// REFER is told (a NOTIFY with a sipfrag) when the application, not
// Asterisk, handles transfers (PJSIP_TRANSFER_HANDLING(ari-only)).
const (
	TransferProgressing = "channel_progress"    // 100 Trying: hold on
	TransferAnswered    = "channel_answered"    // 200 OK: done
	TransferUnavailable = "channel_unavailable" // 503: the target cannot be reached
	TransferDeclined    = "channel_declined"    // 603: refused
)

// TransferProgress tells the channel that sent a REFER how its transfer
// goes (Asterisk 22.3+).
func (s *Channels) TransferProgress(ctx context.Context, id ChannelID, state string) error {
	q := params{}
	q.str("states", state)
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/channels/{channelId}/transfer_progress",
		args: []string{string(id)}, query: q.values()}, nil)
}

// Answer answers the channel.
func (s *Channels) Answer(ctx context.Context, id ChannelID) error {
	return s.simple(ctx, http.MethodPost, "/channels/{channelId}/answer", id)
}

// Ring indicates ringing to the channel (it hears ringback).
func (s *Channels) Ring(ctx context.Context, id ChannelID) error {
	return s.simple(ctx, http.MethodPost, "/channels/{channelId}/ring", id)
}

// RingStop stops the ringing indication.
func (s *Channels) RingStop(ctx context.Context, id ChannelID) error {
	return s.simple(ctx, http.MethodDelete, "/channels/{channelId}/ring", id)
}

// Progress indicates call progress (early media) to the channel.
func (s *Channels) Progress(ctx context.Context, id ChannelID) error {
	return s.simple(ctx, http.MethodPost, "/channels/{channelId}/progress", id)
}

// DTMFParams are the parameters of Channels.SendDTMF. Durations are in
// milliseconds; zero means Asterisk's default.
type DTMFParams struct {
	DTMF     string // digits to send: 0-9, A-D, *, #
	Before   int
	Between  int
	Duration int
	After    int
}

// SendDTMF sends DTMF digits to the channel.
func (s *Channels) SendDTMF(ctx context.Context, id ChannelID, p DTMFParams) error {
	q := params{}
	q.str("dtmf", p.DTMF)
	q.num("before", p.Before)
	q.num("between", p.Between)
	q.num("duration", p.Duration)
	q.num("after", p.After)
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/channels/{channelId}/dtmf",
		args: []string{string(id)}, query: q.values()}, nil)
}

// Hold puts the channel on hold: its peers hear MOH per the channel's
// settings, and ChannelHold fires.
func (s *Channels) Hold(ctx context.Context, id ChannelID) error {
	return s.simple(ctx, http.MethodPost, "/channels/{channelId}/hold", id)
}

// Unhold takes the channel off hold.
func (s *Channels) Unhold(ctx context.Context, id ChannelID) error {
	return s.simple(ctx, http.MethodDelete, "/channels/{channelId}/hold", id)
}

// StartMOH plays music on hold to the channel; class empty means default.
func (s *Channels) StartMOH(ctx context.Context, id ChannelID, class string) error {
	q := params{}
	q.str("mohClass", class)
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/channels/{channelId}/moh",
		args: []string{string(id)}, query: q.values()}, nil)
}

// StopMOH stops music on hold on the channel.
func (s *Channels) StopMOH(ctx context.Context, id ChannelID) error {
	return s.simple(ctx, http.MethodDelete, "/channels/{channelId}/moh", id)
}

// StartSilence plays silence to the channel.
func (s *Channels) StartSilence(ctx context.Context, id ChannelID) error {
	return s.simple(ctx, http.MethodPost, "/channels/{channelId}/silence", id)
}

// StopSilence stops playing silence.
func (s *Channels) StopSilence(ctx context.Context, id ChannelID) error {
	return s.simple(ctx, http.MethodDelete, "/channels/{channelId}/silence", id)
}

// Mute mutes the channel in direction "in", "out" or "both" (empty means both).
func (s *Channels) Mute(ctx context.Context, id ChannelID, direction string) error {
	q := params{}
	q.str("direction", direction)
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/channels/{channelId}/mute",
		args: []string{string(id)}, query: q.values()}, nil)
}

// Unmute unmutes the channel in direction "in", "out" or "both" (empty means both).
func (s *Channels) Unmute(ctx context.Context, id ChannelID, direction string) error {
	q := params{}
	q.str("direction", direction)
	return s.c.do(ctx, call{method: http.MethodDelete, tmpl: "/channels/{channelId}/mute",
		args: []string{string(id)}, query: q.values()}, nil)
}

// PlayParams are the parameters of Channels.Play and Bridges.Play.
type PlayParams struct {
	Media []string // media URIs played in order, e.g. "sound:beep", "tone:ring"
	Lang  string
	// PlaybackID chooses the playback's id (POST …/play/{playbackId}), so
	// the caller can match PlaybackFinished or stop it later.
	PlaybackID PlaybackID
	OffsetMS   int // start this far into the first media
	SkipMS     int // skip step for Playbacks.Control forward/reverse; 0 means 3000
}

func (p PlayParams) query() params {
	q := params{}
	q.list("media", p.Media)
	q.str("lang", p.Lang)
	q.num("offsetms", p.OffsetMS)
	q.num("skipms", p.SkipMS)
	return q
}

// Play starts playing media to the channel.
func (s *Channels) Play(ctx context.Context, id ChannelID, p PlayParams) (*Playback, error) {
	r := call{method: http.MethodPost, tmpl: "/channels/{channelId}/play",
		args: []string{string(id)}, query: p.query().values()}
	if p.PlaybackID != "" {
		r.tmpl = "/channels/{channelId}/play/{playbackId}"
		r.args = append(r.args, string(p.PlaybackID))
	}
	return doObject[Playback](ctx, s.c, r)
}

// GetVariable returns the value of a channel variable or function, e.g.
// "CALLERID(num)".
func (s *Channels) GetVariable(ctx context.Context, id ChannelID, name string) (string, error) {
	v, err := doObject[Variable](ctx, s.c, call{method: http.MethodGet, tmpl: "/channels/{channelId}/variable",
		args: []string{string(id)}, query: params{"variable": {name}}.values()})
	if err != nil {
		return "", err
	}
	return v.Value, nil
}

// SetVariable sets a channel variable. The value is always sent, so ""
// sets an empty value (Asterisk unsets a variable only when value is absent).
func (s *Channels) SetVariable(ctx context.Context, id ChannelID, name, value string) error {
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/channels/{channelId}/variable",
		args: []string{string(id)}, query: params{"variable": {name}, "value": {value}}.values()}, nil)
}

// ContinueParams say where Channels.Continue resumes the dialplan; empty
// fields mean the channel's current location, next priority.
type ContinueParams struct {
	Context   string
	Extension string
	Priority  int
	Label     string
}

// Continue makes the channel leave Stasis and continue in the dialplan.
func (s *Channels) Continue(ctx context.Context, id ChannelID, p ContinueParams) error {
	q := params{}
	q.str("context", p.Context)
	q.str("extension", p.Extension)
	q.num("priority", p.Priority)
	q.str("label", p.Label)
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/channels/{channelId}/continue",
		args: []string{string(id)}, query: q.values()}, nil)
}

// Move moves the channel from this Stasis application to app.
func (s *Channels) Move(ctx context.Context, id ChannelID, app, appArgs string) error {
	q := params{}
	q.str("app", app)
	q.str("appArgs", appArgs)
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/channels/{channelId}/move",
		args: []string{string(id)}, query: q.values()}, nil)
}

// Redirect redirects the channel to endpoint at the protocol level (a SIP
// 302 or REFER), e.g. "PJSIP/bob".
func (s *Channels) Redirect(ctx context.Context, id ChannelID, endpoint string) error {
	q := params{}
	q.str("endpoint", endpoint)
	return s.c.do(ctx, call{method: http.MethodPost, tmpl: "/channels/{channelId}/redirect",
		args: []string{string(id)}, query: q.values()}, nil)
}

// SnoopParams are the parameters of Channels.Snoop.
type SnoopParams struct {
	Spy     string // direction to listen: none, both, out, in
	Whisper string // direction to speak: none, both, out, in
	App     string // required: the snoop channel's Stasis application
	AppArgs string
	// SnoopID chooses the snoop channel's id (POST …/snoop/{snoopId}).
	SnoopID ChannelID
}

// Snoop creates a channel that spies on and/or whispers to the channel.
func (s *Channels) Snoop(ctx context.Context, id ChannelID, p SnoopParams) (*Channel, error) {
	q := params{}
	q.str("spy", p.Spy)
	q.str("whisper", p.Whisper)
	q.str("app", p.App)
	q.str("appArgs", p.AppArgs)
	r := call{method: http.MethodPost, tmpl: "/channels/{channelId}/snoop",
		args: []string{string(id)}, query: q.values()}
	if p.SnoopID != "" {
		r.tmpl = "/channels/{channelId}/snoop/{snoopId}"
		r.args = append(r.args, string(p.SnoopID))
	}
	return doObject[Channel](ctx, s.c, r)
}
