package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/ari"
)

// The phone's own Transfer key where the admin leaves PJSIP's transfer
// handling at core (refer_handling: core): Asterisk does the transfer in
// transferd's bridges itself (Local channels in the transferors' places,
// then BridgeBlindTransfer or BridgeAttendedTransfer). transferd must
// follow: nobody dropped, its call says who is in it and that a transfer
// completed, the transferors' channels released, nothing left behind.
// Asterisk dials a blind REFER's number in TRANSFER_CONTEXT
// ([transferd-sip-core-xfer] of the sandbox).

func coreRefer(a *app.AccountConfig) { a.ReferHandling = app.ReferCore }

// SIP 10: blind REFER, core handling. Alice's phone REFERs Bob to Carol:
// Asterisk puts a Local channel dialling Carol in Alice's place; transferd
// hangs up Alice's channel, Carol answers and Bob and Carol hear each
// other; the call shows Bob and the target (Carol's number) and a
// completed transfer.
func TestSIPCoreBlindRefer(t *testing.T) {
	t.Parallel()
	s := newSIPScenario(t, "sip10", coreRefer)
	a, b, call := s.call(s.alice, s.bob)
	s.hears(b, "bob", toneAlice)
	s.refer(func() (int, error) { return a.Refer(s.ctx, s.num(2)) })
	c := s.incoming(s.carol)
	if err := c.Answer(s.ctx); err != nil {
		t.Fatal(err)
	}
	// Asterisk holds the end of a REFER's dialog back (up to 60 s) for the
	// phone to hang up once told the transfer worked, as phones do.
	s.notified(a, "alice", "200 OK")
	if err := a.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.hears(b, "bob", toneCarol)
	s.hears(c, "carol", toneBob)
	s.outcomeOf(call, "completed")
	parties := s.coreParties(call, map[string]string{"callee": s.num(1), "target": s.num(2)})
	if err := c.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.ended(b, "bob")
	s.channelsGone(append(parties, call))
}

// SIP 11: attended REFER, core handling. Alice talks to Bob, calls Carol on
// a second line (both through transferd), presses Transfer: Asterisk links
// the two bridges with a Local channel pair. transferd hangs up both of
// Alice's channels; Bob and Carol hear each other; Bob's call records a
// completed transfer to Carol; when Bob hangs up, Carol's phone is hung up
// too and nothing is left.
func TestSIPCoreAttendedRefer(t *testing.T) {
	t.Parallel()
	s := newSIPScenario(t, "sip11", coreRefer)
	a1, b, call1 := s.call(s.alice, s.bob)
	a2, c, _ := s.call(s.alice, s.carol)
	s.hears(a2, "alice (second line)", toneCarol)
	call2 := s.callTo(s.num(2))
	s.refer(func() (int, error) { return a1.ReferReplace(s.ctx, a2) })
	s.notified(a1, "alice", "200 OK")
	if err := a1.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.ended(a2, "alice's call with carol")
	s.hears(b, "bob", toneCarol)
	s.hears(c, "carol", toneBob)
	s.outcomeOf(call1, "completed")
	parties := s.coreParties(call1, map[string]string{"callee": s.num(1), "target": s.num(2)})
	if err := b.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.ended(c, "carol")
	s.channelsGone(append(parties, call1, call2))
}

// coreParties waits until call's live parties are exactly want (role ->
// number) and returns their channels.
func (s *sipScenario) coreParties(call string, want map[string]string) []string {
	s.t.Helper()
	var chans []string
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		info, ok := s.app.CallInfo(call)
		if !ok {
			return fmt.Errorf("call %s gone", call)
		}
		got := map[string]string{}
		chans = chans[:0]
		for _, p := range info.Parties {
			if p.State != "gone" {
				got[p.Role] = p.Number
				chans = append(chans, p.Channel)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("parties %v, want %v", info.Parties, want)
		}
		if lt := info.LastTransfer; lt == nil || lt.Target != want["target"] {
			return fmt.Errorf("last transfer %+v, want one to %s", lt, want["target"])
		}
		return nil
	})
	return chans
}

// channelsGone waits until Asterisk has none of ids (the Local channels
// of a core transfer included).
func (s *sipScenario) channelsGone(ids []string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		var left []string
		for _, id := range ids {
			ch, err := s.client.Channels.Get(ctx, ari.ChannelID(id))
			if err == nil {
				left = append(left, ch.Name)
			} else if !errors.Is(err, ari.ErrNotFound) {
				return err
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("left behind: %s", strings.Join(left, ", "))
		}
		return nil
	})
}

// callTo finds transferd's call whose callee is number.
func (s *sipScenario) callTo(number string) string {
	s.t.Helper()
	for _, c := range s.app.Calls(account) {
		for _, p := range c.Parties {
			if p.Role == "callee" && p.Number == number {
				return c.ID
			}
		}
	}
	s.t.Fatalf("no call to %s", number)
	return ""
}
