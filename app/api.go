package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/transferd/transferd/app/featurecode"
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

// Do runs an action of the HTTP API (a word of transfer.Actions: transfer,
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

// takebackFor returns the matcher for a transfer whose data name a
// takeback_dtmf the account does not already take as a cancel (Kazoo's
// per-transfer takeback code), or nil. A code that cannot work (not the
// binding key followed by digits, or clashing with the account's other
// codes) is an error that is ErrInvalidTakeback.
func (c *Call) takebackFor(data map[string]string) (*featurecode.Matcher, error) {
	code := data[featurecode.TakebackData]
	if code == "" {
		return nil, nil
	}
	m, err := c.acct.matcher.WithTakeback(code)
	if err != nil {
		codes := strings.Join(c.acct.matcher.CancelCodes(), ", ")
		if codes == "" {
			codes = "none"
		}
		return nil, &takebackError{fmt.Sprintf("%q cannot be a takeback code for account %q (its cancel codes: %s): %v",
			code, c.acct.name, codes, err)}
	}
	return m, nil
}
