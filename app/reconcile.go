package app

import "context"

// reconcile finds calls that were in the application before this process
// (re)connected. See restore.go for how a call is rebuilt.
func (a *App) reconcile(ctx context.Context) {
	a.restoreCalls(ctx)
}
