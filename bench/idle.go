package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/integration"
)

// idleResult is transferd's heap with calls held idle.
type idleResult struct {
	calls         int
	up            int
	before, after heapReading
	profile       string
	leakChans     []string
	leakBridges   []string
	leakAnn       []string
	errs          []string
}

// idleHeap holds n calls through transferd with Alice and Bob talking (no
// transfer) and reads transferd's heap after a forced GC with none and with
// all of them up.
func idleHeap(ctx context.Context, e *env, o options, n, perSec int) (*idleResult, error) {
	res := &idleResult{calls: n}
	var err error
	if res.before, err = e.td.heap(ctx); err != nil {
		return nil, err
	}
	release := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ready := make(chan bool, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := sleep(ctx, time.Duration(i)*time.Second/time.Duration(perSec)); err != nil {
				ready <- false
				return
			}
			err := idleCall(ctx, e, fmt.Sprintf("i%06d", i), ready, release)
			if err != nil {
				mu.Lock()
				if len(res.errs) < 5 {
					res.errs = append(res.errs, err.Error())
				}
				mu.Unlock()
			}
		}(i)
	}
	fmt.Printf("bench: idle: setting up %d calls\n", n)
	for i := 0; i < n; i++ {
		if <-ready {
			res.up++
		}
	}
	_ = sleep(ctx, 2*time.Second)
	if res.after, err = e.td.heap(ctx); err != nil {
		return nil, err // the calls stay up; the sandbox goes with the run
	}
	if o.profile {
		res.profile = filepath.Join(e.dir, "transferd-idle.heap.pprof")
		if err := e.td.profile(ctx, "heap", 0, res.profile); err != nil {
			res.profile = ""
		}
	}
	fmt.Printf("bench: idle: %d calls up; hanging up\n", res.up)
	// Hang up at the set-up pace: a burst of a thousand hangups is a
	// different test (see BENCHMARKS.md on Asterisk's HTTP session limit).
	for i := 0; i < res.up; i++ {
		select {
		case release <- struct{}{}:
		case <-ctx.Done():
		}
		_ = sleep(ctx, time.Second/time.Duration(perSec))
	}
	wg.Wait()
	res.leakChans, res.leakBridges, res.leakAnn, err = e.waitClean(ctx, 30*time.Second)
	if err != nil {
		res.errs = append(res.errs, "leak check: "+err.Error())
	}
	if len(res.leakChans)+len(res.leakBridges)+len(res.leakAnn) > 0 || err != nil {
		e.purge(ctx)
	}
	return res, nil
}

// idleCall is one call that stays up until release: Alice calls Bob
// through transferd, Bob answers; then Alice hangs up.
func idleCall(ctx context.Context, e *env, key string, ready chan<- bool, release <-chan struct{}) (err error) {
	r := e.sim.start(key)
	defer r.end()
	cl := e.sim.cl
	handset := ari.ChannelID(key + "-a")
	signalled := false
	defer func() {
		if !signalled {
			ready <- false
		}
		if err != nil {
			cctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			_ = cl.Channels.Hangup(cctx, handset, "normal")
		}
	}()
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := cl.Channels.Originate(sctx, ari.OriginateParams{
		Endpoint: fmt.Sprintf("Local/%s@transferd-test-caller/n", key),
		App:      integration.PhonesApp, AppArgs: "caller," + key,
		ChannelID: handset, OtherChannelID: integration.InID(handset),
		CallerID: "alice <" + aliceNumber + ">", Timeout: -1, Formats: integration.HandsetFormats,
		Variables: map[string]string{"__TD_APP": e.td.app, "__TD_ACCOUNT": benchAcct, "__TD_DEST": bobNumber, "__TD_CALLBACK": aliceNumber},
	}); err != nil {
		return fmt.Errorf("idle %s: originate: %w", key, err)
	}
	bob, err := r.wait(sctx, 0, "Bob's phone", dialed(bobNumber))
	if err != nil {
		return fmt.Errorf("idle %s: %w", key, err)
	}
	bobID := bob.ev.(*ari.StasisStart).Channel.ID
	if err := cl.Channels.Ring(sctx, bobID); err != nil {
		return fmt.Errorf("idle %s: ring: %w", key, err)
	}
	if err := cl.Channels.Answer(sctx, bobID); err != nil {
		return fmt.Errorf("idle %s: answer: %w", key, err)
	}
	if _, err := r.wait(sctx, 0, "Alice answered", func(ev ari.Event) bool {
		st, ok := ev.(*ari.StasisStart)
		return ok && st.Channel.ID == handset
	}); err != nil {
		return fmt.Errorf("idle %s: %w", key, err)
	}
	signalled = true
	ready <- true
	select {
	case <-release:
	case <-ctx.Done():
		return ctx.Err()
	}
	hctx, c := context.WithTimeout(ctx, 30*time.Second)
	defer c()
	from := r.mark()
	if err := cl.Channels.Hangup(hctx, handset, "normal"); err != nil {
		return fmt.Errorf("idle %s: hangup: %w", key, err)
	}
	if !r.isGone(bobID) {
		if _, err := r.wait(hctx, from, "Bob hung up", gone(bobID)); err != nil {
			return fmt.Errorf("idle %s: %w", key, err)
		}
	}
	return nil
}
