package ari

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// contractCase calls one client method with every optional parameter set,
// so every query key the method can send is checked against the spec.
type contractCase struct {
	name string // "Resource.Method", optionally "#variant"
	call func(ctx context.Context, c *Client) error
}

// contractCases exercise every exported method of every resource; the
// guard test below fails when one is missing.
var contractCases = []contractCase{
	{"Channels.Originate", func(ctx context.Context, c *Client) error {
		_, err := c.Channels.Originate(ctx, OriginateParams{
			Endpoint: "PJSIP/alice", Extension: "201", Context: "phones", Priority: 1, Label: "start",
			App: "transferd", AppArgs: "a,b", CallerID: "Alice <100>", Timeout: 30,
			OtherChannelID: "x-2", Originator: "orig", Formats: []string{"ulaw", "alaw"},
			Variables: map[string]string{"X": "1"},
		})
		return err
	}},
	{"Channels.Originate#withID", func(ctx context.Context, c *Client) error {
		_, err := c.Channels.Originate(ctx, OriginateParams{
			Endpoint: "Local/201@phones", App: "transferd", ChannelID: "x-1", OtherChannelID: "x-2",
			Variables: map[string]string{"X": "1"},
		})
		return err
	}},
	{"Channels.Create", func(ctx context.Context, c *Client) error {
		_, err := c.Channels.Create(ctx, CreateParams{
			Endpoint: "PJSIP/bob", App: "transferd", AppArgs: "target", ChannelID: "x-1",
			OtherChannelID: "x-2", Originator: "orig", Formats: []string{"ulaw"},
			Variables: map[string]string{"X": "1"},
		})
		return err
	}},
	{"Channels.Dial", func(ctx context.Context, c *Client) error { return c.Channels.Dial(ctx, "x-1", "caller", 30) }},
	{"Channels.Get", func(ctx context.Context, c *Client) error { _, err := c.Channels.Get(ctx, "x-1"); return err }},
	{"Channels.List", func(ctx context.Context, c *Client) error { _, err := c.Channels.List(ctx); return err }},
	{"Channels.Hangup", func(ctx context.Context, c *Client) error { return c.Channels.Hangup(ctx, "x-1", "busy") }},
	{"Channels.Answer", func(ctx context.Context, c *Client) error { return c.Channels.Answer(ctx, "x-1") }},
	{"Channels.Ring", func(ctx context.Context, c *Client) error { return c.Channels.Ring(ctx, "x-1") }},
	{"Channels.RingStop", func(ctx context.Context, c *Client) error { return c.Channels.RingStop(ctx, "x-1") }},
	{"Channels.Progress", func(ctx context.Context, c *Client) error { return c.Channels.Progress(ctx, "x-1") }},
	{"Channels.TransferProgress", func(ctx context.Context, c *Client) error {
		return c.Channels.TransferProgress(ctx, "x-1", TransferAnswered)
	}},
	{"Channels.SendDTMF", func(ctx context.Context, c *Client) error {
		return c.Channels.SendDTMF(ctx, "x-1", DTMFParams{DTMF: "12#", Before: 1, Between: 100, Duration: 120, After: 1})
	}},
	{"Channels.Hold", func(ctx context.Context, c *Client) error { return c.Channels.Hold(ctx, "x-1") }},
	{"Channels.Unhold", func(ctx context.Context, c *Client) error { return c.Channels.Unhold(ctx, "x-1") }},
	{"Channels.StartMOH", func(ctx context.Context, c *Client) error { return c.Channels.StartMOH(ctx, "x-1", "default") }},
	{"Channels.StopMOH", func(ctx context.Context, c *Client) error { return c.Channels.StopMOH(ctx, "x-1") }},
	{"Channels.StartSilence", func(ctx context.Context, c *Client) error { return c.Channels.StartSilence(ctx, "x-1") }},
	{"Channels.StopSilence", func(ctx context.Context, c *Client) error { return c.Channels.StopSilence(ctx, "x-1") }},
	{"Channels.Mute", func(ctx context.Context, c *Client) error { return c.Channels.Mute(ctx, "x-1", "in") }},
	{"Channels.Unmute", func(ctx context.Context, c *Client) error { return c.Channels.Unmute(ctx, "x-1", "in") }},
	{"Channels.Play", func(ctx context.Context, c *Client) error {
		_, err := c.Channels.Play(ctx, "x-1", PlayParams{Media: []string{"sound:beep", "tone:ring"}, Lang: "en", OffsetMS: 10, SkipMS: 1000})
		return err
	}},
	{"Channels.Play#withID", func(ctx context.Context, c *Client) error {
		_, err := c.Channels.Play(ctx, "x-1", PlayParams{Media: []string{"sound:beep"}, Lang: "en", PlaybackID: "p-1", OffsetMS: 10, SkipMS: 1000})
		return err
	}},
	{"Channels.GetVariable", func(ctx context.Context, c *Client) error {
		_, err := c.Channels.GetVariable(ctx, "x-1", "CALLERID(num)")
		return err
	}},
	{"Channels.SetVariable", func(ctx context.Context, c *Client) error { return c.Channels.SetVariable(ctx, "x-1", "X", "1") }},
	{"Channels.Continue", func(ctx context.Context, c *Client) error {
		return c.Channels.Continue(ctx, "x-1", ContinueParams{Context: "phones", Extension: "201", Priority: 1, Label: "l"})
	}},
	{"Channels.Move", func(ctx context.Context, c *Client) error { return c.Channels.Move(ctx, "x-1", "other", "a,b") }},
	{"Channels.Redirect", func(ctx context.Context, c *Client) error { return c.Channels.Redirect(ctx, "x-1", "PJSIP/bob") }},
	{"Channels.Snoop", func(ctx context.Context, c *Client) error {
		_, err := c.Channels.Snoop(ctx, "x-1", SnoopParams{Spy: "both", Whisper: "out", App: "transferd", AppArgs: "snoop"})
		return err
	}},
	{"Channels.Snoop#withID", func(ctx context.Context, c *Client) error {
		_, err := c.Channels.Snoop(ctx, "x-1", SnoopParams{Spy: "in", App: "transferd", SnoopID: "s-1"})
		return err
	}},

	{"Bridges.Create", func(ctx context.Context, c *Client) error {
		_, err := c.Bridges.Create(ctx, BridgeParams{Type: "mixing,dtmf_events", Name: "xfer"})
		return err
	}},
	{"Bridges.Create#withID", func(ctx context.Context, c *Client) error {
		_, err := c.Bridges.Create(ctx, BridgeParams{ID: "b-1", Type: "holding", Name: "hold"})
		return err
	}},
	{"Bridges.Get", func(ctx context.Context, c *Client) error { _, err := c.Bridges.Get(ctx, "b-1"); return err }},
	{"Bridges.List", func(ctx context.Context, c *Client) error { _, err := c.Bridges.List(ctx); return err }},
	{"Bridges.Destroy", func(ctx context.Context, c *Client) error { return c.Bridges.Destroy(ctx, "b-1") }},
	{"Bridges.AddChannel", func(ctx context.Context, c *Client) error {
		return c.Bridges.AddChannel(ctx, "b-1", AddChannelParams{
			Channels: []ChannelID{"x-1", "x-2"}, Role: "partner", AbsorbDTMF: true, Mute: true, InhibitConnectedLineUpdates: true,
		})
	}},
	{"Bridges.RemoveChannel", func(ctx context.Context, c *Client) error { return c.Bridges.RemoveChannel(ctx, "b-1", "x-1", "x-2") }},
	{"Bridges.StartMOH", func(ctx context.Context, c *Client) error { return c.Bridges.StartMOH(ctx, "b-1", "default") }},
	{"Bridges.StopMOH", func(ctx context.Context, c *Client) error { return c.Bridges.StopMOH(ctx, "b-1") }},
	{"Bridges.Play", func(ctx context.Context, c *Client) error {
		_, err := c.Bridges.Play(ctx, "b-1", PlayParams{Media: []string{"sound:beep"}, Lang: "en", OffsetMS: 1, SkipMS: 1})
		return err
	}},
	{"Bridges.Play#withID", func(ctx context.Context, c *Client) error {
		_, err := c.Bridges.Play(ctx, "b-1", PlayParams{Media: []string{"sound:beep"}, Lang: "en", PlaybackID: "p-1", OffsetMS: 1, SkipMS: 1})
		return err
	}},

	{"Playbacks.Get", func(ctx context.Context, c *Client) error { _, err := c.Playbacks.Get(ctx, "p-1"); return err }},
	{"Playbacks.Stop", func(ctx context.Context, c *Client) error { return c.Playbacks.Stop(ctx, "p-1") }},
	{"Playbacks.Control", func(ctx context.Context, c *Client) error { return c.Playbacks.Control(ctx, "p-1", "pause") }},

	{"Applications.Get", func(ctx context.Context, c *Client) error { _, err := c.Applications.Get(ctx, "transferd"); return err }},
	{"Applications.List", func(ctx context.Context, c *Client) error { _, err := c.Applications.List(ctx); return err }},
	{"Applications.Subscribe", func(ctx context.Context, c *Client) error {
		_, err := c.Applications.Subscribe(ctx, "transferd", "channel:x-1", "bridge:b-1")
		return err
	}},
	{"Applications.Unsubscribe", func(ctx context.Context, c *Client) error {
		_, err := c.Applications.Unsubscribe(ctx, "transferd", "channel:x-1")
		return err
	}},
	{"Applications.SetEventFilter", func(ctx context.Context, c *Client) error {
		_, err := c.Applications.SetEventFilter(ctx, "transferd", AllowOnly("StasisStart", "StasisEnd"))
		return err
	}},

	{"Asterisk.Info", func(ctx context.Context, c *Client) error { _, err := c.Asterisk.Info(ctx); return err }},
	{"Asterisk.Ping", func(ctx context.Context, c *Client) error { _, err := c.Asterisk.Ping(ctx); return err }},
	{"Asterisk.GetGlobalVariable", func(ctx context.Context, c *Client) error {
		_, err := c.Asterisk.GetGlobalVariable(ctx, "G")
		return err
	}},
	{"Asterisk.SetGlobalVariable", func(ctx context.Context, c *Client) error { return c.Asterisk.SetGlobalVariable(ctx, "G", "1") }},
	{"Asterisk.DeleteGlobalVariable", func(ctx context.Context, c *Client) error { return c.Asterisk.DeleteGlobalVariable(ctx, "G") }},

	{"Endpoints.List", func(ctx context.Context, c *Client) error { _, err := c.Endpoints.List(ctx); return err }},
	{"Endpoints.ListByTech", func(ctx context.Context, c *Client) error { _, err := c.Endpoints.ListByTech(ctx, "PJSIP"); return err }},
	{"Endpoints.Get", func(ctx context.Context, c *Client) error {
		_, err := c.Endpoints.Get(ctx, "PJSIP", "alice")
		return err
	}},

	{"DeviceStates.Get", func(ctx context.Context, c *Client) error {
		_, err := c.DeviceStates.Get(ctx, "Stasis:desk")
		return err
	}},
	{"DeviceStates.List", func(ctx context.Context, c *Client) error { _, err := c.DeviceStates.List(ctx); return err }},
}

// specMatch is one spec operation a request matched.
type specMatch struct {
	file     string
	path     string // template, e.g. "/channels/{channelId}/answer"
	op       specOp
	literals int // literal path segments: the most specific match wins
}

var placeholder = regexp.MustCompile(`\{[^}]+\}`)

// findOperation returns the spec operation for method and escaped path.
// "/channels/create" matches both /channels/create and /channels/{channelId};
// the template with more literal segments wins, as in Asterisk's router.
func (s *restSpec) findOperation(method, path string) (specMatch, error) {
	var best []specMatch
	for _, file := range sortedKeys(s.files) {
		for _, api := range s.files[file].APIs {
			parts := placeholder.Split(api.Path, -1)
			for i := range parts {
				parts[i] = regexp.QuoteMeta(parts[i])
			}
			re := regexp.MustCompile("^" + strings.Join(parts, "[^/]+") + "$")
			if !re.MatchString(path) {
				continue
			}
			for _, op := range api.Operations {
				if op.HTTPMethod != method {
					continue
				}
				m := specMatch{file: file, path: api.Path, op: op,
					literals: strings.Count(api.Path, "/") - len(placeholder.FindAllString(api.Path, -1))}
				switch {
				case len(best) == 0 || m.literals > best[0].literals:
					best = []specMatch{m}
				case m.literals == best[0].literals:
					best = append(best, m)
				}
			}
		}
	}
	switch len(best) {
	case 0:
		return specMatch{}, fmt.Errorf("no operation in Asterisk's spec for %s %s", method, path)
	case 1:
		return best[0], nil
	default:
		return specMatch{}, fmt.Errorf("%s %s matches %d operations equally", method, path, len(best))
	}
}

// checkRequest returns every way req departs from the spec operation m.
func checkRequest(m specMatch, req *Request) []string {
	var probs []string
	byName := map[string]specParam{}
	for _, p := range m.op.Parameters {
		byName[p.Name] = p
	}
	for key, vals := range req.Query {
		p, ok := byName[key]
		switch {
		case !ok:
			probs = append(probs, fmt.Sprintf("query %q is not a parameter of %s", key, m.op.Nickname))
			continue
		case p.ParamType != "query":
			probs = append(probs, fmt.Sprintf("%q is a %s parameter of %s, sent in the query", key, p.ParamType, m.op.Nickname))
			continue
		case len(vals) != 1:
			probs = append(probs, fmt.Sprintf("query %q sent %d times, want once (comma-joined)", key, len(vals)))
		}
		for _, v := range vals {
			if prob := checkValue(p, v); prob != "" {
				probs = append(probs, prob)
			}
		}
	}
	for _, p := range m.op.Parameters {
		if p.ParamType == "query" && p.Required && !req.Query.Has(p.Name) {
			probs = append(probs, fmt.Sprintf("required query parameter %q of %s not sent", p.Name, m.op.Nickname))
		}
	}
	if req.Body != nil {
		var body map[string]json.RawMessage
		if err := json.Unmarshal(req.Body, &body); err != nil {
			probs = append(probs, fmt.Sprintf("body is not a JSON object: %v", err))
		}
		// A body parameter of dataType "object" (eventFilter's filter) is
		// the body itself, with keys of its own.
		whole := false
		for _, p := range m.op.Parameters {
			whole = whole || (p.ParamType == "body" && p.DataType == "object")
		}
		for key := range body {
			if whole {
				break
			}
			if p, ok := byName[key]; !ok || p.ParamType != "body" {
				probs = append(probs, fmt.Sprintf("body key %q is not a body parameter of %s", key, m.op.Nickname))
			}
		}
	}
	return probs
}

// checkValue checks a query value against the parameter's dataType.
func checkValue(p specParam, v string) string {
	switch p.DataType {
	case "boolean":
		if v != "true" && v != "false" {
			return fmt.Sprintf("boolean %q = %q", p.Name, v)
		}
	case "int", "long":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Sprintf("%s %q = %q", p.DataType, p.Name, v)
		}
	}
	return ""
}

// answerFor returns what Asterisk would answer m with: an array, nothing
// (204) or an object, by the operation's responseClass.
func answerFor(m specMatch) *Response {
	switch {
	case strings.HasPrefix(m.op.ResponseClass, "List["):
		return &Response{Status: 200, Body: []byte("[]")}
	case m.op.ResponseClass == "void":
		return &Response{Status: 204}
	default:
		return &Response{Status: 200, Body: []byte("{}")}
	}
}

// TestContract calls every client method through a recording transport and
// checks each request against Asterisk's own rest-api spec: the path and
// method name an operation, each query key is one of its query parameters
// (with a value of the declared type), required ones are present, and body
// keys are body parameters.
func TestContract(t *testing.T) {
	spec := loadSpec(t)
	rec := &recorder{}
	rec.respond = func(req *Request) (*Response, error) {
		m, err := spec.findOperation(req.Method, req.Path)
		if err != nil {
			return &Response{Status: 404, Body: []byte(`{"message":"not in spec"}`)}, nil
		}
		return answerFor(m), nil
	}
	c := newTestClient(t, rec)
	for _, tc := range contractCases {
		t.Run(tc.name, func(t *testing.T) {
			rec.take()
			if err := tc.call(t.Context(), c); err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			reqs := rec.take()
			if len(reqs) == 0 {
				t.Fatalf("%s sent no request", tc.name)
			}
			for _, req := range reqs {
				m, err := spec.findOperation(req.Method, req.Path)
				if err != nil {
					t.Errorf("%s: %v", tc.name, err)
					continue
				}
				for _, prob := range checkRequest(m, req) {
					t.Errorf("%s: %s %s (%s %s in %s): %s", tc.name, req.Method, req.Path, m.op.HTTPMethod, m.path, m.file, prob)
				}
			}
		})
	}
}

// TestContractEventsURL checks the websocket URL against /events in events.json.
func TestContractEventsURL(t *testing.T) {
	spec := loadSpec(t)
	tr, err := NewHTTPTransport(HTTPOptions{URL: "http://127.0.0.1:8088/ari"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(tr.eventsURL([]string{"transferd", "other app"}))
	if err != nil {
		t.Fatal(err)
	}
	m, err := spec.findOperation("GET", strings.TrimPrefix(u.Path, "/ari"))
	if err != nil {
		t.Fatal(err)
	}
	if m.op.Nickname != "eventWebsocket" {
		t.Fatalf("events URL matched %s, want eventWebsocket", m.op.Nickname)
	}
	for _, prob := range checkRequest(m, &Request{Method: "GET", Path: u.Path, Query: u.Query()}) {
		t.Errorf("events URL %s: %s", u, prob)
	}
}

// TestContractCoversEveryMethod fails when a resource method has no
// contract case, so a new method cannot dodge the spec check. It reflects
// over the Client's resource fields, so a new resource is covered too.
func TestContractCoversEveryMethod(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range contractCases {
		name, _, _ := strings.Cut(tc.name, "#")
		covered[name] = true
	}
	exported := map[string]bool{}
	ct := reflect.TypeFor[Client]()
	for i := range ct.NumField() {
		f := ct.Field(i)
		if !f.IsExported() || f.Type.Kind() != reflect.Pointer || f.Type.Elem().PkgPath() != ct.PkgPath() {
			continue
		}
		for j := range f.Type.NumMethod() {
			exported[f.Name+"."+f.Type.Method(j).Name] = true
		}
	}
	if len(exported) == 0 {
		t.Fatal("found no resource methods on Client")
	}
	for _, name := range sortedKeys(exported) {
		if !covered[name] {
			t.Errorf("%s has no case in contractCases", name)
		}
	}
	for _, name := range sortedKeys(covered) {
		if !exported[name] {
			t.Errorf("contractCases names %s, which is not a resource method", name)
		}
	}
}

// TestContractChecker makes sure the checker itself catches violations.
func TestContractChecker(t *testing.T) {
	spec := loadSpec(t)
	tests := []struct {
		name string
		req  *Request
		want string // substring of a problem; "" means no problem
	}{
		{"ok", &Request{Method: "DELETE", Path: "/channels/x", Query: url.Values{"reason": {"busy"}}}, ""},
		{"unknown query", &Request{Method: "DELETE", Path: "/channels/x", Query: url.Values{"cause": {"17"}}}, `query "cause"`},
		{"missing required", &Request{Method: "POST", Path: "/bridges/b/addChannel"}, `required query parameter "channel"`},
		{"bad boolean", &Request{Method: "POST", Path: "/bridges/b/addChannel", Query: url.Values{"channel": {"x"}, "mute": {"yes"}}}, `boolean "mute"`},
		{"body key", &Request{Method: "POST", Path: "/channels", Query: url.Values{"endpoint": {"e"}}, Body: []byte(`{"vars":{}}`)}, `body key "vars"`},
		{"body ok", &Request{Method: "POST", Path: "/channels", Query: url.Values{"endpoint": {"e"}}, Body: []byte(`{"variables":{}}`)}, ""},
	}
	for _, tt := range tests {
		m, err := spec.findOperation(tt.req.Method, tt.req.Path)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		probs := checkRequest(m, tt.req)
		got := strings.Join(probs, "; ")
		if tt.want == "" && len(probs) > 0 || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("%s: problems = %q, want %q", tt.name, got, tt.want)
		}
	}
	if _, err := spec.findOperation("POST", "/channels/x/teleport"); err == nil {
		t.Error("findOperation(POST /channels/x/teleport) = nil error, want no operation")
	}
	m, err := spec.findOperation("POST", "/channels/create")
	if err != nil || m.op.Nickname != "create" {
		t.Errorf("findOperation(POST /channels/create) = %s, %v; want create", m.op.Nickname, err)
	}
	if !slices.Contains([]string{"originateWithId"}, mustFind(t, spec, "POST", "/channels/abc").op.Nickname) {
		t.Error("POST /channels/abc did not match originateWithId")
	}
}

func mustFind(t *testing.T, s *restSpec, method, path string) specMatch {
	t.Helper()
	m, err := s.findOperation(method, path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
