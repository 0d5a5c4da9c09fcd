package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/transferd/transferd/ari"
)

// stockProxy is the stock CyCoreSystems ari-proxy binary the NATS
// scenarios run against instead of natsproxy (`make interop`), or "".
// Nothing in the repository builds it: an operator's or a developer's own
// build is given by path.
func stockProxy() string { return os.Getenv("STOCK_ARI_PROXY") }

// startStockProxy runs the stock ari-proxy in front of sb, pointed at the
// rig's NATS, and returns its node name: the Asterisk's entity id, which
// the stock server names its node by (each sandbox has its own).
func (r *clusterRig) startStockProxy(sb *Sandbox, direct *ari.Client) string {
	t := r.t
	info, err := direct.Asterisk.Info(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := info.System.EntityID
	home := t.TempDir() // no ~/.ari-proxy.yaml of the machine's user
	logPath := filepath.Join(t.TempDir(), "ari-proxy-"+sb.RunID+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := StockProxyCommand(stockProxy(), clusterApp, sb, r.url, home, true)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", stockProxy(), err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); lf.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("log of the stock ari-proxy of %s (last lines):\n%s", node, lastLines(b, 30))
		}
	})
	// Ready once it announces itself for the application.
	nc, err := nats.Connect(r.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("ari.announce")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(r.ctx, time.Minute)
	defer cancel()
	for {
		// It subscribes to pings a moment after it starts: ping again
		// until it answers.
		_ = nc.Publish("ari.ping", []byte("{}"))
		actx, acancel := context.WithTimeout(ctx, 500*time.Millisecond)
		m, err := sub.NextMsgWithContext(actx)
		acancel()
		if ctx.Err() != nil {
			t.Fatalf("stock ari-proxy of %s never announced itself: %v", node, ctx.Err())
		}
		if err != nil {
			continue
		}
		var a struct{ Node, Application string }
		if json.Unmarshal(m.Data, &a) == nil && a.Node == node && a.Application == clusterApp {
			t.Logf("stock ari-proxy %s serves %s on node %s", stockProxy(), clusterApp, node)
			return node
		}
	}
}

// dialogSubscriptions counts the dialog-event subscriptions the transferd
// instances hold on the NATS server (their connections are named
// "transferd-<instance>").
func dialogSubscriptions(ns *server.Server) (int, []string, error) {
	cz, err := ns.Connz(&server.ConnzOptions{Subscriptions: true, Limit: 1 << 16})
	if err != nil {
		return 0, nil, err
	}
	n := 0
	var subs []string
	for _, c := range cz.Conns {
		if !strings.HasPrefix(c.Name, "transferd-") {
			continue
		}
		for _, s := range c.Subs {
			if strings.HasPrefix(s, "ari.dialogevent.") {
				n++
				subs = append(subs, c.Name+":"+s)
			}
		}
	}
	return n, subs, nil
}

// TestStockAnswers (make interop only): the running stock ari-proxy still
// answers and publishes what ari/natstransport/testdata/stock-v5.3.1
// recorded from it, the facts natstransport's stock tests stand on.
func TestStockAnswers(t *testing.T) {
	if stockProxy() == "" {
		t.Skip("STOCK_ARI_PROXY is not set: `make interop` runs this against a stock ari-proxy binary")
	}
	t.Parallel()
	ctx := within(t, 3*time.Minute)
	r := &clusterRig{t: t, ctx: ctx, insts: map[string]*instance{}, storeDir: t.TempDir()}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	r.natsPort = port
	r.startNATS()
	t.Cleanup(func() { r.ns.Shutdown() })
	r.url = r.ns.ClientURL()
	node := r.startNode("st-node")
	nc, err := nats.Connect(r.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	events, err := nc.SubscribeSync("ari.event." + clusterApp + ".>")
	if err != nil {
		t.Fatal(err)
	}
	repo, err := FindRepo()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(repo, "ari/natstransport/testdata/stock-v5.3.1")
	// The recording's node and application, and this run's.
	norm := strings.NewReplacer("02:7a:27:1a:8e:53", node.name, `"dbg"`, `"`+clusterApp+`"`)
	key := func(kind, id string) string {
		return `{"kind":"` + kind + `","id":"` + id + `","node":"` + node.name + `","app":"` + clusterApp + `"}`
	}
	dkey := func(kind, id string) string {
		return `{"kind":"` + kind + `","id":"` + id + `","node":"` + node.name + `","app":"` + clusterApp + `","dialog":"d1"}`
	}
	steps := []struct {
		class, req, file string
	}{
		{"create", `{"kind":"BridgeCreate","key":` + dkey("bridge", "b1") + `,"bridge_create":{"type":"mixing"}}`, "answer_BridgeCreate.json"},
		{"create", `{"kind":"ChannelCreate","key":` + dkey("channel", "c2") + `,"channel_create":{"channel_create_request":` +
			`{"endpoint":"Local/2002@transferd-demo","app":"` + clusterApp + `","channelId":"c2","variables":{"X":"1"}}}}`, "answer_ChannelCreate.json"},
		{"command", `{"kind":"BridgeAddChannel","key":` + key("bridge", "b1") + `,"bridge_add_channel":{"channel":"c1,c2","absorbDTMF":true}}`,
			"answer_BridgeAddChannel_list.json"},
		{"data", `{"kind":"BridgeData","key":` + key("bridge", "b1") + `}`, "answer_BridgeData.json"},
		{"data", `{"kind":"ChannelVariableGet","key":` + key("channel", "c2") + `,"channel_variable":{"name":"X"}}`,
			"answer_ChannelVariableGet_missing.json"},
		{"command", `{"kind":"ChannelAnswer","key":` + key("channel", "nope") + `}`, "answer_ChannelAnswer_missing.json"},
		{"data", `{"kind":"ChannelData","key":` + key("channel", "nope") + `}`, "answer_ChannelData_missing.json"},
		{"command", `{"kind":"ChannelProgress","key":` + key("channel", "c2") + `}`, "answer_ChannelProgress.json"},
		{"get", `{"kind":"ChannelList","key":{"kind":"channel","node":"` + node.name + `","app":"` + clusterApp + `"}}`, "answer_ChannelList.json"},
		{"command", `{"kind":"ChannelHangup","key":` + key("channel", "c2") + `,"channel_hangup":{"reason":"normal"}}`, "answer_void.json"},
		{"command", `{"kind":"BridgeDelete","key":` + key("bridge", "b1") + `}`, "answer_void.json"},
	}
	for _, s := range steps {
		var kind struct{ Kind string }
		_ = json.Unmarshal([]byte(s.req), &kind)
		m, err := nc.Request("ari."+s.class+"."+clusterApp+"."+node.name, []byte(s.req), 10*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", kind.Kind, err)
		}
		want, err := os.ReadFile(filepath.Join(dir, s.file))
		if err != nil {
			t.Fatal(err)
		}
		if got, w := strings.TrimSpace(string(m.Data)), norm.Replace(strings.TrimSpace(string(want))); got != w {
			t.Errorf("%s: the stock server answers\n%s\nrecorded (%s):\n%s", kind.Kind, got, s.file, w)
		}
	}
	// Its StasisStart: ari's models re-encoded, with an empty replace_channel.
	want, err := os.ReadFile(filepath.Join(dir, "event_StasisStart.json"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := events.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no StasisStart from the stock server: %v", err)
		}
		var got, rec map[string]json.RawMessage
		if json.Unmarshal(m.Data, &got) != nil || string(got["type"]) != `"StasisStart"` {
			continue
		}
		_ = json.Unmarshal(want, &rec)
		if strings.Join(sortedKeys(got), ",") != strings.Join(sortedKeys(rec), ",") {
			t.Errorf("StasisStart members %v, recorded %v", sortedKeys(got), sortedKeys(rec))
		}
		if string(got["replace_channel"]) == "" || !strings.Contains(string(got["replace_channel"]), `"id":""`) {
			t.Errorf("StasisStart replace_channel = %s, recorded an empty one", got["replace_channel"])
		}
		if len(m.Header) != 0 {
			t.Errorf("StasisStart has headers %v: the stock server sends none (no Ari-Proxy-Created mark)", m.Header)
		}
		break
	}
}

func sortedKeys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
