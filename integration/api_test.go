package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/app/httpapi"
	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/integration/faultproxy"
	"github.com/transferd/transferd/service"
)

// The HTTP API on the real Asterisk: each test runs transferd with its
// event hub and its HTTP handler (service.HTTPHandler, as cmd/transferd
// does) on an httptest server. Tags start with "a".

const (
	apiToken     = "a-test-token-for-acct"  // configured hashed
	otherAccount = "other"                  // a second account
	otherToken   = "a-test-token-for-other" // configured in plain text
)

type apiScenario struct {
	*scenario
	hub *httpapi.Hub
	url string
}

// newAPIScenario is newScenario with the API: account acct has apiToken,
// account other has otherToken.
func newAPIScenario(t *testing.T, tag string, tweak func(*app.AccountConfig)) *apiScenario {
	t.Helper()
	return startAPIScenario(t, tag, tweak, nil)
}

// newProxiedAPIScenario is newAPIScenario with a fault proxy between
// transferd and ARI (see newProxiedScenario); the API itself is not behind
// the proxy.
func newProxiedAPIScenario(t *testing.T, tag string, tweak func(*app.AccountConfig)) (*apiScenario, *faultproxy.Proxy) {
	t.Helper()
	p, err := faultproxy.NewForURL(sandbox.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return startAPIScenario(t, tag, tweak, p), p
}

func startAPIScenario(t *testing.T, tag string, tweak func(*app.AccountConfig), proxy *faultproxy.Proxy) *apiScenario {
	t.Helper()
	tag = runTag(tag)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cfg := testConfig(tag)
	a := cfg.Accounts[account]
	if tweak != nil {
		tweak(&a)
	}
	other := a
	a.Tokens = []ari.Secret{ari.Secret(httpapi.HashToken(apiToken))}
	other.Tokens = []ari.Secret{otherToken}
	cfg.Accounts[account] = a
	cfg.Accounts[otherAccount] = other
	hub := httpapi.NewHub(httpapi.HubOptions{})
	s := &apiScenario{scenario: &scenario{t: t, ctx: ctx, tag: tag, cfg: cfg, hooks: hub.Hooks(),
		logs: &guardedWriter{w: zerolog.NewTestWriter(t)}, proxy: proxy}, hub: hub}
	// Cleanups run last-registered first, each even when an earlier one
	// failed (see newScenario).
	t.Cleanup(s.logs.close)
	t.Cleanup(func() {
		if s.stop != nil {
			s.stop()
		}
		cancel()
	})
	s.start(ctx)
	log := zerolog.New(s.logs).Level(zerolog.DebugLevel).With().Timestamp().Logger()
	h, err := service.HTTPHandler(s.app, cfg, nil, s.hub, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	s.url = srv.URL
	t.Cleanup(func() {
		s.hub.Close() // ends the event streams
		srv.Close()
		checkNoLeaks(t, s.client, tag)
	})
	return s
}

// apiReply is a decoded API answer.
type apiReply struct {
	Status int
	Body   []byte
	Env    struct {
		Status    string          `json:"status"`
		Error     string          `json:"error"`
		Message   string          `json:"message"`
		Data      json.RawMessage `json:"data"`
		RequestID string          `json:"request_id"`
	}
	Result httpapi.ActionResult
	Err    struct {
		Reason string        `json:"reason"`
		Field  string        `json:"field"`
		Call   *app.CallInfo `json:"call"`
	}
}

// call makes a request; header holds extra headers (auth among them).
func (s *apiScenario) call(method, path, body string, header map[string]string) *apiReply {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := &apiReply{Status: res.StatusCode, Body: b}
	if err := json.Unmarshal(b, &out.Env); err != nil {
		s.t.Fatalf("%s %s: %d %s: %v", method, path, res.StatusCode, b, err)
	}
	if out.Env.Status == "success" && method == "POST" {
		_ = json.Unmarshal(out.Env.Data, &out.Result)
	}
	if out.Env.Status == "error" {
		_ = json.Unmarshal(out.Env.Data, &out.Err)
	}
	for _, tok := range []string{apiToken, otherToken} {
		if bytes.Contains(b, []byte(tok)) {
			s.t.Errorf("%s %s echoes a token: %s", method, path, b)
		}
	}
	return out
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
func xauth(tok string) map[string]string  { return map[string]string{"X-Auth-Token": tok} }

func channelPath(acct string, id ari.ChannelID) string {
	return "/v2/accounts/" + acct + "/channels/" + string(id)
}

// act posts an action for the party id and wants status.
func (s *apiScenario) act(id ari.ChannelID, data map[string]any, status int) *apiReply {
	s.t.Helper()
	b, _ := json.Marshal(map[string]any{"data": data})
	r := s.call("POST", channelPath(account, id), string(b), xauth(apiToken))
	if r.Status != status {
		s.t.Fatalf("POST %s %s: %d, want %d: %s", id, b, r.Status, status, r.Body)
	}
	return r
}

// refused posts an action and wants an error with status, reason and a
// message containing msg.
func (s *apiScenario) refused(id ari.ChannelID, data map[string]any, status int, reason, msg string) *apiReply {
	s.t.Helper()
	b, _ := json.Marshal(map[string]any{"data": data})
	r := s.call("POST", channelPath(account, id), string(b), bearer(apiToken))
	if r.Status != status || r.Env.Status != "error" || r.Env.Error != fmt.Sprint(status) || r.Err.Reason != reason || !strings.Contains(r.Env.Message, msg) {
		s.t.Fatalf("POST %s %s: %d %s, want %d %s %q", id, b, r.Status, r.Body, status, reason, msg)
	}
	return r
}

// apiTransfer starts a transfer of alice's call to number by the API and
// waits for the target to ring, Bob to be held with music and Alice to
// hear ringback.
func (s *apiScenario) apiTransfer(bob *Phone, number string, extra map[string]any) *Phone {
	s.t.Helper()
	call := s.callID("alice")
	mb := bob.Mark()
	data := map[string]any{"action": "transfer", "target": number}
	for k, v := range extra {
		data[k] = v
	}
	r := s.act(call, data, http.StatusAccepted)
	if r.Result.Action != "transfer" || r.Result.TransferID == "" || r.Result.Transfer == nil || r.Result.Transfer.Target != number {
		s.t.Fatalf("transfer answer: %s", r.Body)
	}
	switch r.Result.TransferState {
	case "Checking", "CallingTarget":
	default:
		s.t.Fatalf("transfer state %q right after the start: %s", r.Result.TransferState, r.Body)
	}
	target := s.ring(number)
	s.held(s.leg(bob))
	s.hears(bob, mb, "music on hold")
	s.playing(call, "tone:ring")
	return target
}

func (s *apiScenario) pickUp(ph *Phone) {
	s.t.Helper()
	if err := ph.Answer(s.ctx); err != nil {
		s.t.Fatalf("answer %s: %v", ph.ID, err)
	}
}

// getCall reads the call through the API.
func (s *apiScenario) getCall(id ari.ChannelID) app.CallInfo {
	s.t.Helper()
	r := s.call("GET", channelPath(account, id), "", xauth(apiToken))
	if r.Status != 200 {
		s.t.Fatalf("GET %s: %d %s", id, r.Status, r.Body)
	}
	var c app.CallInfo
	if err := json.Unmarshal(r.Env.Data, &c); err != nil {
		s.t.Fatal(err)
	}
	return c
}

// API transfer to completion with the complete action: Alice leaves, Bob
// and Carol talk; the answer and GET show the transfer.
func TestAPITransferComplete(t *testing.T) {
	t.Parallel()
	s := newAPIScenario(t, "a01", nil)
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	s.listen(alice, bob)

	// The list shows the call with both parties up.
	r := s.call("GET", "/v2/accounts/"+account+"/channels", "", bearer(apiToken))
	var calls []app.CallInfo
	if err := json.Unmarshal(r.Env.Data, &calls); err != nil || r.Status != 200 || len(calls) != 1 || calls[0].ID != string(call) || len(calls[0].Parties) != 2 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}

	carol := s.apiTransfer(bob, "2600", map[string]any{"takeback_dtmf": "*1", "moh": "default", "no_answer_timeout": 12})
	s.transferState(call, "CallingTarget")
	s.pickUp(carol)
	carolLeg := s.leg(carol)
	s.together(call, carolLeg)
	s.held(bobLeg)
	s.transferState(call, "Consulting")
	if c := s.getCall(call); c.Transfer == nil || c.Transfer.State != "Consulting" || c.Transfer.Target != "2600" {
		t.Fatalf("GET during the consultation: %+v", c)
	}

	r = s.act(call, map[string]any{"action": "complete"}, http.StatusOK)
	if r.Result.Action != "complete" || r.Result.TransferState != "Completed" || r.Result.Outcome != "completed" {
		t.Fatalf("complete answer: %s", r.Body)
	}
	s.gone(alice)
	s.together(bobLeg, carolLeg)
	s.noHoldBridge()
	s.outcome(call, "completed")
	if c := s.getCall(call); c.Transfer != nil || c.LastTransfer == nil || c.LastTransfer.Outcome != "completed" {
		t.Fatalf("GET after completion: %+v", c)
	}
	s.hangup(bob)
	s.gone(carol)
	s.callGone()
	// The ended call is unknown now.
	r = s.call("GET", channelPath(account, call), "", xauth(apiToken))
	if r.Status != 404 {
		t.Fatalf("GET after the end: %d %s", r.Status, r.Body)
	}
}

// API partial transfer: Alice hangs up while Carol rings; Carol answers
// and talks with Bob.
func TestAPIPartialTransfer(t *testing.T) {
	t.Parallel()
	s := newAPIScenario(t, "a02", nil)
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	s.listen(alice, bob)
	carol := s.apiTransfer(bob, "2600", nil)
	s.hangup(alice)
	carolLeg := s.leg(carol)
	s.transferState(call, "Blond")
	s.together(bobLeg) // Carol rings outside the bridge until she answers
	s.noHoldBridge()
	s.playing(bobLeg, "tone:ring")
	// Alice is gone: her channel takes no more actions.
	s.refused(call, map[string]any{"action": "cancel"}, 404, httpapi.ReasonNotFound, "not found")
	s.pickUp(carol)
	s.outcome(call, "partial-completed")
	s.together(bobLeg, carolLeg)
	s.hangup(bob)
	s.gone(carol)
	s.callGone()
}

// An API transfer cancelled: by the takeback code *1 pressed on Alice's
// handset while Carol rings, by the cancel action while Carol rings and
// while Alice talks to her.
func TestAPICancel(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		answer   bool
		cancel   func(s *apiScenario, alice *Phone)
		takeback string
	}{
		{"takeback-code", false, func(s *apiScenario, alice *Phone) { s.press(alice, "*1") }, ""},
		// Kazoo's per-request takeback_dtmf: a code the account does not
		// have works for this transfer.
		{"takeback-per-request", false, func(s *apiScenario, alice *Phone) { s.press(alice, "*5") }, "*5"},
		{"takeback-code-consulting", true, func(s *apiScenario, alice *Phone) { s.press(alice, "*1") }, ""},
		{"cancel-action-ringing", false, func(s *apiScenario, alice *Phone) {
			r := s.act(s.callID("alice"), map[string]any{"action": "cancel"}, http.StatusOK)
			if r.Result.Outcome != "cancelled" || r.Result.Transfer != nil {
				s.t.Fatalf("cancel answer: %s", r.Body)
			}
		}, ""},
		{"cancel-action-consulting", true, func(s *apiScenario, alice *Phone) {
			r := s.act(s.callID("alice"), map[string]any{"action": "cancel"}, http.StatusOK)
			if r.Result.Outcome != "cancelled" {
				s.t.Fatalf("cancel answer: %s", r.Body)
			}
		}, ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newAPIScenario(t, fmt.Sprintf("a03%c", 'a'+i), nil)
			alice, bob := s.talking("alice", "1001", "2001")
			call, bobLeg := s.callID("alice"), s.leg(bob)
			s.listen(alice, bob)
			takeback := "*1"
			if tc.takeback != "" {
				takeback = tc.takeback
			}
			carol := s.apiTransfer(bob, "2600", map[string]any{"takeback_dtmf": takeback})
			if tc.answer {
				s.pickUp(carol)
				s.transferState(call, "Consulting")
			}
			tc.cancel(s, alice)
			s.gone(carol)
			s.outcome(call, "cancelled")
			s.together(call, bobLeg)
			s.noHoldBridge()
			// Nothing to cancel any more.
			s.refused(call, map[string]any{"action": "cancel"}, 409, httpapi.ReasonNoTransfer, "no transfer in progress")
			s.hangup(bob)
			s.gone(alice)
			s.callGone()
		})
	}
}

// Swap and three-way from the API.
func TestAPISwapThreeWay(t *testing.T) {
	t.Parallel()
	s := newAPIScenario(t, "a04", nil)
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	s.listen(alice, bob)
	carol := s.apiTransfer(bob, "2600", nil)
	carolLeg := s.leg(carol)

	// While Carol rings: back to Bob, and back to Carol.
	r := s.act(call, map[string]any{"action": "swap"}, http.StatusOK)
	if r.Result.TransferState != "Hesitant" {
		t.Fatalf("swap while ringing: %s", r.Body)
	}
	s.together(call, bobLeg)
	s.held() // ringing Carol joins the hold bridge only if she answers now
	r = s.act(call, map[string]any{"action": "swap"}, http.StatusOK)
	if r.Result.TransferState != "CallingTarget" {
		t.Fatalf("swap back: %s", r.Body)
	}
	s.together(call) // Carol joins when she answers
	s.held(bobLeg)

	s.pickUp(carol)
	s.transferState(call, "Consulting")
	s.listen(carol)
	mc := carol.Mark()
	r = s.act(call, map[string]any{"action": "swap"}, http.StatusOK)
	if r.Result.TransferState != "DoubleChecking" {
		t.Fatalf("swap after answer: %s", r.Body)
	}
	s.together(call, bobLeg)
	s.held(carolLeg)
	s.hears(carol, mc, "music on hold")
	// Bob is not the transferor: he cannot drive the transfer.
	s.refused(bobLeg, map[string]any{"action": "swap"}, 409, httpapi.ReasonNotTransferor, "only the transferor")

	r = s.act(call, map[string]any{"action": "threeway"}, http.StatusOK)
	if r.Result.Outcome != "three-way" {
		t.Fatalf("threeway: %s", r.Body)
	}
	s.outcome(call, "three-way")
	s.together(call, bobLeg, carolLeg)
	s.noHoldBridge()
	// The transfer is over: swap has nothing to act on.
	s.refused(call, map[string]any{"action": "swap"}, 409, httpapi.ReasonNoTransfer, "no transfer")
	s.hangup(alice)
	s.together(bobLeg, carolLeg)
	s.hangup(carol)
	s.gone(bob)
	s.callGone()
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	Name string
	Data string
}

// openEvents opens the account's event stream and returns its events
// (the first is the snapshot).
func (s *apiScenario) openEvents(acct, token string) <-chan sseEvent {
	s.t.Helper()
	ctx, cancel := context.WithCancel(s.ctx)
	s.t.Cleanup(cancel)
	r, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/v2/accounts/"+acct+"/events", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		s.t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		s.t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 256)
	go func() {
		defer close(out)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.Name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.Data += line[len("data: "):]
			}
		}
	}()
	return out
}

// The event stream shows each step of an API transfer: ringing
// (CallingTarget), talking to the target (Consulting), completed.
func TestAPIEventStream(t *testing.T) {
	t.Parallel()
	s := newAPIScenario(t, "a05", nil)
	events := s.openEvents(account, apiToken)
	other := s.openEvents(otherAccount, otherToken)
	select {
	case ev := <-events:
		if ev.Name != httpapi.EventSnapshot || ev.Data != `{"calls":[]}` {
			t.Fatalf("first event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no snapshot")
	}
	<-other // its snapshot

	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	s.listen(alice, bob)
	carol := s.apiTransfer(bob, "2600", nil)
	s.pickUp(carol)
	s.transferState(call, "Consulting")
	s.hangup(alice)
	s.together(bobLeg, s.leg(carol))
	s.outcome(call, "completed")
	s.hangup(bob)
	s.gone(carol)
	s.callGone()

	// Read until the call ended; then check the steps in order.
	var steps []string
	var names []string
	deadline := time.After(20 * time.Second)
	for done := false; !done; {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended; steps %v", steps)
			}
			var c app.CallInfo
			if err := json.Unmarshal([]byte(ev.Data), &c); err != nil {
				t.Fatalf("event %+v: %v", ev, err)
			}
			if c.ID != string(call) || c.Account != account {
				t.Fatalf("event of another call: %+v", ev)
			}
			names = append(names, ev.Name)
			step := ev.Name
			switch {
			case c.Transfer != nil:
				step += ":" + c.Transfer.State
			case ev.Name == httpapi.EventTransferEnded:
				step += ":" + c.LastTransfer.Outcome
			}
			if len(steps) == 0 || steps[len(steps)-1] != step {
				steps = append(steps, step)
			}
			done = ev.Name == httpapi.EventCallEnded
		case <-deadline:
			t.Fatalf("no call.ended; steps so far %v", steps)
		}
	}
	t.Logf("events: %v", steps)
	want := []string{"call.started", "transfer.started:CallingTarget", "transfer.updated:Consulting", "transfer.ended:completed", "call.ended"}
	i := 0
	for _, st := range steps {
		if i < len(want) && st == want[i] {
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("events %v do not show %v in order", steps, want)
	}
	for _, n := range names {
		if n == httpapi.EventDropped {
			t.Fatal("events were dropped")
		}
	}
	// The other account saw none of it.
	select {
	case ev := <-other:
		t.Fatalf("the other account's stream got %+v", ev)
	default:
	}
}

// The auth matrix on a live call: no token 401, bad token 401, the other
// account's token 404 (the same answer as for an unknown call), the right
// token 200; and refused requests change nothing.
func TestAPIAuthMatrix(t *testing.T) {
	t.Parallel()
	s := newAPIScenario(t, "a06", nil)
	alice, bob := s.talking("alice", "1001", "2001")
	call := s.callID("alice")
	transfer := `{"data":{"action":"transfer","target":"2600"}}`
	list := "/v2/accounts/" + account + "/channels"
	one := channelPath(account, call)
	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
		msg    string
	}{
		{"no token", nil, 401, "missing auth token"},
		{"bad token", xauth("not-a-token"), 401, "invalid auth token"},
		{"bad bearer", bearer("not-a-token"), 401, "invalid auth token"},
		{"other account's token", xauth(otherToken), 404, `account "acct" not found`},
	} {
		for _, rq := range []struct{ method, path, body string }{{"GET", list, ""}, {"GET", one, ""}, {"POST", one, transfer}} {
			r := s.call(rq.method, rq.path, rq.body, tc.header)
			if r.Status != tc.status || r.Env.Status != "error" || !strings.Contains(r.Env.Message, tc.msg) {
				t.Errorf("%s: %s %s: %d %s, want %d %q", tc.name, rq.method, rq.path, r.Status, r.Body, tc.status, tc.msg)
			}
		}
	}
	// The other account's token on its own account: alice's call is as
	// unknown as a call that never existed.
	fixed := func(h map[string]string) map[string]string { h["X-Request-ID"] = "same"; return h }
	mine := s.call("GET", channelPath(otherAccount, call), "", fixed(xauth(otherToken)))
	unknown := s.call("GET", channelPath(otherAccount, "a06-nobody"), "", fixed(xauth(otherToken)))
	if mine.Status != 404 || unknown.Status != 404 ||
		!bytes.Equal(bytes.ReplaceAll(mine.Body, []byte(call), []byte("X")), bytes.ReplaceAll(unknown.Body, []byte("a06-nobody"), []byte("X"))) {
		t.Errorf("another account's call and an unknown call differ:\n%s\n%s", mine.Body, unknown.Body)
	}
	r := s.call("POST", channelPath(otherAccount, call), transfer, xauth(otherToken))
	if r.Status != 404 {
		t.Errorf("POST on another account's call: %d %s", r.Status, r.Body)
	}
	if err := phones.NoRing(s.ctx, s.tag, "2600", 1500*time.Millisecond); err != nil {
		t.Fatalf("a refused request changed something: %v", err)
	}

	// The right token: 200 for the reads, 202 for the transfer.
	for _, h := range []map[string]string{xauth(apiToken), bearer(apiToken)} {
		for _, p := range []string{list, one} {
			if r := s.call("GET", p, "", h); r.Status != 200 || r.Env.Status != "success" {
				t.Errorf("GET %s: %d %s", p, r.Status, r.Body)
			}
		}
	}
	s.listen(bob)
	carol := s.apiTransfer(bob, "2600", nil)
	s.act(call, map[string]any{"action": "cancel"}, http.StatusOK)
	s.gone(carol)
	s.outcome(call, "cancelled")
	s.hangup(alice)
	s.gone(bob)
	s.callGone()
}

// Refusals by the real app: each answer names the reason, and nothing
// changes (no phone rings, the call stays as it was).
func TestAPIRefusals(t *testing.T) {
	t.Parallel()
	s := newAPIScenario(t, "a07", nil)
	// Not bridged: Bob has not answered yet.
	alice, err := phones.Call(s.ctx, CallParams{Tag: s.tag, Name: "alice", App: s.cfg.ARI.App, Account: account, Dest: "2001", Callback: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	bob := s.ring("2001")
	call := s.callID("alice")
	s.refused(call, map[string]any{"action": "transfer", "target": "2600"}, 409, httpapi.ReasonNotBridged, "not bridged")
	s.pickUp(bob)
	if _, err := alice.WaitEvent(s.ctx, 0, "StasisStart", nil); err != nil {
		t.Fatal(err)
	}
	s.together(call, s.leg(bob))
	bobLeg := s.leg(bob)

	s.refused(call, map[string]any{"action": "cancel"}, 409, httpapi.ReasonNoTransfer, "no transfer in progress")
	s.refused(call, map[string]any{"action": "transfer", "target": "2001"}, 409, httpapi.ReasonTargetOnCall, "already a party")
	s.refused(call, map[string]any{"action": "transfer", "target": "26/00"}, 400, httpapi.ReasonInvalidField, "data.target")
	s.refused(call, map[string]any{"action": "transfer"}, 400, httpapi.ReasonMissingField, "data.target: required")
	s.refused(call, map[string]any{"action": "transfer", "target": "2600", "takeback_dtmf": "*9"}, 400, httpapi.ReasonInvalidField,
		`data.takeback_dtmf: "*9" cannot be a takeback code for account "acct" (its cancel codes: *0, *1): *9 is already the account's swap code`)
	s.refused(call, map[string]any{"action": "park"}, 400, httpapi.ReasonUnknownAction, "data.action")
	// No file outside the sound classes: traversal, absolute paths and
	// schemes the account did not allow never reach Asterisk.
	for _, uri := range []string{"sound:../../../../../../etc/secret", "sound:/etc/secret", "recording:other/call"} {
		s.refused(call, map[string]any{"action": "transfer", "target": "2600", "ringback": uri}, 400, httpapi.ReasonInvalidField, "data.ringback")
	}
	s.refused("a07-nobody-in", map[string]any{"action": "cancel"}, 404, httpapi.ReasonNotFound, `call "a07-nobody-in" not found`)
	r := s.call("POST", channelPath(account, call), `{"data":{"action":"transfer","target":"2600"}}`, map[string]string{"X-Auth-Token": apiToken, "Content-Type": "text/plain"})
	if r.Status != 415 {
		t.Fatalf("text/plain: %d %s", r.Status, r.Body)
	}
	r = s.call("POST", channelPath(account, call), `{"data":{"action":"transfer","target":"2600","moh":"`+strings.Repeat("m", 70000)+`"}}`, xauth(apiToken))
	if r.Status != 413 {
		t.Fatalf("large body: %d %s", r.Status, r.Body)
	}
	if err := phones.NoRing(s.ctx, s.tag, "2600", 1500*time.Millisecond); err != nil {
		t.Fatalf("a refused request changed something: %v", err)
	}
	if c := s.getCall(call); c.Transfer != nil || c.LastTransfer != nil || c.State != "talking" {
		t.Fatalf("the call changed: %+v", c)
	}

	// In progress: a second transfer is refused, the first goes on.
	s.listen(bob)
	carol := s.apiTransfer(bob, "2600", nil)
	r = s.refused(call, map[string]any{"action": "transfer", "target": "2700"}, 409, httpapi.ReasonTransferInProgress, "already in progress")
	if r.Err.Call == nil || r.Err.Call.Transfer == nil || r.Err.Call.Transfer.Target != "2600" {
		t.Fatalf("409 without the call's transfer: %s", r.Body)
	}
	if err := phones.NoRing(s.ctx, s.tag, "2700", 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	s.transferState(call, "CallingTarget")
	s.act(call, map[string]any{"action": "cancel"}, http.StatusOK)
	s.gone(carol)
	s.together(call, bobLeg)
	s.hangup(alice)
	s.gone(bob)
	s.callGone()
}
