package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/ari"
)

// kill -9 sweeps (issue 10): the real transferd binary, a subprocess on the
// shared Asterisk, is killed with SIGKILL at a chosen millisecond after the
// final digit of a code, then started again. Each offset has its own call
// and its own transferd process (its own application name and port), so
// offsets run side by side and each kill is timed on its own call.
//
// The offset is measured from the final digit's ChannelDtmfReceived (for
// the completion by a hangup, the transferor's ChannelHangupRequest), the
// event transferd acts on: a watcher application subscribes to the
// caller's channel (POST /applications/{app}/subscription) and receives the
// same event from Asterisk; the kill is sent that many milliseconds after
// it arrives, and the offset reported is the kill's time minus the event's
// Asterisk timestamp (same host clock, millisecond precision). A
// calibration call logs how long after that event transferd's first
// effect shows in Asterisk, so the reader sees where the effect window lies.
//
// After the restart every call is judged by Asterisk (read directly): a
// caller stranded (alone on hold, alone in a bridge, next to a ringing leg
// nobody hears, a leg in no bridge) or dropped, transferd's API report
// differing from Asterisk, the outcome unknown to the API, and, once
// everyone hung up, bridges or channels left.
//
// `make test` sweeps every 4 ms (0, 4, ... 40: 11 offsets per sweep, one
// call each); `make sweep` (TRANSFERD_SWEEP=full) sweeps every millisecond
// from 0 to 40 ms (41 offsets per sweep).
//
// A sweep fails on any stranded, dropped, diverged, unknown or leaked call,
// and on an offset the harness could not run.

const (
	sweepToken  = "k-sweep-token"
	sweepMaxOff = 40 // ms
	// sweepParallel calls (and transferd processes) run at once.
	sweepParallel = 4
)

func sweepOffsets() []int {
	if os.Getenv("TRANSFERD_SWEEP") == "full" {
		return offsetsEvery(1)
	}
	return offsetsEvery(4)
}

func offsetsEvery(step int) []int {
	var all []int
	for o := 0; o <= sweepMaxOff; o += step {
		all = append(all, o)
	}
	return all
}

// proc is one transferd process.
type proc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// sweepRig holds what the calls of a sweep share: the binary, a REST
// client to Asterisk and the watcher application.
type sweepRig struct {
	t        *testing.T
	ctx      context.Context
	bin      string
	tag      string
	direct   *ari.Client
	watcher  *ari.Client
	watchApp string
	// lag is how long after SendDTMF returns Asterisk stamps the final
	// digit's ChannelDtmfReceived (measured by calibrate): kills are timed
	// from the request, so the watcher's delivery delay does not push them
	// late; the offset reported is measured from the event's stamp.
	lag time.Duration
}

func newSweepRig(t *testing.T, ctx context.Context, tag string) *sweepRig {
	t.Helper()
	r := &sweepRig{t: t, ctx: ctx, bin: buildTransferd(t, ctx), tag: tag, watchApp: "td-" + tag + "-watch"}
	var err error
	if r.direct, err = newClient(); err != nil {
		t.Fatal(err)
	}
	if r.watcher, err = newClient(r.watchApp); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.watcher.Run(wctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-r.watcher.Connected():
	case <-time.After(15 * time.Second):
		t.Fatal("the watcher application never connected")
	}
	return r
}

// sweepTransferd is the transferd process (and its successors) of one call.
type sweepTransferd struct {
	r      *sweepRig
	app    string
	listen string
	cfg    string
	procs  []*proc
}

func (r *sweepRig) transferd(name string) *sweepTransferd {
	t := r.t
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	x := &sweepTransferd{r: r, app: "td-" + r.tag + "-" + name, listen: fmt.Sprintf("127.0.0.1:%d", port)}
	cfg := fmt.Sprintf(`ari:
  url: %s
  username: %s
  password: %s
  app: %s
http:
  listen: %s
log:
  level: debug
defaults:
  dial_template: Local/{number}@transferd-test-phones/n
  dial_timeout: 60s
  variables: {TD_TEST: %s}
  metaflows:
    digit_timeout: 3s
  transfer:
    no_answer_timeout: 60s
    loop_delay: 1s
accounts:
  acct:
    tokens: [%q]
`, sandbox.URL(), ARIUser, sandbox.Password, x.app, x.listen, r.tag, sweepToken)
	x.cfg = filepath.Join(t.TempDir(), x.app+".yaml")
	if err := os.WriteFile(x.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range x.procs {
			x.kill(p)
		}
	})
	return x
}

// start runs transferd and waits until it is ready (/readyz: its ARI
// event stream is up and ARI answers).
func (x *sweepTransferd) start(ctx context.Context) (*proc, error) {
	t := x.r.t
	p := &proc{log: filepath.Join(t.TempDir(), fmt.Sprintf("%s-%d.log", x.app, len(x.procs)+1)), done: make(chan struct{})}
	lf, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(x.r.bin, "--config", x.cfg)
	p.cmd.Stdout, p.cmd.Stderr = lf, lf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	go func() { _ = p.cmd.Wait(); lf.Close(); close(p.done) }()
	x.procs = append(x.procs, p)
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("transferd exited at start:\n%s", x.logTail(20))
		default:
		}
		if resp, err := http.Get("http://" + x.listen + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("transferd %s did not come up", x.app)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logTail returns the last n lines of the newest process's log.
func (x *sweepTransferd) logTail(n int) string {
	if len(x.procs) == 0 {
		return "(no process)"
	}
	b, err := os.ReadFile(x.procs[len(x.procs)-1].log)
	if err != nil {
		return err.Error()
	}
	return lastLines(b, n)
}

func (x *sweepTransferd) kill(p *proc) {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// report GETs the call from the running transferd: nil when it says the
// call is over (404).
func (x *sweepTransferd) report(ctx context.Context, call ari.ChannelID) (*app.CallInfo, error) {
	return apiCallInfo(ctx, "http://"+x.listen, sweepToken, call)
}

// sweepCall is one call of a sweep, with its own transferd.
type sweepCall struct {
	offset            int // ms, wanted
	name              string
	x                 *sweepTransferd
	call              ari.ChannelID
	alice, bob, carol *Phone
	carolNum          string
	actual            time.Duration // the kill's time minus the final digit's event time
	verdict           sweepVerdict
}

type sweepVerdict struct {
	stranded []string
	dropped  []string // callers hung up by the crash
	diverged string   // report ≠ Asterisk after the settle time
	unknown  string   // the outcome the API does not know
	leaked   string   // left in Asterisk after everyone hung up
	err      string   // the harness could not run the offset
}

func (v sweepVerdict) ok() bool {
	return len(v.stranded) == 0 && len(v.dropped) == 0 && v.diverged == "" && v.unknown == "" && v.leaked == "" && v.err == ""
}

// retryStale runs a request again once when it failed on a kept-alive
// connection Asterisk had just closed (its HTTP session timeout): Go's
// client does not retry a POST by itself. The sweeps run many processes
// against one Asterisk, which makes that race likely; it is not what they
// test.
func retryStale(do func() error) error {
	err := do()
	if err != nil && (strings.Contains(err.Error(), "server closed idle connection") || strings.HasSuffix(err.Error(), ": EOF")) {
		err = do()
	}
	return err
}

func legOf(ph *Phone) ari.ChannelID { return ari.ChannelID(strings.TrimSuffix(string(ph.ID), "-2")) }

// talking sets up Alice → Bob for the call, answered.
func (r *sweepRig) talking(ctx context.Context, c *sweepCall, i int) error {
	bobNum := fmt.Sprintf("2%03d", i)
	c.carolNum = fmt.Sprintf("3%03d", i)
	var err error
	c.alice, err = phones.Call(ctx, CallParams{Tag: r.tag, Name: c.name, App: c.x.app, Account: account, Dest: bobNum, Callback: "1001"})
	if err != nil {
		return err
	}
	c.call = InID(c.alice.ID)
	if c.bob, err = phones.WaitRing(ctx, r.tag, bobNum); err != nil {
		return err
	}
	if err := retryStale(func() error { return c.bob.Answer(ctx) }); err != nil {
		return err
	}
	if _, err := c.alice.WaitEvent(ctx, 0, "StasisStart", nil); err != nil {
		return fmt.Errorf("%s never answered: %w", c.name, err)
	}
	return together(ctx, r.direct, c.call, legOf(c.bob))
}

// consulting has Alice transfer to Carol, who answers: Alice and Carol
// talk, Bob is held.
func (r *sweepRig) consulting(ctx context.Context, c *sweepCall) error {
	if err := c.alice.Press(ctx, "*2"+c.carolNum+"#"); err != nil {
		return err
	}
	var err error
	if c.carol, err = phones.WaitRing(ctx, r.tag, c.carolNum); err != nil {
		return err
	}
	if err := retryStale(func() error { return c.carol.Answer(ctx) }); err != nil {
		return err
	}
	return together(ctx, r.direct, c.call, legOf(c.carol))
}

// sweepKind is what a sweep kills across.
type sweepKind struct {
	name string
	// prepare brings a talking call to just before its final digit and
	// returns that digit ("" for a kind whose trigger is the hangup).
	prepare func(r *sweepRig, ctx context.Context, c *sweepCall) (string, error)
	// firstEffect is the bridge whose appearance (or disappearance) in
	// Asterisk shows transferd acted on the code, for the calibration.
	firstEffect func(c *sweepCall) (bridge ari.BridgeID, appears bool)
	// outcome says, from Asterisk's layout and the API's report after the
	// restart, what the API fails to know ("" when it knows).
	outcome func(c *sweepCall, info *app.CallInfo, l callLayout) string
	// mustStay are the callers nobody hung up in the scenario: the crash
	// must not drop them.
	mustStay func(c *sweepCall) []*Phone
	// hangup: the trigger is Alice hanging up (her ChannelHangupRequest),
	// not a digit.
	hangup bool
}

var codeSweep = sweepKind{
	name: "transfer code",
	prepare: func(r *sweepRig, ctx context.Context, c *sweepCall) (string, error) {
		return "#", c.alice.Press(ctx, "*2"+c.carolNum)
	},
	firstEffect: func(c *sweepCall) (ari.BridgeID, bool) { return ari.BridgeID(string(c.call) + "-x1-hold"), true },
	outcome: func(c *sweepCall, info *app.CallInfo, l callLayout) string {
		// Asterisk shows a transfer (a hold bridge or a target leg): the
		// API must show it.
		started := false
		for _, b := range l.bridges {
			if b.BridgeType == "holding" {
				started = true
			}
		}
		for id := range l.chans {
			if strings.Contains(string(id), "-x1-") {
				started = true
			}
		}
		if started && (info == nil || (info.Transfer == nil && info.LastTransfer == nil)) {
			return "Asterisk shows the transfer, the API does not"
		}
		return ""
	},
	mustStay: func(c *sweepCall) []*Phone { return []*Phone{c.alice, c.bob} },
}

var completeSweep = sweepKind{
	name: "completion",
	prepare: func(r *sweepRig, ctx context.Context, c *sweepCall) (string, error) {
		if err := r.consulting(ctx, c); err != nil {
			return "", err
		}
		return "4", c.alice.Press(ctx, "*")
	},
	firstEffect: func(c *sweepCall) (ari.BridgeID, bool) { return ari.BridgeID(string(c.call) + "-x1-hold"), false },
	outcome: func(c *sweepCall, info *app.CallInfo, l callLayout) string {
		// Bob and Carol together without Alice: completed; the API must
		// say so while their call lives.
		if _, aliceHere := l.chans[c.call]; aliceHere {
			return ""
		}
		if info == nil {
			return "Bob and Carol talk, the API says the call is over"
		}
		if info.LastTransfer == nil || info.LastTransfer.Outcome != "completed" {
			return fmt.Sprintf("Bob and Carol talk, the API's last transfer is %+v (transfer %+v)", info.LastTransfer, info.Transfer)
		}
		return ""
	},
	mustStay: func(c *sweepCall) []*Phone { return []*Phone{c.bob, c.carol} },
}

// trigger names what a kill is timed from.
func (k sweepKind) trigger() string {
	if k.hangup {
		return "transferor's hangup"
	}
	return "final digit"
}

// hangupSweep kills across the completion that Alice's hangup causes while
// she talks to Carol: the step that moves Bob back beside its write-ahead
// (rederivable), after taking her out of the call bridge. After the
// restart Bob and Carol must talk and the API say completed, whichever
// part of the step the crash cut off.
var hangupSweep = sweepKind{
	name: "completion by the transferor's hangup",
	prepare: func(r *sweepRig, ctx context.Context, c *sweepCall) (string, error) {
		return "", r.consulting(ctx, c)
	},
	firstEffect: completeSweep.firstEffect,
	outcome:     completeSweep.outcome,
	mustStay:    completeSweep.mustStay,
	hangup:      true,
}

// prefixSweep kills across the hold a code's prefix makes before its
// number (app/prehold.go): the digit is the 2 of *2. The number never
// comes; after the restart the call has no transfer, so Bob must be back
// with Alice and the hold bridge gone, whether the crash came before or
// after the snapshot that names it was written.
var prefixSweep = sweepKind{
	name: "transfer code's prefix",
	prepare: func(r *sweepRig, ctx context.Context, c *sweepCall) (string, error) {
		return "2", c.alice.Press(ctx, "*")
	},
	firstEffect: func(c *sweepCall) (ari.BridgeID, bool) { return ari.BridgeID(string(c.call) + "-x1-hold"), true },
	outcome: func(c *sweepCall, info *app.CallInfo, l callLayout) string {
		for _, b := range l.bridges {
			if b.BridgeType == "holding" {
				return fmt.Sprintf("hold bridge %s left with %v, and no transfer to own it", b.ID, b.Channels)
			}
		}
		return ""
	},
	mustStay: func(c *sweepCall) []*Phone { return []*Phone{c.alice, c.bob} },
}

func TestKillSweepCodePrefix(t *testing.T) {
	t.Parallel()
	runSweep(t, "kh", prefixSweep)
}

func TestKillSweepTransferCode(t *testing.T) {
	t.Parallel()
	runSweep(t, "kc", codeSweep)
}

func TestKillSweepCompletion(t *testing.T) {
	t.Parallel()
	runSweep(t, "kp", completeSweep)
}

func TestKillSweepHangupCompletion(t *testing.T) {
	t.Parallel()
	runSweep(t, "kg", hangupSweep)
}

func runSweep(t *testing.T, tag string, kind sweepKind) {
	ctx := within(t, 10*time.Minute)
	r := newSweepRig(t, ctx, tag)
	r.calibrate(kind)
	offsets := sweepOffsets()
	calls := make([]*sweepCall, len(offsets))
	for i, off := range offsets {
		calls[i] = &sweepCall{offset: off, name: fmt.Sprintf("o%02d", off)}
	}
	sem := make(chan struct{}, sweepParallel)
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r.sweepOne(kind, c, 100+i)
		}(i)
	}
	wg.Wait()
	sort.Slice(calls, func(i, j int) bool { return calls[i].actual < calls[j].actual })
	var stranded, dropped, diverged, unknown, leaked, failed []string
	for _, c := range calls {
		v := c.verdict
		at := fmt.Sprintf("%dms", c.actual.Milliseconds())
		for _, x := range []struct {
			bad  bool
			list *[]string
		}{{len(v.stranded) > 0, &stranded}, {len(v.dropped) > 0, &dropped}, {v.diverged != "", &diverged},
			{v.unknown != "", &unknown}, {v.leaked != "", &leaked}, {v.err != "", &failed}} {
			if x.bad {
				*x.list = append(*x.list, at)
			}
		}
		status := "ok"
		if !v.ok() {
			status = fmt.Sprintf("stranded=%v dropped=%v diverged=%q unknown=%q leaked=%q err=%q",
				v.stranded, v.dropped, v.diverged, v.unknown, v.leaked, v.err)
		}
		t.Logf("kill %3dms after the %s (wanted %2dms) %s: %s", c.actual.Milliseconds(), kind.trigger(), c.offset, c.name, status)
	}
	summary := fmt.Sprintf("kill -9 sweep across the %s: %d offsets; stranded %d %v; dropped %d %v; report≠Asterisk %d %v; outcome unknown to the API %d %v; leaked %d %v",
		kind.name, len(calls), len(stranded), stranded, len(dropped), dropped, len(diverged), diverged, len(unknown), unknown, len(leaked), leaked)
	t.Log(summary)
	if len(failed) > 0 {
		t.Errorf("the harness could not run offsets %v", failed)
	}
	if len(stranded)+len(dropped)+len(diverged)+len(unknown)+len(leaked) > 0 {
		t.Error(summary)
	}
}

// watchDigit subscribes the watcher to the call's caller channel and
// returns a function that sends the final digit (returning when the
// request returned) and one that waits for the Asterisk time of the
// digit's ChannelDtmfReceived as the watcher receives it. The
// subscription is made first, so the timed part is only the SendDTMF. For
// a sweep whose trigger is the hangup (digit ""), send hangs Alice's phone
// up and event waits for her leg's ChannelHangupRequest.
func (r *sweepRig) watchDigit(ctx context.Context, c *sweepCall, digit string) (send func() (time.Time, error), event func() (time.Time, error), err error) {
	evType, what := "ChannelDtmfReceived", "final digit "+digit
	trigger := func() error {
		return r.direct.Channels.SendDTMF(ctx, c.alice.ID, ari.DTMFParams{DTMF: digit, Duration: 80})
	}
	matches := func(ev ari.Event) bool {
		e, ok := ev.(*ari.ChannelDtmfReceived)
		return ok && e.Digit == digit && e.Channel.ID == c.call
	}
	if digit == "" {
		evType, what = "ChannelHangupRequest", "hangup"
		trigger = func() error { return r.direct.Channels.Hangup(ctx, c.alice.ID, "normal") }
		matches = func(ev ari.Event) bool {
			e, ok := ev.(*ari.ChannelHangupRequest)
			return ok && e.Channel.ID == c.call
		}
	}
	sub := r.watcher.Subscribe(ari.Filter{ChannelIDs: []ari.ChannelID{c.call}, Types: []string{evType}})
	if _, err := r.direct.Applications.Subscribe(ctx, r.watchApp, "channel:"+string(c.call)); err != nil {
		sub.Close()
		return nil, nil, err
	}
	done := func() {
		sub.Close()
		// After a hangup the channel, and its subscription, may be gone.
		_, _ = r.direct.Applications.Unsubscribe(context.WithoutCancel(ctx), r.watchApp, "channel:"+string(c.call))
	}
	send = func() (time.Time, error) {
		err := trigger()
		return time.Now(), err
	}
	event = func() (time.Time, error) {
		defer done()
		for {
			select {
			case ev := <-sub.Events():
				if matches(ev) {
					return ari.ParseTime(ev.GetTimestamp())
				}
			case <-ctx.Done():
				return time.Time{}, fmt.Errorf("%s of %s never seen: %w", what, c.name, ctx.Err())
			}
		}
	}
	return send, event, nil
}

// calibrate measures, on one call, how long after the final digit's event
// transferd's first effect shows in Asterisk.
func (r *sweepRig) calibrate(kind sweepKind) {
	t := r.t
	ctx, cancel := context.WithTimeout(r.ctx, 90*time.Second)
	defer cancel()
	c := &sweepCall{name: "cal"}
	c.x = r.transferd(c.name)
	if _, err := c.x.start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.talking(ctx, c, 99); err != nil {
		t.Fatal(err)
	}
	digit, err := kind.prepare(r, ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // the code's other digits arrive
	bridge, appears := kind.firstEffect(c)
	send, event, err := r.watchDigit(ctx, c, digit)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := send()
	if err != nil {
		t.Fatal(err)
	}
	at, err := event()
	if err != nil {
		t.Fatal(err)
	}
	r.lag = at.Sub(sent)
	t.Logf("calibration: the %s's event is stamped %s after its request returned", kind.trigger(), r.lag)
	for time.Since(at) < 5*time.Second {
		_, err := r.direct.Bridges.Get(ctx, bridge)
		if (err == nil) == appears {
			t.Logf("calibration: the %s's first effect (hold bridge %s) shows in Asterisk %s after the %s's event",
				kind.name, map[bool]string{true: "created", false: "destroyed"}[appears], time.Since(at).Round(time.Millisecond), kind.trigger())
			break
		}
		time.Sleep(time.Millisecond)
	}
	if v := r.finish(ctx, c); v != "" {
		t.Fatalf("calibration call: %s", v)
	}
	// Its process and its kept-alive ARI connections go: Asterisk's HTTP
	// server serves a bounded number of sessions.
	for _, p := range c.x.procs {
		c.x.kill(p)
	}
}

// finish hangs up every phone of the call and returns what of it stays in
// Asterisk after 10s ("" for nothing), cleaning that up by hand so other
// tests start from nothing.
func (r *sweepRig) finish(ctx context.Context, c *sweepCall) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, ph := range []*Phone{c.alice, c.bob, c.carol} {
		if ph != nil && !ph.Gone() {
			_ = ph.Hangup(ctx, "normal")
		}
	}
	// A target leg dialled but never answered has a phone too.
	for _, ph := range phones.PhonesOf(r.tag) {
		if strings.HasPrefix(string(ph.ID), string(c.call)+"-") && !ph.Gone() {
			_ = ph.Hangup(ctx, "normal")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := readLayout(ctx, r.direct, c.call)
		m := ""
		if err != nil {
			m = err.Error()
		} else {
			m = mismatch(nil, l)
		}
		if m == "" {
			return ""
		}
		if time.Now().After(deadline) {
			for id := range l.chans {
				_ = r.direct.Channels.Hangup(ctx, id, "normal")
			}
			for _, b := range l.bridges {
				_ = r.direct.Bridges.Destroy(ctx, b.ID)
			}
			return m
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sweepOne runs one offset: a call with its own transferd, killed offset
// ms after the final digit's event, restarted, judged, ended.
func (r *sweepRig) sweepOne(kind sweepKind, c *sweepCall, i int) {
	ctx, cancel := context.WithTimeout(r.ctx, 3*time.Minute)
	defer cancel()
	c.x = r.transferd(c.name)
	// The call's processes go as soon as it is judged: each holds ARI
	// connections, and Asterisk's HTTP server serves a bounded number of
	// sessions (41 idle processes made the last offsets' calls fail).
	defer func() {
		for _, p := range c.x.procs {
			c.x.kill(p)
		}
	}()
	fail := func(err error) { c.verdict.err = err.Error(); r.finish(ctx, c) }
	x := c.x
	victim, err := x.start(ctx)
	if err != nil {
		fail(err)
		return
	}
	if err := r.talking(ctx, c, i); err != nil {
		// Before any kill: what transferd did with the call says whose
		// fault it is (seen once beside another make test: the callee
		// never rang).
		fail(fmt.Errorf("%w; transferd's log ends: %s", err, x.logTail(15)))
		return
	}
	digit, err := kind.prepare(r, ctx, c)
	if err != nil {
		fail(err)
		return
	}
	send, event, err := r.watchDigit(ctx, c, digit)
	if err != nil {
		fail(err)
		return
	}
	time.Sleep(1500 * time.Millisecond) // the code's other digits arrive
	sent, err := send()
	if err != nil {
		fail(err)
		return
	}
	time.Sleep(time.Until(sent.Add(r.lag + time.Duration(c.offset)*time.Millisecond)))
	_ = victim.cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	<-victim.done
	at, err := event()
	if err != nil {
		fail(err)
		return
	}
	c.actual = killed.Sub(at)
	if _, err := c.x.start(ctx); err != nil {
		fail(err)
		return
	}
	restarted := time.Now()
	r.judge(ctx, kind, c, restarted)
	c.verdict.leaked = r.finish(ctx, c)
}

// sweepSettle is how long after the restart transferd may take to restore
// and reconcile a call before it is judged; sweepHold is how long the
// judged state must then last (beyond transferd's 3s orphan grace).
const (
	sweepSettle = 6 * time.Second
	sweepHold   = 4 * time.Second
)

// judge waits until Asterisk and transferd's report agree, nobody is
// stranded and the API knows the outcome, then checks it still holds
// sweepHold later and nobody was dropped.
func (r *sweepRig) judge(ctx context.Context, kind sweepKind, c *sweepCall, restarted time.Time) {
	check := func() (st []string, m, u string) {
		info, err := c.x.report(ctx, c.call)
		if err != nil {
			return nil, err.Error(), ""
		}
		l, err := readLayout(ctx, r.direct, c.call)
		if err != nil {
			return nil, err.Error(), ""
		}
		return stranded(l, c.call), mismatch(info, l), kind.outcome(c, info, l)
	}
	deadline := restarted.Add(sweepSettle)
	for {
		st, m, u := check()
		if len(st) == 0 && m == "" && u == "" {
			break
		}
		if time.Now().After(deadline) {
			c.verdict.stranded, c.verdict.diverged, c.verdict.unknown = st, m, u
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if c.verdict.ok() {
		time.Sleep(sweepHold)
		st, m, u := check()
		c.verdict.stranded, c.verdict.diverged, c.verdict.unknown = st, m, u
	}
	for _, ph := range kind.mustStay(c) {
		if ph == nil || ph.Gone() {
			c.verdict.dropped = append(c.verdict.dropped, string(ph.ID))
		}
	}
}
