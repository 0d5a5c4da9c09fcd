package ari

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event is one message from Asterisk's event stream, or one of the
// synthetic stream events (*Reconnected, *Disconnected). Every concrete type
// is a pointer to a struct embedding EventBase; switch on the type:
//
//	switch e := ev.(type) {
//	case *ari.StasisStart:
//	case *ari.ChannelDtmfReceived:
//	case *ari.Unknown: // a type this package does not know; e.Raw has it all
//	}
type Event interface {
	GetType() string
	GetApplication() string
	GetTimestamp() string
	GetAsteriskID() string
}

// EventBase holds the fields every ARI event carries (the Message and Event
// models of events.json).
type EventBase struct {
	Type        string `json:"type"`
	Application string `json:"application"`
	Timestamp   string `json:"timestamp"`             // see ParseTime
	AsteriskID  string `json:"asterisk_id,omitempty"` // the node's entity id
}

// Pointer receivers, so only *StasisStart (not StasisStart) is an Event: a
// type switch on the value type would otherwise compile and never match.

// GetType returns the ARI event type, e.g. "StasisStart".
func (b *EventBase) GetType() string { return b.Type }

// GetApplication returns the Stasis application the event was sent to.
func (b *EventBase) GetApplication() string { return b.Application }

// GetTimestamp returns the event time as Asterisk wrote it.
func (b *EventBase) GetTimestamp() string { return b.Timestamp }

// GetAsteriskID returns the entity id of the Asterisk that sent the event.
func (b *EventBase) GetAsteriskID() string { return b.AsteriskID }

// Event types, named and shaped as in events.json. Required properties are
// values; optional models are pointers (nil when absent).

// StasisStart: a channel entered the application.
type StasisStart struct {
	EventBase
	Args           []string `json:"args"`
	Channel        Channel  `json:"channel"`
	ReplaceChannel *Channel `json:"replace_channel,omitempty"`
}

// StasisEnd: a channel left the application.
type StasisEnd struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelCreated: a channel was created.
type ChannelCreated struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelDestroyed: a channel is gone. Cause is the Q.850 hangup cause.
type ChannelDestroyed struct {
	EventBase
	Cause     int     `json:"cause"`
	CauseTxt  string  `json:"cause_txt"`
	TechCause int     `json:"tech_cause,omitempty"`
	Channel   Channel `json:"channel"`
}

// ChannelStateChange: Channel.State changed (e.g. Ringing → Up on answer).
type ChannelStateChange struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelDtmfReceived: a DTMF digit ended on the channel.
type ChannelDtmfReceived struct {
	EventBase
	Digit      string  `json:"digit"`
	DurationMs int     `json:"duration_ms"`
	Channel    Channel `json:"channel"`
}

// ChannelHangupRequest: a hangup was requested on the channel.
type ChannelHangupRequest struct {
	EventBase
	Cause     int     `json:"cause,omitempty"`
	TechCause int     `json:"tech_cause,omitempty"`
	Soft      bool    `json:"soft,omitempty"`
	Channel   Channel `json:"channel"`
}

// ChannelEnteredBridge: a channel joined a bridge. Channel is optional in
// the spec (absent when the channel is not one of ours).
type ChannelEnteredBridge struct {
	EventBase
	Bridge  Bridge   `json:"bridge"`
	Channel *Channel `json:"channel,omitempty"`
}

// ChannelLeftBridge: a channel left a bridge.
type ChannelLeftBridge struct {
	EventBase
	Bridge  Bridge  `json:"bridge"`
	Channel Channel `json:"channel"`
}

// ChannelVarset: a variable changed. Channel is nil for a global variable.
type ChannelVarset struct {
	EventBase
	Variable string   `json:"variable"`
	Value    string   `json:"value"`
	Channel  *Channel `json:"channel,omitempty"`
}

// ChannelHold: the channel put its peer on hold (e.g. a SIP re-INVITE).
type ChannelHold struct {
	EventBase
	Channel    Channel `json:"channel"`
	MusicClass string  `json:"musicclass,omitempty"`
}

// ChannelUnhold: the channel took its peer off hold.
type ChannelUnhold struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelTalkingStarted: TALK_DETECT saw speech start.
type ChannelTalkingStarted struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelTalkingFinished: TALK_DETECT saw speech stop after Duration ms.
type ChannelTalkingFinished struct {
	EventBase
	Channel  Channel `json:"channel"`
	Duration int     `json:"duration"`
}

// ChannelToneDetected: TONE_DETECT fired.
type ChannelToneDetected struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelCallerId: the channel's caller id changed.
type ChannelCallerId struct {
	EventBase
	CallerPresentation    int     `json:"caller_presentation"`
	CallerPresentationTxt string  `json:"caller_presentation_txt"`
	Channel               Channel `json:"channel"`
}

// ChannelConnectedLine: the channel's connected line changed.
type ChannelConnectedLine struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelDialplan: the channel moved to another dialplan application.
type ChannelDialplan struct {
	EventBase
	Channel         Channel `json:"channel"`
	DialplanApp     string  `json:"dialplan_app"`
	DialplanAppData string  `json:"dialplan_app_data"`
}

// ChannelUserevent: UserEvent() from the dialplan or POST /events/user.
// UserEvent keeps the custom fields as raw JSON.
type ChannelUserevent struct {
	EventBase
	EventName string          `json:"eventname"`
	Channel   *Channel        `json:"channel,omitempty"`
	Bridge    *Bridge         `json:"bridge,omitempty"`
	Endpoint  *Endpoint       `json:"endpoint,omitempty"`
	UserEvent json.RawMessage `json:"userevent"`
}

// ChannelTransfer: a SIP REFER arrived on a channel (Asterisk 22's
// transfer_handling=ari_only).
type ChannelTransfer struct {
	EventBase
	State      string     `json:"state,omitempty"`
	ReferTo    ReferTo    `json:"refer_to"`
	ReferredBy ReferredBy `json:"referred_by"`
}

// Dial: the dialing state of Peer changed. Dialstatus is empty while
// ringing starts, then ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION,
// CHANUNAVAIL, PROGRESS, RINGING…
type Dial struct {
	EventBase
	Caller     *Channel `json:"caller,omitempty"`
	Peer       Channel  `json:"peer"`
	Forward    string   `json:"forward,omitempty"`
	Forwarded  *Channel `json:"forwarded,omitempty"`
	Dialstring string   `json:"dialstring,omitempty"`
	Dialstatus string   `json:"dialstatus"`
}

// BridgeCreated: a bridge was created.
type BridgeCreated struct {
	EventBase
	Bridge Bridge `json:"bridge"`
}

// BridgeDestroyed: a bridge was destroyed.
type BridgeDestroyed struct {
	EventBase
	Bridge Bridge `json:"bridge"`
}

// BridgeMerged: BridgeFrom was merged into Bridge.
type BridgeMerged struct {
	EventBase
	Bridge     Bridge `json:"bridge"`
	BridgeFrom Bridge `json:"bridge_from"`
}

// BridgeVideoSourceChanged: the bridge's video source changed.
type BridgeVideoSourceChanged struct {
	EventBase
	Bridge           Bridge `json:"bridge"`
	OldVideoSourceID string `json:"old_video_source_id,omitempty"`
}

// BridgeBlindTransfer: a phone completed a blind transfer (Asterisk's own
// transfer, not ours). Asterisk's "transferer" is our transferor.
type BridgeBlindTransfer struct {
	EventBase
	Channel        Channel  `json:"channel"`
	ReplaceChannel *Channel `json:"replace_channel,omitempty"`
	Transferee     *Channel `json:"transferee,omitempty"`
	Exten          string   `json:"exten"`
	Context        string   `json:"context"`
	Result         string   `json:"result"`
	IsExternal     bool     `json:"is_external"`
	Bridge         *Bridge  `json:"bridge,omitempty"`
}

// BridgeAttendedTransfer: a phone completed an attended transfer.
type BridgeAttendedTransfer struct {
	EventBase
	TransfererFirstLeg         Channel  `json:"transferer_first_leg"`
	TransfererSecondLeg        Channel  `json:"transferer_second_leg"`
	ReplaceChannel             *Channel `json:"replace_channel,omitempty"`
	Transferee                 *Channel `json:"transferee,omitempty"`
	TransferTarget             *Channel `json:"transfer_target,omitempty"`
	Result                     string   `json:"result"`
	IsExternal                 bool     `json:"is_external"`
	TransfererFirstLegBridge   *Bridge  `json:"transferer_first_leg_bridge,omitempty"`
	TransfererSecondLegBridge  *Bridge  `json:"transferer_second_leg_bridge,omitempty"`
	DestinationType            string   `json:"destination_type"` // bridge, application, link, threeway, fail
	DestinationBridge          BridgeID `json:"destination_bridge,omitempty"`
	DestinationApplication     string   `json:"destination_application,omitempty"`
	DestinationLinkFirstLeg    *Channel `json:"destination_link_first_leg,omitempty"`
	DestinationLinkSecondLeg   *Channel `json:"destination_link_second_leg,omitempty"`
	DestinationThreewayChannel *Channel `json:"destination_threeway_channel,omitempty"`
	DestinationThreewayBridge  *Bridge  `json:"destination_threeway_bridge,omitempty"`
}

// PlaybackStarted: a playback began.
type PlaybackStarted struct {
	EventBase
	Playback Playback `json:"playback"`
}

// PlaybackContinuing: a playback moved to the next media URI of its list.
type PlaybackContinuing struct {
	EventBase
	Playback Playback `json:"playback"`
}

// PlaybackFinished: a playback ended (State "done" or "failed").
type PlaybackFinished struct {
	EventBase
	Playback Playback `json:"playback"`
}

// RecordingStarted: a live recording began.
type RecordingStarted struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// RecordingFinished: a live recording ended.
type RecordingFinished struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// RecordingFailed: a live recording failed.
type RecordingFailed struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// DeviceStateChanged: a subscribed device changed state.
type DeviceStateChanged struct {
	EventBase
	DeviceState DeviceState `json:"device_state"`
}

// EndpointStateChange: a subscribed endpoint changed state.
type EndpointStateChange struct {
	EventBase
	Endpoint Endpoint `json:"endpoint"`
}

// ContactStatusChange: a SIP contact of an endpoint changed status.
type ContactStatusChange struct {
	EventBase
	Endpoint    Endpoint    `json:"endpoint"`
	ContactInfo ContactInfo `json:"contact_info"`
}

// PeerStatusChange: a SIP peer changed status.
type PeerStatusChange struct {
	EventBase
	Endpoint Endpoint `json:"endpoint"`
	Peer     Peer     `json:"peer"`
}

// TextMessageReceived: an out-of-call message arrived.
type TextMessageReceived struct {
	EventBase
	Message  TextMessage `json:"message"`
	Endpoint *Endpoint   `json:"endpoint,omitempty"`
}

// ApplicationReplaced: another websocket registered the same application
// name, and this stream no longer receives its events.
type ApplicationReplaced struct {
	EventBase
}

// ApplicationRegistered: the application was registered.
type ApplicationRegistered struct {
	EventBase
}

// ApplicationUnregistered: the application was unregistered.
type ApplicationUnregistered struct {
	EventBase
}

// ApplicationMoveFailed: Channels.Move could not move Channel to Destination.
type ApplicationMoveFailed struct {
	EventBase
	Channel     Channel  `json:"channel"`
	Destination string   `json:"destination"`
	Args        []string `json:"args"`
}

// CallBroadcast: a channel is offered to applications for claiming.
type CallBroadcast struct {
	EventBase
	Channel Channel `json:"channel"`
	Caller  string  `json:"caller,omitempty"`
	Called  string  `json:"called,omitempty"`
}

// CallClaimed: a broadcast channel was claimed by WinnerApp.
type CallClaimed struct {
	EventBase
	Channel   Channel `json:"channel"`
	WinnerApp string  `json:"winner_app"`
}

// Unknown is an event whose type this package does not know (a newer
// Asterisk, or RESTResponse). It is delivered, never dropped: Raw holds the
// whole message.
type Unknown struct {
	EventBase
	Raw json.RawMessage
}

// Synthetic event types. They do not come from Asterisk (the "transferd."
// prefix cannot collide with an ARI name) and have no Application: every
// subscription receives them.
const (
	TypeReconnected  = "transferd.Reconnected"
	TypeDisconnected = "transferd.Disconnected"
)

// Reconnected is delivered after the event stream came back. Events that
// happened while it was down are lost, so the application must reconcile
// its state with Asterisk's (list channels and bridges).
type Reconnected struct {
	EventBase
	Down     time.Duration // from the drop to the new connection
	Attempts int           // dials it took, including the successful one
}

// Disconnected is delivered when the event stream drops.
type Disconnected struct {
	EventBase
	Err error // why Read failed
}

// eventTypes maps each ARI type name to a constructor. It is read-only
// after init; the contract test walks it against events.json.
var eventTypes = map[string]func() Event{
	"ApplicationMoveFailed":    func() Event { return new(ApplicationMoveFailed) },
	"ApplicationRegistered":    func() Event { return new(ApplicationRegistered) },
	"ApplicationReplaced":      func() Event { return new(ApplicationReplaced) },
	"ApplicationUnregistered":  func() Event { return new(ApplicationUnregistered) },
	"BridgeAttendedTransfer":   func() Event { return new(BridgeAttendedTransfer) },
	"BridgeBlindTransfer":      func() Event { return new(BridgeBlindTransfer) },
	"BridgeCreated":            func() Event { return new(BridgeCreated) },
	"BridgeDestroyed":          func() Event { return new(BridgeDestroyed) },
	"BridgeMerged":             func() Event { return new(BridgeMerged) },
	"BridgeVideoSourceChanged": func() Event { return new(BridgeVideoSourceChanged) },
	"CallBroadcast":            func() Event { return new(CallBroadcast) },
	"CallClaimed":              func() Event { return new(CallClaimed) },
	"ChannelCallerId":          func() Event { return new(ChannelCallerId) },
	"ChannelConnectedLine":     func() Event { return new(ChannelConnectedLine) },
	"ChannelCreated":           func() Event { return new(ChannelCreated) },
	"ChannelDestroyed":         func() Event { return new(ChannelDestroyed) },
	"ChannelDialplan":          func() Event { return new(ChannelDialplan) },
	"ChannelDtmfReceived":      func() Event { return new(ChannelDtmfReceived) },
	"ChannelEnteredBridge":     func() Event { return new(ChannelEnteredBridge) },
	"ChannelHangupRequest":     func() Event { return new(ChannelHangupRequest) },
	"ChannelHold":              func() Event { return new(ChannelHold) },
	"ChannelLeftBridge":        func() Event { return new(ChannelLeftBridge) },
	"ChannelStateChange":       func() Event { return new(ChannelStateChange) },
	"ChannelTalkingFinished":   func() Event { return new(ChannelTalkingFinished) },
	"ChannelTalkingStarted":    func() Event { return new(ChannelTalkingStarted) },
	"ChannelToneDetected":      func() Event { return new(ChannelToneDetected) },
	"ChannelTransfer":          func() Event { return new(ChannelTransfer) },
	"ChannelUnhold":            func() Event { return new(ChannelUnhold) },
	"ChannelUserevent":         func() Event { return new(ChannelUserevent) },
	"ChannelVarset":            func() Event { return new(ChannelVarset) },
	"ContactStatusChange":      func() Event { return new(ContactStatusChange) },
	"DeviceStateChanged":       func() Event { return new(DeviceStateChanged) },
	"Dial":                     func() Event { return new(Dial) },
	"EndpointStateChange":      func() Event { return new(EndpointStateChange) },
	"PeerStatusChange":         func() Event { return new(PeerStatusChange) },
	"PlaybackContinuing":       func() Event { return new(PlaybackContinuing) },
	"PlaybackFinished":         func() Event { return new(PlaybackFinished) },
	"PlaybackStarted":          func() Event { return new(PlaybackStarted) },
	"RecordingFailed":          func() Event { return new(RecordingFailed) },
	"RecordingFinished":        func() Event { return new(RecordingFinished) },
	"RecordingStarted":         func() Event { return new(RecordingStarted) },
	"StasisEnd":                func() Event { return new(StasisEnd) },
	"StasisStart":              func() Event { return new(StasisStart) },
	"TextMessageReceived":      func() Event { return new(TextMessageReceived) },
}

// errNoType is returned by Decode for a JSON object without "type": it is
// not an ARI message at all, as opposed to one of a type we do not know.
var errNoType = errors.New("missing type")

// Decode parses one raw event. A well-formed message of a type this package
// does not know decodes to *Unknown, never an error. It fails only when raw
// is not a JSON object with a "type", or when a known type's fields have the
// wrong JSON types; the error then names the type.
//
// A message whose first key is "type", as Asterisk writes every event, is
// parsed once, straight into its type; any other is parsed twice (its base
// for the type, then the type), with the same result.
func Decode(raw []byte) (Event, error) {
	if typ, ok := leadingType(raw); ok {
		if mk, known := eventTypes[typ]; known {
			ev := mk()
			// A message repeating "type" means its last one (as for the
			// slow path): only a match is taken.
			if err := json.Unmarshal(raw, ev); err == nil && ev.GetType() == typ {
				return ev, nil
			}
		}
	}
	return decodeTwice(raw)
}

// decodeTwice is Decode's general path: the base for the type, then the
// type.
func decodeTwice(raw []byte) (Event, error) {
	var base EventBase
	if err := json.Unmarshal(raw, &base); err != nil {
		return nil, fmt.Errorf("ari: decode event: %w", err)
	}
	if base.Type == "" {
		return nil, fmt.Errorf("ari: decode event: %w", errNoType)
	}
	mk, ok := eventTypes[base.Type]
	if !ok {
		// Copy: a transport may reuse its read buffer.
		return &Unknown{EventBase: base, Raw: append(json.RawMessage(nil), raw...)}, nil
	}
	ev := mk()
	if err := json.Unmarshal(raw, ev); err != nil {
		return nil, fmt.Errorf("ari: decode %s event: %w", base.Type, err)
	}
	return ev, nil
}

// leadingType reads the value of "type" when it is the first key of the
// JSON object raw, without parsing the rest; ok is false for anything else
// (another first key, an escape in the value, not an object).
func leadingType(raw []byte) (string, bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return "", false
	}
	i = skipSpace(raw, i+1)
	const key = `"type"`
	if !bytes.HasPrefix(raw[i:], []byte(key)) {
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
	for j := start; j < len(raw); j++ {
		switch raw[j] {
		case '"':
			return string(raw[start:j]), true
		case '\\':
			return "", false
		}
	}
	return "", false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
