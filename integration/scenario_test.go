package integration

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/integration/faultproxy"
)

// scenario is one test's transferd: its own Stasis application, account and
// id prefix (tag), running in this process against the shared Asterisk.
type scenario struct {
	t      *testing.T
	ctx    context.Context
	tag    string
	cfg    app.Config
	app    *app.App
	client *ari.Client
	stop   func()
	logs   *guardedWriter
	hooks  app.Hooks
	// proxy, when set, stands between transferd and ARI (see
	// newProxiedScenario); client then talks to Asterisk directly, so the
	// test sees Asterisk's truth even while ARI is cut for transferd.
	proxy *faultproxy.Proxy
	// ariOfApp is transferd's own ARI client (behind the proxy if any).
	ariOfApp *ari.Client
}

// guardedWriter passes log lines to the test until the test ends, then
// drops them (testing panics on a log after the test).
type guardedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *guardedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *guardedWriter) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

const account = "acct"

// tagRuns counts the scenarios started with each tag in this process.
var tagRuns = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

// runTag is the tag a scenario runs under: its own the first time, then
// with the run's number (go test -count=N, the way to repeat a test under
// load). Everything of a run is named after its tag (channel ids, the
// Stasis application, the phones' registry), and a late event of an
// earlier run's channel must not reach this run's phone of the same name.
func runTag(tag string) string {
	tagRuns.Lock()
	defer tagRuns.Unlock()
	tagRuns.n[tag]++
	if n := tagRuns.n[tag]; n > 1 {
		return fmt.Sprintf("%sr%d", tag, n)
	}
	return tag
}

// testConfig is transferd's configuration for a test: short timers so the
// suite runs in minutes, the test's tag on every leg it dials.
func testConfig(tag string) app.Config {
	cfg := app.DefaultConfig()
	cfg.ARI.URL = sandbox.URL()
	cfg.ARI.Password = ari.Secret(sandbox.Password)
	cfg.ARI.App = "td-" + tag
	cfg.HTTP.Listen = ""
	acct := cfg.Defaults
	acct.DialTemplate = "Local/{number}@transferd-test-phones/n"
	acct.DialTimeout = 20 * time.Second
	acct.Variables = map[string]string{"TD_TEST": tag}
	// Long enough for a loaded machine: digits sent 100-200 ms apart were
	// seen reaching Asterisk 2.4 s apart (its own timestamps) with the
	// load average above 100; codes the tests want resolved early end
	// with '#'.
	acct.Metaflows.DigitTimeout = 4 * time.Second
	acct.Transfer.NoAnswerTimeout = 8 * time.Second
	acct.Transfer.LoopDelay = 500 * time.Millisecond
	acct.Transfer.CallbackRetries = 1
	cfg.Accounts = map[string]app.AccountConfig{account: acct}
	return cfg
}

// newScenario starts transferd for the test. tweak may change the account.
func newScenario(t *testing.T, tag string, tweak func(*app.AccountConfig)) *scenario {
	t.Helper()
	return startScenario(t, tag, tweak, nil)
}

// newProxiedScenario is newScenario with a fault proxy between transferd
// and ARI (its REST requests and its event websocket): the test cuts,
// delays and heals ARI for transferd with the returned proxy, while
// s.client and the phones keep talking to Asterisk directly.
func newProxiedScenario(t *testing.T, tag string, tweak func(*app.AccountConfig)) (*scenario, *faultproxy.Proxy) {
	t.Helper()
	p, err := faultproxy.NewForURL(sandbox.URL())
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it closes after transferd has stopped.
	t.Cleanup(func() { p.Close() })
	return startScenario(t, tag, tweak, p), p
}

func startScenario(t *testing.T, tag string, tweak func(*app.AccountConfig), proxy *faultproxy.Proxy) *scenario {
	t.Helper()
	tag = runTag(tag)
	return startScenarioHooks(t, tag, tweak, proxy, app.Hooks{})
}

// startScenarioHooks is startScenario with transferd's hooks (the event
// stream's hub, the metrics) given to the test.
func startScenarioHooks(t *testing.T, tag string, tweak func(*app.AccountConfig), proxy *faultproxy.Proxy, hooks app.Hooks) *scenario {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cfg := testConfig(tag)
	if tweak != nil {
		a := cfg.Accounts[account]
		tweak(&a)
		cfg.Accounts[account] = a
	}
	s := &scenario{t: t, ctx: ctx, tag: tag, cfg: cfg, logs: &guardedWriter{w: zerolog.NewTestWriter(t)}, proxy: proxy, hooks: hooks}
	// Cleanups run last-registered first, each even when an earlier one
	// failed: the leak checks, then stopping transferd, then silencing its
	// log (goroutines that outlive the test must not log to it).
	t.Cleanup(s.logs.close)
	t.Cleanup(func() {
		if s.stop != nil {
			s.stop()
		}
		cancel()
	})
	s.start(ctx)
	t.Cleanup(func() {
		checkNoLeaks(t, s.client, tag)
		s.noPlaybacks()
	})
	return s
}

// start runs a transferd instance (again, after a simulated restart).
func (s *scenario) start(ctx context.Context) {
	t := s.t
	if s.app != nil {
		// A restart: Asterisk must be done with the stopped instance's
		// event websocket first. When it shuts a websocket session down
		// it unregisters the session's application by name, even if a
		// newer session registered it meanwhile: under load the old
		// session's end came after the new connection, the application
		// went deaf, and the restarted transferd never heard a hangup.
		s.waitNoEventSession(ctx)
	}
	url := s.cfg.ARI.URL
	if s.proxy != nil {
		url = s.proxy.RewriteURL(url)
	}
	tr, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: url, Username: s.cfg.ARI.Username, Password: s.cfg.ARI.Password})
	if err != nil {
		t.Fatal(err)
	}
	client, err := ari.New(ari.Options{Transport: tr, Apps: []string{s.cfg.ARI.App}})
	if err != nil {
		t.Fatal(err)
	}
	log := zerolog.New(s.logs).Level(zerolog.DebugLevel).With().Timestamp().Logger()
	a, err := app.New(s.cfg, client, log, s.hooks)
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Run(actx); err != nil {
			t.Logf("app.Run: %v", err)
		}
	}()
	s.app, s.client, s.ariOfApp = a, client, client
	if s.proxy != nil {
		if s.client, err = newClient(); err != nil {
			t.Fatal(err)
		}
	}
	s.stop = func() { cancel(); <-done }
	select {
	case <-client.Connected():
	case <-time.After(10 * time.Second):
		t.Fatal("transferd never connected")
	}
}

// waitNoEventSession waits until Asterisk lists no event websocket session
// of the scenario's application.
func (s *scenario) waitNoEventSession(ctx context.Context) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error { return sessionHas(ctx, s.cfg.ARI.App, 0) })
}

// Party ids. The caller's handset is <tag>-<name>; transferd's call id is
// the half that entered it, <tag>-<name>-in; transferd names every other
// leg after the call id.
func (s *scenario) callID(caller string) ari.ChannelID {
	return InID(ari.ChannelID(s.tag + "-" + caller))
}

// talking sets up a call from caller to number, answered, and returns the
// caller's handset and the callee's phone.
func (s *scenario) talking(caller, callerNumber, number string) (*Phone, *Phone) {
	s.t.Helper()
	h, err := phones.Call(s.ctx, CallParams{Tag: s.tag, Name: caller, App: s.cfg.ARI.App, Account: account, Dest: number, Callback: callerNumber})
	if err != nil {
		s.t.Fatal(err)
	}
	callee := s.ring(number)
	if err := callee.Answer(s.ctx); err != nil {
		s.t.Fatal(err)
	}
	if _, err := h.WaitEvent(s.ctx, 0, "StasisStart", nil); err != nil {
		s.t.Fatalf("caller never answered: %v", err)
	}
	s.together(s.callID(caller), s.leg(callee))
	return h, callee
}

// ring waits for transferd to call number.
func (s *scenario) ring(number string) *Phone {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
	defer cancel()
	ph, err := phones.WaitRing(ctx, s.tag, number)
	if err != nil {
		s.t.Fatal(err)
	}
	return ph
}

// leg is the channel transferd holds for a dialed phone (the phone is its
// Local ;2 half, named <leg>-2).
func (s *scenario) leg(ph *Phone) ari.ChannelID {
	return ari.ChannelID(strings.TrimSuffix(string(ph.ID), "-2"))
}

// bridges returns the bridges of this test with their members.
func (s *scenario) bridges() map[ari.BridgeID]ari.Bridge {
	bs, err := s.client.Bridges.List(s.ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[ari.BridgeID]ari.Bridge{}
	for _, b := range bs {
		if strings.HasPrefix(string(b.ID), s.tag+"-") {
			out[b.ID] = b
		}
	}
	return out
}

func describe(bs map[ari.BridgeID]ari.Bridge) string {
	var parts []string
	for id, b := range bs {
		chs := make([]string, len(b.Channels))
		for i, c := range b.Channels {
			chs[i] = string(c)
		}
		sort.Strings(chs)
		parts = append(parts, fmt.Sprintf("%s(%s)[%s]", id, b.BridgeType, strings.Join(chs, " ")))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// together waits until exactly these channels share a mixing bridge.
func (s *scenario) together(chs ...ari.ChannelID) {
	s.t.Helper()
	s.inBridge("mixing", "alone together in a mixing bridge", chs)
}

// held waits until exactly these channels are in a holding bridge.
func (s *scenario) held(chs ...ari.ChannelID) {
	s.t.Helper()
	s.inBridge("holding", "on hold in a holding bridge", chs)
}

// inBridge waits until exactly chs are the members of a bridge of kind.
func (s *scenario) inBridge(kind, what string, chs []ari.ChannelID) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		bs := s.bridges()
		for _, b := range bs {
			if b.BridgeType == kind && sameSet(b.Channels, chs) {
				return nil
			}
		}
		return fmt.Errorf("want %v %s; bridges: %s", chs, what, describe(bs))
	})
}

// noHoldBridge waits until the test has no holding bridge left.
func (s *scenario) noHoldBridge() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		for _, b := range s.bridges() {
			if b.BridgeType == "holding" {
				return fmt.Errorf("holding bridge %s still there with %v", b.ID, b.Channels)
			}
		}
		return nil
	})
}

func sameSet(have []ari.ChannelID, want []ari.ChannelID) bool {
	if len(have) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// hears waits for audio to reach the phone (talk detection must be on).
func (s *scenario) hears(ph *Phone, from int, what string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if _, err := ph.WaitEvent(ctx, from, "ChannelTalkingStarted", nil); err != nil {
		s.t.Fatalf("%s does not hear %s: %v", ph.ID, what, err)
	}
}

// silent waits for the audio reaching the phone to stop.
func (s *scenario) silent(ph *Phone, from int, what string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if _, err := ph.WaitEvent(ctx, from, "ChannelTalkingFinished", nil); err != nil {
		s.t.Fatalf("%s still hears %s: %v", ph.ID, what, err)
	}
}

// playing waits until a playback of media plays on channel.
func (s *scenario) playing(ch ari.ChannelID, media string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		pbs, err := s.playbacksOn(ch)
		if err != nil {
			return err
		}
		for _, p := range pbs {
			if p.MediaURI == media {
				return nil
			}
		}
		return fmt.Errorf("no %s playing on %s (playbacks %v)", media, ch, pbs)
	})
}

// playbacksOn lists playbacks whose target is the channel, using the ids
// transferd gives them (<transfer>-ringback-<n>, <transfer>-dialtone).
func (s *scenario) playbacksOn(ch ari.ChannelID) ([]ari.Playback, error) {
	var out []ari.Playback
	for _, c := range s.app.Calls(account) {
		var ids []ari.PlaybackID
		for k := 1; k <= 3; k++ {
			ids = append(ids, ari.PlaybackID(fmt.Sprintf("%s-x%d-dialtone", c.ID, k)))
		}
		if c.Transfer != nil {
			for n := 1; n <= 8; n++ {
				ids = append(ids, ari.PlaybackID(fmt.Sprintf("%s-ringback-%d", c.Transfer.ID, n)))
			}
		}
		for _, id := range ids {
			p, err := s.client.Playbacks.Get(s.ctx, id)
			if err == nil && p.TargetURI == "channel:"+string(ch) {
				out = append(out, *p)
			}
		}
	}
	return out, nil
}

// transferState waits until the call's transfer is in state (or, for
// "none", has finished with the given last outcome when outcome != "").
func (s *scenario) transferState(call ari.ChannelID, state string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		c := s.app.Call(string(call))
		if c == nil {
			return fmt.Errorf("call %s not found", call)
		}
		info := c.Info()
		if info.Transfer == nil {
			return fmt.Errorf("no transfer running (last: %+v)", info.LastTransfer)
		}
		if info.Transfer.State != state {
			return fmt.Errorf("transfer state %s, want %s", info.Transfer.State, state)
		}
		return nil
	})
}

// outcome waits until the call's last transfer finished with outcome.
func (s *scenario) outcome(call ari.ChannelID, outcome string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		info, ok := s.app.CallInfo(string(call))
		if !ok {
			return fmt.Errorf("call %s not found", call)
		}
		if info.Transfer != nil || info.LastTransfer == nil {
			return fmt.Errorf("transfer not finished: %+v", info.Transfer)
		}
		if info.LastTransfer.Outcome != outcome {
			return fmt.Errorf("outcome %s, want %s", info.LastTransfer.Outcome, outcome)
		}
		return nil
	})
}

// press sends digits from a phone.
func (s *scenario) press(ph *Phone, digits string) {
	s.t.Helper()
	if err := ph.Press(s.ctx, digits); err != nil {
		s.t.Fatalf("press %s on %s: %v", digits, ph.ID, err)
	}
}

func (s *scenario) hangup(ph *Phone) {
	s.t.Helper()
	if err := ph.Hangup(s.ctx, "normal"); err != nil {
		s.t.Fatalf("hangup %s: %v", ph.ID, err)
	}
}

func (s *scenario) listen(phs ...*Phone) {
	s.t.Helper()
	for _, ph := range phs {
		if err := ph.Listen(s.ctx); err != nil {
			s.t.Fatalf("talk detect on %s: %v", ph.ID, err)
		}
	}
}

// gone waits until the phone has hung up (or been hung up).
func (s *scenario) gone(ph *Phone) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		if !ph.Gone() {
			return fmt.Errorf("%s still up", ph.ID)
		}
		return nil
	})
}

// callGone waits until transferd has no call left for the test.
func (s *scenario) callGone() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		if n := len(s.app.Calls(account)); n != 0 {
			return fmt.Errorf("%d calls still live: %+v", n, s.app.Calls(account))
		}
		return nil
	})
}

// noPlaybacks checks that no playback transferd started on the test's call
// is left (ARI cannot list playbacks, so the ids transferd gives its
// ringbacks are probed: <call>-x<k>-ringback-<n>).
func (s *scenario) noPlaybacks() {
	s.t.Helper()
	if s.t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	call := s.callID("alice")
	for k := 1; k <= 3; k++ {
		ids := []ari.PlaybackID{ari.PlaybackID(fmt.Sprintf("%s-x%d-dialtone", call, k))}
		for n := 1; n <= 16; n++ {
			ids = append(ids, ari.PlaybackID(fmt.Sprintf("%s-x%d-ringback-%d", call, k, n)))
		}
		for _, id := range ids {
			if p, err := s.client.Playbacks.Get(ctx, id); err == nil {
				s.t.Errorf("playback %s (%s on %s) left playing", id, p.MediaURI, p.TargetURI)
			}
		}
	}
}
