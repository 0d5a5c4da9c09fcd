package natsproxy_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natsproxy"
	"github.com/transferd/transferd/ari/natstransport/wire"
	"github.com/transferd/transferd/natsbus"
)

// TestNATSProxyStockClient sends requests exactly as the stock ari-proxy v5
// client encodes them (the hand-written fixtures of natstransport) and
// checks the REST call Asterisk gets and the answer's stock fields.
func TestNATSProxyStockClient(t *testing.T) {
	var mu sync.Mutex
	var got []string
	ws := make(chan struct{}, 1)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.EscapedPath(), "/ari")
		switch {
		case p == "/events":
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			ws <- struct{}{}
			_, _, _ = c.Read(context.Background())
			return
		case p == "/asterisk/info":
			_, _ = io.WriteString(w, `{"system":{"entity_id":"eid-1"}}`)
			return
		}
		mu.Lock()
		got = append(got, r.Method+" "+p+"?"+r.URL.RawQuery)
		mu.Unlock()
		switch {
		case strings.HasPrefix(p, "/channels/missing"):
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"Channel not found"}`)
		case r.Method == http.MethodPost && (p == "/channels/c2" || p == "/bridges/b1"):
			_, _ = io.WriteString(w, `{"id":"`+strings.TrimPrefix(strings.TrimPrefix(p, "/channels/"), "/bridges/")+`"}`)
		case strings.HasSuffix(p, "/variable") && r.Method == http.MethodGet:
			_, _ = io.WriteString(w, `{"value":"100"}`)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer fake.Close()

	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	srv, err := natsbus.StartEmbedded(natsbus.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := natsbus.Connect(srv.ClientURL(), "t", log)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	tr, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: fake.URL + "/ari", PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	// No Node: the proxy takes Asterisk's entity id, as the stock one does.
	p, err := natsproxy.New(natsproxy.Options{NC: nc, App: "demo", Transport: tr, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ann, err := nc.SubscribeSync(wire.AnnounceSubject("ari."))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-p.Ready():
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("proxy not ready")
	}
	<-ws
	m, err := ann.NextMsg(5 * time.Second)
	if err != nil || string(m.Data) != `{"node":"eid-1","application":"demo"}` {
		t.Fatalf("announcement %v %v", m, err)
	}

	tests := []struct {
		fixture, subject, call string
		check                  func(*testing.T, *wire.Response)
	}{
		{"request_ChannelOriginate.json", "ari.create.demo", "POST /channels/c2?app=demo&endpoint=PJSIP%2F100",
			func(t *testing.T, r *wire.Response) {
				if r.Error != "" || r.Key == nil || r.Key.ID != "c2" || r.Key.Node != "eid-1" {
					t.Errorf("create answer %+v", r)
				}
			}},
		{"request_BridgeCreate.json", "ari.create.demo", "POST /bridges/b1?type=mixing", nil},
		{"request_ChannelSendDTMF.json", "ari.command.demo.eid-1", "POST /channels/c1/dtmf?between=100&dtmf=1234", nil},
		{"request_ChannelDial.json", "ari.command.demo.eid-1", "POST /channels/c1/dial?caller=c0&timeout=30", nil},
		{"request_BridgeAddChannel.json", "ari.command.demo.eid-1", "POST /bridges/b1/addChannel?absorbDTMF=true&channel=c1", nil},
		{"request_ChannelHangup.json", "ari.command.demo", "DELETE /channels/c1?reason=normal", nil},
		{"request_ChannelVariableGet.json", "ari.data.demo.eid-1", "GET /channels/c1/variable?variable=CALLERID%28num%29",
			func(t *testing.T, r *wire.Response) {
				if r.Error != "" || r.Data == nil || r.Data.Variable != "100" {
					t.Errorf("variable answer %+v", r)
				}
			}},
		{"request_AsteriskVariableSet.json", "ari.command", "POST /asterisk/variable?value=1&variable=G", nil},
	}
	for _, tt := range tests {
		b, err := os.ReadFile(filepath.Join("..", "natstransport", "testdata", "stock", tt.fixture))
		if err != nil {
			t.Fatal(err)
		}
		resp := request(t, nc, tt.subject, b)
		if tt.check != nil {
			tt.check(t, resp)
		} else if resp.Error != "" {
			t.Errorf("%s: error %q", tt.fixture, resp.Error)
		}
		mu.Lock()
		last := got[len(got)-1]
		got = nil
		mu.Unlock()
		if last != tt.call {
			t.Errorf("%s: Asterisk got %s, want %s", tt.fixture, last, tt.call)
		}
	}

	// A missing channel is "Not found", as a stock client tests it.
	resp := request(t, nc, "ari.command.demo", []byte(`{"kind":"ChannelAnswer","key":{"kind":"channel","id":"missing","app":"demo"}}`))
	if resp.Error != "Not found" || resp.Status != 404 || resp.Message != "Channel not found" {
		t.Errorf("not found answer %+v", resp)
	}
	// An unknown kind is "Not implemented", as the stock server says.
	resp = request(t, nc, "ari.command.demo", []byte(`{"kind":"TextMessageSend","key":{"kind":"endpoint","id":"PJSIP/a"}}`))
	if resp.Error != "Not implemented" {
		t.Errorf("unknown kind answer %+v", resp)
	}
	// A request for another node is left to that node.
	if _, err := nc.Request("ari.command.demo", []byte(`{"kind":"ChannelAnswer","key":{"kind":"channel","id":"c1","node":"eid-2"}}`),
		300*time.Millisecond); err == nil {
		t.Error("the proxy answered a request for another node")
	}
}

func request(t *testing.T, nc *nats.Conn, subject string, data []byte) *wire.Response {
	t.Helper()
	m, err := nc.Request(subject, data, 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	var r wire.Response
	if err := json.Unmarshal(m.Data, &r); err != nil {
		t.Fatalf("%s: %v: %s", subject, err, m.Data)
	}
	return &r
}
