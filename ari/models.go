package ari

import (
	"encoding/json"
	"fmt"
	"time"
)

// Typed ids, so that AddChannel(ctx, bridge, channel) cannot be called with
// its arguments swapped. Asterisk accepts any string; transferd chooses its
// own ids (channelId, otherChannelId, bridgeId, playbackId) before creating
// the resource, so it can subscribe before the first event.
type (
	ChannelID  string
	BridgeID   string
	PlaybackID string
)

// The models below mirror the rest-api JSON: json tags are ARI's wire names,
// fields are Go-named. A contract test checks every tag against the spec and
// every spec property against the struct. Timestamps stay strings, because
// Asterisk's format ("2026-11-23T11:35:38.123+0000") is not RFC 3339 and a
// timestamp must never make an event undecodable; ParseTime reads them.

// Channel is ARI's Channel model (channels.json).
type Channel struct {
	ID           ChannelID         `json:"id"`
	ProtocolID   string            `json:"protocol_id"` // e.g. the SIP Call-ID
	Name         string            `json:"name"`
	State        string            `json:"state"` // Down, Rsrved, OffHook, Dialing, Ring, Ringing, Up, Busy, Dialing Offhook, Pre-ring, Unknown
	Caller       CallerID          `json:"caller"`
	Connected    CallerID          `json:"connected"`
	AccountCode  string            `json:"accountcode"`
	Dialplan     DialplanCEP       `json:"dialplan"`
	CreationTime string            `json:"creationtime"`
	Language     string            `json:"language"`
	ChannelVars  map[string]string `json:"channelvars,omitempty"` // only the variables named in ari.conf channelvars
	CallerRDNIS  string            `json:"caller_rdnis,omitempty"`
	TenantID     string            `json:"tenantid,omitempty"`
}

// CallerID is a name and number pair.
type CallerID struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// DialplanCEP is a dialplan location: context, extension, priority, and the
// application running there.
type DialplanCEP struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

// Bridge is ARI's Bridge model (bridges.json).
type Bridge struct {
	ID            BridgeID          `json:"id"`
	Technology    string            `json:"technology"`
	BridgeType    string            `json:"bridge_type"`  // mixing or holding
	BridgeClass   string            `json:"bridge_class"` // e.g. stasis, base
	Creator       string            `json:"creator"`
	Name          string            `json:"name"`
	Channels      []ChannelID       `json:"channels"`
	VideoMode     string            `json:"video_mode,omitempty"`
	VideoSourceID string            `json:"video_source_id,omitempty"`
	CreationTime  string            `json:"creationtime"`
	BridgeVars    map[string]string `json:"bridgevars,omitempty"`
}

// Playback is a media playback on a channel or bridge (playbacks.json).
type Playback struct {
	ID           PlaybackID `json:"id"`
	MediaURI     string     `json:"media_uri"`
	NextMediaURI string     `json:"next_media_uri,omitempty"`
	TargetURI    string     `json:"target_uri"` // "channel:<id>" or "bridge:<id>"
	Language     string     `json:"language,omitempty"`
	State        string     `json:"state"` // queued, playing, continuing, done, failed
}

// Endpoint is an endpoint such as PJSIP/alice (endpoints.json).
type Endpoint struct {
	Technology string      `json:"technology"`
	Resource   string      `json:"resource"`
	State      string      `json:"state,omitempty"` // unknown, offline, online
	ChannelIDs []ChannelID `json:"channel_ids"`
}

// TextMessage is an out-of-call message (endpoints.json).
type TextMessage struct {
	From      string            `json:"from"`
	To        string            `json:"to"`
	Body      string            `json:"body"`
	Variables map[string]string `json:"variables,omitempty"`
}

// DeviceState is a device's state as Asterisk aggregates it (deviceStates.json).
type DeviceState struct {
	Name  string `json:"name"`
	State string `json:"state"` // UNKNOWN, NOT_INUSE, INUSE, BUSY, INVALID, UNAVAILABLE, RINGING, RINGINUSE, ONHOLD
}

// Application is a Stasis application and what it is subscribed to
// (applications.json).
type Application struct {
	Name             string            `json:"name"`
	ChannelIDs       []ChannelID       `json:"channel_ids"`
	BridgeIDs        []BridgeID        `json:"bridge_ids"`
	EndpointIDs      []string          `json:"endpoint_ids"`
	DeviceNames      []string          `json:"device_names"`
	EventsAllowed    []json.RawMessage `json:"events_allowed"`
	EventsDisallowed []json.RawMessage `json:"events_disallowed"`
}

// Variable is the answer to a variable read.
type Variable struct {
	Value string `json:"value"`
}

// AsteriskInfo describes the Asterisk system (asterisk.json). Each part may
// be absent when filtered with "only".
type AsteriskInfo struct {
	Build  *BuildInfo  `json:"build,omitempty"`
	System *SystemInfo `json:"system,omitempty"`
	Config *ConfigInfo `json:"config,omitempty"`
	Status *StatusInfo `json:"status,omitempty"`
}

// BuildInfo is how Asterisk was built.
type BuildInfo struct {
	OS      string `json:"os"`
	Kernel  string `json:"kernel"`
	Options string `json:"options"`
	Machine string `json:"machine"`
	Date    string `json:"date"`
	User    string `json:"user"`
}

// SystemInfo identifies the Asterisk instance. EntityID is what events
// carry as asterisk_id; it tells nodes apart.
type SystemInfo struct {
	Version  string `json:"version"`
	EntityID string `json:"entity_id"`
}

// ConfigInfo is Asterisk's effective asterisk.conf.
type ConfigInfo struct {
	Name            string  `json:"name"`
	DefaultLanguage string  `json:"default_language"`
	MaxChannels     int     `json:"max_channels,omitempty"`
	MaxOpenFiles    int     `json:"max_open_files,omitempty"`
	MaxLoad         float64 `json:"max_load,omitempty"`
	SetID           SetID   `json:"setid"`
}

// SetID is the user and group Asterisk runs as.
type SetID struct {
	User  string `json:"user"`
	Group string `json:"group"`
}

// StatusInfo holds Asterisk's start and reload times.
type StatusInfo struct {
	StartupTime    string `json:"startup_time"`
	LastReloadTime string `json:"last_reload_time"`
}

// AsteriskPing is the answer to a ping.
type AsteriskPing struct {
	AsteriskID string `json:"asterisk_id"`
	Ping       string `json:"ping"` // always "pong"
	Timestamp  string `json:"timestamp"`
}

// LiveRecording is a recording in progress (recordings.json); it appears in
// Recording* events.
type LiveRecording struct {
	Name            string `json:"name"`
	Format          string `json:"format"`
	TargetURI       string `json:"target_uri"`
	State           string `json:"state"`
	Duration        int    `json:"duration,omitempty"`
	TalkingDuration int    `json:"talking_duration,omitempty"`
	SilenceDuration int    `json:"silence_duration,omitempty"`
	Cause           string `json:"cause,omitempty"`
}

// ContactInfo describes a SIP contact (events.json).
type ContactInfo struct {
	URI           string `json:"uri"`
	ContactStatus string `json:"contact_status"`
	AOR           string `json:"aor"`
	RoundtripUsec string `json:"roundtrip_usec,omitempty"`
}

// Peer describes a SIP peer's status (events.json).
type Peer struct {
	PeerStatus string `json:"peer_status"`
	Cause      string `json:"cause,omitempty"`
	Address    string `json:"address,omitempty"`
	Port       string `json:"port,omitempty"`
	Time       string `json:"time,omitempty"`
}

// ReferTo is the Refer-To part of a ChannelTransfer.
type ReferTo struct {
	RequestedDestination RequiredDestination `json:"requested_destination"`
	DestinationChannel   *Channel            `json:"destination_channel,omitempty"`
	ConnectedChannel     *Channel            `json:"connected_channel,omitempty"`
	Bridge               *Bridge             `json:"bridge,omitempty"`
}

// ReferredBy is the Referred-By part of a ChannelTransfer.
type ReferredBy struct {
	SourceChannel    Channel  `json:"source_channel"`
	ConnectedChannel *Channel `json:"connected_channel,omitempty"`
	Bridge           *Bridge  `json:"bridge,omitempty"`
}

// RequiredDestination is where a REFER asks to go.
type RequiredDestination struct {
	ProtocolID               string            `json:"protocol_id,omitempty"`
	Destination              string            `json:"destination,omitempty"`
	AdditionalProtocolParams []AdditionalParam `json:"additional_protocol_params,omitempty"`
}

// AdditionalParam is one protocol parameter of a RequiredDestination.
type AdditionalParam struct {
	ParameterName  string `json:"parameter_name"`
	ParameterValue string `json:"parameter_value"`
}

// timeLayouts are the formats Asterisk has used for Date fields, most
// common first: ast_json_timeval writes milliseconds and a +0000 offset.
var timeLayouts = []string{
	"2006-01-02T15:04:05.000-0700",
	"2006-01-02T15:04:05-0700",
	time.RFC3339Nano,
}

// ParseTime parses an ARI timestamp such as "2026-11-23T11:35:38.123+0000".
func ParseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("ari: parse time %q: not an ARI timestamp", s)
}
