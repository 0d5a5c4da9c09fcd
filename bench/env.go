package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/integration"
)

// env is everything a benchmark run needs: its own sandbox Asterisk,
// transferd as a child process, the simulated phones.
type env struct {
	dir    string // logs, config, profiles
	sb     *integration.Sandbox
	astPID int
	td     *transferdProc
	cl     *ari.Client // the phones' client (also used for direct ARI requests)
	sim    *sim
	stop   func()
}

const benchTDApp = "transferd-bench"

func setup(ctx context.Context, dir string, tdPool int, tdLog string) (*env, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root := integration.RootFromEnv()
	if err := integration.EnsureRoot(root); err != nil {
		return nil, err
	}
	runID := fmt.Sprintf("bench-%d", os.Getpid())
	sb, err := integration.StartSandbox(ctx, integration.SandboxOptions{Root: root, RunID: runID})
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir, sb: sb}
	ok := false
	defer func() {
		if !ok {
			e.close()
		}
	}()
	if e.astPID, err = findAsterisk(sb.ConfDir); err != nil {
		return nil, err
	}
	if e.td, err = startTransferd(ctx, sb, dir, benchTDApp, tdPool, tdLog); err != nil {
		return nil, err
	}
	if e.cl, err = newClient(sb, integration.PhonesApp); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	e.sim = newSim(sctx, e.cl)
	go func() { _ = e.cl.Run(sctx) }()
	select {
	case <-e.cl.Connected():
	case <-time.After(15 * time.Second):
		return nil, fmt.Errorf("the phones application never connected")
	}
	ok = true
	return e, nil
}

func newClient(sb *integration.Sandbox, apps ...string) (*ari.Client, error) {
	// The phones keep their connections to Asterisk open and bounded, so
	// the benchmark neither churns connections nor crowds out transferd's
	// under Asterisk's HTTP session limit (http.conf sessionlimit, 100).
	tp := http.DefaultTransport.(*http.Transport).Clone()
	tp.MaxConnsPerHost = 16
	tp.MaxIdleConnsPerHost = 16
	tr, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: sb.URL(), Username: integration.ARIUser, Password: ari.Secret(sb.Password),
		Client: &http.Client{Transport: tp}})
	if err != nil {
		return nil, err
	}
	return ari.New(ari.Options{Transport: tr, Apps: apps})
}

// observe starts the observer on its own connection; stop it with the
// returned function.
func (e *env) observe(ctx context.Context) (*observer, func(), error) {
	cl, err := newClient(e.sb, observerApp)
	if err != nil {
		return nil, nil, err
	}
	octx, cancel := context.WithCancel(ctx)
	o, err := newObserver(octx, cl)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	// Asterisk 22 cannot drop a subscription to all channels ("channel:"
	// unsubscribes answer an error), and the application lingers with it
	// after its websocket closes: the side-by-side runs therefore come last.
	return o, cancel, nil
}

func (e *env) close() {
	if e.stop != nil {
		e.stop()
	}
	if e.td != nil {
		e.td.stop()
	}
	if e.sb != nil {
		// Keep Asterisk's log with the others.
		if b, err := os.ReadFile(e.sb.LogPath()); err == nil {
			_ = os.WriteFile(filepath.Join(e.dir, "asterisk-full.log"), b, 0o644)
		}
		_ = e.sb.Stop(context.Background())
		// The run's directories in the chroot (its log is copied above).
		_ = os.RemoveAll(filepath.Join(e.sb.Root, "var/lib/transferd", e.sb.RunID))
		_ = os.RemoveAll(filepath.Join(e.sb.Root, e.sb.ConfDir))
	}
}

// leftovers lists what Asterisk still has: channels, bridges and the
// Announcer channels (bridge music) that ARI does not list.
func (e *env) leftovers(ctx context.Context) (chans, bridges, announcers []string, err error) {
	cs, err := e.cl.Channels.List(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, c := range cs {
		if strings.HasPrefix(string(c.ID), "probe-") {
			continue
		}
		chans = append(chans, c.Name+"("+string(c.ID)+")")
	}
	bs, err := e.cl.Bridges.List(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, b := range bs {
		bridges = append(bridges, string(b.ID))
	}
	out, err := e.sb.CLI(ctx, "core show channels concise")
	if err != nil {
		return nil, nil, nil, err
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "Announcer/") && strings.Contains(line, ";1!") {
			announcers = append(announcers, strings.SplitN(line, ";1!", 2)[0])
		}
	}
	return chans, bridges, announcers, nil
}

// waitClean waits up to d for Asterisk to have nothing left. Failed
// listings (an overloaded Asterisk refuses HTTP sessions) are retried.
func (e *env) waitClean(ctx context.Context, d time.Duration) (chans, bridges, announcers []string, err error) {
	deadline := time.Now().Add(d)
	for {
		chans, bridges, announcers, err = e.leftovers(ctx)
		if (err == nil && len(chans) == 0 && len(bridges) == 0 && len(announcers) == 0) || time.Now().After(deadline) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// purge hangs up every channel and destroys every bridge left on
// Asterisk, so a part that went wrong does not spoil the next one.
func (e *env) purge(ctx context.Context) {
	if cs, err := e.cl.Channels.List(ctx); err == nil {
		for _, c := range cs {
			if !strings.HasPrefix(string(c.ID), "probe-") {
				_ = e.cl.Channels.Hangup(ctx, c.ID, "normal")
			}
		}
	}
	if bs, err := e.cl.Bridges.List(ctx); err == nil {
		for _, b := range bs {
			_ = e.cl.Bridges.Destroy(ctx, b.ID)
		}
	}
	_, _, _, _ = e.waitClean(ctx, 10*time.Second)
}
