package transfer

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestExpect spells out the layout of every state. TestExplore checks the
// same thing mechanically: after every step without an injected fault, the
// toy world is exactly the layout of the new snapshot (world.differs).
func TestExpect(t *testing.T) {
	base := Options{FailSound: failMedia}
	loop := Options{FailSound: failMedia, Callback: "9100", CallbackRetries: 3, LoopDelay: 10 * time.Second}
	fallbackDial := Options{Fallback: FallbackOptions{Kind: FallbackDial, Number: "3000"}}
	leftA := Left{Channel: "A", Cause: 16}
	answered := Answered{Channel: c1}
	noAnswer1 := TimerFired{Name: TimerNoAnswer, Seq: 1}
	press := func(c Command) Event { return Pressed{Command: c} }
	checking := base
	checking.CheckAvailability = true

	tests := []struct {
		name string
		tr   Transfer
		want Layout
	}{
		{"Checking: nothing moved", fixture(t, checking),
			Layout{CallBridge: "M", Call: []string{"A", "B"}}},
		{"CallingTarget: B held, C rings with A, A hears ringback", fixture(t, base),
			Layout{CallBridge: "M", Call: []string{"A", c1}, HoldBridge: hb, Hold: []string{"B"}, MOHClass: "default",
				Ringing: []string{c1}, Ringback: rb1, RingbackTo: "A"}},
		{"Hesitant: A with B, ringing C held", fixture(t, base, press(CommandSwap)),
			Layout{CallBridge: "M", Call: []string{"A", "B"}, HoldBridge: hb, Hold: []string{c1}, MOHClass: "default",
				Ringing: []string{c1}}},
		{"back to CallingTarget: ringback again", fixture(t, base, press(CommandSwap), press(CommandSwap)),
			Layout{CallBridge: "M", Call: []string{"A", c1}, HoldBridge: hb, Hold: []string{"B"}, MOHClass: "default",
				Ringing: []string{c1}, Ringback: rb2, RingbackTo: "A"}},
		{"Consulting: A with C, B held", fixture(t, base, answered),
			Layout{CallBridge: "M", Call: []string{"A", c1}, HoldBridge: hb, Hold: []string{"B"}, MOHClass: "default"}},
		{"DoubleChecking: A with B, C held", fixture(t, base, answered, press(CommandSwap)),
			Layout{CallBridge: "M", Call: []string{"A", "B"}, HoldBridge: hb, Hold: []string{c1}, MOHClass: "default"}},
		{"Blond: B with ringing C hears ringback, A gone", fixture(t, loop, leftA),
			Layout{CallBridge: "M", Call: []string{"B", c1}, Ringing: []string{c1}, Ringback: rb2, RingbackTo: "B", Gone: []string{"A"}}},
		{"Blond by complete: A must be gone too", fixture(t, loop, press(CommandComplete)),
			Layout{CallBridge: "M", Call: []string{"B", c1}, Ringing: []string{c1}, Ringback: rb2, RingbackTo: "B", Gone: []string{"A"}}},
		{"Recalling: B with ringing recall leg", fixture(t, loop, leftA, noAnswer1),
			Layout{CallBridge: "M", Call: []string{"B", r3}, Ringing: []string{r3}, Ringback: rb2, RingbackTo: "B", Gone: []string{"A", c1}}},
		{"WaitToRetransfer: B alone on hold", fixture(t, loop, leftA, noAnswer1, Left{Channel: r3, Cause: 19}),
			Layout{CallBridge: "M", HoldBridge: hb, Hold: []string{"B"}, MOHClass: "default", Gone: []string{"A", c1, r3}}},
		{"Retransfer: B with ringing C again", fixture(t, loop, leftA, noAnswer1, Left{Channel: r3}, TimerFired{Name: TimerLoopDelay, Seq: 3}),
			Layout{CallBridge: "M", Call: []string{"B", c4}, Ringing: []string{c4}, Ringback: rb4, RingbackTo: "B", Gone: []string{"A", r3}}},
		{"Fallback: B with ringing fallback", fixture(t, fallbackDial, leftA, Left{Channel: c1, Cause: 17}),
			Layout{CallBridge: "M", Call: []string{"B", fb}, Ringing: []string{fb}, Ringback: rb2, RingbackTo: "B", Gone: []string{"A", c1}}},
		{"Rebridged: A and B, C gone, no hold", fixture(t, base, noAnswer1),
			Layout{CallBridge: "M", Call: []string{"A", "B"}, Gone: []string{c1}}},
		{"Completed: B and C, A gone", fixture(t, base, answered, press(CommandComplete)),
			Layout{CallBridge: "M", Call: []string{"B", c1}, Gone: []string{"A"}}},
		{"ThreeWay before answer: C still rings", fixture(t, base, press(CommandThreeWay)),
			Layout{CallBridge: "M", Call: []string{"A", "B", c1}, Ringing: []string{c1}}},
		{"transferee left, keep: A with C", fixture(t, base, answered, Left{Channel: "B"}),
			Layout{CallBridge: "M", Call: []string{"A", c1}, Gone: []string{"B"}}},
		{"Abandoned: nobody stays", fixture(t, Options{}, leftA, noAnswer1),
			Layout{CallBridge: "M", Gone: []string{"A", c1, "B"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Expect(tc.tr)
			if d := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
				t.Errorf("Expect in %s (-want +got):\n%s", tc.tr.State, d)
			}
		})
	}
}
