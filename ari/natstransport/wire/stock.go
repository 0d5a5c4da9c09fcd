package wire

import (
	"encoding/json"
	"time"
)

// StockKinds are the 111 request kinds the stock ari-proxy v5.3.1 server
// serves (the switch of its server/server.go), in its order. natsproxy
// serves every one of them; transferd itself uses a few.
var StockKinds = []string{
	"ApplicationData", "ApplicationGet", "ApplicationList", "ApplicationSubscribe", "ApplicationUnsubscribe",
	"AsteriskConfigData", "AsteriskConfigDelete", "AsteriskConfigUpdate",
	"AsteriskLoggingCreate", "AsteriskLoggingData", "AsteriskLoggingDelete", "AsteriskLoggingGet", "AsteriskLoggingList", "AsteriskLoggingRotate",
	"AsteriskModuleData", "AsteriskModuleGet", "AsteriskModuleLoad", "AsteriskModuleList", "AsteriskModuleReload", "AsteriskModuleUnload",
	"AsteriskInfo", "AsteriskVariableGet", "AsteriskVariableSet",
	"BridgeAddChannel", "BridgeCreate", "BridgeStageCreate", "BridgeData", "BridgeDelete", "BridgeGet", "BridgeList",
	"BridgeMOH", "BridgeStopMOH", "BridgePlay", "BridgeStagePlay", "BridgeRecord", "BridgeStageRecord",
	"BridgeRemoveChannel", "BridgeSubscribe", "BridgeUnsubscribe", "BridgeVideoSource", "BridgeVideoSourceDelete",
	"ChannelAnswer", "ChannelBusy", "ChannelCongestion", "ChannelCreate", "ChannelContinue", "ChannelData", "ChannelDial",
	"ChannelGet", "ChannelHangup", "ChannelHold", "ChannelList", "ChannelMOH", "ChannelMute", "ChannelOriginate",
	"ChannelStageOriginate", "ChannelPlay", "ChannelStagePlay", "ChannelRecord", "ChannelStageRecord", "ChannelRing",
	"ChannelSendDTMF", "ChannelSilence", "ChannelSnoop", "ChannelStageSnoop", "ChannelExternalMedia",
	"ChannelStageExternalMedia", "ChannelStopHold", "ChannelStopMOH", "ChannelStopRing", "ChannelStopSilence",
	"ChannelSubscribe", "ChannelUnmute", "ChannelVariableGet", "ChannelVariableSet",
	"DeviceStateData", "DeviceStateDelete", "DeviceStateGet", "DeviceStateList", "DeviceStateUpdate",
	"EndpointData", "EndpointGet", "EndpointList", "EndpointListByTech",
	"MailboxData", "MailboxDelete", "MailboxGet", "MailboxList", "MailboxUpdate",
	"PlaybackControl", "PlaybackData", "PlaybackGet", "PlaybackStop", "PlaybackSubscribe",
	"RecordingStoredCopy", "RecordingStoredData", "RecordingStoredDelete", "RecordingStoredGet", "RecordingStoredList",
	"RecordingLiveData", "RecordingLiveGet", "RecordingLiveMute", "RecordingLivePause", "RecordingLiveResume",
	"RecordingLiveScrap", "RecordingLiveSubscribe", "RecordingLiveStop", "RecordingLiveUnmute",
	"SoundData", "SoundList", "ChannelUserEvent",
}

// Stage kinds prepare an operation without doing it (the stock client's
// Stage* helpers, which subscribe before they start): the proxy binds the
// resources to the dialog, checks what must exist, and answers the key of
// what the operation will create. No Asterisk call changes anything.
var StageKinds = map[string]bool{
	"BridgeStageCreate": true, "BridgeStagePlay": true, "BridgeStageRecord": true,
	"ChannelStageOriginate": true, "ChannelStagePlay": true, "ChannelStageRecord": true,
	"ChannelStageSnoop": true, "ChannelStageExternalMedia": true,
}

// StockBodies are the request bodies of the v5 kinds transferd does not use
// (proxy/types.go), each under its v5 JSON name.
type StockBodies struct {
	AsteriskConfig         *AsteriskConfig         `json:"asterisk_config,omitempty"`
	AsteriskLoggingChannel *AsteriskLoggingChannel `json:"asterisk_logging_channel,omitempty"`
	BridgeRecord           *Record                 `json:"bridge_record,omitempty"`
	BridgeVideoSource      *BridgeVideoSource      `json:"bridge_video_source,omitempty"`
	ChannelRecord          *Record                 `json:"channel_record,omitempty"`
	ChannelExternalMedia   *ChannelExternalMedia   `json:"channel_external_media,omitempty"`
	ChannelUserevent       *ChannelUserevent       `json:"channel_user_event,omitempty"`
	DeviceStateUpdate      *DeviceStateUpdate      `json:"device_state_update,omitempty"`
	MailboxUpdate          *MailboxUpdate          `json:"mailbox_update,omitempty"`
	RecordingStoredCopy    *RecordingStoredCopy    `json:"recording_stored_copy,omitempty"`
	SoundList              *SoundList              `json:"sound_list,omitempty"`
}

// AsteriskConfig is the body of AsteriskConfigUpdate.
type AsteriskConfig struct {
	Tuples []ConfigTuple `json:"tuples,omitempty"`
}

// ConfigTuple is one attribute of a dynamic configuration object.
type ConfigTuple struct {
	Attribute string `json:"attribute"`
	Value     string `json:"value"`
}

// AsteriskLoggingChannel is the body of AsteriskLoggingCreate: the levels
// the log channel takes, comma-separated (v5 names the field "config").
type AsteriskLoggingChannel struct {
	Levels string `json:"config"`
}

// Record is the body of BridgeRecord, ChannelRecord and their Stage kinds.
type Record struct {
	Name    string            `json:"name"`
	Options *RecordingOptions `json:"options,omitempty"`
}

// RecordingOptions is ari v5's RecordingOptions: untagged, so the JSON keys
// are the Go names and the durations nanoseconds.
type RecordingOptions struct {
	Format      string        `json:"Format"`
	MaxDuration time.Duration `json:"MaxDuration"`
	MaxSilence  time.Duration `json:"MaxSilence"`
	Exists      string        `json:"Exists"`
	Beep        bool          `json:"Beep"`
	Terminate   string        `json:"Terminate"`
}

// BridgeVideoSource is the body of BridgeVideoSource.
type BridgeVideoSource struct {
	Channel string `json:"channel"`
}

// ChannelExternalMedia is the body of ChannelExternalMedia and its Stage.
type ChannelExternalMedia struct {
	Options ExternalMediaOptions `json:"options"`
}

// ExternalMediaOptions is ari v5's ExternalMediaOptions.
type ExternalMediaOptions struct {
	ChannelID      string            `json:"channelId"`
	App            string            `json:"app"`
	ExternalHost   string            `json:"external_host"`
	Encapsulation  string            `json:"encapsulation"`
	Transport      string            `json:"transport"`
	ConnectionType string            `json:"connection_type"`
	Format         string            `json:"format"`
	Direction      string            `json:"direction"`
	Variables      map[string]string `json:"variables"`
}

// ChannelUserevent is the body of ChannelUserEvent: v5 wraps ari's event
// under the untagged field name.
type ChannelUserevent struct {
	UserEvent UserEvent `json:"UserEvent"`
}

// UserEvent is what ChannelUserEvent reads of ari v5's ChannelUserevent.
type UserEvent struct {
	Eventname string          `json:"eventname"`
	Userevent json.RawMessage `json:"userevent,omitempty"`
}

// DeviceStateUpdate is the body of DeviceStateUpdate.
type DeviceStateUpdate struct {
	State string `json:"state"`
}

// MailboxUpdate is the body of MailboxUpdate.
type MailboxUpdate struct {
	New int `json:"new"`
	Old int `json:"old"`
}

// RecordingStoredCopy is the body of RecordingStoredCopy.
type RecordingStoredCopy struct {
	Destination string `json:"destination"`
}

// SoundList is the body of SoundList.
type SoundList struct {
	Filters map[string]string `json:"filters"`
}

// ResultConfig and ResultLog are the answers that need reshaping into
// v5's models: a dynamic configuration object (Asterisk answers its list of
// tuples) and one log channel (Asterisk lists them all).
const (
	ResultConfig Result = iota + 100
	ResultLog
)
