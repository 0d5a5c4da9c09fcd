package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transferd/transferd/app"
)

// Event names of the stream (the SSE "event:" field). The data of each is
// the call's app.CallInfo after the change.
const (
	EventCallStarted     = "call.started"     // first view of a call
	EventCallUpdated     = "call.updated"     // parties or call state changed
	EventCallEnded       = "call.ended"       // the call is over (state "ended")
	EventTransferStarted = "transfer.started" // transfer present, new id
	EventTransferUpdated = "transfer.updated" // the running transfer changed state (or parties)
	EventTransferEnded   = "transfer.ended"   // last_transfer has a new finished transfer with its outcome
	// Stream-level events (their data is not a app.CallInfo).
	EventSnapshot = "snapshot" // first event: {"calls":[app.CallInfo...]}
	EventDropped  = "dropped"  // {"dropped":n}: n events were lost for this client; re-fetch the calls
)

// Event is one change of a call.
type Event struct {
	ID   uint64
	Name string
	Call app.CallInfo
}

// Hub fans call changes out to the event streams of their account.
//
// Publish never blocks: it is called on a call's goroutine. Each subscriber
// has a bounded queue (HubOptions.Buffer events); when a slow client's
// queue is full, the new event is dropped for that client only, counted in
// Dropped, and the client receives a "dropped" event telling how many it
// lost as soon as its queue has drained, so it can re-fetch the calls.
type Hub struct {
	buffer, maxPerAccount int

	mu     sync.Mutex
	subs   map[string]map[*Subscription]struct{}
	last   map[string]app.CallInfo // by call id: the previous view, to name events
	seq    uint64
	closed bool

	dropped atomic.Uint64
}

// HubOptions size the hub. Zero values take the defaults.
type HubOptions struct {
	Buffer        int // events queued per subscriber (default 1024)
	MaxPerAccount int // concurrent streams per account (default 64)
}

// Errors of Subscribe.
var (
	ErrHubClosed      = errors.New("the event hub is closed")
	ErrTooManyStreams = errors.New("too many event streams for this account")
)

// NewHub makes a hub.
func NewHub(o HubOptions) *Hub {
	if o.Buffer <= 0 {
		o.Buffer = 1024
	}
	if o.MaxPerAccount <= 0 {
		o.MaxPerAccount = 64
	}
	return &Hub{buffer: o.Buffer, maxPerAccount: o.MaxPerAccount,
		subs: map[string]map[*Subscription]struct{}{}, last: map[string]app.CallInfo{}}
}

// Subscription is one client's queue of events.
type Subscription struct {
	hub     *Hub
	account string
	ch      chan Event
	lost    atomic.Uint64 // dropped since the client was last told
}

// Events delivers the events; it is closed when the hub closes.
func (s *Subscription) Events() <-chan Event { return s.ch }

// TakeDropped returns how many events were dropped for this subscriber
// since the last call, and resets the count.
func (s *Subscription) TakeDropped() uint64 { return s.lost.Swap(0) }

// Pending is the number of queued events.
func (s *Subscription) Pending() int { return len(s.ch) }

// Subscribe starts a subscription to an account's events.
func (h *Hub) Subscribe(account string) (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrHubClosed
	}
	if len(h.subs[account]) >= h.maxPerAccount {
		return nil, ErrTooManyStreams
	}
	s := &Subscription{hub: h, account: account, ch: make(chan Event, h.buffer)}
	if h.subs[account] == nil {
		h.subs[account] = map[*Subscription]struct{}{}
	}
	h.subs[account][s] = struct{}{}
	return s, nil
}

// Close ends the subscription. Safe to call more than once.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s.account][s]; !ok {
		return
	}
	delete(h.subs[s.account], s)
	if len(h.subs[s.account]) == 0 {
		delete(h.subs, s.account)
	}
	close(s.ch)
}

// Close ends every subscription (their streams end) and refuses new ones.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for acct, subs := range h.subs {
		for s := range subs {
			close(s.ch)
		}
		delete(h.subs, acct)
	}
}

// Dropped is the number of events dropped for slow subscribers since the
// hub started.
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }

// Hooks are the app's hooks that publish every call change to h (pass
// them to app.New).
func (h *Hub) Hooks() app.Hooks { return app.Hooks{CallChanged: h.Publish} }

// Publish records a call's new view and queues it for the account's
// subscribers. It never blocks.
func (h *Hub) Publish(info app.CallInfo) {
	h.mu.Lock()
	defer h.mu.Unlock()
	prev, seen := h.last[info.ID]
	var p *app.CallInfo
	if seen {
		p = &prev
	}
	name := eventName(p, info)
	if info.State == "ended" {
		delete(h.last, info.ID)
	} else {
		h.last[info.ID] = info
	}
	if h.closed {
		return
	}
	h.seq++
	ev := Event{ID: h.seq, Name: name, Call: info}
	for s := range h.subs[info.Account] {
		select {
		case s.ch <- ev:
		default:
			s.lost.Add(1)
			h.dropped.Add(1)
		}
	}
}

// eventName names the change from prev (nil: first view) to cur.
func eventName(prev *app.CallInfo, cur app.CallInfo) string {
	eq := func(a, b *app.TransferInfo) bool {
		if a == nil || b == nil {
			return a == b
		}
		return *a == *b
	}
	switch {
	case cur.State == "ended":
		return EventCallEnded
	case prev == nil:
		return EventCallStarted
	case cur.LastTransfer != nil && !eq(prev.LastTransfer, cur.LastTransfer):
		return EventTransferEnded
	case cur.Transfer != nil && (prev.Transfer == nil || prev.Transfer.ID != cur.Transfer.ID):
		return EventTransferStarted
	case cur.Transfer != nil && !eq(prev.Transfer, cur.Transfer):
		return EventTransferUpdated
	}
	return EventCallUpdated
}

// events serves GET /v2/accounts/{account_id}/events as Server-Sent Events.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	account := r.PathValue("account_id")
	if h.opts.Hub == nil {
		writeError(w, r, &Error{Status: http.StatusServiceUnavailable, Reason: ReasonUnavailable, Message: "the event stream is not enabled"})
		return
	}
	sub, err := h.opts.Hub.Subscribe(account)
	switch {
	case errors.Is(err, ErrTooManyStreams):
		writeError(w, r, &Error{Status: http.StatusTooManyRequests, Reason: ReasonTooManyStreams,
			Message: fmt.Sprintf("too many event streams for account %s; close one first", quote(account))})
		return
	case err != nil:
		writeError(w, r, &Error{Status: http.StatusServiceUnavailable, Reason: ReasonUnavailable, Message: "the event stream is shutting down"})
		return
	}
	defer sub.Close()

	rc := http.NewResponseController(w)
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	// The stream outlives the server's write timeout (net/http already
	// lifts the read deadline once the request is read): each write gets
	// its own deadline, so a stream lives as long as its client reads it,
	// and a client that stops reading does not hold the handler forever.
	send := func(chunk []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(h.opts.StreamWriteTimeout))
		if _, err := w.Write(chunk); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	frame := func(id uint64, name string, data any) []byte {
		b, err := json.Marshal(data)
		if err != nil {
			b = []byte(`{}`)
		}
		var out []byte
		if id != 0 {
			out = append(out, "id: "+strconv.FormatUint(id, 10)+"\n"...)
		}
		out = append(out, "event: "+name+"\ndata: "...)
		out = append(out, b...)
		return append(out, "\n\n"...)
	}

	calls := h.opts.Backend.Calls(account)
	if calls == nil {
		calls = []app.CallInfo{}
	}
	first := append([]byte("retry: 3000\n\n"), frame(0, EventSnapshot, map[string]any{"calls": calls})...)
	if !send(first) {
		return
	}
	tick := time.NewTicker(h.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if !send([]byte(": keep-alive\n\n")) {
				return
			}
		case ev, ok := <-sub.Events():
			if !ok {
				return
			}
			chunk := frame(ev.ID, ev.Name, ev.Call)
			if sub.Pending() == 0 {
				if n := sub.TakeDropped(); n > 0 {
					chunk = append(chunk, frame(0, EventDropped, map[string]uint64{"dropped": n})...)
				}
			}
			if !send(chunk) {
				return
			}
		}
	}
}
