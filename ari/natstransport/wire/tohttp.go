package wire

// ToHTTP: an ari-proxy request into the ARI REST call that serves it
// (natsproxy's direction), every kind in one switch: first those transferd
// uses, then the rest of the stock server's (stock.go has their bodies).

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HTTPCall is an ARI REST call as the proxy sends it to Asterisk.
type HTTPCall struct {
	Method string
	Path   string // escaped, relative to the ARI base
	Query  url.Values
	Body   []byte
	Result Result
	Entity string
}

// escape is one escaped path segment; '+' is escaped too, because Asterisk
// reads it as a space.
func escape(s string) string { return strings.ReplaceAll(url.PathEscape(s), "+", "%2B") }

// path joins segments, refusing an empty, "." or ".." one: it would address
// another resource.
func path(segs ...string) (string, error) {
	var b strings.Builder
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return "", fmt.Errorf("invalid path segment %q", s)
		}
		b.WriteByte('/')
		b.WriteString(escape(s))
	}
	return b.String(), nil
}

// vals builds a query, leaving out empty values as ari.Client does.
type vals url.Values

func (v vals) str(k, s string) {
	if s != "" {
		v[k] = []string{s}
	}
}

func (v vals) num(k string, n int) {
	if n != 0 {
		v[k] = []string{strconv.Itoa(n)}
	}
}

func (v vals) flag(k string, b bool) {
	if b {
		v[k] = []string{"true"}
	}
}

func (v vals) values() url.Values {
	if len(v) == 0 {
		return nil
	}
	return url.Values(v)
}

func variablesBody(m map[string]string) ([]byte, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return json.Marshal(struct {
		Variables map[string]string `json:"variables"`
	}{m})
}

// ErrMissing is returned by ToHTTP when a request lacks what its kind needs.
var ErrMissing = errors.New("request lacks a field its kind needs")

// ToHTTP translates an ari-proxy request into the ARI REST call that serves
// it. Kinds read-only to one entity ("*Get") answer with the entity's key,
// which the proxy takes from the same data call.
//
// nolint: gocyclo // one case per kind.
func ToHTTP(r *Request) (*HTTPCall, error) {
	k := r.Key
	if k == nil {
		k = &Key{}
	}
	id := k.ID
	c := &HTTPCall{}
	q := vals{}
	var err error
	need := func(present bool, field string) {
		if !present && err == nil {
			err = fmt.Errorf("%s: %s: %w", r.Kind, field, ErrMissing)
		}
	}
	set := func(method string, segs ...string) {
		c.Method = method
		p, perr := path(segs...)
		if perr != nil && err == nil {
			err = fmt.Errorf("%s: %w", r.Kind, perr)
		}
		c.Path = p
	}
	entity := func(e string) { c.Result, c.Entity = ResultEntity, e }
	// body keeps the first error: a body built after a refused path
	// segment must not clear the refusal.
	body := func(b []byte, berr error) {
		c.Body = b
		if berr != nil && err == nil {
			err = fmt.Errorf("%s: %w", r.Kind, berr)
		}
	}

	switch r.Kind {
	// Channels.
	case "ChannelOriginate":
		need(r.ChannelOriginate != nil, "channel_originate")
		if err != nil {
			break
		}
		o := r.ChannelOriginate.OriginateRequest
		if o.ChannelID == "" {
			o.ChannelID = id
		}
		q.str("endpoint", o.Endpoint)
		q.str("extension", o.Extension)
		q.str("context", o.Context)
		q.num("priority", int(o.Priority))
		q.str("label", o.Label)
		q.str("app", o.App)
		q.str("appArgs", o.AppArgs)
		q.str("callerId", o.CallerID)
		q.num("timeout", o.Timeout)
		q.str("otherChannelId", o.OtherChannelID)
		q.str("originator", o.Originator)
		q.str("formats", o.Formats)
		if o.ChannelID != "" {
			set(http.MethodPost, "channels", o.ChannelID)
		} else {
			c.Method, c.Path = http.MethodPost, "/channels"
		}
		body(variablesBody(o.Variables))
		entity(KindChannel)
	case "ChannelCreate":
		need(r.ChannelCreate != nil, "channel_create")
		if err != nil {
			break
		}
		o := r.ChannelCreate.ChannelCreateRequest
		if o.ChannelID == "" {
			o.ChannelID = id
		}
		q.str("endpoint", o.Endpoint)
		q.str("app", o.App)
		q.str("appArgs", o.AppArgs)
		q.str("channelId", o.ChannelID)
		q.str("otherChannelId", o.OtherChannelID)
		q.str("originator", o.Originator)
		q.str("formats", o.Formats)
		c.Method, c.Path = http.MethodPost, "/channels/create"
		body(variablesBody(o.Variables))
		entity(KindChannel)
	case "ChannelData", "ChannelGet":
		set(http.MethodGet, "channels", id)
		entity(KindChannel)
	case "ChannelList":
		c.Method, c.Path, c.Result, c.Entity = http.MethodGet, "/channels", ResultList, KindChannel
	case "ChannelHangup":
		set(http.MethodDelete, "channels", id)
		if r.ChannelHangup != nil {
			q.str("reason", r.ChannelHangup.Reason)
		}
	case "ChannelBusy", "ChannelCongestion":
		set(http.MethodDelete, "channels", id)
		q.str("reason", strings.ToLower(strings.TrimPrefix(r.Kind, "Channel")))
	case "ChannelAnswer":
		set(http.MethodPost, "channels", id, "answer")
	case "ChannelRing":
		set(http.MethodPost, "channels", id, "ring")
	case "ChannelStopRing":
		set(http.MethodDelete, "channels", id, "ring")
	case KindChannelProgress:
		set(http.MethodPost, "channels", id, "progress")
	case "ChannelHold":
		set(http.MethodPost, "channels", id, "hold")
	case "ChannelStopHold":
		set(http.MethodDelete, "channels", id, "hold")
	case "ChannelMOH":
		set(http.MethodPost, "channels", id, "moh")
		if r.ChannelMOH != nil {
			q.str("mohClass", r.ChannelMOH.Music)
		}
	case "ChannelStopMOH":
		set(http.MethodDelete, "channels", id, "moh")
	case "ChannelSilence":
		set(http.MethodPost, "channels", id, "silence")
	case "ChannelStopSilence":
		set(http.MethodDelete, "channels", id, "silence")
	case "ChannelMute", "ChannelUnmute":
		m := http.MethodPost
		if r.Kind == "ChannelUnmute" {
			m = http.MethodDelete
		}
		set(m, "channels", id, "mute")
		if r.ChannelMute != nil {
			q.str("direction", r.ChannelMute.Direction)
		}
	case "ChannelDial":
		set(http.MethodPost, "channels", id, "dial")
		if d := r.ChannelDial; d != nil {
			q.str("caller", d.Caller)
			q.num("timeout", int(d.Timeout/time.Second))
		}
	case "ChannelSendDTMF":
		need(r.ChannelSendDTMF != nil, "channel_send_dtmf")
		if err != nil {
			break
		}
		set(http.MethodPost, "channels", id, "dtmf")
		q.str("dtmf", r.ChannelSendDTMF.DTMF)
		if o := r.ChannelSendDTMF.Options; o != nil {
			q.num("before", int(o.Before/time.Millisecond))
			q.num("between", int(o.Between/time.Millisecond))
			q.num("duration", int(o.Duration/time.Millisecond))
			q.num("after", int(o.After/time.Millisecond))
		}
	case "ChannelVariableGet":
		need(r.ChannelVariable != nil, "channel_variable")
		if err != nil {
			break
		}
		set(http.MethodGet, "channels", id, "variable")
		q["variable"] = []string{r.ChannelVariable.Name}
		c.Result = ResultVariable
	case "ChannelVariableSet":
		need(r.ChannelVariable != nil, "channel_variable")
		if err != nil {
			break
		}
		set(http.MethodPost, "channels", id, "variable")
		q["variable"] = []string{r.ChannelVariable.Name}
		q["value"] = []string{r.ChannelVariable.Value}
	case "ChannelContinue":
		set(http.MethodPost, "channels", id, "continue")
		if o := r.ChannelContinue; o != nil {
			q.str("context", o.Context)
			q.str("extension", o.Extension)
			q.num("priority", o.Priority)
			q.str("label", o.Label)
		}
	case KindChannelMove:
		need(r.ChannelMove != nil, "channel_move")
		if err != nil {
			break
		}
		set(http.MethodPost, "channels", id, "move")
		q.str("app", r.ChannelMove.App)
		q.str("appArgs", r.ChannelMove.AppArgs)
	case KindChannelRedirect:
		need(r.ChannelRedirect != nil, "channel_redirect")
		if err != nil {
			break
		}
		set(http.MethodPost, "channels", id, "redirect")
		q.str("endpoint", r.ChannelRedirect.Endpoint)
	case KindChannelTransferProgress:
		need(r.ChannelTransferProgress != nil, "channel_transfer_progress")
		if err != nil {
			break
		}
		set(http.MethodPost, "channels", id, "transfer_progress")
		q.str("states", r.ChannelTransferProgress.States)
	case "ChannelPlay":
		need(r.ChannelPlay != nil, "channel_play")
		if err != nil {
			break
		}
		p := r.ChannelPlay
		if p.PlaybackID != "" {
			set(http.MethodPost, "channels", id, "play", p.PlaybackID)
		} else {
			set(http.MethodPost, "channels", id, "play")
		}
		playQuery(q, p.MediaURI, p.PlayOptions)
		entity(KindPlayback)
	case "ChannelSnoop":
		need(r.ChannelSnoop != nil, "channel_snoop")
		if err != nil {
			break
		}
		s := r.ChannelSnoop
		if s.SnoopID != "" {
			set(http.MethodPost, "channels", id, "snoop", s.SnoopID)
		} else {
			set(http.MethodPost, "channels", id, "snoop")
		}
		if o := s.Options; o != nil {
			q.str("spy", o.Spy)
			q.str("whisper", o.Whisper)
			q.str("app", o.App)
			q.str("appArgs", o.AppArgs)
		}
		entity(KindChannel)
	case "ChannelSubscribe":
		// Binding to a dialog is the proxy's business; Asterisk is only
		// asked whether the channel exists.
		set(http.MethodGet, "channels", id)
		entity(KindChannel)

	// Bridges.
	case "BridgeCreate":
		if id != "" {
			set(http.MethodPost, "bridges", id)
		} else {
			c.Method, c.Path = http.MethodPost, "/bridges"
		}
		if b := r.BridgeCreate; b != nil {
			q.str("type", b.Type)
			q.str("name", b.Name)
		}
		entity(KindBridge)
	case "BridgeData", "BridgeGet", "BridgeSubscribe":
		set(http.MethodGet, "bridges", id)
		entity(KindBridge)
	case "BridgeList":
		c.Method, c.Path, c.Result, c.Entity = http.MethodGet, "/bridges", ResultList, KindBridge
	case "BridgeDelete":
		set(http.MethodDelete, "bridges", id)
	case "BridgeAddChannel":
		need(r.BridgeAddChannel != nil, "bridge_add_channel")
		if err != nil {
			break
		}
		a := r.BridgeAddChannel
		set(http.MethodPost, "bridges", id, "addChannel")
		q.str("channel", a.Channel)
		q.str("role", a.Role)
		q.flag("absorbDTMF", a.AbsorbDTMF)
		q.flag("mute", a.Mute)
		q.flag("inhibitConnectedLineUpdates", a.InhibitConnectedLineUpdates)
	case "BridgeRemoveChannel":
		need(r.BridgeRemoveChannel != nil, "bridge_remove_channel")
		if err != nil {
			break
		}
		set(http.MethodPost, "bridges", id, "removeChannel")
		q.str("channel", r.BridgeRemoveChannel.Channel)
	case "BridgeMOH":
		set(http.MethodPost, "bridges", id, "moh")
		if r.BridgeMOH != nil {
			q.str("mohClass", r.BridgeMOH.Class)
		}
	case "BridgeStopMOH":
		set(http.MethodDelete, "bridges", id, "moh")
	case "BridgePlay":
		need(r.BridgePlay != nil, "bridge_play")
		if err != nil {
			break
		}
		p := r.BridgePlay
		if p.PlaybackID != "" {
			set(http.MethodPost, "bridges", id, "play", p.PlaybackID)
		} else {
			set(http.MethodPost, "bridges", id, "play")
		}
		playQuery(q, p.MediaURI, p.PlayOptions)
		entity(KindPlayback)

	// Playbacks.
	case "PlaybackData", "PlaybackGet", "PlaybackSubscribe":
		set(http.MethodGet, "playbacks", id)
		entity(KindPlayback)
	case "PlaybackStop":
		set(http.MethodDelete, "playbacks", id)
	case "PlaybackControl":
		set(http.MethodPost, "playbacks", id, "control")
		if r.PlaybackControl != nil {
			q.str("operation", r.PlaybackControl.Command)
		}

	// Applications.
	case "ApplicationData", "ApplicationGet":
		set(http.MethodGet, "applications", id)
		entity(KindApplication)
	case "ApplicationList":
		c.Method, c.Path, c.Result, c.Entity = http.MethodGet, "/applications", ResultList, KindApplication
	case "ApplicationSubscribe", "ApplicationUnsubscribe":
		need(r.ApplicationSubscribe != nil, "application_subscribe")
		if err != nil {
			break
		}
		m := http.MethodPost
		if r.Kind == "ApplicationUnsubscribe" {
			m = http.MethodDelete
		}
		set(m, "applications", id, "subscription")
		q.str("eventSource", r.ApplicationSubscribe.EventSource)
		entity(KindApplication)

	// Asterisk.
	case "AsteriskInfo":
		c.Method, c.Path = http.MethodGet, "/asterisk/info"
		entity(KindAsterisk)
	case "AsteriskVariableGet":
		c.Method, c.Path, c.Result = http.MethodGet, "/asterisk/variable", ResultVariable
		need(id != "", "key.id")
		q["variable"] = []string{id}
	case "AsteriskVariableSet":
		need(id != "" && r.AsteriskVariableSet != nil, "key.id and asterisk_variable_set")
		if err != nil {
			break
		}
		c.Method, c.Path = http.MethodPost, "/asterisk/variable"
		q["variable"] = []string{id}
		q["value"] = []string{r.AsteriskVariableSet.Value}
	case KindAsteriskVariableDelete:
		need(id != "", "key.id")
		c.Method, c.Path = http.MethodPost, "/asterisk/variable"
		q["variable"] = []string{id}

	// Device states and endpoints.
	case "DeviceStateData", "DeviceStateGet":
		set(http.MethodGet, "deviceStates", id)
		entity(KindDeviceState)
	case "DeviceStateList":
		c.Method, c.Path, c.Result, c.Entity = http.MethodGet, "/deviceStates", ResultList, KindDeviceState
	case "EndpointData", "EndpointGet":
		tech, res, ok := strings.Cut(id, "/")
		need(ok, "key.id <tech>/<resource>")
		set(http.MethodGet, "endpoints", tech, res)
		entity(KindEndpoint)
	case "EndpointList":
		c.Method, c.Path, c.Result, c.Entity = http.MethodGet, "/endpoints", ResultList, KindEndpoint
	case "EndpointListByTech":
		need(r.EndpointListByTech != nil, "endpoint_list_by_tech")
		if err != nil {
			break
		}
		set(http.MethodGet, "endpoints", r.EndpointListByTech.Tech)
		c.Result, c.Entity = ResultList, KindEndpoint

	// The kinds below are served for stock clients; transferd does not
	// use them itself.

	// Dynamic configuration: the key's id is <class>/<type>/<id>.
	case "AsteriskConfigData", "AsteriskConfigDelete", "AsteriskConfigUpdate":
		parts := strings.SplitN(id, "/", 3)
		need(len(parts) == 3, "key.id <class>/<type>/<id>")
		if len(parts) != 3 {
			break
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
				body(json.Marshal(struct {
					Fields []ConfigTuple `json:"fields"`
				}{r.AsteriskConfig.Tuples}))
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
			break
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
			break
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
		body(variablesBody(o.Variables))
		entity(KindChannel)
	case "ChannelUserEvent":
		need(r.ChannelUserevent != nil && r.ChannelUserevent.UserEvent.Eventname != "", "channel_user_event.UserEvent.eventname")
		if r.ChannelUserevent == nil {
			break
		}
		ue := r.ChannelUserevent.UserEvent
		set(http.MethodPost, "events", "user", ue.Eventname)
		if r.Key != nil {
			q.str("application", r.Key.App)
		}
		q.str("source", "channel:"+id)
		if len(ue.Userevent) > 0 && string(ue.Userevent) != "null" {
			body(json.Marshal(struct {
				Variables json.RawMessage `json:"variables"`
			}{ue.Userevent}))
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
		return nil, fmt.Errorf("kind %q: %w", r.Kind, ErrUnsupported)
	}
	if err != nil {
		return nil, err
	}
	c.Query = q.values()
	return c, nil
}

func playQuery(q vals, media string, o PlayOptions) {
	q.str("media", media)
	q.str("lang", o.Lang)
	q.num("offsetms", o.OffsetMS)
	q.num("skipms", o.SkipMS)
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
