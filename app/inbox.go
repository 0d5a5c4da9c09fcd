package app

import "sync"

// inbox is an unbounded, ordered queue feeding one call goroutine. The
// router pushes without ever waiting on the call (a slow call must not stall
// the ARI reader), and nothing is dropped: items sit in the slice until the
// call takes them. signal is level-triggered: one pending token means "there
// may be items", so a push that finds a token already there loses nothing.
type inbox struct {
	mu     sync.Mutex
	items  []any
	signal chan struct{}
}

func newInbox() *inbox { return &inbox{signal: make(chan struct{}, 1)} }

func (q *inbox) push(v any) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default: // a token is already pending; the item is in q.items
	}
}

// take returns everything queued so far, oldest first.
func (q *inbox) take() []any {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}
