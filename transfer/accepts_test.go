package transfer

import (
	"slices"
	"testing"
)

// Accepts gives each state the commands of doc.go's diagram: all four while
// the transferor is on the call, only cancel while checking, none once the
// transferor has left (the recall loop) or the transfer is over.
func TestAcceptsMatchesTable(t *testing.T) {
	want := map[State][]Command{
		Checking:       {CommandCancel},
		CallingTarget:  {CommandCancel, CommandComplete, CommandSwap, CommandThreeWay},
		Hesitant:       {CommandCancel, CommandComplete, CommandSwap, CommandThreeWay},
		Consulting:     {CommandCancel, CommandComplete, CommandSwap, CommandThreeWay},
		DoubleChecking: {CommandCancel, CommandComplete, CommandSwap, CommandThreeWay},
	}
	for _, s := range ActiveStates() {
		for _, c := range Commands() {
			if got, w := Accepts(s, c), slices.Contains(want[s], c); got != w {
				t.Errorf("Accepts(%s, %s) = %v, want %v", s, c, got, w)
			}
		}
	}
	for _, s := range []State{Completed, ThreeWay, Rebridged, Failed, StateUnknown} {
		for _, c := range Commands() {
			if Accepts(s, c) {
				t.Errorf("Accepts(%s, %s) = true for a state that is not running", s, c)
			}
		}
	}
	if Accepts(Consulting, CommandNone) {
		t.Error("CommandNone accepted")
	}
}
