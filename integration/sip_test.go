package integration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/app/httpapi"
	"github.com/transferd/transferd/ari"
)

// Tones the SIP phones send, far apart so Goertzel tells them apart.
const (
	toneAlice = 500.0
	toneBob   = 700.0
	toneCarol = 900.0
	toneDave  = 1100.0
)

// A person's key presses in the SIP scenarios (the fast input of macro
// keys is TestSIPpFastDTMF's): a loaded Asterisk that reads two of them
// late by up to 150 ms still sees them more than its 45 ms gap apart, so
// none is held back and reported twice.
const (
	keyDown = 100 * time.Millisecond
	keyGap  = 200 * time.Millisecond
)

var sipBlockPool = struct {
	sync.Mutex
	used [sipBlocks]bool
}{}

// sipScenario is a scenario whose parties are real SIP phones (SIPPhone):
// Alice, Bob, Carol and Dave of one endpoint block, registered to the
// sandbox, with transferd's dial template PJSIP/{number}.
type sipScenario struct {
	*scenario
	block                   int
	alice, bob, carol, dave *SIPPhone
}

func newSIPScenario(t *testing.T, tag string, tweak func(*app.AccountConfig)) *sipScenario {
	t.Helper()
	return newSIPScenarioIn(t, tag, -1, tweak)
}

// newSIPScenarioIn is newSIPScenario in phone block want (its numbers
// matter to the test), or in any free block when want is -1 (never one of
// the fast-DTMF test's blocks, so that test does not wait for others).
func newSIPScenarioIn(t *testing.T, tag string, want int, tweak func(*app.AccountConfig)) *sipScenario {
	t.Helper()
	return newSIPScenarioHooks(t, tag, want, tweak, app.Hooks{})
}

// newSIPScenarioHooks is newSIPScenarioIn with transferd's hooks.
func newSIPScenarioHooks(t *testing.T, tag string, want int, tweak func(*app.AccountConfig), hooks app.Hooks) *sipScenario {
	t.Helper()
	block := -1
	for deadline := time.Now().Add(2 * time.Minute); block < 0 && time.Now().Before(deadline); {
		sipBlockPool.Lock()
		for i, used := range sipBlockPool.used {
			if !used && (i == want || want < 0 && !sippBlock(i)) {
				block = i
				sipBlockPool.used[i] = true
				break
			}
		}
		sipBlockPool.Unlock()
		if block < 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if block < 0 {
		t.Fatalf("SIP phone block %d never free", want)
	}
	t.Cleanup(func() {
		sipBlockPool.Lock()
		sipBlockPool.used[block] = false
		sipBlockPool.Unlock()
	})
	s := &sipScenario{block: block}
	s.scenario = startScenarioHooks(t, tag, func(a *app.AccountConfig) {
		a.DialTemplate = "PJSIP/{number}"
		if tweak != nil {
			tweak(a)
		}
	}, nil, hooks)
	var err error
	tones := [sipBlockSize]float64{toneAlice, toneBob, toneCarol, toneDave}
	ps := [sipBlockSize]**SIPPhone{&s.alice, &s.bob, &s.carol, &s.dave}
	for i := range ps {
		*ps[i], err = NewSIPPhone(s.ctx, sandbox, SIPNumber(block, i), tones[i])
		if err != nil {
			t.Fatal(err)
		}
		ph := *ps[i]
		t.Cleanup(ph.Close)
	}
	// Registered after the phones' Close, so it runs before them: nothing
	// may be left up when the test ends.
	t.Cleanup(s.noSIPLeaks)
	return s
}

// num is the number of phone i of the scenario's block (0 Alice .. 3 Dave).
func (s *sipScenario) num(i int) string { return SIPNumber(s.block, i) }

// identity is how Asterisk names phone i in a connected-line update.
func (s *sipScenario) identity(i int) string {
	return fmt.Sprintf("%s <%s>", sipNames[i], s.num(i))
}

// headers route a phone's call into the scenario's transferd.
func (s *sipScenario) headers(extra ...string) map[string]string {
	h := map[string]string{"X-TD-App": s.cfg.ARI.App, "X-TD-Account": account}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

// call has from dial to's number through transferd; to answers. It returns
// both ends and transferd's call id.
func (s *sipScenario) call(from, to *SIPPhone, extra ...string) (*SIPCall, *SIPCall, string) {
	s.t.Helper()
	type res struct {
		c   *SIPCall
		err error
	}
	out := make(chan res, 1)
	go func() {
		c, err := from.Dial(s.ctx, to.Number, s.headers(extra...))
		out <- res{c, err}
	}()
	in := s.incoming(to)
	if err := in.Answer(s.ctx); err != nil {
		s.t.Fatal(err)
	}
	var r res
	select {
	case r = <-out:
	case <-time.After(15 * time.Second):
		s.t.Fatal("the call was never answered at the caller")
	}
	if r.err != nil {
		s.t.Fatal(r.err)
	}
	return r.c, in, s.callOf(from.Number)
}

func (s *sipScenario) incoming(ph *SIPPhone) *SIPCall {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
	defer cancel()
	c, err := ph.WaitIncoming(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// callOf finds transferd's call whose caller is number.
func (s *sipScenario) callOf(number string) string {
	s.t.Helper()
	var id string
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		for _, c := range s.app.Calls(account) {
			for _, p := range c.Parties {
				if p.Role == "caller" && p.Number == number {
					id = c.ID
					return nil
				}
			}
		}
		return fmt.Errorf("no call from %s", number)
	})
	return id
}

// hears waits until c hears exactly the tones in want among the phones'
// tones (each clearly present), and none of the others.
func (s *sipScenario) hears(c *SIPCall, who string, want ...float64) {
	s.t.Helper()
	all := []float64{toneAlice, toneBob, toneCarol, toneDave}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		got := c.Heard(400*time.Millisecond, all...)
		for i, f := range all {
			wanted := false
			for _, w := range want {
				wanted = wanted || w == f
			}
			if wanted && got[i] < 0.15 {
				return fmt.Errorf("%s does not hear %.0f Hz (levels %s)", who, f, levels(all, got))
			}
			if !wanted && got[i] > 0.02 {
				return fmt.Errorf("%s hears %.0f Hz but should not (levels %s)", who, f, levels(all, got))
			}
		}
		s.t.Logf("%s hears %s", who, levels(all, got))
		return nil
	})
}

// hearsTone waits until c clearly hears a tone of hz (one not among the
// Go phones' tones, e.g. a baresip phone's).
func (s *sipScenario) hearsTone(c *SIPCall, who string, hz float64) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		if got := c.Heard(400*time.Millisecond, hz); got[0] < 0.15 {
			return fmt.Errorf("%s does not hear %.0f Hz (level %.2f)", who, hz, got[0])
		}
		return nil
	})
}

func asChannel(id string) ari.ChannelID { return ari.ChannelID(id) }

// music checks that c hears sound that is none of the phones' tones
// (music on hold).
func (s *sipScenario) music(c *SIPCall, who string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		if l := c.Level(400 * time.Millisecond); l < 300 {
			return fmt.Errorf("%s hears nothing (RMS %.0f), want music", who, l)
		}
		return nil
	})
}

func levels(tones, got []float64) string {
	var b strings.Builder
	for i, f := range tones {
		fmt.Fprintf(&b, "%.0fHz=%.2f ", f, got[i])
	}
	return strings.TrimSpace(b.String())
}

// ended waits for a SIP call to end.
func (s *sipScenario) ended(c *SIPCall, who string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
	defer cancel()
	if err := c.WaitEnded(ctx); err != nil {
		s.t.Fatalf("%s: %v", who, err)
	}
}

func (s *sipScenario) connected(c *SIPCall, who string, want string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx, want); err != nil {
		s.t.Fatalf("%s: %v", who, err)
	}
}

// noSIPLeaks checks that no channel of the block's phones is left on
// Asterisk and that transferd has no call left.
func (s *sipScenario) noSIPLeaks() {
	t := s.t
	if t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	prefix := fmt.Sprintf("PJSIP/7%02d", s.block)
	waitFor(t, ctx, func() error {
		chans, err := s.client.Channels.List(ctx)
		if err != nil {
			return err
		}
		var left []string
		for _, ch := range chans {
			if strings.HasPrefix(ch.Name, prefix) {
				left = append(left, ch.Name)
			}
		}
		if n := s.app.LiveCalls(); n > 0 {
			left = append(left, fmt.Sprintf("%d live calls", n))
		}
		bridges, err := s.client.Bridges.List(ctx)
		if err != nil {
			return err
		}
		for _, b := range bridges {
			if strings.Contains(b.Name, "transferd") && len(b.Channels) > 0 {
				for _, id := range b.Channels {
					ch, err := s.client.Channels.Get(ctx, id)
					if err == nil && strings.HasPrefix(ch.Name, prefix) {
						left = append(left, "bridge "+string(b.ID))
					}
				}
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("left behind: %s", strings.Join(left, ", "))
		}
		return nil
	})
}

// outcomeOf waits for call's last transfer to finish with outcome.
func (s *sipScenario) outcomeOf(call, outcome string) {
	s.t.Helper()
	s.outcome(ari.ChannelID(call), outcome)
}

// SIP 1: Alice calls Bob, presses *2 and hears a dial tone, then
// <Carol>#; Bob hears music (not Alice),
// Carol answers and talks with Alice, Alice hangs up: Bob and Carol hear
// each other.
func TestSIPAttendedTransferComplete(t *testing.T) {
	t.Parallel()
	s := newSIPScenario(t, "sip01", nil)
	a, b, call := s.call(s.alice, s.bob)
	s.hears(a, "alice", toneBob)
	s.hears(b, "bob", toneAlice)
	s.connected(a, "alice", s.identity(1))

	// After *2 she hears the dial tone (indications.conf's us: 350+440
	// Hz) until her next digit, as with Asterisk's atxfer.
	a.Press("*2", keyDown, keyGap)
	s.hearsTone(a, "alice (dial tone)", 350)
	s.hearsTone(a, "alice (dial tone)", 440)
	a.Press(s.num(2)+"#", keyDown, keyGap)
	c := s.incoming(s.carol)
	s.transferState(ari.ChannelID(call), "CallingTarget")
	if err := c.Answer(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.transferState(ari.ChannelID(call), "Consulting")
	s.hears(a, "alice", toneCarol)
	s.hears(c, "carol", toneAlice)
	s.hears(b, "bob (on hold)")
	s.music(b, "bob")

	if err := a.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.outcomeOf(call, "completed")
	s.hears(b, "bob", toneCarol)
	s.hears(c, "carol", toneBob)

	if err := b.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.ended(c, "carol")
}

// startSIPTransfer has Alice press *2<Carol># and waits for Carol's phone
// to ring with Bob on hold hearing music.
func (s *sipScenario) startSIPTransfer(a, b *SIPCall, call string) *SIPCall {
	s.t.Helper()
	a.Press("*2"+s.num(2)+"#", keyDown, keyGap)
	c := s.incoming(s.carol)
	s.transferState(ari.ChannelID(call), "CallingTarget")
	s.music(b, "bob")
	s.hears(b, "bob (on hold)")
	return c
}

// SIP 2: takeback. Carol rings, Alice presses *1: Carol's phone stops
// ringing (CANCEL) and Alice and Bob hear each other again.
func TestSIPTakeback(t *testing.T) {
	t.Parallel()
	s := newSIPScenario(t, "sip02", nil)
	a, b, call := s.call(s.alice, s.bob)
	c := s.startSIPTransfer(a, b, call)
	a.Press("*1", keyDown, keyGap)
	s.ended(c, "carol (cancelled)")
	s.outcomeOf(call, "cancelled")
	s.hears(a, "alice", toneBob)
	s.hears(b, "bob", toneAlice)
	if err := a.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.ended(b, "bob")
}

// SIP 3: Carol is busy (486): Alice is back with Bob at once.
func TestSIPTargetBusy(t *testing.T) {
	t.Parallel()
	s := newSIPScenario(t, "sip03", nil)
	a, b, call := s.call(s.alice, s.bob)
	c := s.startSIPTransfer(a, b, call)
	if err := c.Reject(s.ctx, 486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	s.outcomeOf(call, "failed:busy")
	s.hears(a, "alice", toneBob)
	s.hears(b, "bob", toneAlice)
	if err := b.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.ended(a, "alice")
}

// SIP 4: call pickup. While Carol rings, Dave (same pickup group) picks her
// call up with *8: Dave takes Carol's place in the transfer, talks with
// Alice, and when Alice hangs up Bob and Dave are connected. Carol's phone
// stops ringing; nobody is left alone.
func TestSIPPickupOfTarget(t *testing.T) {
	t.Parallel()
	s := newSIPScenario(t, "sip04", nil)
	a, b, call := s.call(s.alice, s.bob)
	c := s.startSIPTransfer(a, b, call)
	d, err := s.dave.Dial(s.ctx, "*8", nil)
	if err != nil {
		t.Fatal(err)
	}
	s.ended(c, "carol (picked up by dave)")
	s.transferState(ari.ChannelID(call), "Consulting")
	s.hears(a, "alice", toneDave)
	s.hears(d, "dave", toneAlice)
	s.hears(b, "bob (on hold)")

	if err := a.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.outcomeOf(call, "completed")
	s.hears(b, "bob", toneDave)
	s.hears(d, "dave", toneBob)
	if err := d.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.ended(b, "bob")
}

// refer sends a REFER and checks Asterisk accepted it (202).
func (s *sipScenario) refer(send func() (int, error)) {
	s.t.Helper()
	code, err := send()
	if err != nil {
		s.t.Fatal(err)
	}
	if code != 202 {
		s.t.Fatalf("REFER answered %d, want 202 Accepted", code)
	}
}

func (s *sipScenario) notified(c *SIPCall, who, sipfrag string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if err := c.WaitNotify(ctx, sipfrag); err != nil {
		s.t.Fatalf("%s: %v", who, err)
	}
}

// SIP 5: the phone's own Transfer key, blind. Alice's phone REFERs Bob to
// Carol: Bob waits on hold, Carol rings, Alice's phone waits to be told;
// Carol answers: the transfer completes, Alice is told 200 and released,
// and Bob and Carol hear each other.
func TestSIPBlindRefer(t *testing.T) {
	t.Parallel()
	s := newSIPScenario(t, "sip05", nil)
	a, b, call := s.call(s.alice, s.bob)
	s.refer(func() (int, error) { return a.Refer(s.ctx, s.num(2)) })
	s.notified(a, "alice", "100 Trying")
	c := s.incoming(s.carol)
	s.transferState(ari.ChannelID(call), "CallingTarget")
	s.hears(b, "bob (waiting for carol)")
	if err := c.Answer(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.notified(a, "alice", "200 OK")
	s.ended(a, "alice (transferred away)")
	s.outcomeOf(call, "completed")
	s.hears(b, "bob", toneCarol)
	s.hears(c, "carol", toneBob)
	s.connected(b, "bob (after the REFER)", s.identity(2))
	s.connected(c, "carol (after the REFER)", s.identity(1))
	if err := c.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.ended(b, "bob")
}

// SIP 5a: a phone that hangs up right after its blind REFER (some do, not
// waiting for the NOTIFY): the transfer goes on without it, as *7's does;
// Carol answers and Bob and Carol talk. Nobody is dropped.
func TestSIPBlindReferPhoneHangsUp(t *testing.T) {
	t.Parallel()
	s := newSIPScenario(t, "sip05a", nil)
	a, b, call := s.call(s.alice, s.bob)
	s.refer(func() (int, error) { return a.Refer(s.ctx, s.num(2)) })
	c := s.incoming(s.carol)
	if err := a.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.transferState(ari.ChannelID(call), "Blond")
	if err := c.Answer(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.outcomeOf(call, "partial-completed")
	s.hears(b, "bob", toneCarol)
	s.hears(c, "carol", toneBob)
	if err := b.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.ended(c, "carol")
}

// SIP 5b: a blind REFER whose target is busy: the phone is told the
// transfer failed (503) and Alice and Bob talk again; nobody is dropped.
func TestSIPBlindReferBusy(t *testing.T) {
	t.Parallel()
	s := newSIPScenario(t, "sip05b", nil)
	a, b, call := s.call(s.alice, s.bob)
	s.refer(func() (int, error) { return a.Refer(s.ctx, s.num(2)) })
	c := s.incoming(s.carol)
	if err := c.Reject(s.ctx, 486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	s.outcomeOf(call, "failed:busy")
	s.notified(a, "alice", "503")
	s.hears(a, "alice", toneBob)
	s.hears(b, "bob", toneAlice)
	if err := b.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.ended(a, "alice")
}

// SIP 5c: a blind REFER to a number no phone has: the phone is told the
// transfer failed (503) and Alice and Bob go on talking.
func TestSIPBlindReferUnknownNumber(t *testing.T) {
	t.Parallel()
	s := newSIPScenario(t, "sip05c", nil)
	a, b, call := s.call(s.alice, s.bob)
	s.refer(func() (int, error) { return a.Refer(s.ctx, "7999") })
	s.notified(a, "alice", "503")
	// The call's published picture follows the NOTIFY by a moment: polled.
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	waitFor(t, ctx, func() error {
		info, _ := s.app.CallInfo(call)
		if lt := info.LastTransfer; lt == nil || !strings.HasPrefix(lt.Outcome, "failed:") {
			return fmt.Errorf("last transfer %+v, want a failure", lt)
		}
		return nil
	})
	cancel()
	s.hears(a, "alice", toneBob)
	s.hears(b, "bob", toneAlice)
	if err := a.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.ended(b, "bob")
}

// SIP 6: the phone's own Transfer key, attended. Alice talks to Bob, calls
// Carol on a second line (both calls through transferd), then presses
// Transfer: her phone REFERs Bob's call with Replaces of Carol's. Bob and
// Carol are bridged and hear each other, both of Alice's calls end, her
// phone is told 200, and the first call's transfer goes through the
// machine like a feature code's: the event stream says transfer.started
// then transfer.ended completed, and the metrics get its duration.
func TestSIPAttendedRefer(t *testing.T) {
	t.Parallel()
	hub := httpapi.NewHub(httpapi.HubOptions{})
	defer hub.Close()
	hooks := hub.Hooks()
	type ended struct {
		outcome string
		secs    float64
	}
	endedCh := make(chan ended, 4)
	hooks.TransferEnded = func(_, outcome string, secs float64) { endedCh <- ended{outcome, secs} }
	sub, err := hub.Subscribe(account)
	if err != nil {
		t.Fatal(err)
	}
	s := newSIPScenarioHooks(t, "sip06", -1, nil, hooks)
	a1, b, call := s.call(s.alice, s.bob)
	a2, c, _ := s.call(s.alice, s.carol)
	s.hears(a2, "alice (second line)", toneCarol)
	s.refer(func() (int, error) { return a1.ReferReplace(s.ctx, a2) })
	s.notified(a1, "alice", "200 OK")
	s.ended(a1, "alice's call with bob")
	s.ended(a2, "alice's call with carol")
	s.hears(b, "bob", toneCarol)
	s.hears(c, "carol", toneBob)
	s.outcomeOf(call, "completed")
	// Names follow, as after a *2 transfer.
	s.connected(b, "bob (after the REFER)", s.identity(2))
	s.connected(c, "carol (after the REFER)", s.identity(1))
	select {
	case e := <-endedCh:
		if e.outcome != "completed" || e.secs <= 0 {
			t.Fatalf("transfer metrics: outcome %s after %.6f s, want completed after some time", e.outcome, e.secs)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no transfer ended in the metrics")
	}
	var steps []string
	for len(sub.Events()) > 0 {
		ev := <-sub.Events()
		if ev.Call.ID != call {
			continue
		}
		step := ev.Name
		switch {
		case ev.Call.Transfer != nil:
			step += ":" + ev.Call.Transfer.State
		case ev.Name == httpapi.EventTransferEnded:
			step += ":" + ev.Call.LastTransfer.Outcome
		}
		steps = append(steps, step)
	}
	want := []string{httpapi.EventTransferStarted + ":Checking", httpapi.EventTransferEnded + ":completed"}
	i := 0
	for _, st := range steps {
		if i < len(want) && st == want[i] {
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("events of the first call %v, want %v in order", steps, want)
	}
	if err := b.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.ended(c, "carol")
}

// SIP 7: connected line follows the transfer, on the phones' displays
// (P-Asserted-Identity of the re-INVITE/UPDATE they receive): while
// consulting Alice sees Carol; after a takeback she sees Bob again; after
// a completed transfer Bob sees Carol and Carol sees Bob.
func TestSIPConnectedLine(t *testing.T) {
	t.Parallel()
	s := newSIPScenario(t, "sip07", nil)
	a, b, call := s.call(s.alice, s.bob)
	s.connected(a, "alice", s.identity(1))
	s.connected(b, "bob", s.identity(0))

	c := s.startSIPTransfer(a, b, call)
	s.connected(c, "carol (ringing)", s.identity(0))
	if err := c.Answer(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.transferState(ari.ChannelID(call), "Consulting")
	s.connected(a, "alice (consulting)", s.identity(2))

	a.Press("*1", keyDown, keyGap)
	s.outcomeOf(call, "cancelled")
	s.ended(c, "carol (taken back)")
	s.hears(a, "alice", toneBob)
	s.connected(a, "alice (after takeback)", s.identity(1))

	c = s.startSIPTransfer(a, b, call)
	if err := c.Answer(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.transferState(ari.ChannelID(call), "Consulting")
	s.connected(a, "alice (consulting again)", s.identity(2))
	if err := a.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.outcomeOf(call, "completed")
	s.connected(b, "bob (after completion)", s.identity(2))
	s.connected(c, "carol (after completion)", s.identity(1))
	if err := b.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.ended(c, "carol")
}

// nativeDialled waits for the number a native atxfer by caller dialled
// (the NoOp of [transferd-sip-native-xfer] in Asterisk's log).
func (s *sipScenario) nativeDialled(from int64, caller string, within time.Duration) string {
	s.t.Helper()
	marker := "native atxfer by " + caller + " dials "
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(sandbox.LogPath())
		if int64(len(b)) > from {
			b = b[from:]
		} else {
			b = nil
		}
		if i := strings.LastIndex(string(b), marker); i >= 0 {
			rest := string(b[i+len(marker):])
			if j := strings.IndexAny(rest, "\")\n"); j >= 0 {
				return rest[:j]
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "nothing"
}

// logSize is the length of Asterisk's log now.
func logSize() int64 {
	fi, err := os.Stat(sandbox.LogPath())
	if err != nil {
		return 0
	}
	return fi.Size()
}
