// Package app is transferd's Stasis application: it receives calls from the
// dialplan, owns a mixing bridge per call, watches DTMF for feature codes and
// drives the pure transfer state machine (package transfer), executing its
// effects through the ari client.
//
// Concurrency: one goroutine reads the ARI event subscription and routes
// each event to the call that owns the channel or bridge it touches. Each
// call has its own goroutine and an unbounded ordered inbox, so transitions
// of one call never race and a slow call never stalls the others.
package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/app/featurecode"
	"github.com/transferd/transferd/ari"
)

// Log keys, declared once so every line uses the same names.
const (
	keyCallID     = "call_id"
	keyTransferID = "transfer_id"
	keyChannelID  = "channel_id"
	keyBridgeID   = "bridge_id"
	keyAccountID  = "account_id"
)

// App is the running Stasis application.
type App struct {
	cfg      Config
	client   *ari.Client
	log      zerolog.Logger
	accounts map[string]*account
	hooks    Hooks

	mu       sync.Mutex
	calls    map[string]*Call        // by call id
	channels map[ari.ChannelID]*Call // every channel a call owns
	bridges  map[ari.BridgeID]*Call  // every bridge a call owns
	// inStasis: early dials waiting for their leg's StasisStart (pipeline.go).
	inStasis map[ari.ChannelID]chan struct{}
	// recent keeps the final view of the last maxRecent ended calls, so the
	// API can still say how a call's transfer ended.
	recent      map[string]CallInfo
	recentOrder []string
	wg          sync.WaitGroup
	draining    atomic.Bool
	store       Store
	own         Ownership            // nil: one instance owns every call
	leases      map[string]time.Time // call id -> when its lease was last known written (ownership.go); under mu
	dialogs     Dialogs              // nil: every event reaches this instance
	seq         atomic.Uint64
	// ariDown: a request got no answer, or the event stream dropped, and
	// no ping has been answered since (reconcile.go).
	ariDown   atomic.Bool
	probing   atomic.Bool // probeARI runs
	probeWake chan struct{}
	runCtx    context.Context
	// storeOnARI: snapshots are kept in Asterisk (GlobalStore), so they
	// cannot be written while ARI is unreachable.
	storeOnARI bool
	ready      readyChecks // AddReadyCheck (ready.go)
}

// account is an account's configuration with its feature-code matcher.
type account struct {
	name    string
	cfg     AccountConfig
	matcher *featurecode.Matcher
}

// Hooks lets the HTTP API and metrics observe calls. Every field is optional.
// Hooks run on the call's goroutine and must not block or call back into
// the call.
type Hooks struct {
	// CallChanged is called after every change of a call's parties or of its
	// transfer's state.
	CallChanged func(CallInfo)
	// CallStarted and CallEnded bracket every call.
	CallStarted func()
	CallEnded   func()
	// TransfereeHeld reports the time from the digit that decided a
	// transfer code (its final digit, or the prefix that held the
	// transferee before the number: prehold.go), or the API request, to
	// the transferee entering the hold bridge.
	TransfereeHeld func(time.Duration)
	// TransferEnded is called once per transfer with its outcome.
	TransferEnded func(account, outcome string, seconds float64)
}

// New builds the application. The client must have been created for
// cfg.ARI.App; Run starts its event stream. Every set of hooks observes
// every call, in the order given.
func New(cfg Config, client *ari.Client, log zerolog.Logger, hooks ...Hooks) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{
		cfg: cfg, client: client, log: log, hooks: joinHooks(hooks),
		accounts:  map[string]*account{},
		calls:     map[string]*Call{},
		channels:  map[ari.ChannelID]*Call{},
		bridges:   map[ari.BridgeID]*Call{},
		inStasis:  map[ari.ChannelID]chan struct{}{},
		recent:    map[string]CallInfo{},
		runCtx:    context.Background(),
		probeWake: make(chan struct{}, 1),
	}
	a.store = NewGlobalStore(client, cfg.ARI.App, log)
	a.storeOnARI = true
	for name, ac := range cfg.Accounts {
		m, err := featurecode.New(ac.matcherConfig())
		if err != nil {
			return nil, fmt.Errorf("accounts.%s.metaflows: %w", name, err)
		}
		a.accounts[name] = &account{name: name, cfg: ac, matcher: m}
	}
	return a, nil
}

// SetStore replaces where call snapshots are kept (by default Asterisk
// global variables, GlobalStore). Call it before Run.
func (a *App) SetStore(s Store) { a.store, a.storeOnARI = s, false }

// Run receives events until ctx ends, then waits for the call goroutines.
// It runs the client's event stream itself.
func (a *App) Run(ctx context.Context) error {
	a.runCtx = ctx
	sub := a.client.Subscribe(ari.Filter{App: a.cfg.ARI.App})
	defer sub.Close()
	runErr := make(chan error, 1)
	go func() { runErr <- a.client.Run(ctx) }()

	if a.own != nil {
		go a.ownershipLoop(ctx)
	}
	if a.dialogs == nil {
		go a.watchRegistration(ctx)
	}
	// Reconcile once connected: calls that were in the application before
	// this process started (a restart) are found again.
	go func() {
		select {
		case <-a.client.Connected():
			a.filterEvents(ctx)
			a.reconcile(ctx)
		case <-ctx.Done():
		}
	}()

	for {
		select {
		case <-ctx.Done():
			a.stopCalls()
			a.wg.Wait()
			err := <-runErr
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		case ev := <-sub.Events():
			a.route(ctx, ev)
		}
	}
}

// Drain stops taking new calls; live calls carry on to their end.
func (a *App) Drain() { a.draining.Store(true) }

// WaitCalls returns when no call is live any more (each call's goroutine
// has let go of it), or with ctx's error when ctx ends first. Calls that
// start meanwhile are waited for too.
func (a *App) WaitCalls(ctx context.Context) error {
	for {
		a.mu.Lock()
		done := make([]chan struct{}, 0, len(a.calls))
		for _, c := range a.calls {
			done = append(done, c.done)
		}
		a.mu.Unlock()
		if len(done) == 0 {
			return nil
		}
		for _, d := range done {
			select {
			case <-d:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// LiveCalls is the number of calls in progress.
func (a *App) LiveCalls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.calls)
}

// route hands an event to the call that owns what it touches, or starts a
// new call for a channel entering the application.
func (a *App) route(ctx context.Context, ev ari.Event) {
	switch e := ev.(type) {
	case *ari.Reconnected:
		a.log.Warn().Dur("down", e.Down).Msg("ARI event stream reconnected; reconciling calls")
		a.wakeProbe()
		go func() {
			// An Asterisk that restarted forgot the filter.
			a.filterEvents(ctx)
			a.reconcile(ctx)
		}()
		return
	case *ari.Disconnected:
		a.log.Warn().Err(e.Err).Msg("ARI event stream lost; reconnecting")
		a.suspectARI()
		return
	case *ari.StasisStart:
		a.stasisStarted(e.Channel.ID)
		if a.owner(e.Channel.ID) == nil && a.routeReplacement(e) {
			return
		}
		if a.owner(e.Channel.ID) == nil && len(e.Args) > 0 && e.Args[0] == "dialed" {
			// A leg this app dialed but no live call owns (a restart lost
			// it between create and persist): reconcile decides.
			a.log.Warn().Str(keyChannelID, string(e.Channel.ID)).Msg("dialed leg of an unknown call")
			if a.dialogs != nil {
				// Behind the stock ari-proxy the new-call queue can hand
				// another instance's dialled leg here, and the transport
				// joined a dialog for it: leave it, or the subscription
				// outlives the channel.
				a.dialogs.Leave(string(e.Channel.ID))
			}
			return
		}
		if a.owner(e.Channel.ID) == nil {
			a.startCall(ctx, e)
			return
		}
	}
	seen := map[*Call]bool{}
	for _, id := range ari.ChannelsOf(ev) {
		if c := a.owner(id); c != nil && !seen[c] {
			seen[c] = true
			c.post(ev)
		}
	}
	for _, id := range ari.BridgesOf(ev) {
		a.mu.Lock()
		c := a.bridges[id]
		a.mu.Unlock()
		if c != nil && !seen[c] {
			seen[c] = true
			c.post(ev)
		}
	}
}

func (a *App) owner(id ari.ChannelID) *Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.channels[id]
}

// claim records that c owns channel id (before it exists, so its first event
// is routed to c).
func (a *App) claim(c *Call, id ari.ChannelID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.channels[id] = c
}

func (a *App) claimBridge(c *Call, id ari.BridgeID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.bridges[id] = c
}

// release forgets a call. A call that ended leaves the index and stays
// visible a while as a recent call; one cut off by a stop stays in the
// index so the next start finds it.
func (a *App) release(c *Call) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dialogs != nil {
		a.dialogs.Leave(c.id)
	}
	if c.ended {
		a.recent[c.id] = c.Info()
		a.recentOrder = append(a.recentOrder, c.id)
		if len(a.recentOrder) > maxRecent {
			delete(a.recent, a.recentOrder[0])
			a.recentOrder = a.recentOrder[1:]
		}
	}
	delete(a.calls, c.id)
	if c.stopped {
		delete(a.leases, c.id) // a renewal may have recorded it since
	}
	for id, owner := range a.channels {
		if owner == c {
			delete(a.channels, id)
		}
	}
	for id, owner := range a.bridges {
		if owner == c {
			delete(a.bridges, id)
		}
	}
	close(c.done)
}

// startCall validates the Stasis arguments and starts a call:
// Stasis(<app>,<account>,<destination>[,<callback>]).
func (a *App) startCall(ctx context.Context, e *ari.StasisStart) {
	ch := e.Channel
	log := a.log.With().Str(keyChannelID, string(ch.ID)).Logger()
	reject := func(reason string, msg string) {
		log.Error().Strs("args", e.Args).Msg("call refused: " + msg)
		go func() {
			if err := a.client.Channels.Hangup(context.WithoutCancel(ctx), ch.ID, reason); err != nil && !errors.Is(err, ari.ErrNotFound) {
				log.Warn().Err(err).Msg("hangup of refused call")
			}
		}()
	}
	if a.draining.Load() {
		reject("congestion", "draining: not taking new calls")
		return
	}
	if len(e.Args) < 2 {
		reject("normal", fmt.Sprintf("Stasis(%s,<account>,<destination>[,<callback>]) needs at least 2 arguments, got %d", a.cfg.ARI.App, len(e.Args)))
		return
	}
	acct, ok := a.accounts[e.Args[0]]
	if !ok {
		reject("normal", fmt.Sprintf("unknown account %q in Stasis arguments", e.Args[0]))
		return
	}
	dest := e.Args[1]
	if !ValidNumber(dest) {
		reject("unallocated", fmt.Sprintf("destination %q is not a valid number", dest))
		return
	}
	if !a.claimNew(ctx, ch.ID) {
		log.Info().Msg("call belongs to another instance")
		return
	}
	callback := ch.Caller.Number
	if len(e.Args) >= 3 && e.Args[2] != "" {
		callback = e.Args[2]
	}
	c := newCall(a, acct, string(ch.ID))
	a.mu.Lock()
	if _, dup := a.calls[c.id]; dup {
		a.mu.Unlock()
		log.Warn().Msg("duplicate StasisStart for a live call ignored")
		return
	}
	a.calls[c.id] = c
	a.channels[ch.ID] = c
	a.mu.Unlock()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		c.run(ctx, callStart{node: e.GetAsteriskID(), caller: ch, dest: dest, callback: callback}, nil)
	}()
}

func (a *App) stopCalls() { a.postAll(stopCall{}) }

// postAll puts m in every live call's inbox (posting never blocks).
func (a *App) postAll(m any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.calls {
		c.post(m)
	}
}

// Calls lists the live calls of an account ("" for all), sorted by id.
func (a *App) Calls(accountName string) []CallInfo {
	a.mu.Lock()
	calls := make([]*Call, 0, len(a.calls))
	for _, c := range a.calls {
		if accountName == "" || c.acct.name == accountName {
			calls = append(calls, c)
		}
	}
	a.mu.Unlock()
	out := make([]CallInfo, 0, len(calls))
	for _, c := range calls {
		out = append(out, c.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Call returns a live call by id, or nil. A channel id of any party finds
// its call too.
func (a *App) Call(id string) *Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.calls[id]; ok {
		return c
	}
	return a.channels[ari.ChannelID(id)]
}

// maxRecent bounds the ended calls App remembers.
const maxRecent = 512

// CallInfo returns a live call's view, or a recently ended call's final
// view, by call id.
func (a *App) CallInfo(id string) (CallInfo, bool) {
	if c := a.Call(id); c != nil {
		return c.Info(), true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	info, ok := a.recent[id]
	return info, ok
}

// nextID makes a process-unique suffix for ids this app chooses.
func (a *App) nextID() uint64 { return a.seq.Add(1) }
