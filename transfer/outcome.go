package transfer

import (
	"fmt"
	"strconv"
	"strings"
)

// Outcome is how a transfer ended (Finish.Outcome, Transfer.Outcome), or why
// a leg failed (DialFailed.Outcome). The zero value, OutcomeNone, means "not
// ended" or, from the classifiers, "not a failure".
type Outcome int

// Outcomes. Failures print as "failed:<reason>".
const (
	OutcomeNone Outcome = iota
	// OutcomeCompleted: attended transfer completed; transferee and target talk.
	OutcomeCompleted
	// OutcomePartialCompleted: blond transfer (transferor left while the
	// target rang, possibly through the recall loop) answered by the target.
	OutcomePartialCompleted
	// OutcomeCancelled: cancelled by command (or a dial cancelled).
	OutcomeCancelled
	// OutcomeThreeWayJoined: all three parties joined.
	OutcomeThreeWayJoined
	OutcomeBusy
	OutcomeNoAnswer
	OutcomeCongestion
	OutcomeUnavailable
	OutcomeInvalidNumber
	// OutcomeTargetRefused: the target rejected the call, or answered and then
	// hung up.
	OutcomeTargetRefused
	// OutcomeTransfereeLeft: the transferee hung up before the transfer
	// ended.
	OutcomeTransfereeLeft
	// OutcomeTransferorLeft: the transferor hung up before anything moved
	// (availability check).
	OutcomeTransferorLeft
	// OutcomeRecalledTransferor: the blond transfer failed and the recalled
	// transferor answered.
	OutcomeRecalledTransferor
	// OutcomeFellBack: the fallback number answered.
	OutcomeFellBack
	// OutcomeAbandoned: nobody answered; the transferee was played a
	// goodbye and hung up.
	OutcomeAbandoned
	// OutcomeError: an effect the transfer depends on failed (for example
	// the hold bridge could not be created) or Start got invalid parameters.
	OutcomeError
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	OutcomeNone:               "none",
	OutcomeCompleted:          "completed",
	OutcomePartialCompleted:   "partial-completed",
	OutcomeCancelled:          "cancelled",
	OutcomeThreeWayJoined:     "three-way",
	OutcomeBusy:               "failed:busy",
	OutcomeNoAnswer:           "failed:no-answer",
	OutcomeCongestion:         "failed:congestion",
	OutcomeUnavailable:        "failed:unavailable",
	OutcomeInvalidNumber:      "failed:invalid-number",
	OutcomeTargetRefused:      "failed:refused",
	OutcomeTransfereeLeft:     "failed:transferee-left",
	OutcomeTransferorLeft:     "failed:transferor-left",
	OutcomeRecalledTransferor: "recalled",
	OutcomeFellBack:           "fell-back",
	OutcomeAbandoned:          "abandoned",
	OutcomeError:              "failed:error",
}

func (o Outcome) String() string {
	if o >= 0 && o < numOutcomes {
		return outcomeNames[o]
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Failure reports whether o is a "failed:…" outcome.
func (o Outcome) Failure() bool { return strings.HasPrefix(o.String(), "failed:") }

// MarshalText encodes o by its String form.
func (o Outcome) MarshalText() ([]byte, error) {
	if o < 0 || o >= numOutcomes {
		return nil, fmt.Errorf("transfer: invalid outcome %d", int(o))
	}
	return []byte(outcomeNames[o]), nil
}

// UnmarshalText decodes a name written by MarshalText.
func (o *Outcome) UnmarshalText(b []byte) error {
	i, ok := lookup(outcomeNames[:], string(b))
	if !ok {
		return fmt.Errorf("transfer: unknown outcome %q", b)
	}
	*o = Outcome(i)
	return nil
}

// dialStatuses maps ARI Dial.dialstatus (Asterisk main/dial.c and app_dial's
// DIALSTATUS) to outcomes. Progress statuses are not failures.
var dialStatuses = map[string]Outcome{
	"":            OutcomeNone,
	"ANSWER":      OutcomeNone,
	"RINGING":     OutcomeNone,
	"PROGRESS":    OutcomeNone,
	"PROCEEDING":  OutcomeNone,
	"BUSY":        OutcomeBusy,
	"NOANSWER":    OutcomeNoAnswer,
	"CONGESTION":  OutcomeCongestion,
	"CHANUNAVAIL": OutcomeUnavailable,
	"CANCEL":      OutcomeCancelled,
	// Privacy/screening refusals: the callee said no.
	"DONTCALL": OutcomeTargetRefused,
	"TORTURE":  OutcomeTargetRefused,
	// Asterisk could not parse the dial string: the number is bad.
	"INVALIDARGS": OutcomeInvalidNumber,
}

// ClassifyDial maps an ARI Dial event's dialstatus to an outcome. Progress
// and ANSWER give OutcomeNone; an unknown status is a failure of unknown
// kind, OutcomeUnavailable. Case and surrounding spaces are ignored.
func ClassifyDial(dialstatus string) Outcome {
	if o, ok := dialStatuses[strings.ToUpper(strings.TrimSpace(dialstatus))]; ok {
		return o
	}
	return OutcomeUnavailable
}

// hangupCauses maps Q.850 cause codes (ChannelDestroyed.cause,
// ChannelHangupRequest.cause) to outcomes.
var hangupCauses = map[int]Outcome{
	0:  OutcomeNone, // not known (StasisEnd carries none)
	16: OutcomeNone, // normal clearing
	31: OutcomeNone, // normal, unspecified

	17: OutcomeBusy,     // user busy
	18: OutcomeNoAnswer, // no user responding
	19: OutcomeNoAnswer, // no answer from user (user alerted)

	1:  OutcomeInvalidNumber, // unallocated (unassigned) number
	2:  OutcomeInvalidNumber, // no route to specified transit network
	3:  OutcomeInvalidNumber, // no route to destination
	22: OutcomeInvalidNumber, // number changed
	28: OutcomeInvalidNumber, // invalid number format (incomplete number)

	20: OutcomeUnavailable, // subscriber absent (Asterisk: unregistered)
	27: OutcomeUnavailable, // destination out of order

	21: OutcomeTargetRefused, // call rejected

	34: OutcomeCongestion, // no circuit/channel available
	38: OutcomeCongestion, // network out of order
	41: OutcomeCongestion, // temporary failure
	42: OutcomeCongestion, // switching equipment congestion
	44: OutcomeCongestion, // requested circuit/channel not available
	47: OutcomeCongestion, // resource unavailable, unspecified
}

// ClassifyCause maps a Q.850 hangup cause to an outcome: OutcomeNone for a
// normal or unknown (0) clearing, OutcomeUnavailable for causes not listed.
func ClassifyCause(cause int) Outcome {
	if o, ok := hangupCauses[cause]; ok {
		return o
	}
	return OutcomeUnavailable
}

// ClassifyStatus maps the HTTP status of a failed ARI request that should
// have created a leg (EffectFailed of a Dial) to an outcome: a 4xx means
// Asterisk refused the endpoint or number (OutcomeInvalidNumber); 0 (no
// answer from Asterisk) and anything else mean OutcomeUnavailable.
func ClassifyStatus(status int) Outcome {
	if status >= 400 && status < 500 {
		return OutcomeInvalidNumber
	}
	return OutcomeUnavailable
}
