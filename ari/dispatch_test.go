package ari

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

func stasisStart(app string, ch ChannelID, seq int) *StasisStart {
	return &StasisStart{
		EventBase: EventBase{Type: "StasisStart", Application: app},
		Args:      []string{strconv.Itoa(seq)},
		Channel:   Channel{ID: ch},
	}
}

func seqOf(t *testing.T, ev Event) int {
	t.Helper()
	s, ok := ev.(*StasisStart)
	if !ok {
		t.Fatalf("got %T, want *StasisStart", ev)
	}
	n, err := strconv.Atoi(s.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSubscriptionOrdered(t *testing.T) {
	checkGoroutines(t)
	c := newTestClient(t, &recorder{})
	sub := c.Subscribe(Filter{})
	defer sub.Close()
	const n = 10000
	go func() {
		for i := range n {
			c.dispatch(stasisStart("transferd", "a", i))
		}
	}()
	for i := range n {
		if got := seqOf(t, next(t, sub)); got != i {
			t.Fatalf("event %d has sequence %d: out of order", i, got)
		}
	}
}

// TestSlowSubscriberDoesNotStall: a subscriber that never reads neither
// blocks dispatch nor delays another subscriber, and loses nothing.
func TestSlowSubscriberDoesNotStall(t *testing.T) {
	checkGoroutines(t)
	c := newTestClient(t, &recorder{})
	slow := c.Subscribe(Filter{})
	defer slow.Close()
	fast := c.Subscribe(Filter{})
	defer fast.Close()

	const n = 5000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			c.dispatch(stasisStart("transferd", "a", i))
		}
	}()
	for i := range n {
		if got := seqOf(t, next(t, fast)); got != i {
			t.Fatalf("fast subscriber: event %d has sequence %d", i, got)
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("dispatch blocked on a subscriber that does not read")
	}
	// The slow one kept everything, in order.
	for i := range n {
		if got := seqOf(t, next(t, slow)); got != i {
			t.Fatalf("slow subscriber: event %d has sequence %d", i, got)
		}
	}
}

func TestFilter(t *testing.T) {
	bridged := &ChannelEnteredBridge{
		EventBase: EventBase{Type: "ChannelEnteredBridge", Application: "transferd"},
		Bridge:    Bridge{ID: "br", Channels: []ChannelID{"a", "b"}},
		Channel:   &Channel{ID: "b"},
	}
	dial := &Dial{
		EventBase: EventBase{Type: "Dial", Application: "transferd"},
		Caller:    &Channel{ID: "a"},
		Peer:      Channel{ID: "t"},
	}
	global := &ChannelVarset{EventBase: EventBase{Type: "ChannelVarset", Application: "other"}, Variable: "X"}
	tests := []struct {
		name   string
		filter Filter
		ev     Event
		want   bool
	}{
		{"zero filter", Filter{}, global, true},
		{"app match", Filter{App: "transferd"}, dial, true},
		{"app mismatch", Filter{App: "transferd"}, global, false},
		{"peer matches", Filter{ChannelIDs: []ChannelID{"t"}}, dial, true},
		{"caller matches", Filter{ChannelIDs: []ChannelID{"x", "a"}}, dial, true},
		{"no channel matches", Filter{ChannelIDs: []ChannelID{"x"}}, dial, false},
		{"event without channels", Filter{ChannelIDs: []ChannelID{"a"}}, global, false},
		{"bridge member matches", Filter{ChannelIDs: []ChannelID{"a"}}, bridged, true},
		{"bridge matches", Filter{BridgeIDs: []BridgeID{"br"}}, bridged, true},
		{"bridge mismatch", Filter{BridgeIDs: []BridgeID{"zz"}}, bridged, false},
		{"type match", Filter{Types: []string{"StasisEnd", "Dial"}}, dial, true},
		{"type mismatch", Filter{Types: []string{"StasisEnd"}}, dial, false},
		{"all ANDed", Filter{App: "transferd", ChannelIDs: []ChannelID{"a"}, BridgeIDs: []BridgeID{"br"}, Types: []string{"ChannelEnteredBridge"}}, bridged, true},
		{"one field fails", Filter{App: "transferd", ChannelIDs: []ChannelID{"a"}, Types: []string{"StasisStart"}}, bridged, false},
		{"synthetic bypasses", Filter{App: "x", ChannelIDs: []ChannelID{"q"}, Types: []string{"Dial"}}, &Reconnected{EventBase: EventBase{Type: TypeReconnected}}, true},
		{"disconnected bypasses", Filter{App: "x"}, &Disconnected{EventBase: EventBase{Type: TypeDisconnected}}, true},
	}
	c := newTestClient(t, &recorder{})
	for _, tt := range tests {
		sub := c.Subscribe(tt.filter)
		c.dispatch(tt.ev)
		// A marker every subscription receives shows whether ev came first.
		marker := &Disconnected{EventBase: EventBase{Type: TypeDisconnected}}
		c.dispatch(marker)
		first := next(t, sub)
		delivered := first == tt.ev
		if delivered {
			next(t, sub) // the marker
		}
		if delivered != tt.want {
			t.Errorf("%s: delivered = %t, want %t", tt.name, delivered, tt.want)
		}
		sub.Close()
	}
}

func TestSubscribeCopiesFilter(t *testing.T) {
	c := newTestClient(t, &recorder{})
	ids := []ChannelID{"a"}
	sub := c.Subscribe(Filter{ChannelIDs: ids})
	defer sub.Close()
	ids[0] = "changed"
	c.dispatch(stasisStart("transferd", "a", 1))
	if got := seqOf(t, next(t, sub)); got != 1 {
		t.Fatalf("got sequence %d", got)
	}
}

// TestCloseConcurrent closes many subscriptions from several goroutines
// while events are dispatched; run with -race. Every Events() channel must
// end closed, and Close must be idempotent.
func TestCloseConcurrent(t *testing.T) {
	checkGoroutines(t)
	c := newTestClient(t, &recorder{})
	subs := make([]*Subscription, 50)
	for i := range subs {
		subs[i] = c.Subscribe(Filter{})
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c.dispatch(stasisStart("transferd", "a", i))
		}
	}()
	for _, s := range subs {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.Close()
			}()
		}
	}
	for _, s := range subs {
		s.Close()
		// Drain: whatever was in flight, the channel must end closed.
		for range s.Events() {
		}
	}
	close(stop)
	wg.Wait()
	c.subs.mu.RLock()
	left := len(c.subs.set)
	c.subs.mu.RUnlock()
	if left != 0 {
		t.Errorf("%d subscriptions still registered after Close", left)
	}
}

// TestCloseFromReader closes a subscription from the goroutine reading it,
// with events still queued.
func TestCloseFromReader(t *testing.T) {
	checkGoroutines(t)
	c := newTestClient(t, &recorder{})
	sub := c.Subscribe(Filter{})
	for i := range 100 {
		c.dispatch(stasisStart("transferd", "a", i))
	}
	n := 0
	for range sub.Events() {
		n++
		if n == 10 {
			sub.Close()
		}
	}
	if n < 10 {
		t.Errorf("read %d events before the channel closed, want at least 10", n)
	}
}
