package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/transferd/transferd/ari"
)

// ReadyCheck is one condition of readiness: nil when it holds, else why
// not (one short sentence, for the /readyz body and the operator).
type ReadyCheck func(ctx context.Context) error

// readyChecks are the conditions added with AddReadyCheck.
type readyChecks struct {
	mu     sync.Mutex
	checks []ReadyCheck
}

// AddReadyCheck adds a condition to Ready, e.g. that NATS and its
// key-value buckets answer.
func (a *App) AddReadyCheck(c ReadyCheck) {
	a.ready.mu.Lock()
	defer a.ready.mu.Unlock()
	a.ready.checks = append(a.ready.checks, c)
}

// Ready says whether this instance can take calls now, and if not, every
// reason: the ARI event stream must be up (Asterisk sends StasisStart only
// to a connected application), ARI must answer requests, the instance
// must not be draining, and every added check must hold. /healthz is
// liveness; this is /readyz.
func (a *App) Ready(ctx context.Context) error {
	var errs []error
	if err := ARILinkProblem(a.client.Link()); err != nil {
		errs = append(errs, err)
	} else if !a.ARIReachable() {
		errs = append(errs, errors.New("ARI: requests get no answer; waiting for a ping to be answered"))
	}
	if a.draining.Load() {
		errs = append(errs, errors.New("draining: no new calls"))
	}
	a.ready.mu.Lock()
	checks := append([]ReadyCheck(nil), a.ready.checks...)
	a.ready.mu.Unlock()
	for _, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c(cctx)
		cancel()
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ARILinkProblem says why the ARI event stream l is not usable, or nil
// when it is connected.
func ARILinkProblem(l ari.Link) error {
	switch {
	case l.Connected:
		return nil
	case errors.Is(l.Err, ari.ErrUnauthorized):
		return errors.New("ARI refused the credentials (401 Unauthorized): check ari.username and ari.password against the user in Asterisk's ari.conf")
	case l.Err != nil:
		return fmt.Errorf("ARI: not connected since %s: %v", l.Since.UTC().Format(time.RFC3339), l.Err)
	}
	return errors.New("ARI: not connected yet")
}
