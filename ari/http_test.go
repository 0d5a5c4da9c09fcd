package ari

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	testUser     = "transferd"
	testPassword = Secret("s3cret:with@chars")
)

// seen is what the fake Asterisk received.
type seen struct {
	Method      string
	Path        string // escaped, as sent on the wire
	RawQuery    string
	Query       url.Values
	Body        string
	ContentType string
}

// fakeREST is an httptest server that records requests and answers with
// status and body.
type fakeREST struct {
	*httptest.Server
	mu     sync.Mutex
	got    []seen
	status int
	body   string
}

func newFakeREST(t *testing.T) *fakeREST {
	t.Helper()
	f := &fakeREST{status: http.StatusOK, body: "{}"}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != testUser || pass != string(testPassword) {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"Authentication required"}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.got = append(f.got, seen{
			Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Query: r.URL.Query(),
			Body: string(body), ContentType: r.Header.Get("Content-Type"),
		})
		status, answer := f.status, f.body
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeREST) answer(status int, body string) {
	f.mu.Lock()
	f.status, f.body = status, body
	f.mu.Unlock()
}

func (f *fakeREST) take() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	got := f.got
	f.got = nil
	return got
}

func newHTTPClient(t *testing.T, baseURL string, opts ...func(*Options)) *Client {
	t.Helper()
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(hc.CloseIdleConnections)
	tr, err := NewHTTPTransport(HTTPOptions{URL: baseURL, Username: testUser, Password: testPassword, Client: hc})
	if err != nil {
		t.Fatalf("NewHTTPTransport: %v", err)
	}
	o := Options{Transport: tr, Apps: []string{"transferd"}, Logger: testLogger(t)}
	for _, f := range opts {
		f(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestErrorStatuses(t *testing.T) {
	srv := newFakeREST(t)
	c := newHTTPClient(t, srv.URL+"/ari")
	tests := []struct {
		status      int
		body        string
		wantMessage string
		wantIs      error
		notInStasis bool
	}{
		{400, `{"message":"DTMF is required"}`, "DTMF is required", ErrBadRequest, false},
		{404, `{"message":"Channel not found"}`, "Channel not found", ErrNotFound, false},
		{409, `{"message":"Channel not in Stasis application"}`, "Channel not in Stasis application", ErrConflict, true},
		{409, `{"message":"Channel with given unique ID already exists"}`, "Channel with given unique ID already exists", ErrConflict, false},
		{412, `{"message":"Channel in invalid state"}`, "Channel in invalid state", ErrPreconditionFailed, false},
		{422, `{"message":"Channel not in Stasis application"}`, "Channel not in Stasis application", ErrUnprocessable, true},
		// The stock ari-proxy's text, which drops Asterisk's reason.
		{409, `{"message":"Non-2XX response: 409 Conflict"}`, "Non-2XX response: 409 Conflict", ErrConflict, true},
		{404, `{"message":"Non-2XX response: 404 Not Found"}`, "Non-2XX response: 404 Not Found", ErrNotFound, false},
		{500, "Internal Server Error\n", "Internal Server Error", nil, false},
		{503, "", "", nil, false},
	}
	sentinels := []error{ErrBadRequest, ErrUnauthorized, ErrNotFound, ErrConflict, ErrPreconditionFailed, ErrUnprocessable}
	for _, tt := range tests {
		srv.answer(tt.status, tt.body)
		ch, err := c.Channels.Get(t.Context(), "x")
		if ch != nil {
			t.Errorf("Get with %d answer = %+v, want nil (an error body is never a Channel)", tt.status, ch)
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Get with %d answer: error %v (%T), want *Error", tt.status, err, err)
			continue
		}
		want := &Error{Method: "GET", Path: "/channels/x", Status: tt.status, Message: tt.wantMessage}
		if diff := cmp.Diff(want, e); diff != "" {
			t.Errorf("Get with %d answer: *Error mismatch (-want +got):\n%s", tt.status, diff)
		}
		for _, s := range sentinels {
			if got := errors.Is(err, s); got != (s == tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = %t, want %t", err, s, got, !got)
			}
		}
		if got := StatusOf(err); got != tt.status {
			t.Errorf("StatusOf(%v) = %d, want %d", err, got, tt.status)
		}
		if got := IsNotInStasis(err); got != tt.notInStasis {
			t.Errorf("IsNotInStasis(%v) = %t, want %t", err, got, tt.notInStasis)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Method: "POST", Path: "/channels/x/answer", Status: 404, Message: "Channel not found"},
			"ari: POST /channels/x/answer: 404 Channel not found"},
		{&Error{Method: "GET", Path: "/bridges", Status: 503},
			"ari: GET /bridges: 503 Service Unavailable"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	long := newError("GET", "/x", &Response{Status: 502, Body: []byte(strings.Repeat("<html>", 500))})
	if len(long.Message) > maxMessage+len("…") {
		t.Errorf("a %d-byte error page gave a %d-byte Message, want at most %d", 3000, len(long.Message), maxMessage)
	}
}

func TestBadCredentials(t *testing.T) {
	srv := newFakeREST(t)
	hc := &http.Client{}
	t.Cleanup(hc.CloseIdleConnections)
	tr, err := NewHTTPTransport(HTTPOptions{URL: srv.URL + "/ari", Username: testUser, Password: "wrong", Client: hc})
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, tr)
	err = c.Channels.Answer(t.Context(), "x")
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Answer with a wrong password: %v, want ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q contains the password", err)
	}
}

func TestTransportFailure(t *testing.T) {
	srv := newFakeREST(t)
	c := newHTTPClient(t, srv.URL+"/ari")
	srv.Close() // nothing listens any more

	err := c.Channels.Answer(t.Context(), "x")
	if err == nil {
		t.Fatal("Answer with no server = nil error")
	}
	var e *Error
	if errors.As(err, &e) {
		t.Errorf("Answer with no server: %v is an *Error, want a transport failure", err)
	}
	if got := StatusOf(err); got != 0 {
		t.Errorf("StatusOf(%v) = %d, want 0", err, got)
	}
	if !strings.HasPrefix(err.Error(), "ari: POST /channels/x/answer: ") {
		t.Errorf("error %q does not name the request", err)
	}
	for _, s := range []error{ErrNotFound, ErrConflict, ErrBadRequest} {
		if errors.Is(err, s) {
			t.Errorf("errors.Is(%v, %v) = true for a transport failure", err, s)
		}
	}
}

func TestContextCancelled(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	c := newHTTPClient(t, srv.URL+"/ari")
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := c.Channels.Answer(ctx, "x")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Answer past its deadline: %v, want context.DeadlineExceeded", err)
	}
	if StatusOf(err) != 0 {
		t.Errorf("StatusOf(%v) = %d, want 0", err, StatusOf(err))
	}
}

// TestRequestEncoding checks what reaches the wire: method, escaped path,
// query and body.
func TestRequestEncoding(t *testing.T) {
	srv := newFakeREST(t)
	c := newHTTPClient(t, srv.URL+"/ari/")
	ctx := t.Context()
	tests := []struct {
		name string
		call func() error
		want seen
	}{
		{
			"Hangup reason",
			func() error { return c.Channels.Hangup(ctx, "abc", "busy") },
			seen{Method: "DELETE", Path: "/ari/channels/abc", RawQuery: "reason=busy"},
		},
		{
			"Hangup without reason",
			func() error { return c.Channels.Hangup(ctx, "abc", "") },
			seen{Method: "DELETE", Path: "/ari/channels/abc"},
		},
		{
			"AddChannel",
			func() error {
				return c.Bridges.AddChannel(ctx, "b1", AddChannelParams{Channels: []ChannelID{"a", "b"}, Role: "announcer", AbsorbDTMF: true})
			},
			seen{Method: "POST", Path: "/ari/bridges/b1/addChannel", RawQuery: "absorbDTMF=true&channel=a%2Cb&role=announcer"},
		},
		{
			"RemoveChannel",
			func() error { return c.Bridges.RemoveChannel(ctx, "b1", "a", "b", "c") },
			seen{Method: "POST", Path: "/ari/bridges/b1/removeChannel", RawQuery: "channel=a%2Cb%2Cc"},
		},
		{
			"path escaping",
			func() error { return c.Channels.Answer(ctx, "a/b c+d?e%f") },
			seen{Method: "POST", Path: "/ari/channels/a%2Fb%20c%2Bd%3Fe%25f/answer"},
		},
		{
			"two path segments",
			func() error { _, err := c.Endpoints.Get(ctx, "PJSIP", "alice/1"); return err },
			seen{Method: "GET", Path: "/ari/endpoints/PJSIP/alice%2F1"},
		},
		{
			"spaces and plus in query",
			func() error { return c.Channels.SetVariable(ctx, "abc", "X", "a b+c") },
			seen{Method: "POST", Path: "/ari/channels/abc/variable", RawQuery: "value=a%20b%2Bc&variable=X"},
		},
		{
			"empty value is sent",
			func() error { return c.Asterisk.SetGlobalVariable(ctx, "G", "") },
			seen{Method: "POST", Path: "/ari/asterisk/variable", RawQuery: "value=&variable=G"},
		},
		{
			"Originate with id, variables in body",
			func() error {
				_, err := c.Channels.Originate(ctx, OriginateParams{
					Endpoint: "Local/201@phones", App: "transferd", AppArgs: "target,xfer1", ChannelID: "xfer1-target",
					Timeout: 30, Variables: map[string]string{"TRANSFERD": "1"},
				})
				return err
			},
			seen{
				Method: "POST", Path: "/ari/channels/xfer1-target",
				RawQuery:    "app=transferd&appArgs=target%2Cxfer1&endpoint=Local%2F201%40phones&timeout=30",
				Body:        `{"variables":{"TRANSFERD":"1"}}`,
				ContentType: "application/json",
			},
		},
		{
			"Play with id",
			func() error {
				_, err := c.Channels.Play(ctx, "abc", PlayParams{Media: []string{"sound:beep", "tone:ring"}, PlaybackID: "p1"})
				return err
			},
			seen{Method: "POST", Path: "/ari/channels/abc/play/p1", RawQuery: "media=sound%3Abeep%2Ctone%3Aring"},
		},
		{
			"Bridge create",
			func() error {
				_, err := c.Bridges.Create(ctx, BridgeParams{ID: "xfer1-hold", Type: "mixing,dtmf_events"})
				return err
			},
			seen{Method: "POST", Path: "/ari/bridges/xfer1-hold", RawQuery: "type=mixing%2Cdtmf_events"},
		},
		{
			"Subscribe",
			func() error {
				_, err := c.Applications.Subscribe(ctx, "transferd", "channel:a", "bridge:b")
				return err
			},
			seen{Method: "POST", Path: "/ari/applications/transferd/subscription", RawQuery: "eventSource=channel%3Aa%2Cbridge%3Ab"},
		},
	}
	for _, tt := range tests {
		if err := tt.call(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		got := srv.take()
		if len(got) != 1 {
			t.Errorf("%s: %d requests, want 1", tt.name, len(got))
			continue
		}
		g := got[0]
		g.Query = nil
		if diff := cmp.Diff(tt.want, g); diff != "" {
			t.Errorf("%s: request mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestInvalidIDNotSent(t *testing.T) {
	srv := newFakeREST(t)
	c := newHTTPClient(t, srv.URL+"/ari")
	for _, id := range []ChannelID{"", ".", ".."} {
		err := c.Channels.Answer(t.Context(), id)
		if err == nil || !strings.Contains(err.Error(), "channelId") {
			t.Errorf("Answer(%q) = %v, want an error naming channelId", id, err)
		}
	}
	if got := srv.take(); len(got) != 0 {
		t.Errorf("invalid ids sent %d requests: %+v", len(got), got)
	}
}

func TestDecodeAnswers(t *testing.T) {
	srv := newFakeREST(t)
	c := newHTTPClient(t, srv.URL+"/ari")
	ctx := t.Context()

	srv.answer(200, `{"id":"abc","name":"PJSIP/alice-1","state":"Up","caller":{"name":"A","number":"1"},"creationtime":"2026-11-23T11:35:38.123+0000","future_field":1}`)
	ch, err := c.Channels.Get(ctx, "abc")
	if err != nil {
		t.Fatal(err)
	}
	want := &Channel{ID: "abc", Name: "PJSIP/alice-1", State: "Up", Caller: CallerID{Name: "A", Number: "1"}, CreationTime: "2026-11-23T11:35:38.123+0000"}
	if diff := cmp.Diff(want, ch); diff != "" {
		t.Errorf("Get mismatch (-want +got):\n%s", diff)
	}

	srv.answer(200, `[{"id":"b1","bridge_type":"mixing","channels":["a","b"]}]`)
	bridges, err := c.Bridges.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Bridge{{ID: "b1", BridgeType: "mixing", Channels: []ChannelID{"a", "b"}}}, bridges); diff != "" {
		t.Errorf("List mismatch (-want +got):\n%s", diff)
	}

	srv.answer(200, `{"value":"42"}`)
	if v, err := c.Channels.GetVariable(ctx, "abc", "X"); err != nil || v != "42" {
		t.Errorf("GetVariable = %q, %v; want 42", v, err)
	}

	srv.answer(200, `{"system":{"version":"22.5.0","entity_id":"02:42:ac:11:00:02"},"config":{"name":"x","default_language":"en","setid":{"user":"asterisk","group":"asterisk"}}}`)
	info, err := c.Asterisk.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.System == nil || info.System.EntityID != "02:42:ac:11:00:02" || info.System.Version != "22.5.0" {
		t.Errorf("Info().System = %+v", info.System)
	}

	srv.answer(204, "")
	if err := c.Channels.Answer(ctx, "abc"); err != nil {
		t.Errorf("Answer with 204: %v", err)
	}

	srv.answer(200, `not json`)
	ch, err = c.Channels.Get(ctx, "abc")
	if err == nil || ch != nil || StatusOf(err) != 0 || !strings.Contains(err.Error(), "decode") {
		t.Errorf("Get with a garbled 200 = %v, %v; want nil and a decode error", ch, err)
	}
}

func TestOnRequest(t *testing.T) {
	srv := newFakeREST(t)
	type obs struct {
		Method, Template string
		Status           int
	}
	var got []obs
	c := newHTTPClient(t, srv.URL+"/ari", func(o *Options) {
		o.OnRequest = func(method, tmpl string, status int, d time.Duration) {
			if d <= 0 {
				t.Errorf("OnRequest duration %v, want > 0", d)
			}
			got = append(got, obs{method, tmpl, status})
		}
	})
	c.Channels.Answer(t.Context(), "abc")
	srv.answer(404, `{"message":"Playback not found"}`)
	c.Channels.Play(t.Context(), "abc", PlayParams{Media: []string{"sound:beep"}, PlaybackID: "p"})
	want := []obs{
		{"POST", "/channels/{channelId}/answer", 200},
		{"POST", "/channels/{channelId}/play/{playbackId}", 404},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OnRequest calls mismatch (-want +got):\n%s", diff)
	}
}

func TestNewHTTPTransportValidation(t *testing.T) {
	tests := []struct {
		url  string
		want string
	}{
		{"http://user:hunter2@127.0.0.1:8088/ari", "credentials"},
		{"ftp://127.0.0.1/ari", "scheme"},
		{"http:///ari", "no host"},
		{"http://127.0.0.1:8088/ari?x=1", "query"},
		{"://bad", "not a valid URL"},
	}
	for _, tt := range tests {
		_, err := NewHTTPTransport(HTTPOptions{URL: tt.url})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewHTTPTransport(%q) = %v, want an error about %s", tt.url, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("NewHTTPTransport error %q leaks the password", err)
		}
	}
	tr, err := NewHTTPTransport(HTTPOptions{URL: "https://pbx.example:8089/ari/"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tr.eventsURL([]string{"transferd", "a b"}), "wss://pbx.example:8089/ari/events?app=transferd,a%20b&subscribeAll=false"; got != want {
		t.Errorf("eventsURL = %q, want %q", got, want)
	}
}

func TestNewValidation(t *testing.T) {
	tr := &recorder{}
	tests := []struct {
		name string
		opts Options
	}{
		{"no transport", Options{Apps: []string{"a"}}},
		{"empty app", Options{Transport: tr, Apps: []string{""}}},
		{"comma in app", Options{Transport: tr, Apps: []string{"a,b"}}},
		{"max below min", Options{Transport: tr, Backoff: Backoff{Min: time.Second, Max: time.Millisecond}}},
		{"negative", Options{Transport: tr, Backoff: Backoff{Min: -1}}},
	}
	for _, tt := range tests {
		if _, err := New(tt.opts); err == nil {
			t.Errorf("New(%s) = nil error", tt.name)
		}
	}
	c, err := New(Options{Transport: tr})
	if err != nil {
		t.Fatalf("New without apps (REST only): %v", err)
	}
	if err := c.Run(t.Context()); err == nil {
		t.Error("Run without apps = nil error")
	}
}
