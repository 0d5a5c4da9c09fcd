package natstransport_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natsproxy"
	"github.com/transferd/transferd/ari/natstransport"
	"github.com/transferd/transferd/natsbus"
)

// seen is one request the fake Asterisk received.
type seen struct {
	Method string
	Path   string // escaped, without the /ari prefix
	Query  url.Values
	Body   string
}

// fakeARI is an httptest server speaking enough ARI for the tests: it
// records every REST request, answers with plausible JSON (or what the test
// scripted), and has an event websocket the test pushes events into.
type fakeARI struct {
	t   *testing.T
	srv *httptest.Server
	eid string

	mu       sync.Mutex
	reqs     []seen
	answer   func(seen) (int, string, bool) // scripted answers; false: default
	conns    map[*websocket.Conn]struct{}
	connUp   chan struct{}
	connOnce sync.Once
}

func newFakeARI(t *testing.T, eid string) *fakeARI {
	f := &fakeARI{t: t, eid: eid, conns: map[*websocket.Conn]struct{}{}, connUp: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeARI) transport(t *testing.T) *ari.HTTPTransport {
	tr, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: f.srv.URL + "/ari", Username: "u", Password: "p", PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (f *fakeARI) serve(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/ari")
	if p == "/events" {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"ari"}})
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns[c] = struct{}{}
		f.mu.Unlock()
		f.connOnce.Do(func() { close(f.connUp) })
		// Hold the connection until the client goes.
		_, _, _ = c.Read(context.Background())
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
		return
	}
	body, _ := io.ReadAll(r.Body)
	s := seen{Method: r.Method, Path: p, Query: r.URL.Query(), Body: string(body)}
	if len(s.Query) == 0 {
		s.Query = nil
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, s)
	answer := f.answer
	f.mu.Unlock()
	status, out, ok := 0, "", false
	if answer != nil {
		status, out, ok = answer(s)
	}
	if !ok {
		status, out = f.defaultAnswer(s)
	}
	if out != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, out)
}

// defaultAnswer answers like Asterisk in shape: lists, entities with the id
// the request names, variables, 204 for the rest.
func (f *fakeARI) defaultAnswer(s seen) (int, string) {
	seg := strings.Split(strings.TrimPrefix(s.Path, "/"), "/")
	for i := range seg {
		seg[i], _ = url.PathUnescape(seg[i])
	}
	last := seg[len(seg)-1]
	obj := func(v map[string]any) (int, string) {
		b, _ := json.Marshal(v)
		return http.StatusOK, string(b)
	}
	switch {
	case s.Path == "/asterisk/info":
		return obj(map[string]any{"system": map[string]string{"entity_id": f.eid, "version": "22.0.0"}})
	case last == "variable" && s.Method == http.MethodGet:
		return obj(map[string]any{"value": "v-" + s.Query.Get("variable")})
	case s.Method == http.MethodGet && len(seg) == 1, s.Method == http.MethodGet && seg[0] == "endpoints" && len(seg) == 2:
		return http.StatusOK, "[]"
	case seg[0] == "channels" && s.Method == http.MethodPost && (len(seg) <= 2):
		id := s.Query.Get("channelId")
		if len(seg) == 2 && seg[1] != "create" {
			id = seg[1]
		}
		if id == "" {
			id = "asterisk-chose"
		}
		return obj(map[string]any{"id": id, "name": "PJSIP/x", "state": "Down"})
	case seg[0] == "bridges" && s.Method == http.MethodPost && len(seg) <= 2:
		id := "asterisk-chose"
		if len(seg) == 2 {
			id = seg[1]
		}
		return obj(map[string]any{"id": id, "bridge_type": "mixing", "channels": []string{}})
	case (last == "play" || (len(seg) == 4 && seg[2] == "play")) && s.Method == http.MethodPost:
		id := "asterisk-chose"
		if len(seg) == 4 {
			id = seg[3]
		}
		return obj(map[string]any{"id": id, "media_uri": s.Query.Get("media"), "state": "queued",
			"target_uri": strings.TrimSuffix(seg[0], "s") + ":" + seg[1]})
	case (last == "snoop" || (len(seg) == 4 && seg[2] == "snoop")) && s.Method == http.MethodPost:
		id := "asterisk-chose"
		if len(seg) == 4 {
			id = seg[3]
		}
		return obj(map[string]any{"id": id, "name": "Snoop/x"})
	case seg[0] == "applications" && len(seg) >= 2 && (s.Method == http.MethodGet || last == "subscription"):
		return obj(map[string]any{"name": seg[1], "channel_ids": []string{}, "bridge_ids": []string{}})
	case s.Method == http.MethodGet && len(seg) == 2 && seg[0] == "deviceStates":
		return obj(map[string]any{"name": seg[1], "state": "NOT_INUSE"})
	case s.Method == http.MethodGet && len(seg) == 3 && seg[0] == "endpoints":
		return obj(map[string]any{"technology": seg[1], "resource": seg[2], "channel_ids": []string{}})
	case s.Method == http.MethodGet && len(seg) == 2:
		return obj(map[string]any{"id": seg[1]})
	}
	return http.StatusNoContent, ""
}

func (f *fakeARI) take() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reqs
	f.reqs = nil
	return r
}

func (f *fakeARI) script(a func(seen) (int, string, bool)) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

// push sends an event to every connected proxy.
func (f *fakeARI) push(t *testing.T, ev map[string]any) {
	t.Helper()
	if _, ok := ev["asterisk_id"]; !ok {
		ev["asterisk_id"] = f.eid
	}
	if _, ok := ev["timestamp"]; !ok {
		ev["timestamp"] = time.Now().UTC().Format("2006-01-02T15:04:05.000-0700")
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(f.conns))
	for c := range f.conns {
		conns = append(conns, c)
	}
	f.mu.Unlock()
	if len(conns) == 0 {
		t.Fatal("push: no proxy connected to the fake ARI")
	}
	for _, c := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.Write(ctx, websocket.MessageText, b)
		cancel()
		if err != nil {
			t.Fatalf("push: %v", err)
		}
	}
}

// cluster is an embedded NATS server with proxies in front of fake
// Asterisks.
type cluster struct {
	t   *testing.T
	srv *natsbus.Server
	url string
}

func newCluster(t *testing.T, port int, dir string) *cluster {
	t.Helper()
	srv, err := natsbus.StartEmbedded(natsbus.Options{Port: port, Dir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, srv: srv, url: srv.ClientURL()}
	t.Cleanup(func() {
		if c.srv != nil {
			c.srv.Shutdown()
		}
	})
	return c
}

func testLogger(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

func (c *cluster) conn(name string) *nats.Conn {
	c.t.Helper()
	nc, err := natsbus.Connect(c.url, name, testLogger(c.t))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(nc.Close)
	return nc
}

// proxy starts a natsproxy for fake on node and waits until it serves.
func (c *cluster) proxy(fake *fakeARI, app, node string) *natsproxy.Proxy {
	c.t.Helper()
	p, err := natsproxy.New(natsproxy.Options{NC: c.conn("proxy-" + node), App: app, Transport: fake.transport(c.t), Node: node,
		Logger: testLogger(c.t)})
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	c.t.Cleanup(func() { cancel(); <-done })
	select {
	case <-p.Ready():
	case err := <-done:
		c.t.Fatalf("proxy %s: %v", node, err)
	case <-time.After(10 * time.Second):
		c.t.Fatalf("proxy %s not ready", node)
	}
	return p
}

// client is an ari.Client over a natstransport, with Run started, waiting
// until it knows want proxies.
func (c *cluster) client(app, name string, want int, opts natstransport.Options) (*ari.Client, *natstransport.Transport) {
	c.t.Helper()
	opts.App = app
	opts.Logger = testLogger(c.t)
	tr, err := natstransport.New(c.conn(name), opts)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = tr.Close() })
	cl, err := ari.New(ari.Options{Transport: tr, Apps: []string{app}, Backoff: ari.Backoff{Min: 50 * time.Millisecond, Max: 500 * time.Millisecond}})
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = cl.Run(ctx); close(done) }()
	c.t.Cleanup(func() { cancel(); <-done })
	waitUntil(c.t, 10*time.Second, func() error {
		if n := len(tr.Nodes()); n < want {
			_ = tr.Ping()
			return fmt.Errorf("%s knows %d proxies, want %d", name, n, want)
		}
		return nil
	})
	select {
	case <-cl.Connected():
	case <-time.After(10 * time.Second):
		c.t.Fatalf("%s: event stream never connected", name)
	}
	return cl, tr
}

// waitUntil polls cond until it returns nil or d passes.
func waitUntil(t *testing.T, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
