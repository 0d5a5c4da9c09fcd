package app

import (
	"context"
	"fmt"
	"strings"
)

// Live returns the view of the live call that id names: a call id or the
// channel id of any of its parties. An ended call is not live (see
// CallInfo for its final view).
func (a *App) Live(id string) (CallInfo, bool) {
	c := a.Call(id)
	if c == nil {
		return CallInfo{}, false
	}
	return c.Info(), true
}

// Do runs an action of the HTTP API (a featurecode module: transfer,
// blind_transfer, cancel, complete, swap, threeway) on the live call that
// id names, for the party whose channel id is channel, and returns the
// call's view right after it. target and data are for transfers. Errors
// are the sentinels of this package (ErrUnknownCall, ErrTransferInProgress,
// ...), *transfer.StateError, ErrInvalidTakeback or ErrAsteriskUnavailable
// with the call's view, or the context's error.
func (a *App) Do(ctx context.Context, id, action, channel, target string, data map[string]string) (CallInfo, error) {
	c := a.Call(id)
	if c == nil {
		return CallInfo{}, ErrUnknownCall
	}
	return c.Do(ctx, action, channel, target, data)
}

// takebackError is a request's takeback_dtmf that cannot work; it is
// ErrInvalidTakeback.
type takebackError struct{ msg string }

func (e *takebackError) Error() string        { return e.msg }
func (e *takebackError) Is(target error) bool { return target == ErrInvalidTakeback }

// checkTakeback refuses a request's takeback_dtmf that cannot work: not
// the binding key followed by DTMF digits, or clashing with the account's
// other codes. A valid code that is not already a cancel code of the
// account is registered for that transfer only (Kazoo's per-request
// takeback_dtmf), by startTransfer.
func (c *Call) checkTakeback(code string) error {
	if _, err := c.acct.matcher.WithTakeback(code); err != nil {
		codes := strings.Join(c.acct.matcher.CancelCodes(), ", ")
		if codes == "" {
			codes = "none"
		}
		return &takebackError{fmt.Sprintf("%q cannot be a takeback code for account %q (its cancel codes: %s): %v",
			code, c.acct.name, codes, err)}
	}
	return nil
}
