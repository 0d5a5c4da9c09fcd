package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/ari"
)

// recorder is an ari.Transport that answers every request with a canned
// status and records it. It proves ordering and the failure-to-event path
// only; call behaviour is proved on a real Asterisk (integration/).
type recorder struct {
	mu   sync.Mutex
	reqs []string
	fail map[string]int // "METHOD path-prefix" → status to answer
	// lost: "METHOD path-prefix" → carried out, but the answer is lost
	// (the request fails with no status, as in a NATS restart).
	lost map[string]bool
	// body: "METHOD path" → the 200 answer's body.
	body map[string]string
}

func (r *recorder) RoundTrip(_ context.Context, req *ari.Request) (*ari.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	line := req.Method + " " + req.Path
	r.reqs = append(r.reqs, line)
	for k := range r.lost {
		if strings.HasPrefix(line, k) {
			return nil, fmt.Errorf("recorder: the answer to %s was lost", line)
		}
	}
	if b, ok := r.body[line]; ok {
		return &ari.Response{Status: 200, Body: []byte(b)}, nil
	}
	for k, status := range r.fail {
		if strings.HasPrefix(line, k) {
			return &ari.Response{Status: status, Body: []byte(`{"message":"injected"}`)}, nil
		}
	}
	// As Asterisk does, operations that return a resource answer with a
	// body (an empty body would be a decode error, which counts as "no
	// answer from Asterisk").
	if req.Method == "GET" || strings.HasSuffix(req.Path, "/create") || strings.Contains(req.Path, "/play") || strings.HasPrefix(req.Path, "/bridges/") && req.Method == "POST" && strings.Count(req.Path, "/") == 2 {
		return &ari.Response{Status: 200, Body: []byte(`{}`)}, nil
	}
	return &ari.Response{Status: 204}, nil
}

func (r *recorder) Events(context.Context, []string) (ari.EventStream, error) {
	return nil, fmt.Errorf("recorder: no events")
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

// index returns the position of the first request starting with prefix.
func index(reqs []string, prefix string) int {
	for i, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			return i
		}
	}
	return -1
}

// talkingCall builds an app around the recorder and a call c1 where the
// caller c1 and the callee c1-b talk.
func talkingCall(t *testing.T, rec *recorder, held *[]time.Duration) *Call {
	t.Helper()
	cfg := DefaultConfig()
	acct := cfg.Defaults
	acct.DialTemplate = "Local/{number}@phones"
	cfg.Accounts = map[string]AccountConfig{"a": acct}
	client, err := ari.New(ari.Options{Transport: rec, Apps: []string{"transferd"}})
	if err != nil {
		t.Fatal(err)
	}
	hooks := Hooks{TransfereeHeld: func(d time.Duration) { *held = append(*held, d) }}
	a, err := New(cfg, client, zerolog.New(zerolog.NewTestWriter(t)), hooks)
	if err != nil {
		t.Fatal(err)
	}
	c := newCall(a, a.accounts["a"], "c1")
	t.Cleanup(func() {
		// CEL events are raised in the background: done before the test.
		if c.cel != nil {
			_ = c.cel.wait()
		}
	})
	c.addLeg(&leg{id: "c1", role: roleCaller, number: "1001", callback: "1001", answered: true})
	c.addLeg(&leg{id: "c1-b", role: roleCallee, number: "2001", callback: "2001", answered: true})
	c.phase = phaseTalking
	return c
}

func TestTransferStartOrder(t *testing.T) {
	rec := &recorder{}
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	c.codeAt = time.Now()
	if _, err := c.startTransfer(context.Background(), c.legs["c1"], "2600", map[string]string{"moh": "jazz"}, false); err != nil {
		t.Fatalf("startTransfer: %v", err)
	}
	reqs := rec.requests()
	inOrder := func(order ...string) {
		t.Helper()
		last := -1
		for _, want := range order {
			i := index(reqs, want)
			if i < 0 {
				t.Fatalf("no request %q in %q", want, reqs)
			}
			if i < last {
				t.Fatalf("request %q came before the one preceding it in %q", want, reqs)
			}
			last = i
		}
	}
	// The hold, in order, after the write-ahead and the billing mark
	// (these two go together).
	inOrder("POST /channels/c1/variable", "POST /bridges/c1-x1-hold")
	inOrder("POST /asterisk/variable",
		"POST /bridges/c1-x1-hold",              // the hold bridge
		"POST /bridges/c1-x1-hold/addChannel",   // Bob into it
		"POST /bridges/c1-x1-hold/moh",          // music for Bob
		"POST /channels/c1/play/c1-x1-ringback") // ringback for Alice
	// Carol's leg is created beside the write-ahead and the mark, and
	// before Alice hears the ringback (pipeline.go); it is dialled only
	// after both, so nothing rings that a restart would not know.
	inOrder("POST /channels/create", "POST /channels/c1-x1-target-1/dial")
	inOrder("POST /asterisk/variable", "POST /channels/c1-x1-target-1/dial")
	inOrder("POST /channels/c1/variable", "POST /channels/c1-x1-target-1/dial")
	// And only once Bob has left Alice's bridge (holdGate: her CDR with him
	// must end there).
	inOrder("POST /bridges/c1-x1-hold/addChannel", "POST /channels/c1-x1-target-1/dial")
	inOrder("POST /channels/create", "POST /channels/c1/play/c1-x1-ringback")
	if len(held) != 1 {
		t.Fatalf("TransfereeHeld reported %d times, want 1", len(held))
	}
	if c.xfer == nil || c.xfer.State.String() != "CallingTarget" {
		t.Fatalf("transfer state = %v, want CallingTarget", c.xfer)
	}
	// A second transfer is refused and sends nothing that moves anyone.
	n := len(rec.requests())
	if _, err := c.startTransfer(context.Background(), c.legs["c1"], "2700", nil, false); err != ErrTransferInProgress {
		t.Fatalf("second startTransfer error = %v, want ErrTransferInProgress", err)
	}
	if got := rec.requests()[n:]; len(got) != 0 {
		t.Fatalf("refused transfer sent %q", got)
	}
}

// A target leg that cannot be created is a failed dial: the machine puts
// Bob back with Alice.
func TestTransferDialFailureRestores(t *testing.T) {
	rec := &recorder{fail: map[string]int{"POST /channels/create": 400}}
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	if _, err := c.startTransfer(context.Background(), c.legs["c1"], "2600", nil, false); err != nil {
		t.Fatalf("startTransfer: %v", err)
	}
	if c.xfer != nil {
		t.Fatalf("transfer still open in %s after its dial failed", c.xfer.State)
	}
	if c.lastXfer == nil || !strings.HasPrefix(c.lastXfer.Outcome.String(), "failed:") {
		t.Fatalf("last transfer = %+v, want a failed outcome", c.lastXfer)
	}
	reqs := rec.requests()
	create := index(reqs, "POST /channels/create")
	back := -1
	for i, r := range reqs {
		if i > create && r == "POST /bridges/c1/addChannel" {
			back = i
		}
	}
	if back < 0 {
		t.Fatalf("Bob was not moved back to the call bridge after the failed dial: %q", reqs)
	}
	if index(reqs, "DELETE /bridges/c1-x1-hold") < 0 {
		t.Fatalf("hold bridge not destroyed: %q", reqs)
	}
}

func TestHangupReason(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"BUSY", "busy"}, {"NOANSWER", "no_answer"}, {"CONGESTION", "congestion"},
		{"CHANUNAVAIL", "congestion"}, {"CANCEL", "normal"}, {"", "normal"},
	} {
		if got := hangupReason(tc.in); got != tc.want {
			t.Errorf("hangupReason(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestInboxKeepsOrderAndLosesNothing(t *testing.T) {
	q := newInbox()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				q.push([2]int{w, i})
			}
		}(w)
	}
	wg.Wait()
	got := q.take()
	if len(got) != 4000 {
		t.Fatalf("took %d items, want 4000", len(got))
	}
	next := map[int]int{}
	for _, it := range got {
		p := it.([2]int)
		if p[1] != next[p[0]] {
			t.Fatalf("writer %d: item %d out of order, want %d", p[0], p[1], next[p[0]])
		}
		next[p[0]]++
	}
}

// The dial tone played before a code's number is not written in the
// call's snapshot (a restore stops it by the next transfer's id), so its
// start and its end cost no snapshot write; a ringback is written.
func TestSnapshotLeavesOutTheDialTone(t *testing.T) {
	rec := &recorder{}
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	h := &preHold{id: c.xferID(c.xferCount + 1)}
	h.toneID = dialToneID(h.id)
	c.prehold = h
	c.ringbacks[h.toneID] = true
	c.ringbacks["c1-x0-ringback-1"] = true
	if got := c.snapshot(nil).Ringbacks; !slices.Equal(got, []ari.PlaybackID{"c1-x0-ringback-1"}) {
		t.Fatalf("snapshot ringbacks %q, want only the ringback", got)
	}
}
