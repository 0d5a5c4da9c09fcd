package integration

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// ARI faults between transferd and Asterisk (integration/faultproxy): the
// test cuts, delays and heals ARI for transferd only; the phones and the
// checks keep talking to Asterisk directly. Tags start with "f".

// reconnected waits until transferd's event stream came back after the
// reconnect count before (taken with ariOfApp.Stats() before the fault)
// and returns how long that took from the call.
func (s *scenario) reconnected(before uint64) time.Duration {
	s.t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		st := s.ariOfApp.Stats()
		if st.Reconnects <= before || !st.Connected {
			return fmt.Errorf("transferd's event stream not back: %+v", st)
		}
		return nil
	})
	return time.Since(start)
}

// Example of the fault proxy: ARI is cut while Alice and Bob talk, longer
// than any request timeout; Asterisk keeps them bridged; once ARI heals,
// transferd reconnects and a transfer works as if nothing had happened.
func TestFaultProxyExample(t *testing.T) {
	t.Parallel()
	s, proxy := newProxiedScenario(t, "f00", nil)
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	s.listen(alice, bob)

	before := s.ariOfApp.Stats().Reconnects
	proxy.Cut()
	// transferd's stream is down; Asterisk keeps the call as it was.
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	waitFor(t, ctx, func() error {
		if s.ariOfApp.Stats().Connected {
			return fmt.Errorf("transferd still sees its event stream up")
		}
		return nil
	})
	cancel()
	time.Sleep(3 * time.Second) // longer than a request timeout and a few redials
	s.together(call, bobLeg)
	if st := proxy.Stats(); st.Refused == 0 {
		t.Errorf("transferd never tried to reconnect during the cut: %+v", st)
	}
	proxy.Heal()
	t.Logf("transferd reconnected %s after the heal", s.reconnected(before).Round(time.Millisecond))

	carol := s.startTransfer(alice, bob, "2600")
	if err := carol.Answer(s.ctx); err != nil {
		t.Fatal(err)
	}
	carolLeg := s.leg(carol)
	s.together(call, carolLeg)
	s.transferState(call, "Consulting")
	s.hangup(alice)
	s.together(bobLeg, carolLeg)
	s.noHoldBridge()
	s.outcome(call, "completed")
	s.hangup(bob)
	s.gone(carol)
	s.callGone()
}
