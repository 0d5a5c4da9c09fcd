package httpapi

import (
	"context"
	"errors"
	"time"
)

// CallInfo is a call as the API and the event stream show it.
type CallInfo struct {
	ID       string        `json:"call_id"`
	Account  string        `json:"account_id"`
	Bridge   string        `json:"bridge_id"`
	State    string        `json:"state"`               // dialing, talking, ended
	Started  time.Time     `json:"started_at,omitzero"` // when the caller's channel was created
	Parties  []PartyInfo   `json:"parties"`
	Transfer *TransferInfo `json:"transfer,omitempty"`
	// LastTransfer is the most recent finished transfer of the call.
	LastTransfer *TransferInfo `json:"last_transfer,omitempty"`
	// Converging: Asterisk may not match this view yet; transferd is
	// bringing it in line (after failed effects, while ARI is unreachable).
	Converging bool `json:"converging,omitempty"`
}

// PartyInfo is one leg of a call.
type PartyInfo struct {
	Channel string `json:"channel_id"`
	Role    string `json:"role"`
	Number  string `json:"number,omitempty"`
	Name    string `json:"name,omitempty"` // caller id name, when known
	State   string `json:"state"`          // ringing, up, gone
}

// TransferInfo is a transfer.
type TransferInfo struct {
	ID         string `json:"transfer_id"`
	State      string `json:"state"`
	Target     string `json:"target"`
	Transferor string `json:"transferor"`
	Transferee string `json:"transferee"`
	Outcome    string `json:"outcome,omitempty"`
}

// Backend is what the API needs of the application.
type Backend interface {
	// Calls lists an account's live calls, sorted by call id.
	Calls(account string) []CallInfo
	// Call finds the live call that id names: a call id or the channel id
	// of any of its parties. ok is false for an unknown id.
	Call(id string) (c Call, ok bool)
}

// Call is one live call.
type Call interface {
	// Account is the name of the account the call belongs to.
	Account() string
	// Info is the call's latest view.
	Info() CallInfo
	// Do runs an action for the party whose channel id is channel and
	// returns the call's view right after it. Errors wrap the sentinels
	// below (ErrNotFound, ErrConflict kinds, ErrInvalidField) or are
	// *Error; anything else answers 500.
	Do(ctx context.Context, action, channel, target string, data map[string]string) (CallInfo, error)
}

// Sentinel errors a Backend wraps (fmt.Errorf("%w: %w", httpapi.ErrX, err))
// so that the API answers with the right status and reason.
var (
	// ErrNotFound: the call or the acting channel is unknown or gone (404).
	ErrNotFound = errors.New("not found")
	// ErrTransferInProgress: a transfer runs already on the call (409).
	ErrTransferInProgress = errors.New("a transfer is already in progress on this call")
	// ErrNoTransfer: the action needs a running transfer (409).
	ErrNoTransfer = errors.New("no transfer in progress on this call")
	// ErrNotBridged: the call is not two parties talking (409).
	ErrNotBridged = errors.New("call is not bridged with exactly one other party")
	// ErrTargetOnCall: the target is already a party of the call (409).
	ErrTargetOnCall = errors.New("target is already a party of this call")
	// ErrNotTransferor: only the transferor controls the transfer (409).
	ErrNotTransferor = errors.New("only the transferor controls this transfer")
	// ErrInvalidState: the transfer's state does not take the action (409).
	ErrInvalidState = errors.New("the transfer's state does not allow this action")
	// ErrInvalidTarget: the target cannot be dialed (400, data.target).
	ErrInvalidTarget = errors.New("invalid target")
)

// Actions of POST /v2/accounts/{account_id}/channels/{call_id}.
const (
	ActionTransfer      = "transfer"
	ActionBlindTransfer = "blind_transfer"
	ActionCancel        = "cancel"
	ActionComplete      = "complete"
	ActionSwap          = "swap"
	ActionThreeWay      = "threeway"
)

// Actions lists every action, in the order the documentation gives them.
var Actions = []string{ActionTransfer, ActionBlindTransfer, ActionCancel, ActionComplete, ActionSwap, ActionThreeWay}

func isTransferAction(a string) bool { return a == ActionTransfer || a == ActionBlindTransfer }

// Kind marks err as being of kind (one of the sentinel errors above) and
// keeps err's own message: errors.Is(Kind(k, err), k) and
// errors.Is(Kind(k, err), err) both hold.
func Kind(kind, err error) error { return &kindError{kind: kind, err: err} }

type kindError struct{ kind, err error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }
