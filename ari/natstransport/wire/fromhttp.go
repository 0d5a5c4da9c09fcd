package wire

// FromHTTP: an ARI REST call, as the application's ari.Client makes it, into
// the ari-proxy request that does the same (natstransport's direction).

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
	case verb == "transfer_progress" && post:
		op := cmd(KindChannelTransferProgress)
		op.ChannelTransferProgress = &ChannelTransferProgress{States: q.str("states")}
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
