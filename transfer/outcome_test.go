package transfer

import "testing"

func TestClassifyDial(t *testing.T) {
	tests := []struct {
		dialstatus string
		want       Outcome
	}{
		{"ANSWER", OutcomeNone},
		{"RINGING", OutcomeNone},
		{"PROGRESS", OutcomeNone},
		{"PROCEEDING", OutcomeNone},
		{"", OutcomeNone},
		{"BUSY", OutcomeBusy},
		{"busy", OutcomeBusy},
		{" NOANSWER ", OutcomeNoAnswer},
		{"CONGESTION", OutcomeCongestion},
		{"CHANUNAVAIL", OutcomeUnavailable},
		{"CANCEL", OutcomeCancelled},
		{"DONTCALL", OutcomeTargetRefused},
		{"TORTURE", OutcomeTargetRefused},
		{"INVALIDARGS", OutcomeInvalidNumber},
		{"SOMETHINGNEW", OutcomeUnavailable},
	}
	for _, tt := range tests {
		if got := ClassifyDial(tt.dialstatus); got != tt.want {
			t.Errorf("ClassifyDial(%q) = %s, want %s", tt.dialstatus, got, tt.want)
		}
	}
}

func TestClassifyCause(t *testing.T) {
	tests := []struct {
		cause int
		want  Outcome
	}{
		{0, OutcomeNone},
		{16, OutcomeNone},
		{31, OutcomeNone},
		{17, OutcomeBusy},
		{18, OutcomeNoAnswer},
		{19, OutcomeNoAnswer},
		{1, OutcomeInvalidNumber},
		{2, OutcomeInvalidNumber},
		{3, OutcomeInvalidNumber},
		{22, OutcomeInvalidNumber},
		{28, OutcomeInvalidNumber},
		{20, OutcomeUnavailable},
		{27, OutcomeUnavailable},
		{21, OutcomeTargetRefused},
		{34, OutcomeCongestion},
		{38, OutcomeCongestion},
		{41, OutcomeCongestion},
		{42, OutcomeCongestion},
		{44, OutcomeCongestion},
		{47, OutcomeCongestion},
		{58, OutcomeUnavailable},
		{127, OutcomeUnavailable},
		{-1, OutcomeUnavailable},
	}
	for _, tt := range tests {
		if got := ClassifyCause(tt.cause); got != tt.want {
			t.Errorf("ClassifyCause(%d) = %s, want %s", tt.cause, got, tt.want)
		}
	}
}

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		status int
		want   Outcome
	}{
		{0, OutcomeUnavailable},
		{400, OutcomeInvalidNumber},
		{404, OutcomeInvalidNumber},
		{409, OutcomeInvalidNumber},
		{422, OutcomeInvalidNumber},
		{500, OutcomeUnavailable},
		{503, OutcomeUnavailable},
	}
	for _, tt := range tests {
		if got := ClassifyStatus(tt.status); got != tt.want {
			t.Errorf("ClassifyStatus(%d) = %s, want %s", tt.status, got, tt.want)
		}
	}
}

func TestOutcomeText(t *testing.T) {
	for o := OutcomeNone; o < numOutcomes; o++ {
		b, err := o.MarshalText()
		if err != nil {
			t.Fatalf("%d.MarshalText: %v", o, err)
		}
		var got Outcome
		if err := got.UnmarshalText(b); err != nil || got != o {
			t.Errorf("UnmarshalText(%q) = %s, %v, want %s", b, got, err, o)
		}
		if o.Failure() != (len(b) > 7 && string(b[:7]) == "failed:") {
			t.Errorf("%s.Failure() = %v", o, o.Failure())
		}
	}
	for _, tt := range []struct {
		o    Outcome
		want string
	}{
		{OutcomeBusy, "failed:busy"},
		{OutcomeCompleted, "completed"},
		{OutcomePartialCompleted, "partial-completed"},
		{OutcomeCancelled, "cancelled"},
	} {
		if got := tt.o.String(); got != tt.want {
			t.Errorf("Outcome(%d).String() = %q, want %q", tt.o, got, tt.want)
		}
	}
	for s := StateUnknown; s < numStates; s++ {
		b, _ := s.MarshalText()
		var got State
		if err := got.UnmarshalText(b); err != nil || got != s {
			t.Errorf("State UnmarshalText(%q) = %s, %v", b, got, err)
		}
	}
	for c := CommandNone; c < numCommands; c++ {
		b, _ := c.MarshalText()
		var got Command
		if err := got.UnmarshalText(b); err != nil || got != c {
			t.Errorf("Command UnmarshalText(%q) = %s, %v", b, got, err)
		}
	}
	for r := RoleNone; r < numRoles; r++ {
		b, _ := r.MarshalText()
		var got Role
		if err := got.UnmarshalText(b); err != nil || got != r {
			t.Errorf("Role UnmarshalText(%q) = %s, %v", b, got, err)
		}
	}
}

// TestCritical pins which effects the app must report.
func TestCritical(t *testing.T) {
	for _, tt := range []struct {
		e    Effect
		want bool
	}{
		{Dial{}, true}, {Move{}, true}, {CreateBridge{}, true}, {CheckAvailability{}, true},
		{DestroyBridge{}, false}, {StartMOH{}, false}, {StopMOH{}, false}, {StartRingback{}, false},
		{StopPlayback{}, false}, {Hangup{}, false}, {Play{}, false}, {PlayThenHangup{}, false},
		{StartTimer{}, false}, {StopTimer{}, false}, {Finish{}, false},
	} {
		if got := Critical(tt.e); got != tt.want {
			t.Errorf("Critical(%T) = %v, want %v", tt.e, got, tt.want)
		}
	}
}

func TestLeftOutcome(t *testing.T) {
	for _, tc := range []struct {
		cause     int
		unreached bool
		want      Outcome
	}{
		{16, false, OutcomeTargetRefused},
		{0, false, OutcomeTargetRefused},
		{16, true, OutcomeUnavailable},
		{0, true, OutcomeUnavailable},
		{21, false, OutcomeTargetRefused},
		{21, true, OutcomeUnavailable},
		{17, false, OutcomeBusy},
		{17, true, OutcomeBusy},
		{1, true, OutcomeInvalidNumber},
		{19, false, OutcomeNoAnswer},
		{34, true, OutcomeCongestion},
	} {
		if got := LeftOutcome(Left{Channel: "c", Cause: tc.cause, Unreached: tc.unreached}); got != tc.want {
			t.Errorf("LeftOutcome(cause %d, unreached %v) = %s, want %s", tc.cause, tc.unreached, got, tc.want)
		}
	}
}
