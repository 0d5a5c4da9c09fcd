package httpapi

import (
	"context"

	"github.com/transferd/transferd/app"
)

// Backend is what the API needs of the application: *app.App, or a fake in
// this package's tests. Calls are shown as app.CallInfo, and Do's errors are
// app's (see backendError for the answer each gets).
type Backend interface {
	// Calls lists an account's live calls, sorted by call id.
	Calls(account string) []app.CallInfo
	// Live finds the live call that id names: a call id or the channel id
	// of any of its parties. ok is false for an unknown or ended call.
	Live(id string) (info app.CallInfo, ok bool)
	// Do runs an action on the live call that id names, for the party
	// whose channel id is channel, and returns the call's view right after
	// it.
	Do(ctx context.Context, id, action, channel, target string, data map[string]string) (app.CallInfo, error)
}

var _ Backend = (*app.App)(nil)
