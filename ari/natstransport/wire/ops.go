package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Extension kinds: operations transferd uses for which ari-proxy v5 has no
// kind. natsproxy serves them; a stock server answers "Not implemented".
const (
	KindChannelProgress        = "ChannelProgress"
	KindChannelMove            = "ChannelMove"
	KindChannelRedirect        = "ChannelRedirect"
	KindAsteriskVariableDelete = "AsteriskVariableDelete"
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

// EntityID returns the id a Key of kind entity has for the entity raw (ARI
// JSON): "id" for channels, bridges and playbacks, "name" for applications
// and device states, "<technology>/<resource>" for endpoints.
func EntityID(entity string, raw json.RawMessage) string {
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

// ErrUnsupported is returned by FromHTTP for a call it has no mapping for.
var ErrUnsupported = errors.New("no ari-proxy kind for this ARI call")

// query reads a request's query and remembers what was read, so FromHTTP can
// refuse a parameter it would otherwise drop silently.
type query struct {
	v    url.Values
	used map[string]bool
	err  error
}

func (q *query) str(name string) string {
	q.used[name] = true
	return q.v.Get(name)
}

func (q *query) has(name string) bool {
	q.used[name] = true
	return q.v.Has(name)
}

func (q *query) num(name string) int {
	s := q.str(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil && q.err == nil {
		q.err = fmt.Errorf("query %s=%q: not an integer", name, s)
	}
	return n
}

func (q *query) flag(name string) bool {
	s := q.str(name)
	if s != "" && s != "true" && s != "false" && q.err == nil {
		q.err = fmt.Errorf("query %s=%q: not a boolean", name, s)
	}
	return s == "true"
}

func (q *query) check() error {
	if q.err != nil {
		return q.err
	}
	for k := range q.v {
		if !q.used[k] {
			return fmt.Errorf("query parameter %q has no place in the ari-proxy request", k)
		}
	}
	return nil
}

// variablesOf decodes ARI's {"variables": {...}} body.
func variablesOf(body []byte) (map[string]string, error) {
	if len(body) == 0 {
		return nil, nil
	}
	var v struct {
		Variables map[string]string `json:"variables"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	return v.Variables, nil
}

func chKey(id string) Key { return Key{Kind: KindChannel, ID: id} }

// FromHTTP translates an ARI REST call, as ari.Client makes it (path
// escaped, parameters in the query, channel variables in a JSON body), into
// the ari-proxy request that does the same. Key.Node, Key.Dialog and
// Key.App are left for the caller to fill.
func FromHTTP(method, path string, q url.Values, body []byte) (*Op, error) {
	raw := strings.Split(strings.TrimPrefix(path, "/"), "/")
	seg := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, fmt.Errorf("path %q: %w", path, err)
		}
		seg[i] = u
	}
	qr := &query{v: q, used: map[string]bool{}}
	op, err := fromHTTP(method, seg, qr, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if op == nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, ErrUnsupported)
	}
	if len(body) > 0 && op.Kind != "ChannelOriginate" && op.Kind != "ChannelCreate" {
		return nil, fmt.Errorf("%s %s: a body has no place in %s", method, path, op.Kind)
	}
	if err := qr.check(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return op, nil
}

// nolint: gocyclo // one case per ARI operation reads best as one switch.
func fromHTTP(method string, seg []string, q *query, body []byte) (*Op, error) {
	n := len(seg)
	at := func(i int) string {
		if i < n {
			return seg[i]
		}
		return ""
	}
	entity := func(kind, class, key string, id string) *Op {
		k := Key{Kind: key, ID: id}
		op := &Op{Request: Request{Kind: kind, Key: &k}, Class: class}
		if id != "" {
			op.Anchor = &k
		}
		return op
	}
	command := func(kind, key, id string) *Op { return entity(kind, ClassCommand, key, id) }
	data := func(kind, key, id string) *Op {
		op := entity(kind, ClassData, key, id)
		op.Result, op.Entity = ResultEntity, key
		return op
	}
	list := func(kind, key string) *Op {
		op := &Op{Request: Request{Kind: kind, Key: &Key{}}, Class: ClassGet, Result: ResultList, Entity: key}
		return op
	}
	play := func(kind, key, id, playbackID string) *Op {
		op := entity(kind, ClassCreate, key, id)
		op.Result, op.Entity = ResultEntity, KindPlayback
		opts := PlayOptions{Lang: q.str("lang"), OffsetMS: q.num("offsetms"), SkipMS: q.num("skipms")}
		media := q.str("media")
		if kind == "ChannelPlay" {
			op.ChannelPlay = &ChannelPlay{PlaybackID: playbackID, MediaURI: media, PlayOptions: opts}
		} else {
			op.BridgePlay = &BridgePlay{PlaybackID: playbackID, MediaURI: media, PlayOptions: opts}
		}
		if playbackID != "" {
			op.Created = []Key{{Kind: KindPlayback, ID: playbackID}}
		}
		return op
	}

	switch at(0) {
	case "channels":
		id := at(1)
		switch {
		case n == 1 && method == http.MethodGet:
			return list("ChannelList", KindChannel), nil
		case (n == 1 || (n == 2 && id != "create")) && method == http.MethodPost:
			vars, err := variablesOf(body)
			if err != nil {
				return nil, err
			}
			o := OriginateRequest{
				Endpoint: q.str("endpoint"), Extension: q.str("extension"), Context: q.str("context"),
				Priority: int64(q.num("priority")), Label: q.str("label"), App: q.str("app"),
				AppArgs: q.str("appArgs"), CallerID: q.str("callerId"), Timeout: q.num("timeout"),
				OtherChannelID: q.str("otherChannelId"), Originator: q.str("originator"),
				Formats: q.str("formats"), ChannelID: id, Variables: vars,
			}
			op := &Op{Request: Request{Kind: "ChannelOriginate", Key: &Key{Kind: KindChannel, ID: id},
				ChannelOriginate: &ChannelOriginate{OriginateRequest: o}},
				Class: ClassCreate, Result: ResultEntity, Entity: KindChannel}
			op.Created = createdChannels(o.ChannelID, o.OtherChannelID)
			if o.Originator != "" {
				a := chKey(o.Originator)
				op.Anchor = &a
			}
			return op, nil
		case n == 2 && id == "create" && method == http.MethodPost:
			vars, err := variablesOf(body)
			if err != nil {
				return nil, err
			}
			c := ChannelCreateRequest{
				Endpoint: q.str("endpoint"), App: q.str("app"), AppArgs: q.str("appArgs"),
				ChannelID: q.str("channelId"), OtherChannelID: q.str("otherChannelId"),
				Originator: q.str("originator"), Formats: q.str("formats"), Variables: vars,
			}
			op := &Op{Request: Request{Kind: "ChannelCreate", Key: &Key{Kind: KindChannel, ID: c.ChannelID},
				ChannelCreate: &ChannelCreate{ChannelCreateRequest: c}},
				Class: ClassCreate, Result: ResultEntity, Entity: KindChannel}
			op.Created = createdChannels(c.ChannelID, c.OtherChannelID)
			if c.Originator != "" {
				a := chKey(c.Originator)
				op.Anchor = &a
			}
			return op, nil
		case n == 2 && method == http.MethodGet:
			return data("ChannelData", KindChannel, id), nil
		case n == 2 && method == http.MethodDelete:
			op := command("ChannelHangup", KindChannel, id)
			op.ChannelHangup = &ChannelHangup{Reason: q.str("reason")}
			return op, nil
		case n == 3:
			return channelOp(method, id, at(2), q)
		case n == 4 && at(2) == "play" && method == http.MethodPost:
			return play("ChannelPlay", KindChannel, id, at(3)), nil
		case n == 4 && at(2) == "snoop" && method == http.MethodPost:
			return snoop(id, at(3), q), nil
		}
	case "bridges":
		id := at(1)
		switch {
		case n == 1 && method == http.MethodGet:
			return list("BridgeList", KindBridge), nil
		case n <= 2 && method == http.MethodPost:
			op := &Op{Request: Request{Kind: "BridgeCreate", Key: &Key{Kind: KindBridge, ID: id},
				BridgeCreate: &BridgeCreate{Type: q.str("type"), Name: q.str("name")}},
				Class: ClassCreate, Result: ResultEntity, Entity: KindBridge}
			if id != "" {
				op.Created = []Key{{Kind: KindBridge, ID: id}}
			}
			return op, nil
		case n == 2 && method == http.MethodGet:
			return data("BridgeData", KindBridge, id), nil
		case n == 2 && method == http.MethodDelete:
			return command("BridgeDelete", KindBridge, id), nil
		case n == 3 && at(2) == "addChannel" && method == http.MethodPost:
			op := command("BridgeAddChannel", KindBridge, id)
			chans := q.str("channel")
			op.BridgeAddChannel = &BridgeAddChannel{Channel: chans, Role: q.str("role"),
				AbsorbDTMF: q.flag("absorbDTMF"), Mute: q.flag("mute"),
				InhibitConnectedLineUpdates: q.flag("inhibitConnectedLineUpdates")}
			op.Related = channelList(chans)
			return op, nil
		case n == 3 && at(2) == "removeChannel" && method == http.MethodPost:
			op := command("BridgeRemoveChannel", KindBridge, id)
			op.BridgeRemoveChannel = &BridgeRemoveChannel{Channel: q.str("channel")}
			return op, nil
		case n == 3 && at(2) == "moh" && method == http.MethodPost:
			op := command("BridgeMOH", KindBridge, id)
			op.BridgeMOH = &BridgeMOH{Class: q.str("mohClass")}
			return op, nil
		case n == 3 && at(2) == "moh" && method == http.MethodDelete:
			return command("BridgeStopMOH", KindBridge, id), nil
		case n == 3 && at(2) == "play" && method == http.MethodPost:
			return play("BridgePlay", KindBridge, id, ""), nil
		case n == 4 && at(2) == "play" && method == http.MethodPost:
			return play("BridgePlay", KindBridge, id, at(3)), nil
		}
	case "playbacks":
		id := at(1)
		switch {
		case n == 2 && method == http.MethodGet:
			return data("PlaybackData", KindPlayback, id), nil
		case n == 2 && method == http.MethodDelete:
			return command("PlaybackStop", KindPlayback, id), nil
		case n == 3 && at(2) == "control" && method == http.MethodPost:
			op := command("PlaybackControl", KindPlayback, id)
			op.PlaybackControl = &PlaybackControl{Command: q.str("operation")}
			return op, nil
		}
	case "applications":
		name := at(1)
		switch {
		case n == 1 && method == http.MethodGet:
			return list("ApplicationList", KindApplication), nil
		case n == 2 && method == http.MethodGet:
			return data("ApplicationData", KindApplication, name), nil
		case n == 3 && at(2) == "subscription" && (method == http.MethodPost || method == http.MethodDelete):
			kind := "ApplicationSubscribe"
			if method == http.MethodDelete {
				kind = "ApplicationUnsubscribe"
			}
			src := q.str("eventSource")
			k := Key{Kind: KindApplication, ID: name}
			op := &Op{Request: Request{Kind: kind, Key: &k, ApplicationSubscribe: &ApplicationSubscribe{EventSource: src}},
				Class: ClassCommand, Result: ResultEntity, Entity: KindApplication}
			// Applications exist on every node; the sources say which node
			// the subscription is for.
			for _, s := range strings.Split(src, ",") {
				kind, id, _ := strings.Cut(s, ":")
				if (kind == KindChannel || kind == KindBridge) && id != "" {
					a := Key{Kind: kind, ID: id}
					if op.Anchor == nil {
						op.Anchor = &a
					} else {
						op.Related = append(op.Related, a)
					}
				}
			}
			return op, nil
		}
	case "asterisk":
		switch {
		case n == 2 && at(1) == "info" && method == http.MethodGet:
			op := &Op{Request: Request{Kind: "AsteriskInfo", Key: &Key{Kind: KindAsterisk}}, Class: ClassData,
				Result: ResultEntity, Entity: KindAsterisk}
			return op, nil
		case n == 2 && at(1) == "ping" && method == http.MethodGet:
			return &Op{Request: Request{Kind: "AsteriskInfo", Key: &Key{Kind: KindAsterisk}}, Class: ClassData,
				Result: ResultPing, Entity: KindAsterisk}, nil
		case n == 2 && at(1) == "variable" && method == http.MethodGet:
			return &Op{Request: Request{Kind: "AsteriskVariableGet", Key: &Key{Kind: KindVariable, ID: q.str("variable")}},
				Class: ClassData, Result: ResultVariable}, nil
		case n == 2 && at(1) == "variable" && method == http.MethodPost:
			k := &Key{Kind: KindVariable, ID: q.str("variable")}
			if !q.has("value") {
				return &Op{Request: Request{Kind: KindAsteriskVariableDelete, Key: k}, Class: ClassCommand}, nil
			}
			return &Op{Request: Request{Kind: "AsteriskVariableSet", Key: k,
				AsteriskVariableSet: &AsteriskVariableSet{Value: q.str("value")}}, Class: ClassCommand}, nil
		}
	case "deviceStates":
		switch {
		case n == 1 && method == http.MethodGet:
			return list("DeviceStateList", KindDeviceState), nil
		case n == 2 && method == http.MethodGet:
			return data("DeviceStateData", KindDeviceState, at(1)), nil
		}
	case "endpoints":
		switch {
		case n == 1 && method == http.MethodGet:
			return list("EndpointList", KindEndpoint), nil
		case n == 2 && method == http.MethodGet:
			op := list("EndpointListByTech", KindEndpoint)
			op.EndpointListByTech = &EndpointListByTech{Tech: at(1)}
			return op, nil
		case n == 3 && method == http.MethodGet:
			return data("EndpointData", KindEndpoint, at(1)+"/"+at(2)), nil
		}
	}
	return nil, nil
}

// channelOp maps /channels/{id}/<verb>.
func channelOp(method, id, verb string, q *query) (*Op, error) {
	cmd := func(kind string) *Op {
		k := chKey(id)
		return &Op{Request: Request{Kind: kind, Key: &k}, Class: ClassCommand, Anchor: &k}
	}
	post, del := method == http.MethodPost, method == http.MethodDelete
	switch {
	case verb == "answer" && post:
		return cmd("ChannelAnswer"), nil
	case verb == "ring" && post:
		return cmd("ChannelRing"), nil
	case verb == "ring" && del:
		return cmd("ChannelStopRing"), nil
	case verb == "progress" && post:
		return cmd(KindChannelProgress), nil
	case verb == "hold" && post:
		return cmd("ChannelHold"), nil
	case verb == "hold" && del:
		return cmd("ChannelStopHold"), nil
	case verb == "moh" && post:
		op := cmd("ChannelMOH")
		op.ChannelMOH = &ChannelMOH{Music: q.str("mohClass")}
		return op, nil
	case verb == "moh" && del:
		return cmd("ChannelStopMOH"), nil
	case verb == "silence" && post:
		return cmd("ChannelSilence"), nil
	case verb == "silence" && del:
		return cmd("ChannelStopSilence"), nil
	case verb == "mute" && (post || del):
		kind := "ChannelMute"
		if del {
			kind = "ChannelUnmute"
		}
		op := cmd(kind)
		op.ChannelMute = &ChannelMute{Direction: q.str("direction")}
		return op, nil
	case verb == "dial" && post:
		op := cmd("ChannelDial")
		caller := q.str("caller")
		op.ChannelDial = &ChannelDial{Caller: caller, Timeout: time.Duration(q.num("timeout")) * time.Second}
		if caller != "" {
			op.Related = []Key{chKey(caller)}
		}
		return op, nil
	case verb == "dtmf" && post:
		op := cmd("ChannelSendDTMF")
		o := DTMFOptions{
			Before: ms(q.num("before")), Between: ms(q.num("between")),
			Duration: ms(q.num("duration")), After: ms(q.num("after")),
		}
		op.ChannelSendDTMF = &ChannelSendDTMF{DTMF: q.str("dtmf")}
		if o != (DTMFOptions{}) {
			op.ChannelSendDTMF.Options = &o
		}
		return op, nil
	case verb == "variable" && method == http.MethodGet:
		op := cmd("ChannelVariableGet")
		op.Class, op.Result = ClassData, ResultVariable
		op.ChannelVariable = &ChannelVariable{Name: q.str("variable")}
		return op, nil
	case verb == "variable" && post:
		op := cmd("ChannelVariableSet")
		op.ChannelVariable = &ChannelVariable{Name: q.str("variable"), Value: q.str("value")}
		return op, nil
	case verb == "continue" && post:
		op := cmd("ChannelContinue")
		op.ChannelContinue = &ChannelContinue{Context: q.str("context"), Extension: q.str("extension"),
			Priority: q.num("priority"), Label: q.str("label")}
		return op, nil
	case verb == "move" && post:
		op := cmd(KindChannelMove)
		op.ChannelMove = &ChannelMove{App: q.str("app"), AppArgs: q.str("appArgs")}
		return op, nil
	case verb == "redirect" && post:
		op := cmd(KindChannelRedirect)
		op.ChannelRedirect = &ChannelRedirect{Endpoint: q.str("endpoint")}
		return op, nil
	case verb == "play" && post:
		op := cmd("ChannelPlay")
		op.Class, op.Result, op.Entity = ClassCreate, ResultEntity, KindPlayback
		op.ChannelPlay = &ChannelPlay{MediaURI: q.str("media"),
			PlayOptions: PlayOptions{Lang: q.str("lang"), OffsetMS: q.num("offsetms"), SkipMS: q.num("skipms")}}
		return op, nil
	case verb == "snoop" && post:
		return snoop(id, "", q), nil
	}
	return nil, nil
}

func snoop(id, snoopID string, q *query) *Op {
	k := chKey(id)
	op := &Op{Request: Request{Kind: "ChannelSnoop", Key: &k, ChannelSnoop: &ChannelSnoop{SnoopID: snoopID,
		Options: &SnoopOptions{App: q.str("app"), AppArgs: q.str("appArgs"), Spy: q.str("spy"), Whisper: q.str("whisper")}}},
		Class: ClassCreate, Result: ResultEntity, Entity: KindChannel, Anchor: &k}
	if snoopID != "" {
		op.Created = []Key{chKey(snoopID)}
	}
	return op
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func createdChannels(ids ...string) []Key {
	var out []Key
	for _, id := range ids {
		if id != "" {
			out = append(out, chKey(id))
		}
	}
	return out
}

func channelList(s string) []Key {
	var out []Key
	for _, id := range strings.Split(s, ",") {
		if id != "" {
			out = append(out, chKey(id))
		}
	}
	return out
}

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

// ReadOnly reports whether a request of this class may be retried after a
// timeout: reading twice is harmless, creating or commanding twice is not.
func ReadOnly(class string) bool { return slices.Contains([]string{ClassGet, ClassData}, class) }
