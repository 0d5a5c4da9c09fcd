package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/integration"
)

// The attended-transfer script, the same on both paths: Alice (1001) calls
// Bob (2001), Bob answers; after a short talk Alice presses *22600# (the
// transfer code, Carol's number and # so neither side waits for a digit
// timeout); Carol's phone rings, she answers after a fixed ring; Alice talks
// to her, then hangs up; Bob and Carol are left together; Bob hangs up and
// Carol's phone must be hung up by whoever bridged them.
const (
	bobNumber   = "2001"
	carolNumber = "2600"
	aliceNumber = "1001"
	benchAcct   = "bench"
	xferCode    = "*2" + carolNumber + "#"
)

// Paths of the comparison.
const (
	pathTransferd = "transferd"
	pathNative    = "native"
)

// timing is the script's fixed waits.
type timing struct {
	talk    time.Duration // Alice and Bob talk before the code
	ring    time.Duration // Carol's phone rings this long before she answers
	consult time.Duration // Alice talks to Carol (from when they are connected)
	after   time.Duration // Bob and Carol talk before Bob hangs up (load runs)
	// dtmfBetween and dtmfDuration shape the digits Alice's phone sends.
	dtmfBetween, dtmfDuration int
}

// script runs one call with one transfer.
type script struct {
	sim     *sim
	obs     *observer // nil: no per-phase timings (load runs)
	path    string
	app     string // transferd's application
	key     string
	timing  timing
	timeout time.Duration
	// stop, when closed before the code is pressed, ends the call
	// without a transfer (the load run is over): sample.aborted.
	stop <-chan struct{}
}

// sample is one run's timings; zero fields were not measured.
type sample struct {
	path    string
	err     error
	aborted bool // the load run ended before this call's transfer began
	// Phase durations (Asterisk event timestamps).
	codeToRing, answerToConnected, hangupToBridged, whole time.Duration
	// The same from the benchmark's own receive times of the events.
	codeToRingL, answerToConnectedL, hangupToBridgedL, wholeL time.Duration
}

func (s *script) handset() ari.ChannelID { return ari.ChannelID(s.key + "-a") }
func (s *script) inLeg() ari.ChannelID   { return integration.InID(s.handset()) }

// stageTimeout bounds each wait of a script: a lost digit (Asterisk drops
// DTMF now and then under load) must cost seconds, not the whole timeout.
const stageTimeout = 15 * time.Second

func stage(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, stageTimeout)
}

func (s *script) run(ctx context.Context) (smp sample) {
	smp.path = s.path
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	r := s.sim.start(s.key)
	defer r.end()
	cl := s.sim.cl
	var phones []ari.ChannelID
	defer func() {
		if smp.err != nil {
			// Leave nothing behind: hang up every phone of the run.
			cctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			for _, id := range append([]ari.ChannelID{s.handset()}, phones...) {
				_ = cl.Channels.Hangup(cctx, id, "normal")
			}
		}
	}()
	fail := func(stage string, err error) sample {
		smp.err = fmt.Errorf("%s %s: %s: %w", s.path, s.key, stage, err)
		return smp
	}

	vars := map[string]string{"__TD_DEST": bobNumber, "__TD_TEST": s.key}
	dialCtx := "transferd-native-caller"
	if s.path == pathTransferd {
		dialCtx = "transferd-test-caller"
		vars["__TD_APP"] = s.app
		vars["__TD_ACCOUNT"] = benchAcct
		vars["__TD_CALLBACK"] = aliceNumber
	}
	if _, err := cl.Channels.Originate(ctx, ari.OriginateParams{
		Endpoint: fmt.Sprintf("Local/%s@%s/n", s.key, dialCtx),
		App:      integration.PhonesApp, AppArgs: "caller," + s.key,
		ChannelID: s.handset(), OtherChannelID: s.inLeg(),
		CallerID: "alice <" + aliceNumber + ">", Timeout: -1, Variables: vars,
		Formats: integration.HandsetFormats, // as the tests' phones: Bob's and Carol's legs take them
	}); err != nil {
		return fail("originate", err)
	}
	wctx, wc := stage(ctx)
	defer wc()
	bob, err := r.wait(wctx, 0, "Bob's phone", dialed(bobNumber))
	if err != nil {
		return fail("call Bob", err)
	}
	bobID := bob.ev.(*ari.StasisStart).Channel.ID
	phones = append(phones, bobID)
	if err := cl.Channels.Ring(ctx, bobID); err != nil {
		return fail("Bob rings", err)
	}
	if err := cl.Channels.Answer(ctx, bobID); err != nil {
		return fail("Bob answers", err)
	}
	if _, err := r.wait(wctx, 0, "Alice answered", func(ev ari.Event) bool {
		st, ok := ev.(*ari.StasisStart)
		return ok && st.Channel.ID == s.handset()
	}); err != nil {
		return fail("Alice connected to Bob", err)
	}
	t := time.NewTimer(s.timing.talk)
	select {
	case <-t.C:
	case <-ctx.Done():
		return fail("talk", ctx.Err())
	case <-s.stop:
		t.Stop()
		smp.aborted = true
		from := r.mark()
		if err := cl.Channels.Hangup(ctx, s.handset(), "normal"); err != nil {
			return fail("Alice hangs up", err)
		}
		ectx, c := stage(ctx)
		defer c()
		if !r.isGone(bobID) {
			if _, err := r.wait(ectx, from, "Bob hung up", gone(bobID)); err != nil {
				return fail("hangup without transfer", err)
			}
		}
		return smp
	}

	// The code. With an observer, the first and the final digit as Asterisk
	// received them on Alice's channel.
	var first, final *cond
	in := s.inLeg()
	if s.obs != nil {
		first = s.obs.when(dtmfOn(in, "*"))
		final = s.obs.when(dtmfOn(in, "#"))
		defer s.obs.cancel(first)
		defer s.obs.cancel(final)
	}
	from := r.mark()
	if err := cl.Channels.SendDTMF(ctx, s.handset(), ari.DTMFParams{DTMF: xferCode, Between: s.timing.dtmfBetween, Duration: s.timing.dtmfDuration}); err != nil {
		return fail("press the code", err)
	}
	wctx2, wc2 := stage(ctx)
	defer wc2()
	carol, err := r.wait(wctx2, from, "Carol's phone", dialed(carolNumber))
	if err != nil {
		return fail("call Carol", err)
	}
	carolID := carol.ev.(*ari.StasisStart).Channel.ID
	phones = append(phones, carolID)
	if err := cl.Channels.Ring(ctx, carolID); err != nil {
		return fail("Carol rings", err)
	}
	var tFirst, tFinal eventTime
	if s.obs != nil {
		if tFirst, err = first.wait(wctx2, "first digit"); err != nil {
			return fail("code", err)
		}
		if tFinal, err = final.wait(wctx2, "final digit"); err != nil {
			return fail("code", err)
		}
		smp.codeToRing = astTime(carol.ev, carol.at).Sub(tFinal.ast)
		smp.codeToRingL = carol.at.Sub(tFinal.local)
	}
	if err := sleep(ctx, s.timing.ring); err != nil {
		return fail("ring", err)
	}

	// Carol answers; Alice is connected to her once both are Up in one
	// bridge and nothing (ringback) plays to Alice any more.
	var answered, connected *cond
	if s.obs != nil {
		answered = s.obs.when(func(o *observer, ev ari.Event) bool {
			e, ok := ev.(*ari.ChannelStateChange)
			return ok && e.Channel.ID == carolID && e.Channel.State == "Up"
		})
		connected = s.obs.when(func(o *observer, ev ari.Event) bool {
			c1 := o.partner(carolID)
			return c1 != "" && o.state(c1) == "Up" && o.state(carolID) == "Up" && o.together(in, c1) && o.playing(in) == 0
		})
		defer s.obs.cancel(answered)
		defer s.obs.cancel(connected)
	}
	if err := cl.Channels.Answer(ctx, carolID); err != nil {
		return fail("Carol answers", err)
	}
	if s.obs != nil {
		ctx, c := stage(ctx)
		defer c()
		tAns, err := answered.wait(ctx, "Carol up")
		if err != nil {
			return fail("Carol answers", err)
		}
		tConn, err := connected.wait(ctx, "Alice connected to Carol")
		if err != nil {
			return fail("Alice connected to Carol", fmt.Errorf("%w: %s", err, s.obs.describe(in, s.obs.partner(carolID), carolID)))
		}
		smp.answerToConnected = tConn.ast.Sub(tAns.ast)
		smp.answerToConnectedL = tConn.local.Sub(tAns.local)
	}
	if err := sleep(ctx, s.timing.consult); err != nil {
		return fail("consult", err)
	}

	// Alice hangs up: the transfer completes.
	var hungUp, bridged *cond
	if s.obs != nil {
		hungUp = s.obs.when(func(o *observer, ev ari.Event) bool {
			e, ok := ev.(*ari.ChannelHangupRequest)
			return ok && e.Channel.ID == s.handset()
		})
		bridged = s.obs.when(func(o *observer, ev ari.Event) bool {
			b1, c1 := o.partner(bobID), o.partner(carolID)
			if b1 == "" || c1 == "" || !o.together(b1, c1) {
				return false
			}
			_, typ := o.bridgeOf(b1)
			return typ != "holding"
		})
		defer s.obs.cancel(hungUp)
		defer s.obs.cancel(bridged)
	}
	if err := cl.Channels.Hangup(ctx, s.handset(), "normal"); err != nil {
		return fail("Alice hangs up", err)
	}
	if s.obs != nil {
		ctx, c := stage(ctx)
		defer c()
		tHang, err := hungUp.wait(ctx, "Alice's hangup")
		if err != nil {
			return fail("Alice hangs up", err)
		}
		bctx, c := context.WithTimeout(ctx, 10*time.Second)
		tBr, err := bridged.wait(bctx, "Bob and Carol bridged")
		c()
		if err != nil {
			return fail("transfer", fmt.Errorf("%w: %s", err, s.obs.describe(s.obs.partner(bobID), s.obs.partner(carolID))))
		}
		smp.hangupToBridged = tBr.ast.Sub(tHang.ast)
		smp.hangupToBridgedL = tBr.local.Sub(tHang.local)
		smp.whole = tBr.ast.Sub(tFirst.ast)
		smp.wholeL = tBr.local.Sub(tFirst.local)
	}
	if err := sleep(ctx, s.timing.after); err != nil {
		return fail("after", err)
	}
	if r.isGone(bobID) || r.isGone(carolID) {
		return fail("transfer", errors.New("Bob or Carol was hung up: the transfer did not leave them together"))
	}

	// Bob hangs up: Carol must follow (they were bridged), and every
	// channel of the call must end.
	from = r.mark()
	if err := cl.Channels.Hangup(ctx, bobID, "normal"); err != nil {
		return fail("Bob hangs up", err)
	}
	ectx, c := context.WithTimeout(ctx, 10*time.Second)
	defer c()
	for _, id := range []ari.ChannelID{carolID, bobID, s.handset()} {
		if r.isGone(id) {
			continue
		}
		if _, err := r.wait(ectx, from, string(id)+" ends", gone(id)); err != nil {
			return fail("teardown", err)
		}
	}
	return smp
}

func dtmfOn(ch ari.ChannelID, digit string) func(o *observer, ev ari.Event) bool {
	return func(o *observer, ev ari.Event) bool {
		e, ok := ev.(*ari.ChannelDtmfReceived)
		return ok && e.Channel.ID == ch && e.Digit == digit
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
