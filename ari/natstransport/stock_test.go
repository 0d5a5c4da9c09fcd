package natstransport_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natstransport"
	"github.com/transferd/transferd/ari/natstransport/wire"
)

// The files of testdata/stock-v5.3.1 are what the stock CyCoreSystems
// ari-proxy v5.3.1 server really answered and published, in front of
// Asterisk 22 (recorded with `make interop`'s setup; node
// 02:7a:27:1a:8e:53, application dbg). They are facts to check against,
// never regenerated from this code.
const stockNode, stockApp = "02:7a:27:1a:8e:53", "dbg"

func stockFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "stock-v5.3.1", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stockServer answers requests on NATS the way the recorded stock server
// did, and records them.
type stockServer struct {
	t    *testing.T
	mu   sync.Mutex
	reqs []wire.Request
	// answer picks the recorded answer file for a request.
	answer func(wire.Request) string
}

func (s *stockServer) run(nc *nats.Conn) {
	ann, _ := json.Marshal(wire.Announcement{Node: stockNode, Application: stockApp})
	if _, err := nc.Subscribe("ari.ping", func(*nats.Msg) { _ = nc.Publish("ari.announce", ann) }); err != nil {
		s.t.Fatal(err)
	}
	serve := func(m *nats.Msg) {
		var req wire.Request
		if err := json.Unmarshal(m.Data, &req); err != nil {
			s.t.Errorf("undecodable request %s: %v", m.Data, err)
			return
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
		_ = m.Respond(stockFile(s.t, s.answer(req)))
	}
	for _, class := range []string{"get", "data", "command"} {
		for _, subj := range []string{"ari." + class + "." + stockApp, "ari." + class + "." + stockApp + "." + stockNode} {
			if _, err := nc.Subscribe(subj, serve); err != nil {
				s.t.Fatal(err)
			}
		}
	}
	for _, subj := range []string{"ari.create." + stockApp, "ari.create." + stockApp + "." + stockNode} {
		if _, err := nc.QueueSubscribe(subj, "ariproxy", serve); err != nil {
			s.t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *stockServer) take() []wire.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.reqs
	s.reqs = nil
	return out
}

// TestNATSStockServer: against the stock server's real answers,
// natstransport adds channels to a bridge one per request in stock mode
// (the stock server sends a list to Asterisk as one id, and fails), reads
// every way the stock server says "not found" as a 404, and forgets a
// resource's node when its node says it is gone.
func TestNATSStockServer(t *testing.T) {
	c := newCluster(t, 0, t.TempDir())
	gone := map[string]bool{"nope": true}
	var mu sync.Mutex
	s := &stockServer{t: t, answer: func(r wire.Request) string {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Kind == "BridgeAddChannel" && strings.Contains(r.BridgeAddChannel.Channel, ","):
			return "answer_BridgeAddChannel_list.json"
		case r.Kind == "ChannelAnswer" && gone[r.Key.ID]:
			return "answer_ChannelAnswer_missing.json"
		case r.Kind == "ChannelData" && gone[r.Key.ID]:
			return "answer_ChannelData_missing.json"
		case r.Kind == "BridgeData" && gone[r.Key.ID]:
			return "answer_ChannelData_missing.json"
		case r.Kind == "ChannelVariableGet":
			return "answer_ChannelVariableGet_missing.json"
		case r.Kind == "ChannelProgress":
			return "answer_ChannelProgress.json"
		case r.Kind == "BridgeCreate":
			return "answer_BridgeCreate.json"
		case r.Kind == "BridgeData":
			return "answer_BridgeData.json"
		}
		return "answer_void.json"
	}}
	s.run(c.conn("stock"))
	ctx := context.Background()

	// Without stock mode the list goes as it is, and the stock server's
	// Asterisk refuses it: the failure issue 13 saw on every call.
	plain, _ := c.client(stockApp, "plain", 1, natstransport.Options{})
	err := plain.Bridges.AddChannel(ctx, "b1", ari.AddChannelParams{Channels: []ari.ChannelID{"c1", "c2"}, AbsorbDTMF: true})
	if !errors.Is(err, ari.ErrBadRequest) {
		t.Fatalf("list add without stock mode: err = %v, want the stock server's 400", err)
	}
	s.take()

	cl, tr := c.client(stockApp, "stock", 1, natstransport.Options{StockServer: true})
	if err := cl.Bridges.AddChannel(ctx, "b1", ari.AddChannelParams{Channels: []ari.ChannelID{"c1", "c2"}, AbsorbDTMF: true}); err != nil {
		t.Fatalf("list add in stock mode: %v", err)
	}
	var got []string
	for _, r := range s.take() {
		if r.Kind == "BridgeAddChannel" {
			got = append(got, r.BridgeAddChannel.Channel)
			if !r.BridgeAddChannel.AbsorbDTMF || r.Key.ID != "b1" {
				t.Errorf("request %+v lost its bridge or absorbDTMF", r)
			}
		}
	}
	if strings.Join(got, " ") != "c1 c2" {
		t.Errorf("stock mode sent channels %q, want one request each for c1 and c2", got)
	}

	// Not found, in each of the stock server's words.
	for name, call := range map[string]func() error{
		"command": func() error { return cl.Channels.Answer(ctx, "nope") },
		"data":    func() error { _, err := cl.Channels.Get(ctx, "nope"); return err },
		"variable": func() error {
			_, err := cl.Channels.GetVariable(ctx, "c1", "X")
			return err
		},
	} {
		err := call()
		var ae *ari.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || !errors.Is(err, ari.ErrNotFound) {
			t.Errorf("%s: err = %v, want a 404 ari.ErrNotFound", name, err)
		}
	}
	if err := cl.Channels.Progress(ctx, "c1"); err == nil || !strings.Contains(err.Error(), "Not implemented") {
		t.Errorf("ChannelProgress: err = %v, want the stock server's Not implemented", err)
	}

	// A bridge created through the stock server is answered with its key
	// only; natstransport reads it and learns its node. Once the node says
	// it is gone, the node is forgotten.
	b, err := cl.Bridges.Create(ctx, ari.BridgeParams{ID: "b1", Type: "mixing"})
	if err != nil || b.ID != "b1" {
		t.Fatalf("create: %+v, %v", b, err)
	}
	if n := tr.NodeOf("bridge", "b1"); n != stockNode {
		t.Fatalf("node of b1 = %q, want %q", n, stockNode)
	}
	mu.Lock()
	gone["b1"] = true
	mu.Unlock()
	if _, err := cl.Bridges.Get(ctx, "b1"); !errors.Is(err, ari.ErrNotFound) {
		t.Fatalf("get of a gone bridge: %v", err)
	}
	if n := tr.NodeOf("bridge", "b1"); n != "" {
		t.Errorf("node of a gone bridge still %q", n)
	}

	// A resource first met in a data answer: the stock server names its
	// node only in the key inside the entity. natstransport learns it
	// there, so the next request goes to that node instead of to every
	// proxy.
	s.take()
	if _, err := cl.Bridges.Get(ctx, "b3"); err != nil {
		t.Fatalf("get b3: %v", err)
	}
	if r := s.take(); len(r) != 1 || r[0].Key.Node != "" {
		t.Fatalf("first get of b3 sent %+v, want one broadcast (no node)", r)
	}
	if n := tr.NodeOf("bridge", "b3"); n != stockNode {
		t.Fatalf("node of b3 after its data answer = %q, want %q (from the entity's key)", n, stockNode)
	}
	if _, err := cl.Bridges.Get(ctx, "b3"); err != nil {
		t.Fatalf("get b3 again: %v", err)
	}
	if r := s.take(); len(r) != 1 || r[0].Key.Node != stockNode {
		t.Errorf("second get of b3 sent %+v, want one request to node %s", r, stockNode)
	}
}

// TestNATSStockEvents: the events the stock server publishes (its ari
// models re-encoded: every StasisStart carries an empty replace_channel)
// decode to what Asterisk meant.
func TestNATSStockEvents(t *testing.T) {
	ev, err := ari.Decode(stockFile(t, "event_StasisStart.json"))
	if err != nil {
		t.Fatal(err)
	}
	ss, ok := ev.(*ari.StasisStart)
	if !ok || ss.Channel.ID != "c2" || len(ss.Args) != 0 {
		t.Fatalf("StasisStart decoded as %#v", ev)
	}
	if ids := ari.ChannelsOf(ev); len(ids) != 1 || ids[0] != "c2" {
		t.Errorf("StasisStart names channels %v, want only c2 (the empty replace_channel is no channel)", ids)
	}
	if ss.ReplaceChannel == nil || ss.ReplaceChannel.ID != "" {
		t.Errorf("replace_channel = %+v: the stock server sends an empty one", ss.ReplaceChannel)
	}
	ev, err = ari.Decode(stockFile(t, "event_ChannelDestroyed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := ev.(*ari.ChannelDestroyed); !ok || d.Channel.ID != "c2" || d.Cause != 16 {
		t.Errorf("ChannelDestroyed decoded as %#v", ev)
	}
}
