package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/app"
)

// fakeBackend is a small in-memory app: calls by id, found by call id or
// any party's channel id.
type fakeBackend struct {
	mu    sync.Mutex
	calls []*fakeCall
}

type doArgs struct {
	action, channel, target string
	data                    map[string]string
}

type fakeCall struct {
	mu   sync.Mutex
	info app.CallInfo
	// do answers Do; nil: succeed with info.
	do   func(ctx context.Context, a doArgs) (app.CallInfo, error)
	done []doArgs
}

func (b *fakeBackend) add(c *fakeCall) *fakeCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, c)
	return c
}

func (b *fakeBackend) Calls(account string) []app.CallInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []app.CallInfo
	for _, c := range b.calls {
		if c.Account() == account {
			out = append(out, c.Info())
		}
	}
	return out
}

// find returns the call that id names: its call id or any party's
// channel id.
func (b *fakeBackend) find(id string) *fakeCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.calls {
		if c.info.ID == id {
			return c
		}
		for _, p := range c.info.Parties {
			if p.Channel == id {
				return c
			}
		}
	}
	return nil
}

func (b *fakeBackend) Live(id string) (app.CallInfo, bool) {
	c := b.find(id)
	if c == nil {
		return app.CallInfo{}, false
	}
	return c.Info(), true
}

func (b *fakeBackend) Do(ctx context.Context, id, action, channel, target string, data map[string]string) (app.CallInfo, error) {
	c := b.find(id)
	if c == nil {
		return app.CallInfo{}, app.ErrUnknownCall
	}
	c.mu.Lock()
	a := doArgs{action, channel, target, data}
	c.done = append(c.done, a)
	do := c.do
	c.mu.Unlock()
	if do != nil {
		return do(ctx, a)
	}
	return c.info, nil
}

func (c *fakeCall) Account() string    { return c.info.Account }
func (c *fakeCall) Info() app.CallInfo { return c.info }

func (c *fakeCall) calls() []doArgs {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]doArgs(nil), c.done...)
}

// talkingCall is Alice (the call id) talking to Bob in account.
func talkingCall(account, id string) *fakeCall {
	return &fakeCall{info: app.CallInfo{ID: id, Account: account, Bridge: id, State: "talking", Parties: []app.PartyInfo{
		{Channel: id, Role: "caller", Number: "1001", State: "up"},
		{Channel: id + "-b", Role: "callee", Number: "2001", State: "up"},
	}}}
}

// Tokens of the tests: account "acme" has a hashed and a plain token,
// "other" a plain one, "empty" none.
const (
	acmeToken   = "acme-secret-token-1"
	acmePlain   = "acme-plain-token-2"
	otherToken  = "other-secret-token"
	unknownTok  = "not-anybodys-token"
	testAccount = "acme"
)

type env struct {
	t       *testing.T
	backend *fakeBackend
	hub     *Hub
	h       *Handler
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T, tweak func(*Options)) *env {
	t.Helper()
	tokens, err := NewTokens(map[string][]string{
		"acme":  {HashToken(acmeToken), acmePlain},
		"other": {otherToken},
		"empty": nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, backend: &fakeBackend{}, hub: NewHub(HubOptions{}), logs: &syncBuffer{}}
	o := Options{Backend: e.backend, Tokens: tokens, Hub: e.hub, Log: zerolog.New(e.logs).Level(zerolog.DebugLevel),
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "# metrics\n") })}
	if tweak != nil {
		tweak(&o)
	}
	e.h = New(o)
	t.Cleanup(func() {
		for _, tok := range []string{acmeToken, acmePlain, otherToken, unknownTok} {
			if strings.Contains(e.logs.String(), tok) {
				t.Errorf("a token was logged:\n%s", e.logs.String())
			}
		}
	})
	return e
}

type response struct {
	status int
	header http.Header
	body   []byte
	env    struct {
		Status    string          `json:"status"`
		Error     string          `json:"error"`
		Message   string          `json:"message"`
		Data      json.RawMessage `json:"data"`
		RequestID string          `json:"request_id"`
		AuthToken *string         `json:"auth_token"`
	}
	errData struct {
		Reason string        `json:"reason"`
		Field  string        `json:"field"`
		Call   *app.CallInfo `json:"call"`
	}
}

type req struct {
	method, path string
	body         string
	header       map[string]string
	// chunked sends the body without a Content-Length.
	chunked bool
}

func (e *env) do(r req) *response {
	e.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
		if r.chunked {
			body = io.MultiReader(strings.NewReader(r.body))
		}
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.chunked {
		hr.ContentLength = -1
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, hr)
	res := &response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
	for _, tok := range []string{acmeToken, acmePlain, otherToken, unknownTok} {
		if bytes.Contains(res.body, []byte(tok)) {
			e.t.Errorf("%s %s: the response echoes a token: %s", r.method, r.path, res.body)
		}
	}
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") && !(r.path == "/healthz" && w.Code == 200) && r.path != "/readyz" {
		if err := json.Unmarshal(res.body, &res.env); err != nil {
			e.t.Fatalf("%s %s: body is not the envelope: %v: %s", r.method, r.path, err, res.body)
		}
		if res.env.AuthToken != nil {
			e.t.Errorf("%s %s: auth_token in the envelope", r.method, r.path)
		}
		if res.env.Status == "error" {
			if err := json.Unmarshal(res.env.Data, &res.errData); err != nil {
				e.t.Fatalf("error data: %v: %s", err, res.body)
			}
		}
	}
	return res
}

func auth(tok string) map[string]string { return map[string]string{"X-Auth-Token": tok} }

func jsonAuth(tok string) map[string]string {
	return map[string]string{"X-Auth-Token": tok, "Content-Type": "application/json"}
}

// wantError checks an error answer: status, reason, field and that the
// message contains each of msgs.
func wantError(t *testing.T, r *response, status int, reason, field string, msgs ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if r.env.Status != "error" || r.env.Error != strconv.Itoa(status) {
		t.Errorf("envelope status %q error %q, want error %d: %s", r.env.Status, r.env.Error, status, r.body)
	}
	if r.errData.Reason != reason {
		t.Errorf("reason %q, want %q: %s", r.errData.Reason, reason, r.body)
	}
	if r.errData.Field != field {
		t.Errorf("field %q, want %q: %s", r.errData.Field, field, r.body)
	}
	if field != "" && !strings.HasPrefix(r.env.Message, field+":") {
		t.Errorf("message %q does not start with the field %q", r.env.Message, field)
	}
	for _, m := range msgs {
		if !strings.Contains(r.env.Message, m) {
			t.Errorf("message %q does not contain %q", r.env.Message, m)
		}
	}
	if r.env.RequestID == "" {
		t.Errorf("no request_id: %s", r.body)
	}
}
