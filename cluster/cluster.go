// Package cluster shares calls among transferd instances on NATS JetStream
// key-value storage: call snapshots (app.Store) and call ownership leases.
//
// Ownership: the instance that takes a call creates its lease key (a
// compare-and-set: Create fails when a live lease exists) and keeps
// renewing it. Lease keys live in a bucket whose TTL is the lease time, so
// an instance that dies stops renewing and its leases vanish. Others look
// for snapshots without a lease (Orphans), claim them with the same
// compare-and-set, re-read the call from Asterisk and carry it on.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options configure New.
type Options struct {
	// Name prefixes the buckets (one pair per Stasis application), e.g.
	// "transferd" → transferd_calls and transferd_leases.
	Name string
	// Instance identifies this process in leases.
	Instance string
	// LeaseTTL is how long a lease outlives its last renewal; default 6s.
	LeaseTTL time.Duration
	// Replicas of the buckets (1 on a single server). More needs a NATS
	// cluster with at least that many JetStream servers; New refuses it
	// otherwise, naming nats.replicas.
	Replicas int
}

// Cluster is one instance's view of the shared call state.
type Cluster struct {
	calls    jetstream.KeyValue
	leases   jetstream.KeyValue
	instance string
	ttl      time.Duration

	mu   sync.Mutex
	revs map[string]uint64 // revision of each lease this instance wrote last
}

// New opens (creating when missing) the buckets.
func New(ctx context.Context, nc *nats.Conn, o Options) (*Cluster, error) {
	if o.Name == "" || o.Instance == "" {
		return nil, errors.New("cluster: Name and Instance are required")
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 6 * time.Second
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Replicas > 1 && nc.ConnectedClusterName() == "" {
		return nil, fmt.Errorf("cluster: nats.replicas is %d, but the NATS server %s is not part of a cluster and keeps one copy: "+
			"set nats.replicas: 1, or run a cluster of at least %d JetStream servers", o.Replicas, nc.ConnectedUrlRedacted(), o.Replicas)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	name := bucketName(o.Name)
	calls, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name + "_calls", Description: "transferd call snapshots", History: 1,
		Storage: jetstream.FileStorage, Replicas: o.Replicas})
	if err != nil {
		return nil, bucketError(nc, "calls", o.Replicas, err)
	}
	leases, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name + "_leases", Description: "transferd call ownership leases", History: 1,
		TTL: o.LeaseTTL, Storage: jetstream.FileStorage, Replicas: o.Replicas})
	if err != nil {
		return nil, bucketError(nc, "leases", o.Replicas, err)
	}
	return &Cluster{calls: calls, leases: leases, instance: o.Instance, ttl: o.LeaseTTL, revs: map[string]uint64{}}, nil
}

// bucketError explains a bucket JetStream would not create or update.
func bucketError(nc *nats.Conn, which string, replicas int, err error) error {
	if replicas <= 1 {
		return fmt.Errorf("cluster: %s bucket: %w", which, err)
	}
	return fmt.Errorf("cluster: %s bucket with nats.replicas %d: %w: the NATS cluster %q needs at least %d servers with JetStream, "+
		"all up (it knows %d servers)", which, replicas, err, nc.ConnectedClusterName(), replicas, len(nc.Servers()))
}

// bucketName keeps the characters a bucket name may hold.
func bucketName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '_'
	}, s)
}

// key maps a call id to a valid KV key (ids may hold any character).
func key(id string) string {
	var b strings.Builder
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "=%02X", r)
		}
	}
	return b.String()
}

func unkey(k string) string {
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		if k[i] == '=' && i+2 < len(k) {
			var r rune
			if _, err := fmt.Sscanf(k[i+1:i+3], "%02X", &r); err == nil {
				b.WriteRune(r)
				i += 2
				continue
			}
		}
		b.WriteByte(k[i])
	}
	return b.String()
}

// LeaseTTL is the lease time; renew well within it.
func (c *Cluster) LeaseTTL() time.Duration { return c.ttl }

// Instance is this instance's id.
func (c *Cluster) Instance() string { return c.instance }

// ErrNotOwner is returned by Save for a call whose lease this instance does
// not hold (never claimed, released, or lost to a takeover).
var ErrNotOwner = errors.New("cluster: this instance does not hold the call's lease")

// Save writes a call snapshot (app.Store), only while this instance holds
// the call's lease: an instance that lost it (a loaded machine renewed too
// late and another instance took the call over) must not write over the
// new owner's snapshot, nor bring one back after the new owner ended the
// call and deleted it.
func (c *Cluster) Save(ctx context.Context, id string, b []byte) error {
	if _, ok := c.rev(id); !ok {
		return fmt.Errorf("save %s: %w", id, ErrNotOwner)
	}
	_, err := c.calls.Put(ctx, key(id), b)
	return err
}

// Delete removes a call snapshot (app.Store).
func (c *Cluster) Delete(ctx context.Context, id string) error {
	err := c.calls.Purge(ctx, key(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

// ErrNoSnapshot mirrors app.ErrNoSnapshot without importing app; the app
// treats any Load error as "no snapshot".
var ErrNoSnapshot = errors.New("cluster: no snapshot for this call")

// Load reads a call snapshot (app.Store).
func (c *Cluster) Load(ctx context.Context, id string) ([]byte, error) {
	e, err := c.calls.Get(ctx, key(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNoSnapshot
	}
	if err != nil {
		return nil, err
	}
	return e.Value(), nil
}

// List returns the ids of calls with snapshots (app.Store).
func (c *Cluster) List(ctx context.Context) ([]string, error) {
	return keys(ctx, c.calls)
}

func keys(ctx context.Context, kv jetstream.KeyValue) ([]string, error) {
	ks, err := kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = unkey(k)
	}
	return out, nil
}

// Claim takes a call for this instance: true when this instance now owns
// it (or already did), false when another instance holds a live lease.
func (c *Cluster) Claim(ctx context.Context, id string) (bool, error) {
	rev, err := c.leases.Create(ctx, key(id), []byte(c.instance))
	if err == nil {
		c.setRev(id, rev)
		return true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return false, fmt.Errorf("cluster: claim %s: %w", id, err)
	}
	e, gerr := c.leases.Get(ctx, key(id))
	if gerr != nil {
		return false, nil
	}
	if string(e.Value()) != c.instance {
		return false, nil
	}
	c.setRev(id, e.Revision())
	return true, nil
}

func (c *Cluster) setRev(id string, rev uint64) {
	c.mu.Lock()
	c.revs[id] = rev
	c.mu.Unlock()
}

func (c *Cluster) rev(id string) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.revs[id]
	return r, ok
}

func (c *Cluster) forgetRev(id string) {
	c.mu.Lock()
	delete(c.revs, id)
	c.mu.Unlock()
}

// Renew refreshes this instance's leases on calls, all at once. Each
// renewal is a compare-and-set on the revision this instance wrote last,
// so one round trip per call both renews and detects a takeover: a lease
// another instance has taken (after this one was presumed dead) is
// reported in lost and must be given up.
func (c *Cluster) Renew(ctx context.Context, ids []string) (lost []string, err error) {
	type result struct {
		id   string
		lost bool
		err  error
	}
	results := make(chan result, len(ids))
	for _, id := range ids {
		go func(id string) {
			l, err := c.renew(ctx, id)
			results <- result{id, l, err}
		}(id)
	}
	var errs []error
	for range ids {
		r := <-results
		if r.lost {
			lost = append(lost, r.id)
		}
		if r.err != nil {
			errs = append(errs, fmt.Errorf("renew %s: %w", r.id, r.err))
		}
	}
	return lost, errors.Join(errs...)
}

func (c *Cluster) renew(ctx context.Context, id string) (lost bool, err error) {
	rev, ok := c.rev(id)
	if ok {
		nrev, err := c.leases.Update(ctx, key(id), []byte(c.instance), rev)
		if err == nil {
			c.setRev(id, nrev)
			return false, nil
		}
		if !isWrongRevision(err) {
			return false, err
		}
	}
	// The lease moved on (or we never knew its revision): see who has it.
	e, gerr := c.leases.Get(ctx, key(id))
	switch {
	case gerr == nil && string(e.Value()) != c.instance:
		c.forgetRev(id)
		return true, nil
	case gerr == nil:
		nrev, err := c.leases.Update(ctx, key(id), []byte(c.instance), e.Revision())
		if err != nil {
			return false, err
		}
		c.setRev(id, nrev)
		return false, nil
	case errors.Is(gerr, jetstream.ErrKeyNotFound):
		// Expired while we were slow (or NATS was away): take it back
		// unless someone else did.
		nrev, err := c.leases.Create(ctx, key(id), []byte(c.instance))
		if errors.Is(err, jetstream.ErrKeyExists) {
			c.forgetRev(id)
			return true, nil
		}
		if err != nil {
			return false, err
		}
		c.setRev(id, nrev)
		return false, nil
	default:
		return false, gerr
	}
}

// isWrongRevision: a compare-and-set lost to another writer (or to the
// key's expiry).
func isWrongRevision(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyNotFound)
}

// Release gives a call up (it ended, or is handed off). Only a lease that
// is still this instance's goes, by a compare-and-set on its revision: an
// instance that was paused, or lost the lease while it drained, must not
// remove the lease another instance took over meanwhile (a third could
// then claim the call while the second still carries it).
func (c *Cluster) Release(ctx context.Context, id string) error {
	rev, ok := c.rev(id)
	c.forgetRev(id)
	if !ok {
		return nil // not this instance's: never claimed, lost or released
	}
	err := c.leases.Purge(ctx, key(id), jetstream.LastRevision(rev))
	if err == nil || !isWrongRevision(err) {
		return err
	}
	// The lease moved on since this instance last wrote it: still its own
	// when a write whose answer was lost moved it (then purge that
	// revision); another instance's, or lapsed, otherwise (leave it).
	e, gerr := c.leases.Get(ctx, key(id))
	switch {
	case errors.Is(gerr, jetstream.ErrKeyNotFound):
		return nil
	case gerr != nil:
		return gerr
	case string(e.Value()) != c.instance:
		return nil
	}
	return c.leases.Purge(ctx, key(id), jetstream.LastRevision(e.Revision()))
}

// Orphans lists calls that have a snapshot but no live lease: their owner
// died (or never finished claiming).
func (c *Cluster) Orphans(ctx context.Context) ([]string, error) {
	calls, err := keys(ctx, c.calls)
	if err != nil {
		return nil, err
	}
	held, err := keys(ctx, c.leases)
	if err != nil {
		return nil, err
	}
	live := make(map[string]bool, len(held))
	for _, id := range held {
		live[id] = true
	}
	var out []string
	for _, id := range calls {
		if !live[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// Owner returns the instance holding a call's lease, "" when none.
func (c *Cluster) Owner(ctx context.Context, id string) (string, error) {
	e, err := c.leases.Get(ctx, key(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(e.Value()), nil
}
