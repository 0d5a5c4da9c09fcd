package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/ari"
)

// Scenario 17: the transferee is held as soon as the code's prefix (*2) is
// typed, as with Asterisk's atxfer, and given back when the code comes to
// nothing: closed by # with no number, or left to time out. The transfer
// that follows takes a new id (the abandoned one marked the call's record)
// and runs as always.
func TestScenario17HoldWhileTyping(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "s17", nil)
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	s.listen(bob, alice)

	for _, abandon := range []struct {
		name, digits string
		wait         time.Duration
	}{
		{"closed with no number", "#", 0},
		{"timed out with no number", "", 4 * time.Second}, // the scenario's digit_timeout
	} {
		mb, ma := bob.Mark(), alice.Mark()
		s.press(alice, "*2")
		s.held(bobLeg)
		s.together(call) // Alice types alone in the call bridge
		s.hears(bob, mb, "music on hold while the number is typed")
		s.hears(alice, ma, "the dial tone after the prefix") // alone: nothing else reaches her
		s.playing(call, "tone:dial")
		ma = alice.Mark()
		if c := s.app.Call(string(call)); c.Info().Transfer != nil {
			t.Fatalf("%s: a transfer before the number: %+v", abandon.name, c.Info().Transfer)
		}
		// The API says Bob is held, not talking.
		if st := partyState(s.app.Call(string(call)).Info(), bobLeg); st != "held" {
			t.Fatalf("%s: Bob is %q in the API while he is held before the number, want held", abandon.name, st)
		}
		mb = bob.Mark()
		if abandon.digits != "" {
			s.press(alice, abandon.digits)
		}
		time.Sleep(abandon.wait)
		s.together(call, bobLeg)
		s.noHoldBridge()
		s.silent(bob, mb, "music on hold after "+abandon.name)
		s.silent(alice, ma, "the dial tone after "+abandon.name)
		s.noPlaybacks()
		if st := partyState(s.app.Call(string(call)).Info(), bobLeg); st != "up" {
			t.Fatalf("%s: Bob is %q in the API once back with Alice, want up", abandon.name, st)
		}
	}

	carol := s.startTransfer(alice, bob, "2600")
	s.transferState(call, "CallingTarget")
	if st := partyState(s.app.Call(string(call)).Info(), bobLeg); st != "held" {
		t.Fatalf("Bob is %q in the API while Carol rings, want held", st)
	}
	if id := s.app.Call(string(call)).Info().Transfer.ID; !strings.HasSuffix(id, "-x3") {
		t.Fatalf("transfer id %s, want the third (two abandoned codes took x1 and x2)", id)
	}
	s.consultAndComplete(call, bob, carol)
	s.noHoldBridge()
	s.noPlaybacks()
	s.callGone()
}

// A restart while the transferee is held before the number: the restored
// call has no transfer, so he is put back with the transferor, the hold
// bridge is destroyed and her dial tone stopped; a code typed after it
// works. (It takes a new
// transfer id: with the destroyed bridge's, Asterisk answered the new
// hold's move 404 and Bob was never held.)
func TestReconcileRestartWhileTyping(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "r06", nil)
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	s.listen(bob)
	mb := bob.Mark()
	s.press(alice, "*2")
	s.held(bobLeg)
	s.hears(bob, mb, "music on hold while the number is typed")
	s.playing(call, "tone:dial")
	s.stop()
	s.start(s.ctx)
	s.together(call, bobLeg)
	s.noHoldBridge()
	s.noPlaybacks() // the dial tone stopped by the restored call
	carol := s.startTransfer(alice, bob, "2600")
	s.consultAndComplete(call, bob, carol)
	s.noHoldBridge()
	s.callGone()
}

// partyState is what the API says of channel id in info ("" when it is
// not a party).
func partyState(info app.CallInfo, id ari.ChannelID) string {
	for _, p := range info.Parties {
		if p.Channel == string(id) {
			return p.State
		}
	}
	return ""
}
