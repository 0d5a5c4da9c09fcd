package natsproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natstransport/wire"
)

// onRequest runs on the subscription's goroutine: it waits for a slot, so a
// flood of requests is served MaxConcurrent at a time rather than dropped.
func (p *Proxy) onRequest(m *nats.Msg) {
	if m.Reply == "" {
		p.log.Warn().Str("subject", m.Subject).Msg("request without reply subject ignored")
		return
	}
	p.sem <- struct{}{}
	p.wg.Add(1)
	go func() {
		defer func() { <-p.sem; p.wg.Done() }()
		p.serve(m)
	}()
}

// serve answers one request.
func (p *Proxy) serve(m *nats.Msg) {
	var req wire.Request
	var resp *wire.Response
	if err := json.Unmarshal(m.Data, &req); err != nil {
		resp = failure(http.StatusBadRequest, fmt.Sprintf("natsproxy: undecodable request: %v", err))
	} else {
		if req.Key == nil {
			req.Key = &wire.Key{}
		}
		if req.Key.Node != "" && req.Key.Node != p.node {
			// Meant for another node; a broadcast must not get a wrong
			// "Not found" from us.
			return
		}
		// Requests in progress finish after a shutdown starts.
		ctx, cancel := context.WithTimeout(context.Background(), p.opts.RequestTimeout)
		resp = p.handle(ctx, &req)
		cancel()
	}
	b, err := json.Marshal(resp)
	if err != nil {
		p.log.Warn().Err(err).Str("kind", req.Kind).Msg("encode answer")
		b, _ = json.Marshal(failure(http.StatusInternalServerError, "natsproxy: encode answer: "+err.Error()))
	}
	hdr := nats.Header{}
	hdr.Set(wire.HeaderNode, p.node)
	if err := m.RespondMsg(&nats.Msg{Data: b, Header: hdr}); err != nil {
		p.log.Warn().Err(err).Str("kind", req.Kind).Msg("answer not sent")
	}
}

// failure is an error answer with our Status extension.
func failure(status int, msg string) *wire.Response {
	e := msg
	if status == http.StatusNotFound {
		e = wire.NotFound
	}
	return &wire.Response{Error: e, Status: status, Message: msg}
}

// handle serves a decoded request against Asterisk.
func (p *Proxy) handle(ctx context.Context, req *wire.Request) *wire.Response {
	if wire.StageKinds[req.Kind] || req.Kind == "BridgeUnsubscribe" {
		return p.stage(ctx, req)
	}
	call, err := wire.ToHTTP(req)
	if err != nil {
		if errors.Is(err, wire.ErrUnsupported) {
			return &wire.Response{Error: "Not implemented", Status: http.StatusNotImplemented, Message: err.Error()}
		}
		return failure(http.StatusBadRequest, "natsproxy: "+err.Error())
	}
	dialog := req.Key.Dialog
	// What the request will create or touch is bound before Asterisk is
	// asked, so the first events already reach the dialog and carry the
	// created mark.
	for _, r := range p.touches(req) {
		kind, id, _ := strings.Cut(r, ":")
		if kind == wire.KindChannel && p.creates(req, id) {
			p.created.add(id)
		}
		if dialog != "" && !p.dialogs.bind(dialog, r) {
			p.log.Warn().Str("dialog", dialog).Str("resource", r).Msg("dialog bindings full; not bound")
		}
	}
	ar, err := p.ari.RoundTrip(ctx, &ari.Request{Method: call.Method, Path: call.Path, Query: call.Query, Body: call.Body})
	if err != nil {
		p.log.Warn().Err(err).Str("kind", req.Kind).Msg("asterisk did not answer")
		return failure(http.StatusBadGateway, fmt.Sprintf("natsproxy: asterisk did not answer: %v", err))
	}
	if ar.Status < 200 || ar.Status > 299 {
		if strings.HasSuffix(req.Kind, "Subscribe") && req.Key.ID != "" {
			p.dialogs.unbind(ref(req.Key.Kind, req.Key.ID)) // nothing to follow
		}
		return failure(ar.Status, asteriskMessage(ar))
	}
	resp := &wire.Response{Key: p.key(req.Key.Kind, req.Key.ID, dialog)}
	switch call.Result {
	case wire.ResultVariable:
		var v ari.Variable
		if err := json.Unmarshal(ar.Body, &v); err != nil {
			return failure(http.StatusBadGateway, "natsproxy: undecodable variable: "+err.Error())
		}
		resp.Data = &wire.EntityData{Variable: v.Value}
	case wire.ResultEntity:
		id := wire.EntityID(call.Entity, ar.Body)
		resp.Key = p.key(call.Entity, id, dialog)
		resp.Data = &wire.EntityData{}
		resp.Data.SetEntityJSON(call.Entity, json.RawMessage(ar.Body))
		// An id Asterisk chose is known only now.
		if id != "" && p.isCreate(req) {
			if call.Entity == wire.KindChannel {
				p.created.add(id)
			}
			if dialog != "" {
				p.dialogs.bind(dialog, ref(call.Entity, id))
			}
		}
	case wire.ResultConfig:
		return p.configAnswer(req, ar.Body)
	case wire.ResultLog:
		return p.logAnswer(req, ar.Body)
	case wire.ResultList:
		var items []json.RawMessage
		if err := json.Unmarshal(ar.Body, &items); err != nil {
			return failure(http.StatusBadGateway, "natsproxy: undecodable list: "+err.Error())
		}
		resp.Key = nil
		resp.Items = items
		resp.Keys = make([]*wire.Key, 0, len(items))
		for _, it := range items {
			resp.Keys = append(resp.Keys, p.key(call.Entity, wire.EntityID(call.Entity, it), ""))
		}
		if resp.Items == nil {
			resp.Items = []json.RawMessage{}
		}
	}
	return resp
}

// key is a key on this node, or nil without an id.
func (p *Proxy) key(kind, id, dialog string) *wire.Key {
	if kind == "" && id == "" {
		return &wire.Key{Node: p.node, App: p.opts.App}
	}
	return &wire.Key{Kind: kind, ID: id, Node: p.node, Dialog: dialog, App: p.opts.App}
}

func (p *Proxy) isCreate(req *wire.Request) bool {
	switch req.Kind {
	case "ChannelCreate", "ChannelOriginate", "ChannelSnoop", "BridgeCreate", "ChannelPlay", "BridgePlay",
		"ChannelRecord", "BridgeRecord", "ChannelExternalMedia":
		return true
	}
	return false
}

// creates reports whether req creates channel id.
func (p *Proxy) creates(req *wire.Request, id string) bool {
	switch {
	case req.ChannelCreate != nil:
		c := req.ChannelCreate.ChannelCreateRequest
		return id == c.ChannelID || id == c.OtherChannelID || (c.ChannelID == "" && id == req.Key.ID)
	case req.ChannelOriginate != nil:
		o := req.ChannelOriginate.OriginateRequest
		return id == o.ChannelID || id == o.OtherChannelID || (o.ChannelID == "" && id == req.Key.ID)
	case req.ChannelSnoop != nil:
		return id == req.ChannelSnoop.SnoopID
	case req.ChannelExternalMedia != nil:
		return id == req.ChannelExternalMedia.Options.ChannelID
	}
	return false
}

// touches lists the resources a request creates or acts on, with ids known
// before Asterisk answers, as ari-proxy binds them to a dialog.
func (p *Proxy) touches(req *wire.Request) []string {
	var out []string
	add := func(kind, id string) {
		if id != "" {
			out = append(out, ref(kind, id))
		}
	}
	switch req.Key.Kind {
	case wire.KindChannel, wire.KindBridge, wire.KindPlayback, wire.KindLiveRecording:
		add(req.Key.Kind, req.Key.ID)
	}
	switch {
	case req.ChannelCreate != nil:
		c := req.ChannelCreate.ChannelCreateRequest
		add(wire.KindChannel, c.ChannelID)
		add(wire.KindChannel, c.OtherChannelID)
	case req.ChannelOriginate != nil:
		o := req.ChannelOriginate.OriginateRequest
		add(wire.KindChannel, o.ChannelID)
		add(wire.KindChannel, o.OtherChannelID)
	case req.ChannelSnoop != nil:
		add(wire.KindChannel, req.ChannelSnoop.SnoopID)
	case req.ChannelPlay != nil:
		add(wire.KindPlayback, req.ChannelPlay.PlaybackID)
	case req.BridgePlay != nil:
		add(wire.KindPlayback, req.BridgePlay.PlaybackID)
	case req.BridgeAddChannel != nil:
		for _, id := range strings.Split(req.BridgeAddChannel.Channel, ",") {
			add(wire.KindChannel, id)
		}
	case req.BridgeRecord != nil:
		add(wire.KindLiveRecording, req.BridgeRecord.Name)
	case req.ChannelRecord != nil:
		add(wire.KindLiveRecording, req.ChannelRecord.Name)
	case req.ChannelExternalMedia != nil:
		add(wire.KindChannel, req.ChannelExternalMedia.Options.ChannelID)
	case req.BridgeVideoSource != nil:
		add(wire.KindChannel, req.BridgeVideoSource.Channel)
	}
	return out
}

// asteriskMessage is Asterisk's {"message": …}, else the body, else the
// status text.
func asteriskMessage(r *ari.Response) string {
	var v struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(r.Body, &v) == nil && v.Message != "" {
		return v.Message
	}
	if s := strings.TrimSpace(string(r.Body)); s != "" {
		if len(s) > 512 {
			s = s[:512] + "…"
		}
		return s
	}
	return http.StatusText(r.Status)
}
