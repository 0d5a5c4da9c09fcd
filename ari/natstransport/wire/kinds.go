package wire

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
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

// stockToHTTP maps the kinds of StockBodies and the other v5 kinds ToHTTP
// does not, reporting false for an unknown kind. Stage and subscribe kinds
// are the proxy's business (it asks Asterisk only whether the resource
// exists).
//
// nolint: gocyclo // one case per kind.
func stockToHTTP(r *Request, c *HTTPCall, q vals, set func(string, ...string), need func(bool, string), entity func(string)) (bool, error) {
	id := ""
	if r.Key != nil {
		id = r.Key.ID
	}
	var err error
	switch r.Kind {
	// Dynamic configuration: the key's id is <class>/<type>/<id>.
	case "AsteriskConfigData", "AsteriskConfigDelete", "AsteriskConfigUpdate":
		parts := strings.SplitN(id, "/", 3)
		need(len(parts) == 3, "key.id <class>/<type>/<id>")
		if len(parts) != 3 {
			return true, nil
		}
		switch r.Kind {
		case "AsteriskConfigData":
			set(http.MethodGet, "asterisk", "config", "dynamic", parts[0], parts[1], parts[2])
			c.Result, c.Entity = ResultConfig, KindConfig
		case "AsteriskConfigDelete":
			set(http.MethodDelete, "asterisk", "config", "dynamic", parts[0], parts[1], parts[2])
		default:
			need(r.AsteriskConfig != nil, "asterisk_config")
			set(http.MethodPut, "asterisk", "config", "dynamic", parts[0], parts[1], parts[2])
			if r.AsteriskConfig != nil {
				c.Body, err = json.Marshal(struct {
					Fields []ConfigTuple `json:"fields"`
				}{r.AsteriskConfig.Tuples})
			}
		}

	// Log channels.
	case "AsteriskLoggingCreate":
		need(r.AsteriskLoggingChannel != nil, "asterisk_logging_channel")
		set(http.MethodPost, "asterisk", "logging", id)
		if r.AsteriskLoggingChannel != nil {
			q.str("configuration", r.AsteriskLoggingChannel.Levels)
		}
	case "AsteriskLoggingData", "AsteriskLoggingGet":
		need(id != "", "key.id")
		c.Method, c.Path, c.Result, c.Entity = http.MethodGet, "/asterisk/logging", ResultLog, KindLogging
	case "AsteriskLoggingList":
		c.Method, c.Path, c.Result, c.Entity = http.MethodGet, "/asterisk/logging", ResultList, KindLogging
	case "AsteriskLoggingRotate":
		set(http.MethodPut, "asterisk", "logging", id, "rotate")
	case "AsteriskLoggingDelete":
		set(http.MethodDelete, "asterisk", "logging", id)

	// Modules.
	case "AsteriskModuleData", "AsteriskModuleGet":
		set(http.MethodGet, "asterisk", "modules", id)
		entity(KindModule)
	case "AsteriskModuleList":
		c.Method, c.Path, c.Result, c.Entity = http.MethodGet, "/asterisk/modules", ResultList, KindModule
	case "AsteriskModuleLoad":
		set(http.MethodPost, "asterisk", "modules", id)
	case "AsteriskModuleReload":
		set(http.MethodPut, "asterisk", "modules", id)
	case "AsteriskModuleUnload":
		set(http.MethodDelete, "asterisk", "modules", id)

	// Recording and video.
	case "BridgeRecord", "ChannelRecord":
		rec := r.BridgeRecord
		base := "bridges"
		if r.Kind == "ChannelRecord" {
			rec, base = r.ChannelRecord, "channels"
		}
		need(rec != nil && rec.Name != "", strings.ToLower(base[:len(base)-1])+"_record.name")
		if rec == nil {
			return true, nil
		}
		set(http.MethodPost, base, id, "record")
		recordQuery(q, rec)
		entity(KindLiveRecording)
	case "BridgeVideoSource":
		need(r.BridgeVideoSource != nil, "bridge_video_source")
		if r.BridgeVideoSource != nil {
			set(http.MethodPost, "bridges", id, "videoSource", r.BridgeVideoSource.Channel)
		}
	case "BridgeVideoSourceDelete":
		set(http.MethodDelete, "bridges", id, "videoSource")

	// External media and user events.
	case "ChannelExternalMedia":
		need(r.ChannelExternalMedia != nil, "channel_external_media")
		if r.ChannelExternalMedia == nil {
			return true, nil
		}
		o := r.ChannelExternalMedia.Options
		c.Method, c.Path = http.MethodPost, "/channels/externalMedia"
		q.str("channelId", o.ChannelID)
		q.str("app", o.App)
		q.str("external_host", o.ExternalHost)
		q.str("encapsulation", o.Encapsulation)
		q.str("transport", o.Transport)
		q.str("connection_type", o.ConnectionType)
		q.str("format", o.Format)
		q.str("direction", o.Direction)
		c.Body, err = variablesBody(o.Variables)
		entity(KindChannel)
	case "ChannelUserEvent":
		need(r.ChannelUserevent != nil && r.ChannelUserevent.UserEvent.Eventname != "", "channel_user_event.UserEvent.eventname")
		if r.ChannelUserevent == nil {
			return true, nil
		}
		ue := r.ChannelUserevent.UserEvent
		set(http.MethodPost, "events", "user", ue.Eventname)
		if r.Key != nil {
			q.str("application", r.Key.App)
		}
		q.str("source", "channel:"+id)
		if len(ue.Userevent) > 0 && string(ue.Userevent) != "null" {
			c.Body, err = json.Marshal(struct {
				Variables json.RawMessage `json:"variables"`
			}{ue.Userevent})
		}

	// Device states and mailboxes.
	case "DeviceStateDelete":
		set(http.MethodDelete, "deviceStates", id)
	case "DeviceStateUpdate":
		need(r.DeviceStateUpdate != nil, "device_state_update")
		set(http.MethodPut, "deviceStates", id)
		if r.DeviceStateUpdate != nil {
			q.str("deviceState", r.DeviceStateUpdate.State)
		}
	case "MailboxData", "MailboxGet":
		set(http.MethodGet, "mailboxes", id)
		entity(KindMailbox)
	case "MailboxList":
		c.Method, c.Path, c.Result, c.Entity = http.MethodGet, "/mailboxes", ResultList, KindMailbox
	case "MailboxDelete":
		set(http.MethodDelete, "mailboxes", id)
	case "MailboxUpdate":
		need(r.MailboxUpdate != nil, "mailbox_update")
		set(http.MethodPut, "mailboxes", id)
		if m := r.MailboxUpdate; m != nil {
			q["oldMessages"] = []string{fmt.Sprint(m.Old)}
			q["newMessages"] = []string{fmt.Sprint(m.New)}
		}

	// Stored recordings.
	case "RecordingStoredData", "RecordingStoredGet":
		set(http.MethodGet, "recordings", "stored", id)
		entity(KindStoredRecording)
	case "RecordingStoredList":
		c.Method, c.Path, c.Result, c.Entity = http.MethodGet, "/recordings/stored", ResultList, KindStoredRecording
	case "RecordingStoredDelete":
		set(http.MethodDelete, "recordings", "stored", id)
	case "RecordingStoredCopy":
		need(r.RecordingStoredCopy != nil && r.RecordingStoredCopy.Destination != "", "recording_stored_copy.destination")
		set(http.MethodPost, "recordings", "stored", id, "copy")
		if r.RecordingStoredCopy != nil {
			q.str("destinationRecordingName", r.RecordingStoredCopy.Destination)
		}
		entity(KindStoredRecording)

	// Live recordings.
	case "RecordingLiveData", "RecordingLiveGet":
		set(http.MethodGet, "recordings", "live", id)
		entity(KindLiveRecording)
	case "RecordingLiveSubscribe":
		// Binding is the proxy's business; Asterisk is asked whether the
		// recording exists.
		set(http.MethodGet, "recordings", "live", id)
		entity(KindLiveRecording)
	case "RecordingLiveStop":
		set(http.MethodPost, "recordings", "live", id, "stop")
	case "RecordingLivePause":
		set(http.MethodPost, "recordings", "live", id, "pause")
	case "RecordingLiveResume":
		set(http.MethodDelete, "recordings", "live", id, "pause")
	case "RecordingLiveMute":
		set(http.MethodPost, "recordings", "live", id, "mute")
	case "RecordingLiveUnmute":
		set(http.MethodDelete, "recordings", "live", id, "mute")
	case "RecordingLiveScrap":
		set(http.MethodDelete, "recordings", "live", id)

	// Sounds.
	case "SoundData":
		set(http.MethodGet, "sounds", id)
		entity(KindSound)
	case "SoundList":
		c.Method, c.Path, c.Result, c.Entity = http.MethodGet, "/sounds", ResultList, KindSound
		if r.SoundList != nil {
			for k, v := range r.SoundList.Filters {
				q.str(k, v)
			}
		}
	default:
		return false, nil
	}
	return true, err
}

// recordQuery puts a record request's options in ARI's parameters.
func recordQuery(q vals, rec *Record) {
	q.str("name", rec.Name)
	o := rec.Options
	if o == nil {
		o = &RecordingOptions{}
	}
	format := o.Format
	if format == "" {
		format = "slin" // ARI requires one; v5's documented default
	}
	q.str("format", format)
	q.num("maxDurationSeconds", int(o.MaxDuration/time.Second))
	q.num("maxSilenceSeconds", int(o.MaxSilence/time.Second))
	q.str("ifExists", o.Exists)
	q.flag("beep", o.Beep)
	q.str("terminateOn", o.Terminate)
}
