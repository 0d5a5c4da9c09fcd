package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/app"
)

// One key press, one digit, on real SIP: SIPp keys *2<Carol># as RFC 4733
// events at each timing (key down / gap), into a call through transferd
// and into a call with Asterisk's own atxfer (features.conf *2), and the
// test says which one dials Carol.
//
// Every case's Carol has a repeated digit (7112, 7332, ..., 7002; 7222 at
// 100/100 ms after the code's own 2), so a real repeated key must stay
// two while a digit Asterisk reports twice counts once.
//
// What Asterisk makes of the input depends on when its channel core reads
// each packet (see sipp.go); SIPp paces them, but a loaded machine can
// stall SIPp (a burst instead) or Asterisk itself (a digit taken back
// late). So each attempt reads back from Asterisk's log which key presses
// it read and when (bent): an attempt whose presses came closer together
// than the timing under test, or during which Asterisk went silent longer
// than its own timing explains, is logged and made again (at most
// sippAttempts); transferd's number is asserted on input that really had
// the timing.
//
// A press read late is Asterisk's own doing only up to a point: stretching
// a short digit to mindtmfduration (80 ms) and holding the next back for
// 45 ms puts presses at most sippStretchCycle apart (seen: 125-146 ms at
// 40/40 and 60/40 on a quiet machine), and a digit it held is taken back
// at most that long after the digit before. A press read later than that
// after the one before, or a digit taken back later, was read late by a
// stalled Asterisk, whose wall clock then decides what it holds back and
// replays (seen under load at 60/40: a 359 ms gap, and '*277555522##' in
// which no rule can find 7552).
const (
	sippJitter       = 8 * time.Millisecond
	sippAttempts     = 6
	sippStretchCycle = 125 * time.Millisecond
	sippLateSlack    = 40 * time.Millisecond
)

var sippTimings = []struct {
	on, off int
	block   int // the phone block: its Carol's number has a repeated digit
}{
	{40, 40, 11}, {45, 45, 33}, {50, 50, 44}, {60, 40, 55}, {70, 30, 0}, {100, 100, 22},
}

func sippBlock(b int) bool {
	for _, tm := range sippTimings {
		if tm.block == b {
			return true
		}
	}
	return false
}

func TestSIPpFastDTMF(t *testing.T) {
	t.Parallel()
	for _, tm := range sippTimings {
		t.Run(fmt.Sprintf("%d-%d", tm.on, tm.off), func(t *testing.T) {
			// A generous digit timeout: the code ends on #, and a stall
			// must not end it early.
			s := newSIPScenarioIn(t, fmt.Sprintf("sipp%d%d", tm.on, tm.off), tm.block, func(a *app.AccountConfig) {
				a.Metaflows.DigitTimeout = 3 * time.Second
			})
			d := SIPpDTMF{Digits: "*2" + s.num(2) + "#", On: time.Duration(tm.on) * time.Millisecond, Off: time.Duration(tm.off) * time.Millisecond}
			var got, native string
			for attempt := 1; got == "" && attempt <= sippAttempts; attempt++ {
				dialled, bent := s.sippTransferd(d)
				if bent != "" {
					t.Logf("attempt %d: input bent by load (%s); transferd dialled %s: not the timing under test, again", attempt, bent, dialled)
					continue
				}
				got = dialled
			}
			if got == "" {
				// Nothing was tested: say so, not that transferd failed.
				t.Skipf("%d attempts, none reached Asterisk at %d/%d ms undisturbed: the machine is too loaded to key DTMF at this timing", sippAttempts, tm.on, tm.off)
			}
			if got != s.num(2) {
				t.Errorf("%d/%d ms: transferd dialled %q, want %s", tm.on, tm.off, got, s.num(2))
			}
			for attempt := 1; native == "" && attempt <= sippAttempts; attempt++ {
				dialled, bent := s.sippNative(d)
				if bent != "" {
					t.Logf("native attempt %d: input bent by load (%s); atxfer dialled %s", attempt, bent, dialled)
					continue
				}
				native = dialled
			}
			t.Logf("%d/%d ms, %s: transferd dialled %s; native atxfer dialled %s", tm.on, tm.off, d.Digits, got, native)
		})
	}
}

// sippTransferd has SIPp call Bob through transferd and key d; Bob answers.
// It returns the number transferd's transfer dialled ("" when none) and,
// when the input Asterisk read was not d's timing, why.
func (s *sipScenario) sippTransferd(d SIPpDTMF) (dialled, bent string) {
	s.t.Helper()
	from := logSize()
	keyer := SIPpNumber(s.block)
	sp := s.startSIPp(d, s.headers())
	b := s.incoming(s.bob)
	if err := b.Answer(s.ctx); err != nil {
		s.t.Fatal(err)
	}
	call := s.callOf(keyer)
	// The code ends on #: transferd dials once the last digit is in, or
	// its digit timeout ends a code it read wrong.
	ctx, cancel := context.WithTimeout(s.ctx, d.Duration()+15*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		info, ok := s.app.CallInfo(call)
		switch {
		case !ok:
			return fmt.Errorf("call %s gone", call)
		case info.Transfer != nil:
			dialled = info.Transfer.Target
		case info.LastTransfer != nil:
			dialled = info.LastTransfer.Target
		default:
			return fmt.Errorf("no transfer yet")
		}
		return nil
	})
	if dialled == s.num(2) {
		c := s.incoming(s.carol)
		if err := c.Reject(s.ctx, 486, "Busy Here"); err != nil {
			s.t.Fatal(err)
		}
		s.outcomeOf(call, "failed:busy")
	} else {
		s.waitNoTransfer(call)
	}
	if err := b.Hangup(s.ctx); err != nil {
		s.t.Fatal(err)
	}
	s.sippDone(sp)
	return dialled, s.bent(d, from, keyer)
}

// sippNative is sippTransferd with Asterisk's own atxfer: SIPp calls Bob
// with Dial(T) and keys d; the number atxfer dialled is read from the log.
func (s *sipScenario) sippNative(d SIPpDTMF) (dialled, bent string) {
	s.t.Helper()
	from := logSize()
	keyer := SIPpNumber(s.block)
	sp := s.startSIPp(d, map[string]string{"X-TD-Native": "1"})
	b := s.incoming(s.bob)
	if err := b.Answer(s.ctx); err != nil {
		s.t.Fatal(err)
	}
	dialled = s.nativeDialled(from, keyer, d.Duration()+10*time.Second)
	if dialled == s.num(2) {
		c := s.incoming(s.carol)
		if err := c.Reject(s.ctx, 486, "Busy Here"); err != nil {
			s.t.Fatal(err)
		}
	}
	// atxfer gives the caller back to Bob when the target fails; Bob hangs
	// up and Asterisk hangs SIPp up.
	time.Sleep(500 * time.Millisecond)
	if err := b.Hangup(s.ctx); err != nil {
		s.t.Fatal(err)
	}
	s.sippDone(sp)
	return dialled, s.bent(d, from, keyer)
}

func (s *sipScenario) startSIPp(d SIPpDTMF, headers map[string]string) *SIPpCall {
	s.t.Helper()
	sp, err := StartSIPpDTMF(s.ctx, sandbox, s.t.TempDir(), SIPpNumber(s.block), s.num(1), headers, d)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(sp.Kill)
	return sp
}

func (s *sipScenario) sippDone(sp *SIPpCall) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	if err := sp.Wait(ctx); err != nil {
		s.t.Fatal(err)
	}
}

// waitNoTransfer waits until call has no transfer running.
func (s *sipScenario) waitNoTransfer(call string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	waitFor(s.t, ctx, func() error {
		if info, ok := s.app.CallInfo(call); ok && info.Transfer != nil {
			return fmt.Errorf("transfer still %s", info.Transfer.State)
		}
		return nil
	})
}

// bent says how the DTMF Asterisk read from keyer since log offset from
// differs from d ("" when it does not). Asterisk must have read exactly
// d's key presses, in order, and none of them earlier than d's timing puts
// it after the first (within sippJitter): a press read early means the
// packets came in a burst (SIPp was stalled), which is not the timing
// under test. A press read a little late is Asterisk's own doing: while
// it stretches a short digit it reads the next packets only when the
// stretch is over, the same on every run, and that is what is under test;
// a press read later than that (see sippStretchCycle) was stalled by load.
func (s *sipScenario) bent(d SIPpDTMF, from int64, keyer string) string {
	arr := SIPpDTMFArrivals(sandbox.LogPath(), from, "PJSIP/"+keyer+"-")
	var begins []DTMFArrival
	var reports, seen strings.Builder
	for _, a := range arr {
		kind := "end"
		if a.Begin {
			kind = "begin"
			begins = append(begins, a)
		} else {
			reports.WriteString(a.Digit)
		}
		fmt.Fprintf(&seen, " %s%s@%d", kind, a.Digit, a.At.Sub(arr[0].At).Milliseconds())
	}
	s.t.Logf("Asterisk read %d key presses and reported %q (ms from the first):%s", len(begins), reports.String(), seen.String())
	if len(begins) != len(d.Digits) {
		return fmt.Sprintf("%d key presses began, want %d", len(begins), len(d.Digits))
	}
	// Asterisk reads a DTMF packet, or takes back a digit it held, at
	// least every max(key down, gap, its stretch and gap of 80 + 45 ms)
	// while the code comes in; a longer silence is Asterisk stalled by
	// the machine, not its timing. Only up to the last key press: the
	// replays after it (seen 130-150 ms later on a quiet machine) decide
	// nothing about the number.
	quiet := max(d.On, d.Off, sippStretchCycle) + sippLateSlack
	last := 0
	for i, a := range arr {
		if a.Begin {
			last = i
		}
	}
	for i := 1; i <= last; i++ {
		if gap := arr[i].At.Sub(arr[i-1].At); gap > quiet {
			return fmt.Sprintf("Asterisk read nothing for %v (stalled)", gap)
		}
	}
	for k, b := range begins {
		if b.Digit != string(d.Digits[k]) {
			return fmt.Sprintf("press %d began as %s, want %c", k, b.Digit, d.Digits[k])
		}
		want := time.Duration(k) * (d.On + d.Off)
		if early := want - b.At.Sub(begins[0].At); early > sippJitter {
			return fmt.Sprintf("press %d (%s) read %v before its time", k, b.Digit, early)
		}
		if k == 0 {
			continue
		}
		if gap, most := b.At.Sub(begins[k-1].At), max(d.On+d.Off, sippStretchCycle)+sippLateSlack; gap > most {
			return fmt.Sprintf("press %d (%s) read %v after the one before, more than Asterisk's own stretching explains (%v)", k, b.Digit, gap, most)
		}
	}
	return ""
}

func absDuration(x time.Duration) time.Duration {
	if x < 0 {
		return -x
	}
	return x
}
