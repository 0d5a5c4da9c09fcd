package integration

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/ari"
)

// appEvents is a test's own Stasis application and its recorded events.
type appEvents struct {
	client *ari.Client
	app    string
	ph     *Phone // reuses Phone's recorder for the app's events
}

func startApp(t *testing.T, ctx context.Context, app string) *appEvents {
	t.Helper()
	client, err := newClient(app)
	if err != nil {
		t.Fatal(err)
	}
	rec := &Phone{ID: ari.ChannelID(app), notify: make(chan struct{})}
	sub := client.Subscribe(ari.Filter{App: app})
	actx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = client.Run(actx) }()
	go func() {
		defer close(done)
		for {
			select {
			case <-actx.Done():
				return
			case ev := <-sub.Events():
				rec.record(ev)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done; sub.Close() })
	select {
	case <-client.Connected():
	case <-time.After(10 * time.Second):
		t.Fatalf("application %s never connected", app)
	}
	return &appEvents{client: client, app: app, ph: rec}
}

func onChannel(id ari.ChannelID) func(ari.Event) bool {
	return func(e ari.Event) bool { return slices.Contains(ari.ChannelsOf(e), id) }
}

func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestClientOnRealAsterisk: the client answers, bridges, moves a channel
// between a mixing and a holding bridge, starts and stops music on hold
// (heard by the handset), and receives DTMF sent through a Local handset.
// Not parallel: it counts Asterisk's Announcer channels, which other tests'
// music would change (sequential tests run before the parallel ones).
func TestClientOnRealAsterisk(t *testing.T) {
	ctx := within(t, 60*time.Second)
	tag := "cli"
	a := startApp(t, ctx, "cli-app")
	defer checkNoLeaks(t, a.client, tag)

	handset, err := phones.Call(ctx, CallParams{Tag: tag, Name: "alice", App: a.app, Account: "x", Dest: "1", Callback: "100"})
	if err != nil {
		t.Fatal(err)
	}
	in := InID(handset.ID)
	if _, err := a.ph.WaitEvent(ctx, 0, "StasisStart", onChannel(in)); err != nil {
		t.Fatal(err)
	}
	ch, err := a.client.Channels.Get(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if ch.State == "Up" {
		t.Fatalf("channel %s is Up before Answer", in)
	}
	if err := a.client.Channels.Answer(ctx, in); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	if _, err := handset.WaitEvent(ctx, 0, "StasisStart", nil); err != nil {
		t.Fatalf("handset did not enter its app after answer: %v", err)
	}

	mix, err := a.client.Bridges.Create(ctx, ari.BridgeParams{ID: ari.BridgeID(tag + "-mix"), Type: "mixing,dtmf_events"})
	if err != nil {
		t.Fatal(err)
	}
	hold, err := a.client.Bridges.Create(ctx, ari.BridgeParams{ID: ari.BridgeID(tag + "-hold"), Type: "holding"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.client.Bridges.AddChannel(ctx, mix.ID, ari.AddChannelParams{Channels: []ari.ChannelID{in}, AbsorbDTMF: true}); err != nil {
		t.Fatal(err)
	}
	waitIn(t, ctx, a.client, mix.ID, in)

	// DTMF pressed on the handset reaches the app on the other half.
	mark := a.ph.Mark()
	if err := handset.Press(ctx, "5#"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"5", "#"} {
		if _, err := a.ph.WaitEvent(ctx, mark, "ChannelDtmfReceived", func(e ari.Event) bool {
			x := e.(*ari.ChannelDtmfReceived)
			return x.Channel.ID == in && x.Digit == d
		}); err != nil {
			t.Fatalf("digit %s: %v", d, err)
		}
	}

	// Move to the holding bridge and play music: the handset hears it.
	if err := handset.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.client.Bridges.AddChannel(ctx, hold.ID, ari.AddChannelParams{Channels: []ari.ChannelID{in}}); err != nil {
		t.Fatal(err)
	}
	waitIn(t, ctx, a.client, hold.ID, in)
	if b, _ := a.client.Bridges.Get(ctx, mix.ID); slices.Contains(b.Channels, in) {
		t.Fatalf("%s still in the mixing bridge after the move", in)
	}
	mark = handset.Mark()
	if err := a.client.Bridges.StartMOH(ctx, hold.ID, "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := handset.WaitEvent(ctx, mark, "ChannelTalkingStarted", nil); err != nil {
		t.Fatalf("music on hold not heard: %v", err)
	}
	// Bridge music plays through an Announcer/ channel that ARI does not
	// list: the CLI shows it.
	waitFor(t, ctx, func() error { return wantAnnouncers(ctx, 1) })
	mark = handset.Mark()
	if err := a.client.Bridges.StopMOH(ctx, hold.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() error { return wantAnnouncers(ctx, 0) })

	// Errors carry Asterisk's status and message.
	_, err = a.client.Channels.Get(ctx, "no-such-channel")
	if ari.StatusOf(err) != 404 || !strings.Contains(err.Error(), "Channel not found") {
		t.Fatalf("Get(no-such-channel) error = %v, want 404 Channel not found", err)
	}

	mark = a.ph.Mark()
	if err := handset.Hangup(ctx, "normal"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ph.WaitEvent(ctx, mark, "StasisEnd", onChannel(in)); err != nil {
		t.Fatal(err)
	}
	for _, b := range []ari.BridgeID{mix.ID, hold.ID} {
		if err := a.client.Bridges.Destroy(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
}

// waitIn waits until channel is a member of bridge.
func waitIn(t *testing.T, ctx context.Context, c *ari.Client, bridge ari.BridgeID, channel ari.ChannelID) {
	t.Helper()
	waitFor(t, ctx, func() error {
		b, err := c.Bridges.Get(ctx, bridge)
		if err != nil {
			return err
		}
		if !slices.Contains(b.Channels, channel) {
			return errorf("bridge %s has %v, want %s in it", bridge, b.Channels, channel)
		}
		return nil
	})
}

// TestClientSurvivesAsteriskRestart runs its own Asterisk, restarts it under
// a connected client and checks the event stream comes back and says so.
func TestClientSurvivesAsteriskRestart(t *testing.T) {
	t.Parallel()
	ctx := within(t, 90*time.Second)
	sb, err := StartSandbox(ctx, SandboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Stop(context.Background())
	tr, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: sb.URL(), Username: ARIUser, Password: ari.Secret(sb.Password)})
	if err != nil {
		t.Fatal(err)
	}
	client, err := ari.New(ari.Options{Transport: tr, Apps: []string{"restart-app"}, Backoff: ari.Backoff{Min: 50 * time.Millisecond, Max: 500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	sub := client.Subscribe(ari.Filter{})
	defer sub.Close()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = client.Run(rctx) }()
	<-client.Connected()
	if err := sb.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	var sawDown bool
	for {
		select {
		case ev := <-sub.Events():
			switch e := ev.(type) {
			case *ari.Disconnected:
				sawDown = true
			case *ari.Reconnected:
				if !sawDown {
					t.Fatalf("Reconnected without a Disconnected first")
				}
				t.Logf("reconnected after %s in %d attempts", e.Down, e.Attempts)
				// The client works against the new Asterisk.
				if _, err := client.Asterisk.Ping(ctx); err != nil {
					t.Fatalf("ping after restart: %v", err)
				}
				return
			}
		case <-ctx.Done():
			t.Fatalf("no Reconnected event after the Asterisk restart (disconnected seen: %v)", sawDown)
		}
	}
}
