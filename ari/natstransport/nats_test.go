package natstransport_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natstransport"
	"github.com/transferd/transferd/natsbus"
)

// operation is one client call and what it returned.
type operation struct {
	name string
	call func(ctx context.Context, c *ari.Client) (any, error)
}

func op[T any](name string, f func(ctx context.Context, c *ari.Client) (T, error)) operation {
	return operation{name, func(ctx context.Context, c *ari.Client) (any, error) { return f(ctx, c) }}
}

func void(name string, f func(ctx context.Context, c *ari.Client) error) operation {
	return operation{name, func(ctx context.Context, c *ari.Client) (any, error) { return nil, f(ctx, c) }}
}

// operations covers every resource method of ari.Client, with every
// parameter set, as transferd uses them.
var operations = []operation{
	op("Channels.Originate#app", func(ctx context.Context, c *ari.Client) (*ari.Channel, error) {
		return c.Channels.Originate(ctx, ari.OriginateParams{Endpoint: "Local/201@phones", App: "napp", AppArgs: "a,b",
			CallerID: "Alice <100>", Timeout: 30, ChannelID: "n-1", OtherChannelID: "n-1-2", Originator: "n-0",
			Variables: map[string]string{"X": "1"}})
	}),
	op("Channels.Originate#dialplan", func(ctx context.Context, c *ari.Client) (*ari.Channel, error) {
		return c.Channels.Originate(ctx, ari.OriginateParams{Endpoint: "PJSIP/alice", Extension: "201", Context: "phones",
			Priority: 1, Label: "start", Formats: []string{"ulaw", "alaw"}})
	}),
	op("Channels.Create", func(ctx context.Context, c *ari.Client) (*ari.Channel, error) {
		return c.Channels.Create(ctx, ari.CreateParams{Endpoint: "PJSIP/bob", App: "napp", AppArgs: "dialed,n-call",
			ChannelID: "n-2", OtherChannelID: "n-2-2", Originator: "n-0", Formats: []string{"ulaw"},
			Variables: map[string]string{"TRANSFERD_CALL": "n-call", "A": "b c"}})
	}),
	void("Channels.Dial", func(ctx context.Context, c *ari.Client) error { return c.Channels.Dial(ctx, "n-2", "n-0", 30) }),
	op("Channels.Get", func(ctx context.Context, c *ari.Client) (*ari.Channel, error) { return c.Channels.Get(ctx, "n-2") }),
	op("Channels.List", func(ctx context.Context, c *ari.Client) ([]ari.Channel, error) { return c.Channels.List(ctx) }),
	void("Channels.Hangup", func(ctx context.Context, c *ari.Client) error { return c.Channels.Hangup(ctx, "n-2", "busy") }),
	void("Channels.Answer", func(ctx context.Context, c *ari.Client) error { return c.Channels.Answer(ctx, "n-2") }),
	void("Channels.Ring", func(ctx context.Context, c *ari.Client) error { return c.Channels.Ring(ctx, "n-2") }),
	void("Channels.RingStop", func(ctx context.Context, c *ari.Client) error { return c.Channels.RingStop(ctx, "n-2") }),
	void("Channels.Progress", func(ctx context.Context, c *ari.Client) error { return c.Channels.Progress(ctx, "n-2") }),
	void("Channels.SendDTMF", func(ctx context.Context, c *ari.Client) error {
		return c.Channels.SendDTMF(ctx, "n-2", ari.DTMFParams{DTMF: "12#", Before: 1, Between: 100, Duration: 120, After: 2})
	}),
	void("Channels.Hold", func(ctx context.Context, c *ari.Client) error { return c.Channels.Hold(ctx, "n-2") }),
	void("Channels.Unhold", func(ctx context.Context, c *ari.Client) error { return c.Channels.Unhold(ctx, "n-2") }),
	void("Channels.StartMOH", func(ctx context.Context, c *ari.Client) error { return c.Channels.StartMOH(ctx, "n-2", "default") }),
	void("Channels.StopMOH", func(ctx context.Context, c *ari.Client) error { return c.Channels.StopMOH(ctx, "n-2") }),
	void("Channels.StartSilence", func(ctx context.Context, c *ari.Client) error { return c.Channels.StartSilence(ctx, "n-2") }),
	void("Channels.StopSilence", func(ctx context.Context, c *ari.Client) error { return c.Channels.StopSilence(ctx, "n-2") }),
	void("Channels.Mute", func(ctx context.Context, c *ari.Client) error { return c.Channels.Mute(ctx, "n-2", "in") }),
	void("Channels.Unmute", func(ctx context.Context, c *ari.Client) error { return c.Channels.Unmute(ctx, "n-2", "out") }),
	op("Channels.Play", func(ctx context.Context, c *ari.Client) (*ari.Playback, error) {
		return c.Channels.Play(ctx, "n-2", ari.PlayParams{Media: []string{"sound:beep", "tone:ring"}, Lang: "en", OffsetMS: 10, SkipMS: 1000})
	}),
	op("Channels.Play#withID", func(ctx context.Context, c *ari.Client) (*ari.Playback, error) {
		return c.Channels.Play(ctx, "n-2", ari.PlayParams{Media: []string{"sound:beep"}, PlaybackID: "n-p1"})
	}),
	op("Channels.GetVariable", func(ctx context.Context, c *ari.Client) (string, error) {
		return c.Channels.GetVariable(ctx, "n-2", "CALLERID(num)")
	}),
	void("Channels.SetVariable", func(ctx context.Context, c *ari.Client) error { return c.Channels.SetVariable(ctx, "n-2", "X", "") }),
	void("Channels.Continue", func(ctx context.Context, c *ari.Client) error {
		return c.Channels.Continue(ctx, "n-2", ari.ContinueParams{Context: "phones", Extension: "201", Priority: 2, Label: "l"})
	}),
	void("Channels.Move", func(ctx context.Context, c *ari.Client) error { return c.Channels.Move(ctx, "n-2", "other", "a,b") }),
	void("Channels.Redirect", func(ctx context.Context, c *ari.Client) error { return c.Channels.Redirect(ctx, "n-2", "PJSIP/bob") }),
	op("Channels.Snoop", func(ctx context.Context, c *ari.Client) (*ari.Channel, error) {
		return c.Channels.Snoop(ctx, "n-2", ari.SnoopParams{Spy: "both", Whisper: "out", App: "napp", AppArgs: "snoop", SnoopID: "n-s1"})
	}),

	op("Bridges.Create", func(ctx context.Context, c *ari.Client) (*ari.Bridge, error) {
		return c.Bridges.Create(ctx, ari.BridgeParams{ID: "n-b1", Type: "mixing,dtmf_events", Name: "xfer"})
	}),
	op("Bridges.Create#noID", func(ctx context.Context, c *ari.Client) (*ari.Bridge, error) {
		return c.Bridges.Create(ctx, ari.BridgeParams{Type: "holding"})
	}),
	op("Bridges.Get", func(ctx context.Context, c *ari.Client) (*ari.Bridge, error) { return c.Bridges.Get(ctx, "n-b1") }),
	op("Bridges.List", func(ctx context.Context, c *ari.Client) ([]ari.Bridge, error) { return c.Bridges.List(ctx) }),
	void("Bridges.Destroy", func(ctx context.Context, c *ari.Client) error { return c.Bridges.Destroy(ctx, "n-b1") }),
	void("Bridges.AddChannel", func(ctx context.Context, c *ari.Client) error {
		return c.Bridges.AddChannel(ctx, "n-b1", ari.AddChannelParams{Channels: []ari.ChannelID{"n-1", "n-2"}, Role: "partner",
			AbsorbDTMF: true, Mute: true, InhibitConnectedLineUpdates: true})
	}),
	void("Bridges.RemoveChannel", func(ctx context.Context, c *ari.Client) error {
		return c.Bridges.RemoveChannel(ctx, "n-b1", "n-1", "n-2")
	}),
	void("Bridges.StartMOH", func(ctx context.Context, c *ari.Client) error { return c.Bridges.StartMOH(ctx, "n-b1", "default") }),
	void("Bridges.StopMOH", func(ctx context.Context, c *ari.Client) error { return c.Bridges.StopMOH(ctx, "n-b1") }),
	op("Bridges.Play", func(ctx context.Context, c *ari.Client) (*ari.Playback, error) {
		return c.Bridges.Play(ctx, "n-b1", ari.PlayParams{Media: []string{"sound:beep"}, Lang: "en", PlaybackID: "n-p2", SkipMS: 1})
	}),

	op("Playbacks.Get", func(ctx context.Context, c *ari.Client) (*ari.Playback, error) { return c.Playbacks.Get(ctx, "n-p1") }),
	void("Playbacks.Stop", func(ctx context.Context, c *ari.Client) error { return c.Playbacks.Stop(ctx, "n-p1") }),
	void("Playbacks.Control", func(ctx context.Context, c *ari.Client) error { return c.Playbacks.Control(ctx, "n-p1", "pause") }),

	op("Applications.Get", func(ctx context.Context, c *ari.Client) (*ari.Application, error) {
		return c.Applications.Get(ctx, "napp")
	}),
	op("Applications.List", func(ctx context.Context, c *ari.Client) ([]ari.Application, error) { return c.Applications.List(ctx) }),
	op("Applications.Subscribe", func(ctx context.Context, c *ari.Client) (*ari.Application, error) {
		return c.Applications.Subscribe(ctx, "napp", "channel:n-1", "bridge:n-b1")
	}),
	op("Applications.Unsubscribe", func(ctx context.Context, c *ari.Client) (*ari.Application, error) {
		return c.Applications.Unsubscribe(ctx, "napp", "channel:n-1")
	}),

	op("Asterisk.Info", func(ctx context.Context, c *ari.Client) (*ari.AsteriskInfo, error) { return c.Asterisk.Info(ctx) }),
	op("Asterisk.GetGlobalVariable", func(ctx context.Context, c *ari.Client) (string, error) {
		return c.Asterisk.GetGlobalVariable(ctx, "G")
	}),
	void("Asterisk.SetGlobalVariable", func(ctx context.Context, c *ari.Client) error {
		return c.Asterisk.SetGlobalVariable(ctx, "G", "1 2+3")
	}),
	void("Asterisk.DeleteGlobalVariable", func(ctx context.Context, c *ari.Client) error {
		return c.Asterisk.DeleteGlobalVariable(ctx, "G")
	}),

	op("Endpoints.List", func(ctx context.Context, c *ari.Client) ([]ari.Endpoint, error) { return c.Endpoints.List(ctx) }),
	op("Endpoints.ListByTech", func(ctx context.Context, c *ari.Client) ([]ari.Endpoint, error) {
		return c.Endpoints.ListByTech(ctx, "PJSIP")
	}),
	op("Endpoints.Get", func(ctx context.Context, c *ari.Client) (*ari.Endpoint, error) {
		return c.Endpoints.Get(ctx, "PJSIP", "alice")
	}),
	op("DeviceStates.Get", func(ctx context.Context, c *ari.Client) (*ari.DeviceState, error) {
		return c.DeviceStates.Get(ctx, "Stasis:desk")
	}),
	op("DeviceStates.List", func(ctx context.Context, c *ari.Client) ([]ari.DeviceState, error) { return c.DeviceStates.List(ctx) }),
}

// TestNATSRoundTrip sends every operation once straight to a fake Asterisk
// and once through natstransport → NATS → natsproxy to another, and checks
// that both Asterisks received the same REST request and that the client
// got the same result.
func TestNATSRoundTrip(t *testing.T) {
	direct := newFakeARI(t, "eid-a")
	dc, err := ari.New(ari.Options{Transport: direct.transport(t)})
	if err != nil {
		t.Fatal(err)
	}
	fake := newFakeARI(t, "eid-a")
	c := newCluster(t, 0, t.TempDir())
	c.proxy(fake, "napp", "n-a")
	nc, _ := c.client("napp", "app", 1, natstransport.Options{})
	<-fake.connUp
	ctx := context.Background()
	// The originator's node is learnt once, as an application learns it
	// from the originator's events.
	if _, err := nc.Channels.Get(ctx, "n-0"); err != nil {
		t.Fatal(err)
	}
	fake.take()

	for _, o := range operations {
		t.Run(o.name, func(t *testing.T) {
			want, werr := o.call(ctx, dc)
			got, gerr := o.call(ctx, nc)
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("errors differ: direct %v, nats %v", werr, gerr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("result differs (-direct +nats):\n%s", diff)
			}
			dr, nr := direct.take(), fake.take()
			if diff := cmp.Diff(normalize(dr), normalize(nr)); diff != "" {
				t.Errorf("request differs (-direct +nats):\n%s", diff)
			}
		})
	}
	t.Run("Asterisk.Ping", func(t *testing.T) {
		p, err := nc.Asterisk.Ping(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.AsteriskID != "n-a" || p.Ping != "pong" || p.Timestamp == "" {
			t.Errorf("ping = %+v, want asterisk_id n-a and pong", p)
		}
		if r := fake.take(); len(r) != 1 || r[0].Path != "/asterisk/info" {
			t.Errorf("ping went to Asterisk as %+v, want GET /asterisk/info", r)
		}
	})
}

// normalize makes JSON bodies comparable.
func normalize(rs []seen) []seen {
	out := make([]seen, len(rs))
	for i, r := range rs {
		if r.Body != "" {
			var v any
			if json.Unmarshal([]byte(r.Body), &v) == nil {
				b, _ := json.Marshal(v)
				r.Body = string(b)
			}
		}
		out[i] = r
	}
	return out
}

// TestNATSChoosesIDs: a create that enters Stasis without an id gets one
// from the transport, so its StasisStart is known to be this instance's.
func TestNATSChoosesIDs(t *testing.T) {
	fake := newFakeARI(t, "eid-a")
	c := newCluster(t, 0, t.TempDir())
	c.proxy(fake, "napp", "n-a")
	cl, tr := c.client("napp", "app", 1, natstransport.Options{})
	fake.take()
	ch, err := cl.Channels.Create(context.Background(), ari.CreateParams{Endpoint: "PJSIP/bob", App: "napp"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(ch.ID), "n") || ch.ID == "asterisk-chose" {
		t.Fatalf("created channel %q, want an id chosen by the transport", ch.ID)
	}
	r := fake.take()
	if len(r) != 1 || r[0].Query.Get("channelId") != string(ch.ID) {
		t.Fatalf("Asterisk got %+v, want channelId=%s", r, ch.ID)
	}
	if n := tr.NodeOf("channel", string(ch.ID)); n != "n-a" {
		t.Errorf("NodeOf(%s) = %q, want n-a", ch.ID, n)
	}
}

// TestNATSErrors: Asterisk's refusals come back as the same ari.Error.
func TestNATSErrors(t *testing.T) {
	fake := newFakeARI(t, "eid-a")
	fake.script(func(s seen) (int, string, bool) {
		switch {
		case strings.Contains(s.Path, "missing"):
			return http.StatusNotFound, `{"message":"Channel not found"}`, true
		case strings.Contains(s.Path, "busy"):
			return http.StatusConflict, `{"message":"Channel not in Stasis application"}`, true
		case strings.HasSuffix(s.Path, "/addChannel"):
			return http.StatusUnprocessableEntity, `{"message":"Channel not in Stasis application"}`, true
		case strings.Contains(s.Path, "hungup"):
			return http.StatusPreconditionFailed, `{"message":"Channel in invalid state"}`, true
		case strings.Contains(s.Path, "bad"):
			return http.StatusBadRequest, `{"message":"Missing parameter"}`, true
		}
		return 0, "", false
	})
	c := newCluster(t, 0, t.TempDir())
	c.proxy(fake, "napp", "n-a")
	cl, _ := c.client("napp", "app", 1, natstransport.Options{})
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func() error
		status int
		msg    string
		is     error
	}{
		{"not found", func() error { return cl.Channels.Answer(ctx, "missing") }, 404, "Channel not found", ari.ErrNotFound},
		{"not found get", func() error { _, err := cl.Channels.Get(ctx, "missing"); return err }, 404, "Channel not found", ari.ErrNotFound},
		{"conflict", func() error { return cl.Channels.Answer(ctx, "busy") }, 409, "Channel not in Stasis application", ari.ErrConflict},
		{"unprocessable", func() error {
			return cl.Bridges.AddChannel(ctx, "b", ari.AddChannelParams{Channels: []ari.ChannelID{"x"}})
		}, 422, "Channel not in Stasis application", ari.ErrUnprocessable},
		{"precondition", func() error { return cl.Channels.Ring(ctx, "hungup") }, 412, "Channel in invalid state", ari.ErrPreconditionFailed},
		{"bad request", func() error { return cl.Channels.Hold(ctx, "bad") }, 400, "Missing parameter", ari.ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae *ari.Error
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *ari.Error", err)
			}
			if ae.Status != tt.status || ae.Message != tt.msg || !errors.Is(err, tt.is) {
				t.Errorf("err = %d %q, want %d %q", ae.Status, ae.Message, tt.status, tt.msg)
			}
		})
	}
	if err := cl.Channels.Answer(ctx, "busy"); !ari.IsNotInStasis(err) {
		t.Errorf("IsNotInStasis(%v) = false", err)
	}
}

// TestNATSStasisStartOnce: of two instances, exactly one gets each new
// call's StasisStart; both get the other events; the StasisStart of a
// channel an instance created goes to that instance only.
func TestNATSStasisStartOnce(t *testing.T) {
	fake := newFakeARI(t, "eid-a")
	c := newCluster(t, 0, t.TempDir())
	c.proxy(fake, "napp", "n-a")
	type rec struct {
		mu     sync.Mutex
		starts map[ari.ChannelID]int
		states map[ari.ChannelID]int
	}
	record := func(cl *ari.Client) *rec {
		r := &rec{starts: map[ari.ChannelID]int{}, states: map[ari.ChannelID]int{}}
		sub := cl.Subscribe(ari.Filter{})
		go func() {
			for ev := range sub.Events() {
				r.mu.Lock()
				switch e := ev.(type) {
				case *ari.StasisStart:
					r.starts[e.Channel.ID]++
				case *ari.ChannelStateChange:
					r.states[e.Channel.ID]++
				}
				r.mu.Unlock()
			}
		}()
		t.Cleanup(sub.Close)
		return r
	}
	a, _ := c.client("napp", "a", 1, natstransport.Options{})
	b, _ := c.client("napp", "b", 1, natstransport.Options{})
	ra, rb := record(a), record(b)

	const calls = 20
	for i := range calls {
		id := fmt.Sprintf("n-in-%d", i)
		fake.push(t, map[string]any{"type": "StasisStart", "application": "napp", "args": []string{"default", "201"},
			"channel": map[string]any{"id": id, "name": "PJSIP/alice-" + id, "state": "Ring"}})
		fake.push(t, map[string]any{"type": "ChannelStateChange", "application": "napp",
			"channel": map[string]any{"id": id, "name": "PJSIP/alice-" + id, "state": "Up"}})
	}
	// a creates a channel; its StasisStart must reach a, never b.
	created, err := a.Channels.Create(context.Background(), ari.CreateParams{Endpoint: "PJSIP/bob", App: "napp", ChannelID: "n-out"})
	if err != nil {
		t.Fatal(err)
	}
	fake.push(t, map[string]any{"type": "StasisStart", "application": "napp", "args": []string{"dialed"},
		"channel": map[string]any{"id": string(created.ID), "name": "PJSIP/bob-1", "state": "Down"}})

	waitUntil(t, 10*time.Second, func() error {
		ra.mu.Lock()
		defer ra.mu.Unlock()
		rb.mu.Lock()
		defer rb.mu.Unlock()
		for i := range calls {
			id := ari.ChannelID(fmt.Sprintf("n-in-%d", i))
			if n := ra.starts[id] + rb.starts[id]; n != 1 {
				return fmt.Errorf("%s: %d StasisStart in all, want 1", id, n)
			}
			if ra.states[id] != 1 || rb.states[id] != 1 {
				return fmt.Errorf("%s: ChannelStateChange a=%d b=%d, want 1 each", id, ra.states[id], rb.states[id])
			}
		}
		if ra.starts["n-out"] != 1 || rb.starts["n-out"] != 0 {
			return fmt.Errorf("created channel's StasisStart a=%d b=%d, want 1 and 0", ra.starts["n-out"], rb.starts["n-out"])
		}
		return nil
	})
	ra.mu.Lock()
	na := len(ra.starts)
	ra.mu.Unlock()
	t.Logf("new calls: instance a got %d, b got %d", na-1, calls-(na-1))
}

// TestNATSNodeAddressing: with two proxies, operations on a resource go to
// the proxy of its node, creates to the node asked for, an unknown
// resource is asked of both, and joining resources of two nodes is refused.
func TestNATSNodeAddressing(t *testing.T) {
	fa, fb := newFakeARI(t, "eid-a"), newFakeARI(t, "eid-b")
	c := newCluster(t, 0, t.TempDir())
	c.proxy(fa, "napp", "n-a")
	c.proxy(fb, "napp", "n-b")
	cl, tr := c.client("napp", "app", 2, natstransport.Options{})
	fa.take()
	fb.take()
	ctx := context.Background()

	// Creates go where ari.WithNode says.
	if _, err := cl.Bridges.Create(ari.WithNode(ctx, "n-b"), ari.BridgeParams{ID: "n-bb", Type: "mixing"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Channels.Create(ari.WithNode(ctx, "n-a"), ari.CreateParams{Endpoint: "PJSIP/x", App: "napp", ChannelID: "n-ca"}); err != nil {
		t.Fatal(err)
	}
	if got := paths(fa.take()); !cmp.Equal(got, []string{"POST /channels/create"}) {
		t.Errorf("node a got %v", got)
	}
	if got := paths(fb.take()); !cmp.Equal(got, []string{"POST /bridges/n-bb"}) {
		t.Errorf("node b got %v", got)
	}
	if tr.NodeOf("bridge", "n-bb") != "n-b" || tr.NodeOf("channel", "n-ca") != "n-a" {
		t.Fatalf("nodes learnt: bridge %q channel %q", tr.NodeOf("bridge", "n-bb"), tr.NodeOf("channel", "n-ca"))
	}

	// Commands go to the owner only.
	if err := cl.Channels.Answer(ctx, "n-ca"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Bridges.StartMOH(ctx, "n-bb", ""); err != nil {
		t.Fatal(err)
	}
	if got := paths(fa.take()); !cmp.Equal(got, []string{"POST /channels/n-ca/answer"}) {
		t.Errorf("node a got %v", got)
	}
	if got := paths(fb.take()); !cmp.Equal(got, []string{"POST /bridges/n-bb/moh"}) {
		t.Errorf("node b got %v", got)
	}

	// A channel learnt from an event goes to its node.
	fb.push(t, map[string]any{"type": "StasisStart", "application": "napp", "args": []string{},
		"channel": map[string]any{"id": "n-ev", "name": "PJSIP/y", "state": "Ring"}})
	waitUntil(t, 5*time.Second, func() error {
		if n := tr.NodeOf("channel", "n-ev"); n != "n-b" {
			return fmt.Errorf("NodeOf(n-ev) = %q", n)
		}
		return nil
	})
	if err := cl.Channels.Hangup(ctx, "n-ev", ""); err != nil {
		t.Fatal(err)
	}
	if got := paths(fb.take()); !cmp.Equal(got, []string{"DELETE /channels/n-ev"}) {
		t.Errorf("node b got %v", got)
	}
	if got := fa.take(); len(got) != 0 {
		t.Errorf("node a got %v", paths(got))
	}

	// An unknown channel is asked of every node; the one that has it wins.
	fa.script(func(s seen) (int, string, bool) {
		if strings.Contains(s.Path, "n-unknown") {
			return http.StatusNotFound, `{"message":"Channel not found"}`, true
		}
		return 0, "", false
	})
	if err := cl.Channels.Ring(ctx, "n-unknown"); err != nil {
		t.Fatal(err)
	}
	// The broadcast returns at n-b's success; n-a's "not found" may still
	// be on its way (on a loaded machine, well after): wait for it.
	var askedA, askedB int
	waitUntil(t, 5*time.Second, func() error {
		askedA, askedB = askedA+len(fa.take()), askedB+len(fb.take())
		if askedA != 1 || askedB != 1 {
			return fmt.Errorf("an unknown channel was asked of node a %d times, of node b %d times, want once each", askedA, askedB)
		}
		return nil
	})
	if n := tr.NodeOf("channel", "n-unknown"); n != "n-b" {
		t.Errorf("NodeOf(n-unknown) = %q after a broadcast answered by n-b", n)
	}

	// A playback on a channel goes to the channel's node, not to the queue.
	if _, err := cl.Channels.Play(ctx, "n-ca", ari.PlayParams{Media: []string{"sound:beep"}, PlaybackID: "n-pb"}); err != nil {
		t.Fatal(err)
	}
	if got := paths(fa.take()); !cmp.Equal(got, []string{"POST /channels/n-ca/play/n-pb"}) {
		t.Errorf("node a got %v", got)
	}

	// Bridging across nodes is refused without asking anyone.
	err := cl.Bridges.AddChannel(ctx, "n-bb", ari.AddChannelParams{Channels: []ari.ChannelID{"n-ca"}})
	if ari.StatusOf(err) != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "two nodes") {
		t.Errorf("cross-node AddChannel: %v, want 422 naming two nodes", err)
	}
	if _, err := cl.Channels.Create(ari.WithNode(ctx, "n-b"), ari.CreateParams{Endpoint: "PJSIP/x", App: "napp",
		ChannelID: "n-cx", Originator: "n-ca"}); ari.StatusOf(err) != http.StatusUnprocessableEntity {
		t.Errorf("create on n-b with an originator on n-a: %v, want 422", err)
	}
	if len(fa.take())+len(fb.take()) != 0 {
		t.Error("a refused cross-node call reached a proxy")
	}

	// Lists gather every node.
	fa.script(nil)
	fa.script(func(s seen) (int, string, bool) {
		if s.Path == "/channels" {
			return 200, `[{"id":"n-ca","name":"PJSIP/x","state":"Up"}]`, true
		}
		return 0, "", false
	})
	fb.script(func(s seen) (int, string, bool) {
		if s.Path == "/channels" {
			return 200, `[{"id":"n-ev","name":"PJSIP/y","state":"Up"}]`, true
		}
		return 0, "", false
	})
	chans, err := cl.Channels.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(chans) != 2 {
		t.Errorf("Channels.List = %v, want the channels of both nodes", chans)
	}

	// The channel is forgotten when destroyed.
	fb.push(t, map[string]any{"type": "ChannelDestroyed", "application": "napp", "cause": 16, "cause_txt": "Normal",
		"channel": map[string]any{"id": "n-ev", "name": "PJSIP/y", "state": "Down"}})
	waitUntil(t, 5*time.Second, func() error {
		if n := tr.NodeOf("channel", "n-ev"); n != "" {
			return fmt.Errorf("NodeOf(n-ev) = %q after ChannelDestroyed", n)
		}
		return nil
	})
}

func paths(rs []seen) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// freePort returns a free loopback TCP port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestNATSServerRestart: the NATS server stops and comes back on the same
// port; the client's stream reports the gap (Disconnected, then
// Reconnected) and requests work again.
func TestNATSServerRestart(t *testing.T) {
	port, dir := freePort(t), t.TempDir()
	fake := newFakeARI(t, "eid-a")
	c := newCluster(t, port, dir)
	c.proxy(fake, "napp", "n-a")
	cl, _ := c.client("napp", "app", 1, natstransport.Options{})
	sub := cl.Subscribe(ari.Filter{})
	defer sub.Close()
	ctx := context.Background()
	if err := cl.Channels.Answer(ctx, "n-1"); err != nil {
		t.Fatal(err)
	}

	c.srv.Shutdown()
	c.srv = nil
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err := cl.Channels.Answer(rctx, "n-1")
	cancel()
	if err == nil {
		t.Fatal("a request succeeded with the NATS server down")
	}
	t.Logf("while down: %v", err)
	time.Sleep(time.Second)

	srv, err := natsbus.StartEmbedded(natsbus.Options{Port: port, Dir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	c.srv = srv
	waitUntil(t, 15*time.Second, func() error {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return cl.Channels.Answer(rctx, "n-1")
	})
	t.Logf("requests work again %s after the server stopped", time.Since(start).Round(time.Millisecond))

	var sawDown, sawUp bool
	deadline := time.After(15 * time.Second)
	for !sawUp {
		select {
		case ev := <-sub.Events():
			switch ev.(type) {
			case *ari.Disconnected:
				sawDown = true
			case *ari.Reconnected:
				sawUp = true
			}
		case <-deadline:
			t.Fatalf("no Reconnected event (Disconnected seen: %v)", sawDown)
		}
	}
	if !sawDown {
		t.Error("Reconnected without Disconnected")
	}
	// Events flow again through the reconnected stream.
	fake.push(t, map[string]any{"type": "ChannelStateChange", "application": "napp",
		"channel": map[string]any{"id": "n-1", "name": "PJSIP/z", "state": "Up"}})
	for {
		select {
		case ev := <-sub.Events():
			if _, ok := ev.(*ari.ChannelStateChange); ok {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no event after the restart")
		}
	}
}

// TestNATSDialogsOnly: with DialogsOnly, the instance that wins a new call
// follows it on the call's dialog and receives its events; the other
// instance receives none of them. Requests tagged with ari.WithDialog bind
// what they create to the dialog.
func TestNATSDialogsOnly(t *testing.T) {
	fake := newFakeARI(t, "eid-a")
	c := newCluster(t, 0, t.TempDir())
	c.proxy(fake, "napp", "n-a")
	a, ta := c.client("napp", "a", 1, natstransport.Options{DialogsOnly: true})
	b, tb := c.client("napp", "b", 1, natstransport.Options{DialogsOnly: true})
	count := func(cl *ari.Client) (func() map[string]int, func()) {
		var mu sync.Mutex
		n := map[string]int{}
		sub := cl.Subscribe(ari.Filter{})
		go func() {
			for ev := range sub.Events() {
				mu.Lock()
				n[ev.GetType()]++
				mu.Unlock()
			}
		}()
		return func() map[string]int {
			mu.Lock()
			defer mu.Unlock()
			return maps.Clone(n)
		}, sub.Close
	}
	ca, closeA := count(a)
	defer closeA()
	cb, closeB := count(b)
	defer closeB()

	fake.push(t, map[string]any{"type": "StasisStart", "application": "napp", "args": []string{},
		"channel": map[string]any{"id": "n-call", "name": "PJSIP/alice", "state": "Ring"}})
	var winner *ari.Client
	var wt *natstransport.Transport
	waitUntil(t, 5*time.Second, func() error {
		switch {
		case ca()["StasisStart"] == 1 && slices.Contains(ta.Dialogs(), "n-call"):
			winner, wt = a, ta
		case cb()["StasisStart"] == 1 && slices.Contains(tb.Dialogs(), "n-call"):
			winner, wt = b, tb
		default:
			return errors.New("no instance followed the new call")
		}
		return nil
	})
	// The bind is asynchronous; wait until the proxy publishes on the
	// dialog, then check only the winner gets the call's events.
	ctx := ari.WithDialog(context.Background(), "n-call")
	if _, err := winner.Bridges.Create(ctx, ari.BridgeParams{ID: "n-call-b", Type: "mixing"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, func() error {
		fake.push(t, map[string]any{"type": "ChannelStateChange", "application": "napp",
			"channel": map[string]any{"id": "n-call", "name": "PJSIP/alice", "state": "Up"}})
		if wt == ta && ca()["ChannelStateChange"] > 0 || wt == tb && cb()["ChannelStateChange"] > 0 {
			return nil
		}
		return errors.New("the winner got no ChannelStateChange on the call's dialog")
	})
	fake.push(t, map[string]any{"type": "BridgeDestroyed", "application": "napp",
		"bridge": map[string]any{"id": "n-call-b", "bridge_type": "mixing", "channels": []string{}}})
	waitUntil(t, 5*time.Second, func() error {
		w, l := ca(), cb()
		if wt == tb {
			w, l = l, w
		}
		if w["BridgeDestroyed"] != 1 {
			return fmt.Errorf("winner events %v: the bridge created with ari.WithDialog was not followed", w)
		}
		if l["StasisStart"]+l["ChannelStateChange"]+l["BridgeDestroyed"] != 0 {
			return fmt.Errorf("the other instance got the call's events: %v", l)
		}
		return nil
	})
}
