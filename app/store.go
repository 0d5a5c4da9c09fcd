package app

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/ari"
)

// Store keeps call snapshots where a restarted transferd, or another
// instance, finds them. Implementations must be safe for concurrent use.
type Store interface {
	Save(ctx context.Context, callID string, snapshot []byte) error
	Delete(ctx context.Context, callID string) error
	// Load returns ErrNoSnapshot when the call has none.
	Load(ctx context.Context, callID string) ([]byte, error)
	// List returns the ids of the calls that have a snapshot.
	List(ctx context.Context) ([]string, error)
}

// ErrNoSnapshot: the store has no snapshot for the call.
var ErrNoSnapshot = errors.New("no snapshot for this call")

// GlobalStore keeps snapshots in Asterisk global variables, one per call
// (TRANSFERD_<app>_CALL_<call id>), plus an index of the calls
// (TRANSFERD_<app>_CALLS). Asterisk outlives transferd, so a restarted
// transferd with the same application name finds every call it owned, with
// no other server. Channel variables would be tidier but cannot be used:
// ARI runs a channel-variable write on the channel's control queue, which a
// ringback playback blocks for as long as it plays. Every variable is
// deleted when its call ends (Wazo's leaked globals slowed Asterisk down).
type GlobalStore struct {
	client *ari.Client
	prefix string
	log    zerolog.Logger

	mu    sync.Mutex
	ids   map[string]bool
	dirty bool
	busy  bool
	// added ends the wait of an index write that only removes calls
	// (indexRemoveDelay).
	added chan struct{}
}

// indexRemoveDelay is how long the index write of a call that ended waits,
// so the calls ending in that time (and any call starting, which writes at
// once) share one write of the whole index, not one each. A call still
// listed after its end costs a restart one read that finds no snapshot;
// a call missing from the index would be lost, so additions never wait.
const indexRemoveDelay = time.Second

var _ Store = (*GlobalStore)(nil)

// NewGlobalStore returns the store of application app.
func NewGlobalStore(client *ari.Client, app string, log zerolog.Logger) *GlobalStore {
	return &GlobalStore{client: client, prefix: "TRANSFERD_" + app + "_", log: log, ids: map[string]bool{}, added: make(chan struct{}, 1)}
}

func (g *GlobalStore) callVar(id string) string { return g.prefix + "CALL_" + id }
func (g *GlobalStore) indexVar() string         { return g.prefix + "CALLS" }

// Save writes a call's snapshot.
func (g *GlobalStore) Save(ctx context.Context, id string, b []byte) error {
	if err := g.client.Asterisk.SetGlobalVariable(ctx, g.callVar(id), string(b)); err != nil {
		return err
	}
	g.mark(id, true)
	return nil
}

// Delete removes a call's snapshot.
func (g *GlobalStore) Delete(ctx context.Context, id string) error {
	err := g.client.Asterisk.DeleteGlobalVariable(ctx, g.callVar(id))
	g.mark(id, false)
	return err
}

// Load reads a call's snapshot.
func (g *GlobalStore) Load(ctx context.Context, id string) ([]byte, error) {
	v, err := g.client.Asterisk.GetGlobalVariable(ctx, g.callVar(id))
	if err != nil {
		return nil, err
	}
	if v == "" {
		return nil, ErrNoSnapshot
	}
	return []byte(v), nil
}

// List reads the index.
func (g *GlobalStore) List(ctx context.Context) ([]string, error) {
	v, err := g.client.Asterisk.GetGlobalVariable(ctx, g.indexVar())
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, id := range strings.Split(v, ",") {
		if id != "" {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// mark updates the index in memory and rewrites it in the background,
// latest wins, so callers never wait for it.
func (g *GlobalStore) mark(id string, present bool) {
	g.mu.Lock()
	if g.ids[id] == present {
		g.mu.Unlock()
		return
	}
	if present {
		g.ids[id] = true
	} else {
		delete(g.ids, id)
	}
	g.dirty = true
	start := !g.busy
	g.busy = true
	g.mu.Unlock()
	if present {
		select {
		case g.added <- struct{}{}:
		default:
		}
	}
	if start {
		go g.writeIndex(!present)
	}
}

// writeIndex writes the index until it is clean; wait: a removal waits
// indexRemoveDelay (or an addition) first.
func (g *GlobalStore) writeIndex(wait bool) {
	if wait {
		t := time.NewTimer(indexRemoveDelay)
		select {
		case <-t.C:
		case <-g.added:
			t.Stop()
		}
	}
	for {
		g.mu.Lock()
		if !g.dirty {
			g.busy = false
			g.mu.Unlock()
			return
		}
		g.dirty = false
		ids := make([]string, 0, len(g.ids))
		for id := range g.ids {
			ids = append(ids, id)
		}
		g.mu.Unlock()
		sort.Strings(ids)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		if len(ids) == 0 {
			err = g.client.Asterisk.DeleteGlobalVariable(ctx, g.indexVar())
		} else {
			err = g.client.Asterisk.SetGlobalVariable(ctx, g.indexVar(), strings.Join(ids, ","))
		}
		cancel()
		if err != nil {
			g.log.Warn().Err(err).Msg("persist call index")
		}
	}
}
