package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/app"
)

func TestEventNames(t *testing.T) {
	x1 := &app.TransferInfo{ID: "c-x1", State: "CallingTarget", Target: "2600"}
	x1c := &app.TransferInfo{ID: "c-x1", State: "Consulting", Target: "2600"}
	x1done := &app.TransferInfo{ID: "c-x1", State: "Completed", Target: "2600", Outcome: "completed"}
	x2 := &app.TransferInfo{ID: "c-x2", State: "CallingTarget", Target: "2700"}
	base := app.CallInfo{ID: "c", Account: "acme", State: "talking"}
	with := func(f func(*app.CallInfo)) app.CallInfo { c := base; f(&c); return c }
	steps := []struct {
		info app.CallInfo
		want string
	}{
		{with(func(c *app.CallInfo) { c.State = "dialing" }), EventCallStarted},
		{base, EventCallUpdated},
		{with(func(c *app.CallInfo) { c.Transfer = x1 }), EventTransferStarted},
		{with(func(c *app.CallInfo) { c.Transfer = x1c }), EventTransferUpdated},
		{with(func(c *app.CallInfo) { c.Transfer = x1c; c.Parties = []app.PartyInfo{{Channel: "c"}} }), EventCallUpdated},
		{with(func(c *app.CallInfo) { c.LastTransfer = x1done }), EventTransferEnded},
		{with(func(c *app.CallInfo) { c.LastTransfer = x1done; c.Transfer = x2 }), EventTransferStarted},
		{with(func(c *app.CallInfo) { c.State = "ended"; c.LastTransfer = x1done; c.Transfer = x2 }), EventCallEnded},
		{with(func(c *app.CallInfo) { c.State = "dialing" }), EventCallStarted}, // the id is forgotten after ended
	}
	h := NewHub(HubOptions{})
	sub, err := h.Subscribe("acme")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := h.Subscribe("other")
	for i, s := range steps {
		h.Publish(s.info)
		ev := <-sub.Events()
		if ev.Name != s.want || ev.ID != uint64(i+1) {
			t.Errorf("step %d: event %d %s, want %d %s", i, ev.ID, ev.Name, i+1, s.want)
		}
	}
	if other.Pending() != 0 {
		t.Error("another account's subscriber got events")
	}
}

// TestHubNeverBlocks: a subscriber that does not read loses events (counted)
// and Publish does not wait for it; others still get everything.
func TestHubNeverBlocks(t *testing.T) {
	h := NewHub(HubOptions{Buffer: 4})
	stuck, _ := h.Subscribe("acme")
	reader, _ := h.Subscribe("acme")
	got := make(chan int)
	go func() {
		n := 0
		for range reader.Events() {
			n++
		}
		got <- n
	}()
	done := make(chan struct{})
	go func() {
		for i := 0; i < 1000; i++ {
			h.Publish(app.CallInfo{ID: "c" + strconv.Itoa(i%3), Account: "acme", State: "talking"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked")
	}
	if stuck.Pending() != 4 {
		t.Errorf("stuck subscriber has %d queued, want 4", stuck.Pending())
	}
	lost := stuck.TakeDropped()
	if lost != 996 || stuck.TakeDropped() != 0 {
		t.Errorf("stuck subscriber lost %d, want 996 (then 0)", lost)
	}
	h.Close()
	n := <-got
	if n+int(h.Dropped())-996 != 1000 {
		t.Errorf("reader got %d and the hub dropped %d in all: %d of 1000 events unaccounted", n, h.Dropped(), 1000-n-int(h.Dropped())+996)
	}
	if _, err := h.Subscribe("acme"); err != ErrHubClosed {
		t.Errorf("subscribe after close: %v", err)
	}
	stuck.Close() // after the hub closed: no double close
}

type sse struct {
	id, event, data string
}

// readEvents reads the stream's events (comments skipped) into a channel.
func readEvents(body io.Reader) <-chan sse {
	out := make(chan sse, 100)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var cur sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.event != "" || cur.data != "" {
					out <- cur
				}
				cur = sse{}
			case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "retry:"):
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				cur.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				cur.data += line[6:]
			}
		}
	}()
	return out
}

func next(t *testing.T, evs <-chan sse) sse {
	t.Helper()
	select {
	case ev, ok := <-evs:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	return sse{}
}

func TestEventStream(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Heartbeat = 20 * time.Millisecond })
	e.hub = NewHub(HubOptions{Buffer: 2})
	e.h.opts.Hub = e.hub
	e.backend.add(talkingCall("acme", "alice-in"))
	res := e.stream(t, "/v2/accounts/acme/events", auth(acmeToken))
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	evs := readEvents(res.Body)
	snap := next(t, evs)
	var s struct{ Calls []app.CallInfo }
	if err := json.Unmarshal([]byte(snap.data), &s); snap.event != EventSnapshot || err != nil || len(s.Calls) != 1 || s.Calls[0].ID != "alice-in" {
		t.Fatalf("first event %+v (%v)", snap, err)
	}
	info := talkingCall("acme", "alice-in").info
	info.Transfer = &app.TransferInfo{ID: "alice-in-x1", State: "CallingTarget", Target: "2600"}
	e.hub.Publish(info)
	e.hub.Publish(app.CallInfo{ID: "olga-in", Account: "other", State: "talking"}) // not ours
	ev := next(t, evs)
	var got app.CallInfo
	if err := json.Unmarshal([]byte(ev.data), &got); err != nil || ev.event != EventCallStarted || ev.id == "" || got.Transfer == nil || got.Transfer.State != "CallingTarget" {
		t.Fatalf("event %+v (%v)", ev, err)
	}
	// Overflow: with the handler stuck writing nothing... simulate with a
	// burst bigger than the buffer while the reader is slow.
	for i := 0; i < 50; i++ {
		info.Transfer = &app.TransferInfo{ID: "alice-in-x1", State: "State" + strconv.Itoa(i), Target: "2600"}
		e.hub.Publish(info)
	}
	deadline := time.After(10 * time.Second)
	seen, dropped := 0, 0
	for seen+dropped < 50 {
		select {
		case ev := <-evs:
			switch ev.event {
			case EventTransferUpdated:
				seen++
			case EventDropped:
				var d struct{ Dropped int }
				_ = json.Unmarshal([]byte(ev.data), &d)
				dropped += d.Dropped
			default:
				t.Fatalf("unexpected %+v", ev)
			}
		case <-deadline:
			t.Fatalf("saw %d events and %d dropped of 50", seen, dropped)
		}
	}
	// The hub closing (server shutdown) ends the stream.
	e.hub.Close()
	select {
	case _, ok := <-evs:
		for ok {
			_, ok = <-evs
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stream did not end with the hub")
	}
}

func TestEventStreamLimits(t *testing.T) {
	e := newEnv(t, nil)
	e.hub = NewHub(HubOptions{MaxPerAccount: 1})
	e.h.opts.Hub = e.hub
	res := e.stream(t, "/v2/accounts/acme/events", auth(acmeToken))
	if res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	next(t, readEvents(res.Body)) // subscribed
	r := e.do(req{method: "GET", path: "/v2/accounts/acme/events", header: auth(acmeToken)})
	wantError(t, r, 429, ReasonTooManyStreams, "", "too many event streams")
	// Another account has its own limit.
	res2 := e.stream(t, "/v2/accounts/other/events", auth(otherToken))
	if res2.StatusCode != 200 {
		t.Fatal(res2.StatusCode)
	}

	e = newEnv(t, func(o *Options) { o.Hub = nil })
	r = e.do(req{method: "GET", path: "/v2/accounts/acme/events", header: auth(acmeToken)})
	wantError(t, r, 503, ReasonUnavailable, "", "not enabled")
}

// TestEventStreamClientGone: a client that goes away frees its
// subscription.
func TestEventStreamClientGone(t *testing.T) {
	e := newEnv(t, nil)
	srv := newServer(t, e.h)
	ctx, cancel := context.WithCancel(context.Background())
	r, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v2/accounts/acme/events", nil)
	r.Header.Set("X-Auth-Token", acmeToken)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	next(t, readEvents(res.Body))
	cancel()
	res.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.hub.mu.Lock()
		n := len(e.hub.subs["acme"])
		e.hub.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("subscription not released")
		}
		e.hub.Publish(app.CallInfo{ID: "x", Account: "acme"}) // wakes the writer
		time.Sleep(20 * time.Millisecond)
	}
}
