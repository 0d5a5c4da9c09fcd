package wire

// ToHTTP: an ari-proxy request into the ARI REST call that serves it
// (natsproxy's direction). The kinds transferd does not use itself are in
// stockToHTTP (kinds.go).

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
		c.Body, err = variablesBody(o.Variables)
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
		c.Body, err = variablesBody(o.Variables)
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
	default:
		ok, berr := stockToHTTP(r, c, q, set, need, entity)
		if !ok {
			return nil, fmt.Errorf("kind %q: %w", r.Kind, ErrUnsupported)
		}
		if berr != nil && err == nil {
			err = fmt.Errorf("%s: %w", r.Kind, berr)
		}
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
