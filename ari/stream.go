package ari

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Backoff paces reconnects: the n-th consecutive failure waits a random
// duration in [d/2, d], where d = Min·2ⁿ capped at Max. The jitter keeps
// several transferd instances from redialling a restarted Asterisk in step.
type Backoff struct {
	Min time.Duration // first delay; zero means 100ms
	Max time.Duration // cap; zero means 5s
}

func (b Backoff) withDefaults() (Backoff, error) {
	if b.Min == 0 {
		b.Min = 100 * time.Millisecond
	}
	if b.Max == 0 {
		b.Max = 5 * time.Second
	}
	if b.Min < 0 || b.Max < b.Min {
		return b, fmt.Errorf("ari: Options.Backoff: want 0 < Min <= Max, got Min=%s Max=%s", b.Min, b.Max)
	}
	return b, nil
}

// delay returns the wait before retry number step (0-based).
func (b Backoff) delay(step int) time.Duration {
	d := b.Min
	for i := 0; i < step && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	return half + rand.N(d-half+1)
}

// Stats are the event stream's counters since New.
type Stats struct {
	Received   uint64 // messages read from the stream
	Malformed  uint64 // messages Decode rejected (logged at Warn, not dispatched)
	Unknown    uint64 // messages of a type this package does not know (dispatched as *Unknown)
	Reconnects uint64 // successful reconnects after a drop
	Connected  bool   // whether the stream is up now
}

type counters struct {
	received, malformed, unknown, reconnects atomic.Uint64
}

// Stats returns a snapshot of the event counters.
func (c *Client) Stats() Stats {
	return Stats{
		Received:   c.stats.received.Load(),
		Malformed:  c.stats.malformed.Load(),
		Unknown:    c.stats.unknown.Load(),
		Reconnects: c.stats.reconnects.Load(),
		Connected:  c.up.Load(),
	}
}

// Link is the event stream's state, for readiness checks.
type Link struct {
	Connected bool
	// Since is when the stream last came up or went down (zero: Run has
	// not tried yet).
	Since time.Time
	// Err is why the stream is down: the last dial or read error (nil while
	// it is up, or before the first dial). errors.Is(Err, ErrUnauthorized)
	// means a wrong ARI user or password.
	Err error
}

// Link returns the event stream's state now.
func (c *Client) Link() Link { return c.link.get() }

type linkState struct {
	mu sync.Mutex
	l  Link
}

func (s *linkState) set(up bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.l.Connected != up || s.l.Since.IsZero() {
		s.l.Since = time.Now()
	}
	s.l.Connected, s.l.Err = up, err
}

func (s *linkState) get() Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.l
}

// Connected returns a channel that is closed the first time the event
// stream is up, so a caller can wait before originating: Asterisk only
// accepts app=… for an application that has a websocket.
func (c *Client) Connected() <-chan struct{} { return c.connected }

// maxLogRaw bounds how much of a malformed message is logged.
const maxLogRaw = 1024

// Run connects the event stream and dispatches events to subscriptions
// until ctx ends, then returns ctx.Err(). A dropped stream is reported as
// *Disconnected and redialled with jittered exponential backoff; once it is
// back, every subscription receives *Reconnected before any new event.
// Failed dials are logged at Warn and retried forever: Asterisk restarting
// must not stop transferd. Run may be called again after it returns; the
// first connection of the new Run counts as a reconnect, since events were
// missed in between. Run returns early only if Options.Apps is empty or
// another Run is active on the same Client.
func (c *Client) Run(ctx context.Context) error {
	if len(c.apps) == 0 {
		return errors.New("ari: Run: Options.Apps is empty")
	}
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("ari: Run: already running")
	}
	defer c.running.Store(false)

	var (
		attempts int // dials since the drop (or since Run started)
		step     int // backoff step; reset by a stream that stayed up
	)
	for {
		attempts++
		stream, err := c.transport.Events(ctx, c.apps)
		if err == nil && stream == nil {
			err = errors.New("transport returned no stream")
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.link.set(false, err)
			if errors.Is(err, ErrUnauthorized) {
				c.log.Error().Err(err).Int("attempt", attempts).
					Msg("ARI refused the credentials (401 Unauthorized): check ari.username and ari.password (or TRANSFERD_ARI_PASSWORD) against the user in Asterisk's ari.conf")
			} else {
				c.log.Warn().Err(err).Int("attempt", attempts).Strs("apps", c.apps).Msg("ari event stream dial failed")
			}
			if err := c.sleep(ctx, c.backoff.delay(step)); err != nil {
				return err
			}
			step++
			continue
		}

		// Drop works from the moment the stream is reported up: a Drop
		// between Connected() and the read loop was lost (no stream
		// ended, no Disconnected; TestDropRedials at load 12).
		rctx, cancel := context.WithCancelCause(ctx)
		c.setDrop(cancel)
		upAt := time.Now()
		c.up.Store(true)
		c.link.set(true, nil)
		c.connectedOnce.Do(func() { close(c.connected) })
		if c.wasUp {
			c.stats.reconnects.Add(1)
			down := upAt.Sub(c.downAt)
			c.log.Info().Dur("down", down).Int("attempts", attempts).Msg("ari event stream reconnected")
			c.dispatch(&Reconnected{EventBase: synthetic(TypeReconnected, upAt), Down: down, Attempts: attempts})
		} else {
			c.log.Info().Int("attempts", attempts).Strs("apps", c.apps).Msg("ari event stream connected")
		}
		c.wasUp = true

		err = c.read(rctx, stream)
		c.setDrop(nil)
		if ctx.Err() == nil && rctx.Err() != nil {
			err = context.Cause(rctx) // Drop's reason
		}
		cancel(nil)
		c.up.Store(false)
		c.link.set(false, err)
		c.downAt = time.Now()
		if cerr := stream.Close(); cerr != nil {
			c.log.Debug().Err(cerr).Msg("ari event stream close")
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}

		attempts = 0
		c.log.Warn().Err(err).Dur("up", c.downAt.Sub(upAt)).Msg("ari event stream dropped")
		c.dispatch(&Disconnected{EventBase: synthetic(TypeDisconnected, c.downAt), Err: err})
		// A stream that stayed up a while earns a fast first retry; one
		// that drops right after connecting keeps backing off, so a
		// flapping Asterisk is not hammered.
		if c.downAt.Sub(upAt) >= c.backoff.Max {
			step = 0
		}
		if err := c.sleep(ctx, c.backoff.delay(step)); err != nil {
			return err
		}
		step++
	}
}

// RedialNow makes a Run waiting to redial the event stream do it at once,
// for a caller that knows Asterisk answers again (a ping went through):
// while the stream is down, Asterisk drops the application's events and
// refuses to put channels in it. It never blocks; without a wait pending
// it does nothing but make the next wait end at once.
func (c *Client) RedialNow() {
	select {
	case c.redial <- struct{}{}:
	default:
	}
}

// Drop ends the event stream being read, for a caller that knows it is
// useless while it looks up (Asterisk no longer has the application it
// was opened for): Run reports *Disconnected with why and redials at once
// (a stream that was up a while earns a fast first retry). Without a
// stream up it does nothing.
func (c *Client) Drop(why error) {
	c.dropMu.Lock()
	defer c.dropMu.Unlock()
	if c.drop != nil {
		c.drop(why)
	}
}

func (c *Client) setDrop(f context.CancelCauseFunc) {
	c.dropMu.Lock()
	c.drop = f
	c.dropMu.Unlock()
}

// read dispatches events from stream until Read fails.
func (c *Client) read(ctx context.Context, stream EventStream) error {
	for {
		raw, err := stream.Read(ctx)
		if err != nil {
			return err
		}
		c.stats.received.Add(1)
		ev, err := Decode(raw)
		if err != nil {
			c.stats.malformed.Add(1)
			c.log.Warn().Err(err).Str("raw", truncate(raw, maxLogRaw)).Msg("ari event malformed")
			continue
		}
		if _, ok := ev.(*Unknown); ok {
			c.stats.unknown.Add(1)
		}
		c.log.Debug().Str("event", ev.GetType()).Str("app", ev.GetApplication()).Msg("ari event")
		c.dispatch(ev)
	}
}

func synthetic(typ string, at time.Time) EventBase {
	return EventBase{Type: typ, Timestamp: at.UTC().Format(timeLayouts[0])}
}

// sleep waits d or until ctx ends. A timer, not time.Sleep, so cancelling
// Run is immediate.
// sleep waits d between redials, or less after RedialNow.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	case <-c.redial:
		return nil
	}
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
