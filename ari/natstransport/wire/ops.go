package wire

import (
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// Extension kinds: operations transferd uses for which ari-proxy v5 has no
// kind. natsproxy serves them; a stock server answers "Not implemented".
const (
	KindChannelProgress = "ChannelProgress"
	KindChannelMove     = "ChannelMove"
	KindChannelRedirect = "ChannelRedirect"
	// KindChannelTransferProgress tells a phone that sent a REFER how its
	// transfer goes (POST /channels/{id}/transfer_progress, Asterisk 22.3+).
	KindChannelTransferProgress = "ChannelTransferProgress"
	KindAsteriskVariableDelete  = "AsteriskVariableDelete"
)

// Result says how a successful Response turns back into ARI's answer.
type Result int

const (
	// ResultVoid: ARI answers 204 with no body.
	ResultVoid Result = iota
	// ResultEntity: ARI answers the entity named by Op.Entity; the response
	// carries it in Data, or a data request for it follows.
	ResultEntity
	// ResultVariable: ARI answers {"value": Data.Variable}.
	ResultVariable
	// ResultList: ARI answers an array of Op.Entity, gathered from every
	// proxy's Keys (or Items).
	ResultList
	// ResultPing: ARI's /asterisk/ping, which v5 has no kind for, answered
	// from an AsteriskInfo request.
	ResultPing
)

// Op is one ARI REST call in ari-proxy terms.
type Op struct {
	Request
	Class  string
	Result Result
	// Entity is the key kind of what ARI answers (ResultEntity, ResultList).
	Entity string
	// Anchor is the existing entity whose node must serve the request, or
	// nil. For most operations it is the Key; for a create it is the
	// entity the new one is attached to (the originator, the channel a
	// playback or snoop is on).
	Anchor *Key
	// Related are further existing entities that must be on the anchor's
	// node (the channels added to a bridge, the caller of a dial).
	Related []Key
	// Created are the entities the request creates under ids chosen in the
	// request, so their node is known as soon as the answer names it.
	Created []Key
}

// DataKind returns the kind of the request that reads one entity of kind
// entity (ChannelData for "channel"), or "".
func DataKind(entity string) string {
	switch entity {
	case KindChannel:
		return "ChannelData"
	case KindBridge:
		return "BridgeData"
	case KindPlayback:
		return "PlaybackData"
	case KindApplication:
		return "ApplicationData"
	case KindDeviceState:
		return "DeviceStateData"
	case KindEndpoint:
		return "EndpointData"
	case KindAsterisk:
		return "AsteriskInfo"
	}
	return ""
}

// EntityJSON returns the member of d that carries an entity of kind entity.
func (d *EntityData) EntityJSON(entity string) json.RawMessage {
	if d == nil {
		return nil
	}
	switch entity {
	case KindChannel:
		return d.Channel
	case KindBridge:
		return d.Bridge
	case KindPlayback:
		return d.Playback
	case KindApplication:
		return d.Application
	case KindDeviceState:
		return d.DeviceState
	case KindEndpoint:
		return d.Endpoint
	case KindAsterisk:
		return d.Asterisk
	case KindConfig:
		return d.Config
	case KindLiveRecording:
		return d.LiveRecording
	case KindLogging:
		return d.Log
	case KindMailbox:
		return d.Mailbox
	case KindModule:
		return d.Module
	case KindSound:
		return d.Sound
	case KindStoredRecording:
		return d.StoredRecording
	}
	return nil
}

// SetEntityJSON stores raw as the entity of kind entity.
func (d *EntityData) SetEntityJSON(entity string, raw json.RawMessage) {
	switch entity {
	case KindChannel:
		d.Channel = raw
	case KindBridge:
		d.Bridge = raw
	case KindPlayback:
		d.Playback = raw
	case KindApplication:
		d.Application = raw
	case KindDeviceState:
		d.DeviceState = raw
	case KindEndpoint:
		d.Endpoint = raw
	case KindAsterisk:
		d.Asterisk = raw
	case KindConfig:
		d.Config = raw
	case KindLiveRecording:
		d.LiveRecording = raw
	case KindLogging:
		d.Log = raw
	case KindMailbox:
		d.Mailbox = raw
	case KindModule:
		d.Module = raw
	case KindSound:
		d.Sound = raw
	case KindStoredRecording:
		d.StoredRecording = raw
	}
}

// KeyNode returns the node of the key a stock server embeds in the entity
// it answers with (ari v5's models carry their "key"), or "". A stock
// server's data answer has no key of its own, so this is where its node
// is named. natsproxy's entities are Asterisk's, without a key.
func (d *EntityData) KeyNode() string {
	if d == nil {
		return ""
	}
	for _, raw := range []json.RawMessage{d.Channel, d.Bridge, d.Playback, d.Application, d.DeviceState, d.Endpoint,
		d.Asterisk, d.LiveRecording, d.Mailbox, d.Module, d.Sound, d.StoredRecording, d.Log, d.Config} {
		if len(raw) == 0 {
			continue
		}
		var v struct {
			Key *Key `json:"key"`
		}
		if json.Unmarshal(raw, &v) == nil && v.Key != nil && v.Key.Node != "" {
			return v.Key.Node
		}
	}
	return ""
}

// EntityID returns the id a Key of kind entity has for the entity raw (ARI
// JSON): "id" for channels, bridges and playbacks, "name" for applications
// and device states, "<technology>/<resource>" for endpoints.
func EntityID(entity string, raw json.RawMessage) string {
	switch entity {
	case KindApplication, KindDeviceState, KindLiveRecording, KindMailbox, KindModule, KindStoredRecording, KindLogging, KindEndpoint:
	default:
		// Every request for a channel, bridge or playback passes here, on
		// both sides of NATS: skip decoding the whole entity when "id"
		// comes first, as Asterisk writes them.
		if id, ok := leadingID(raw); ok {
			return id
		}
	}
	var v struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Technology string `json:"technology"`
		Resource   string `json:"resource"`
		Channel    string `json:"channel"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	switch entity {
	case KindApplication, KindDeviceState, KindLiveRecording, KindMailbox, KindModule, KindStoredRecording:
		return v.Name
	case KindLogging:
		return v.Channel
	case KindEndpoint:
		if v.Technology == "" {
			return ""
		}
		return v.Technology + "/" + v.Resource
	}
	return v.ID
}

// ReadOnly reports whether a request of this class may be retried after a
// timeout: reading twice is harmless, creating or commanding twice is not.
func ReadOnly(class string) bool { return slices.Contains([]string{ClassGet, ClassData}, class) }

// leadingID returns the value of raw's "id" when raw is an object whose
// first key is "id" with a plain string value: no escapes, valid UTF-8,
// followed by ',' or '}'. ok is false for anything else, which
// json.Unmarshal then reads. (An object with a second "id" key, which
// Asterisk never writes, would give the first one here and the last one
// to json.Unmarshal.)
func leadingID(raw []byte) (id string, ok bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return "", false
	}
	i = skipSpace(raw, i+1)
	const key = `"id"`
	if len(raw)-i < len(key) || string(raw[i:i+len(key)]) != key {
		return "", false
	}
	i = skipSpace(raw, i+len(key))
	if i >= len(raw) || raw[i] != ':' {
		return "", false
	}
	i = skipSpace(raw, i+1)
	if i >= len(raw) || raw[i] != '"' {
		return "", false
	}
	start := i + 1
	for i = start; i < len(raw) && raw[i] != '"'; i++ {
		if raw[i] == '\\' || raw[i] < 0x20 {
			return "", false
		}
	}
	if i >= len(raw) || !utf8.Valid(raw[start:i]) {
		return "", false
	}
	end := i
	i = skipSpace(raw, i+1)
	if i >= len(raw) || (raw[i] != ',' && raw[i] != '}') {
		return "", false
	}
	return string(raw[start:end]), true
}

// skipSpace skips JSON whitespace from i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
