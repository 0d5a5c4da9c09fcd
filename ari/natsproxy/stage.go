package natsproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/nats-io/nuid"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natstransport/wire"
)

// stage serves the Stage kinds as the stock server does: nothing is done in
// Asterisk; the resource the operation acts on must exist (for the kinds
// that act on one), the resources are bound to the request's dialog, and
// the answer is the key of what the operation will create, under the id
// the request chose or one chosen here. BridgeUnsubscribe is a no-op there
// too (bindings go with the bridge).
func (p *Proxy) stage(ctx context.Context, req *wire.Request) *wire.Response {
	k := req.Key
	var (
		check     string // "kind:id" that must exist
		kind, id  string // the key answered
		resources []string
	)
	pick := func(s string) string {
		if s == "" {
			return "n" + nuid.Next()
		}
		return s
	}
	switch req.Kind {
	case "BridgeUnsubscribe":
		return &wire.Response{}
	case "BridgeStageCreate":
		kind, id = wire.KindBridge, pick(k.ID)
	case "ChannelStageOriginate":
		if req.ChannelOriginate == nil {
			return failure(http.StatusBadRequest, "natsproxy: ChannelStageOriginate: channel_originate is needed")
		}
		o := req.ChannelOriginate.OriginateRequest
		kind, id = wire.KindChannel, pick(o.ChannelID)
		if o.OtherChannelID != "" {
			resources = append(resources, ref(wire.KindChannel, o.OtherChannelID))
		}
		if o.Originator != "" {
			resources = append(resources, ref(wire.KindChannel, o.Originator))
		}
	case "ChannelStagePlay", "BridgeStagePlay":
		owner, pid := wire.KindChannel, ""
		if req.ChannelPlay != nil {
			pid = req.ChannelPlay.PlaybackID
		}
		if req.Kind == "BridgeStagePlay" {
			owner, pid = wire.KindBridge, ""
			if req.BridgePlay != nil {
				pid = req.BridgePlay.PlaybackID
			}
		}
		check = ref(owner, k.ID)
		kind, id = wire.KindPlayback, pick(pid)
	case "ChannelStageRecord", "BridgeStageRecord":
		owner, rec := wire.KindChannel, req.ChannelRecord
		if req.Kind == "BridgeStageRecord" {
			owner, rec = wire.KindBridge, req.BridgeRecord
		}
		name := ""
		if rec != nil {
			name = rec.Name
		}
		check = ref(owner, k.ID)
		kind, id = wire.KindLiveRecording, pick(name)
	case "ChannelStageSnoop":
		sid := ""
		if req.ChannelSnoop != nil {
			sid = req.ChannelSnoop.SnoopID
		}
		check = ref(wire.KindChannel, k.ID)
		kind, id = wire.KindChannel, pick(sid)
	case "ChannelStageExternalMedia":
		if req.ChannelExternalMedia == nil {
			return failure(http.StatusBadRequest, "natsproxy: ChannelStageExternalMedia: channel_external_media is needed")
		}
		o := req.ChannelExternalMedia.Options
		if o.ExternalHost == "" || o.Format == "" {
			return failure(http.StatusBadRequest, "natsproxy: ChannelStageExternalMedia: external_host and format are mandatory")
		}
		kind, id = wire.KindChannel, pick(o.ChannelID)
	default:
		return failure(http.StatusBadRequest, "natsproxy: not a stage kind: "+req.Kind)
	}
	if check != "" {
		ckind, cid, _ := strings.Cut(check, ":")
		if cid == "" {
			return failure(http.StatusBadRequest, fmt.Sprintf("natsproxy: %s: key.id names no %s", req.Kind, ckind))
		}
		ar, err := p.ari.RoundTrip(ctx, &ari.Request{Method: http.MethodGet, Path: "/" + ckind + "s/" + escapeID(cid)})
		if err != nil {
			return failure(http.StatusBadGateway, fmt.Sprintf("natsproxy: asterisk did not answer: %v", err))
		}
		if ar.Status < 200 || ar.Status > 299 {
			return failure(ar.Status, asteriskMessage(ar))
		}
		resources = append(resources, check)
	}
	resources = append(resources, ref(kind, id))
	if k.Dialog != "" {
		for _, r := range resources {
			if !p.dialogs.bind(k.Dialog, r) {
				p.log.Warn().Str("dialog", k.Dialog).Str("resource", r).Msg("dialog bindings full; not bound")
			}
		}
	}
	if kind == wire.KindChannel && req.Kind != "ChannelStageSnoop" {
		p.created.add(id)
	}
	return &wire.Response{Key: p.key(kind, id, k.Dialog)}
}

// escapeID is one escaped path segment of an id ('+' too: Asterisk reads
// it as a space).
func escapeID(id string) string { return strings.ReplaceAll(url.PathEscape(id), "+", "%2B") }

// configAnswer reshapes Asterisk's list of configuration tuples into ari
// v5's ConfigData (untagged fields: Class, Type, Name, Fields).
func (p *Proxy) configAnswer(req *wire.Request, body []byte) *wire.Response {
	var fields []wire.ConfigTuple
	if err := json.Unmarshal(body, &fields); err != nil {
		return failure(http.StatusBadGateway, "natsproxy: undecodable configuration: "+err.Error())
	}
	parts := strings.SplitN(req.Key.ID, "/", 3)
	key := p.key(wire.KindConfig, req.Key.ID, req.Key.Dialog)
	data, err := json.Marshal(struct {
		Key    *wire.Key          `json:"key"`
		Class  string             `json:"Class"`
		Type   string             `json:"Type"`
		Name   string             `json:"Name"`
		Fields []wire.ConfigTuple `json:"Fields"`
	}{key, parts[0], parts[1], parts[2], fields})
	if err != nil {
		return failure(http.StatusInternalServerError, "natsproxy: encode configuration: "+err.Error())
	}
	return &wire.Response{Key: key, Data: &wire.EntityData{Config: data}}
}

// logAnswer finds the log channel of the request's key in Asterisk's list
// and answers it in ari v5's LogData shape (levels and types where
// Asterisk says configuration and type).
func (p *Proxy) logAnswer(req *wire.Request, body []byte) *wire.Response {
	var list []struct {
		Channel       string `json:"channel"`
		Type          string `json:"type"`
		Status        string `json:"status"`
		Configuration string `json:"configuration"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return failure(http.StatusBadGateway, "natsproxy: undecodable log channels: "+err.Error())
	}
	for _, l := range list {
		if l.Channel != req.Key.ID {
			continue
		}
		key := p.key(wire.KindLogging, l.Channel, req.Key.Dialog)
		if req.Kind == "AsteriskLoggingGet" {
			return &wire.Response{Key: key}
		}
		data, err := json.Marshal(struct {
			Key    *wire.Key `json:"key"`
			Name   string    `json:"channel"`
			Levels string    `json:"levels"`
			Types  string    `json:"types"`
			Status string    `json:"status"`
		}{key, l.Channel, l.Configuration, l.Type, l.Status})
		if err != nil {
			return failure(http.StatusInternalServerError, "natsproxy: encode log channel: "+err.Error())
		}
		return &wire.Response{Key: key, Data: &wire.EntityData{Log: data}}
	}
	return failure(http.StatusNotFound, fmt.Sprintf("Log channel %s not found", req.Key.ID))
}
